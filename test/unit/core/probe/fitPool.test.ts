/**
 * The fit pool changes scheduling only: the same units give the same numbers as one after another
 * on one thread, cancellation stops the pooled fits and ends as cancellation, an error thrown in a
 * fit worker is the error the inline fit throws, and no worker outlives its pool.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BadInputError, isCancelled } from '../../../../src/core/errors';
import { JobContext, ProgressEvent } from '../../../../src/core/jobs';
import { runJob } from '../../../../src/core/pipeline/dispatch';
import { probeTaskLayers } from '../../../../src/core/pipeline/probe';
import { selectC } from '../../../../src/core/probe/cv';
import { FitPool, fitThreads, liveFitWorkers, workerRoom } from '../../../../src/core/probe/fitPool';
import { DEFAULT_SETTINGS, ProbeSettings } from '../../../../src/core/settings';
import { syntheticTask } from '../../../../scripts/fitPoolBench';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';

const settings: ProbeSettings = { ...DEFAULT_SETTINGS, limitTrain: 120, limitTest: 40, provider: 'cpu' };

/** A k-class problem whose classes separate better at later layers (scripts/fitPoolBench.ts). */
const synthetic = (nTrain: number, nTest: number, dim: number, k: number, layers: number) => syntheticTask({ train: nTrain, test: nTest }, dim, k, layers);

test('a pool of 3 gives the same C search (every fold and C) as one thread, on a 6-class problem', async () => {
  const { split, feats } = synthetic(240, 60, 16, 6, 1);
  const X = feats.train.pooled.mean![0];
  const inline = selectC(X, split.task.trainY, 16, 6, { seed: 3 });
  const pool = new FitPool(3);
  const progress: number[] = [];
  const pooled = selectC(X, split.task.trainY, 16, 6, { seed: 3, pool, onProgress: (done) => progress.push(done) });
  await pool.close();
  assert.deepEqual(pooled, inline);
  assert.deepEqual(progress, Array.from({ length: 30 }, (_, i) => i + 1), 'progress after each fit (5 folds × 6 C), in order');
  assert.equal(liveFitWorkers(), 0);
});

test('a pool of 3 gives the same per-layer table as one thread, on a 5-class problem with 6 layers', async () => {
  const { split, feats } = synthetic(200, 50, 12, 5, 6);
  const inline = probeTaskLayers(split, feats, DEFAULT_SETTINGS, {});
  const pool = new FitPool(3);
  const done: number[] = [];
  const pooled = probeTaskLayers(split, feats, DEFAULT_SETTINGS, { fits: pool, onProgress: (e) => e.kind === 'probe' && done.push(e.done) });
  await pool.close();
  assert.deepEqual(pooled, inline);
  assert.deepEqual(done, [1, 2, 3, 4, 5, 6]);
  assert.ok(inline.layers[5].accuracy > inline.layers[0].accuracy, 'the problem is learnable (later layers carry the class)');
});

test('a probe job on a tiny model writes the same report with a pool of 2 as with one thread', async () => {
  const tasks = [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }];
  const job = { type: 'probe' as const, modelDir: fixture('tiny-roberta'), tasks, settings: { ...settings } };
  const inline = await runJob(job, { fits: new FitPool(1) });
  const pool = new FitPool(2);
  const pooled = await runJob(job, { fits: pool });
  await pool.close();
  assert.deepEqual(pooled.tasks, inline.tasks);
});

test('cancelling while pooled fits run ends the job as cancelled and stops every fit worker', async () => {
  const old = process.env.PROBESCALE_FIT_THREADS;
  process.env.PROBESCALE_FIT_THREADS = '2';
  const ac = new AbortController();
  const onProgress = (e: ProgressEvent) => {
    if (e.kind === 'probe') {
      assert.ok(liveFitWorkers() > 0, 'the layers run on fit workers');
      ac.abort();
    }
  };
  const tasks = [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }];
  try {
    await assert.rejects(runJob({ type: 'probe', modelDir: fixture('tiny-roberta'), tasks, settings: { ...settings } }, { signal: ac.signal, onProgress }), (e) => isCancelled(e));
  } finally {
    if (old === undefined) delete process.env.PROBESCALE_FIT_THREADS;
    else process.env.PROBESCALE_FIT_THREADS = old;
  }
  assert.equal(liveFitWorkers(), 0, 'the job stopped its fit workers');
});

test('a fit that throws in a worker throws the error the same fit throws inline', async () => {
  const { split, feats } = synthetic(100, 20, 8, 4, 3);
  feats.train.pooled.mean![1] = feats.train.pooled.mean![1].subarray(8); // one row short
  const ctx = (fits: FitPool): JobContext => ({ fits });
  const inline = (() => {
    try {
      probeTaskLayers(split, feats, DEFAULT_SETTINGS, ctx(new FitPool(1)));
    } catch (e) {
      return e as Error;
    }
    assert.fail('the short layer throws');
  })();
  assert.ok(inline instanceof BadInputError);
  const pool = new FitPool(2);
  assert.throws(() => probeTaskLayers(split, feats, DEFAULT_SETTINGS, ctx(pool)), (e: Error) => e instanceof BadInputError && e.message === inline.message);
  // The pool is still usable after a failed round.
  feats.train.pooled.mean![1] = feats.train.pooled.mean![0];
  assert.equal(probeTaskLayers(split, feats, DEFAULT_SETTINGS, ctx(pool)).layers.length, 3);
  await pool.close();
  assert.equal(liveFitWorkers(), 0);
});

