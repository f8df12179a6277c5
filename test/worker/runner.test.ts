import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProbeJob, ProgressEvent } from '../../src/core/jobs';
import { DEFAULT_SETTINGS } from '../../src/core/settings';
import { WorkerJobRunner } from '../../src/worker/runner';
import { fixture, repoRoot, robertaMini, tasksDir, tempDir } from '../helpers';

const workerPath = path.join(repoRoot, 'out', 'src', 'worker', 'main.js');
const small = (modelDir: string, limitTrain = 60): ProbeJob => ({
  type: 'probe',
  modelDir,
  tasks: [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }],
  settings: { ...DEFAULT_SETTINGS, c: 1, limitTrain, limitTest: 30, maxLength: 64 },
});

test('a probe job runs in the worker with typed progress', async () => {
  const runner = new WorkerJobRunner(workerPath);
  const events: ProgressEvent[] = [];
  const report = await runner.run(small(fixture('tiny-distilbert')), { onProgress: (e) => events.push(e) });
  assert.equal(report.model.architecture, 'distilbert');
  assert.equal(report.tasks.sentlen.layers.length, 5);
  assert.ok(events.some((e) => e.kind === 'extract' && e.done === e.total));
  assert.ok(events.some((e) => e.kind === 'probe' && e.done === 5));
  await runner.dispose();
});

test('errors come back as data with their code; the worker stays usable', async () => {
  const runner = new WorkerJobRunner(workerPath);
  await assert.rejects(runner.run(small('/nonexistent/model'), {}), (e: Error & { code?: string }) => e.code === 'bad-input' && /nonexistent/.test(e.message));
  const report = await runner.run(small(fixture('tiny-bert')), {});
  assert.equal(report.tasks.sentlen.layers.length, 5);
  await runner.dispose();
});

test('cancel stops a long job quickly and is not an error; the next job runs', async () => {
  const runner = new WorkerJobRunner(workerPath);
  const ac = new AbortController();
  const t0 = Date.now();
  const job = small(robertaMini, 2000);
  const p = runner.run(job, { signal: ac.signal, onProgress: (e) => e.kind === 'extract' && ac.abort() });
  await assert.rejects(p, (e: Error) => e.name === 'CancelledError');
  assert.ok(Date.now() - t0 < 20_000, 'cancelled within the grace period');
  const report = await runner.run(small(fixture('tiny-t5-encoder')), {});
  assert.equal(report.model.architecture, 't5');
  await runner.dispose();
});

test('a job that misses the grace period releases its caller at once; the worker is not killed mid-batch', async () => {
  const runner = new WorkerJobRunner(workerPath, 1);
  const ac = new AbortController();
  const p = runner.run(small(robertaMini, 2000), { signal: ac.signal, onProgress: (e) => e.kind === 'extract' && ac.abort() });
  await assert.rejects(p, (e: Error) => e.name === 'CancelledError');
  // The next job queues behind the one still finishing its batch, in the same (living) worker.
  const report = await runner.run(small(fixture('tiny-bert')), {});
  assert.equal(report.tasks.sentlen.layers.length, 5);
  await runner.dispose();
});

test('a warning from opening the model (config.json giving a key twice) reaches the host through the job log, which the extension writes to its output channel', async () => {
  const dir = tempDir('probescale-runner-');
  try {
    const model = path.join(dir, 'm');
    fs.cpSync(fixture('tiny-bert'), model, { recursive: true });
    const config = path.join(model, 'config.json');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('{', '{\n  "num_hidden_layers": 12,'));
    const runner = new WorkerJobRunner(workerPath);
    const logged: string[] = [];
    const result = await runner.run({ type: 'prune', modelDir: model, layers: [0, 1], out: path.join(dir, 'out'), settings: {} }, { log: (level, message) => logged.push(`${level}: ${message}`) });
    await runner.dispose();
    assert.equal((result as { params: { before: number } }).params.before, 169_472, 'read as 4 blocks');
    assert.deepEqual(logged.filter((l) => l.includes('config.json gives')), [`warn: ${config} gives "num_hidden_layers" twice: 12, then 4; the last (4) is used, as transformers reads it. Remove the other from config.json if the last is not what you meant.`]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a job whose worker cannot start because the working folder was deleted fails with a worded ResourceError', () => {
  // Node starts a worker thread in the working folder; deleted, the start failed with
  // "ENOENT: no such file or directory, uv_cwd" and the job ended as an internal error.
  const gone = tempDir('ps-runner-cwd-');
  const code = `const { WorkerJobRunner } = require(${JSON.stringify(path.join(repoRoot, 'out', 'src', 'worker', 'runner.js'))});
    process.chdir(${JSON.stringify(gone)});
    require('node:fs').rmdirSync(${JSON.stringify(gone)});
    const runner = new WorkerJobRunner(${JSON.stringify(workerPath)});
    runner.run(${JSON.stringify(small(fixture('tiny-bert')))}, {}).then(
      () => console.log('ran'),
      (e) => console.log(e.name + ' ' + e.code + ': ' + e.message),
    ).finally(() => runner.dispose());`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ResourceError resource: the job could not start its worker thread: the current folder no longer exists \(it was deleted, and Node starts its worker threads in it\); run from a folder that exists/);
});