test('PROBESCALE_FIT_THREADS sets the pool size, a bad value names itself, and ulimit -v means one thread unless it is set', () => {
  assert.equal(fitThreads({ PROBESCALE_FIT_THREADS: '3' }, 4 * 2 ** 30), 3);
  assert.ok(fitThreads({}, null) >= 1 && fitThreads({}, null) <= 8);
  assert.equal(fitThreads({}, 4 * 2 ** 30), 1, 'one thread under an address-space limit (ulimit -v)');
  assert.throws(() => fitThreads({ PROBESCALE_FIT_THREADS: 'two' }), /PROBESCALE_FIT_THREADS=two is not a whole number/);
  // Before: read by Number(), so 0x2 was 2, 1e1 ten threads, ' 2' and 2.0 two, unsaid (options refuse these since the ninth session).
  for (const raw of ['0x2', '1e1', ' 2', '2.0', '+2', '0b1']) assert.throws(() => fitThreads({ PROBESCALE_FIT_THREADS: raw }), (e: Error) => e instanceof BadInputError && e.message.startsWith(`PROBESCALE_FIT_THREADS=${raw} is not a whole number of threads >= 1 written in decimal digits`), raw);
  assert.equal(fitThreads({ PROBESCALE_FIT_THREADS: '02' }), 2);
});

test('the default pool leaves the open files a job needs: about 4 descriptors per fit thread above the 64-file floor', () => {
  const cores = Math.min(os.availableParallelism(), 8);
  assert.equal(fitThreads({}, null, 64), 1, 'ulimit -n 64 (the floor): one thread');
  assert.equal(fitThreads({}, null, 64 + 4 * 2), Math.min(cores, 2));
  assert.equal(fitThreads({}, null, 1024), cores, 'the usual 1024: no cap');
  assert.equal(fitThreads({}, null, null), cores, 'no limit: no cap');
  assert.equal(fitThreads({ PROBESCALE_FIT_THREADS: '3' }, null, 64), 3, 'a number set by hand is taken as set');
});

test('a process whose pool was never closed still exits (fit workers do not hold it)', () => {
  const code = `const { selectC } = require('./out/src/core/probe/cv.js'); const { FitPool } = require('./out/src/core/probe/fitPool.js');
    const { syntheticTask } = require('./out/scripts/fitPoolBench.js'); const t = syntheticTask({ train: 60, test: 10 }, 4, 3, 1);
    selectC(t.feats.train.pooled.mean[0], t.split.task.trainY, 4, 3, { pool: new FitPool(2) }); console.log('fitted');`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, 'it exited by itself, not by the timeout');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'fitted');
});

test('pool.shared: one shared buffer per key, reused by later rounds (grown when too small), another per key; shared arrays pass as they are', async () => {
  const pool = new FitPool(2);
  try {
    const a = pool.shared('k', Float32Array.from([1, 2, 3]));
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.deepEqual([...a], [1, 2, 3]);
    const b = pool.shared('k', Float32Array.from([4, 5]));
    assert.equal(b.buffer, a.buffer, 'the same memory for the same key');
    assert.deepEqual([...b], [4, 5]);
    assert.equal(b.length, 2);
    const c = pool.shared('other', Float32Array.from([6]));
    assert.notEqual(c.buffer, a.buffer, 'another key, other memory');
    const d = pool.shared('k', new Float32Array(10).fill(7));
    assert.notEqual(d.buffer, a.buffer, 'grown');
    assert.equal(pool.shared('k', Float32Array.from([8])).buffer, d.buffer);
    const s = new Int32Array(new SharedArrayBuffer(8));
    assert.equal(pool.shared('k', s), s);
  } finally {
    await pool.close();
  }
});

/**
 * A fit worker that dies in the middle of a unit (process.exit in it, out of memory) or while it
 * starts: the blocked caller cannot see the thread's 'exit' event, so before the fix the round
 * waited for its reply forever. Each case runs in a child process with a timeout, a pool of 2
 * whose workers are a stand-in script that speaks the fit protocol.
 */
test('a fit worker that dies mid-round (process.exit in a unit, out of memory) or cannot start fails the round with a plain message, never hangs', () => {
  const dir = tempDir('probescale-deadfit-');
  const worker = path.join(dir, 'worker.js');
  fs.writeFileSync(
    worker,
    `const { workerData } = require('node:worker_threads');
    if (process.env.DIE === 'start') throw new Error('this fit worker cannot start');
    const counter = new Int32Array(workerData.counter);
    workerData.port.on('message', (m) => {
      if (m === null) return;
      if (m.input === 2 && process.env.DIE === 'exit') process.exit(3);
      if (m.input === 2 && process.env.DIE === 'oom') { const a = []; for (;;) a.push(new Array(1e6).fill(m.input + Math.random())); }
      workerData.port.postMessage({ id: m.id, ok: true, value: m.input * 10 });
      Atomics.add(counter, 0, 1);
      Atomics.notify(counter, 0);
    });`,
  );
  const code = `const { FitPool, liveFitWorkers } = require('./out/src/core/probe/fitPool.js');
    const pool = new FitPool(2, ${JSON.stringify(worker)});
    const round = () => pool.map('layerRow', 4, (i) => i, (x) => x * 10);
    try { console.log('ok ' + round().join(',')); } catch (e) { console.log('threw ' + e.name + ' ' + e.code + ': ' + e.message); }
    console.log('live ' + liveFitWorkers());
    pool.close().then(() => console.log('closed ' + liveFitWorkers()));`;
  for (const die of ['none', 'exit', 'oom', 'start']) {
    const r = spawnSync(process.execPath, ['--max-old-space-size=64', '-e', code], { cwd: repoRoot, encoding: 'utf8', timeout: 20_000, env: { ...process.env, DIE: die } });
    assert.equal(r.signal, null, `${die}: the round ended by itself (before the fix it waited forever): ${r.stdout}${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    if (die === 'none') assert.deepEqual(lines, ['ok 0,10,20,30', 'live 2', 'closed 0']);
    else {
      // A ResourceError: the CLI says it without a stack and exits 1, not as an internal error (2).
      assert.match(lines[0], /^threw ResourceError resource: a probe fit worker stopped unexpectedly while fitting unit \d of 4 .*PROBESCALE_FIT_THREADS=1/, die);
      assert.equal(lines.at(-1), 'closed 0', `${die}: no fit worker left running`);
    }
  }
});

test('under an address-space limit a pool starts only the fit workers there is room for, and fits inline when there is none (same results)', async () => {
  // Before: PROBESCALE_FIT_THREADS=2 under ulimit -v 4000000 started both workers, and V8 aborted the whole
  // process reserving the second one's code ("Fatal process OOM in Failed to reserve virtual memory for CodeRange", exit 133).
  const { split, feats } = synthetic(120, 20, 8, 3, 1);
  const X = feats.train.pooled.mean![0];
  const inline = selectC(X, split.task.trainY, 8, 3, { seed: 1 });
  for (const [room, workers] of [[0, 0], [1, 1], [Infinity, 3]] as const) {
    const pool = new FitPool(3, undefined, () => room);
    const seen: number[] = [];
    const pooled = selectC(X, split.task.trainY, 8, 3, { seed: 1, pool, onProgress: () => seen.push(liveFitWorkers()) });
    assert.deepEqual(pooled, inline, `room ${room}`);
    assert.equal(Math.max(...seen), workers, `room ${room}: ${workers} fit workers`);
    await pool.close();
  }
  assert.equal(liveFitWorkers(), 0);
});

test('under ulimit -n a pool starts only the fit workers the free descriptors leave room for (a number set by hand included)', () => {
  // Before: PROBESCALE_FIT_THREADS=64 under ulimit -n 64 on roberta-mini (13 layer rows) hung with no output until killed.
  assert.equal(workerRoom({ addressLeft: null, files: null, filesOpen: 30 }), Infinity, 'no limit');
  assert.equal(workerRoom({ addressLeft: null, files: 64, filesOpen: 45 }), 2, '19 free descriptors: 8 kept for the job, 4 a worker');
  assert.equal(workerRoom({ addressLeft: null, files: 64, filesOpen: 60 }), 0);
  assert.equal(workerRoom({ addressLeft: 2 ** 30, files: 1024, filesOpen: 45 }), 2, 'the address space binds: 0.5 GiB a worker');
  const r = spawnSync('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" -e "console.log(require('./out/src/core/probe/fitPool.js').workerRoom())"`], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Number(r.stdout) >= 0 && Number(r.stdout) <= 12, `under ulimit -n 64 a process has room for few workers (${r.stdout.trim()})`);
});

test('a fit worker that cannot start because the working folder was deleted while the job ran says so', () => {
  // Before: "a probe fit worker stopped unexpectedly … (it ran out of memory, was stopped, or could
  // not start); run again", which no rerun from that folder could fix.
  const gone = tempDir('ps-fitpool-cwd-');
  const code = `const { FitPool, liveFitWorkers } = require(${JSON.stringify(path.join(repoRoot, 'out', 'src', 'core', 'probe', 'fitPool.js'))});
    process.chdir(${JSON.stringify(gone)});
    const pool = new FitPool(2);
    require('node:fs').rmdirSync(${JSON.stringify(gone)});
    try { pool.map('layerRow', 4, (i) => i, (x) => x * 10); console.log('ran'); } catch (e) { console.log(e.name + ' ' + e.code + ': ' + e.message); }
    pool.close().then(() => console.log('live ' + liveFitWorkers()));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^ResourceError resource: a probe fit worker could not start: the current folder no longer exists \(it was deleted, and Node starts its worker threads in it\)/);
  assert.equal(lines.at(-1), 'live 0');
});
