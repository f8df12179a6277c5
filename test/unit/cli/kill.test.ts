import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../../src/core/util/rng';
import { fixture, repoRoot, robertaMini, tasksDir, tempDir } from '../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const LAYERS = '0,2';

function prune(out: string): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, [cli, 'prune', robertaMini, '--layers', LAYERS, '--out', out, '--force', '-q'], { encoding: 'utf8' });
}

/** Every file under `dir` with its bytes, relative paths sorted. */
function snapshot(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else m.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return m;
}

function temporaries(parent: string): string[] {
  return fs.readdirSync(parent).filter((n) => n.includes('.probescale-tmp-'));
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs a prune and sends `signals` (each after its delay, counted from the first stage line). */
function runAndKill(out: string, signals: { sig: NodeJS.Signals; afterMs: number }[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'prune', robertaMini, '--layers', LAYERS, '--out', out, '--force'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let armed = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (armed || !stderr.includes('pruning')) return;
      armed = true;
      for (const s of signals) setTimeout(() => child.kill(s.sig), s.afterMs);
    });
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

test('killing prune at random points of its commit leaves the target absent or complete, and the next run cleans leftovers', async () => {
  const root = tempDir('ps-kill-');
  const ref = path.join(root, 'ref');
  assert.equal(prune(ref).status, 0);
  const expected = snapshot(ref);
  const rng = new Rng(9);
  const kinds: { sig: NodeJS.Signals; afterMs: number }[][] = [];
  for (let i = 0; i < 6; i++) kinds.push([{ sig: 'SIGKILL', afterMs: rng.next() * 160 }]);
  for (let i = 0; i < 6; i++) kinds.push([{ sig: 'SIGINT', afterMs: rng.next() * 160 }]);
  for (let i = 0; i < 3; i++) {
    const t = rng.next() * 160;
    kinds.push([{ sig: 'SIGINT', afterMs: t }, { sig: 'SIGINT', afterMs: t + 5 }]);
  }
  const seen = { absent: 0, complete: 0 };
  const tally: Record<string, number> = {};
  for (const [i, signals] of kinds.entries()) {
    const parent = path.join(root, `run${i}`);
    fs.mkdirSync(parent);
    const out = path.join(parent, 'model');
    const o = await runAndKill(out, signals);
    const key = `${signals.map((x) => x.sig).join('+')} → ${o.code ?? o.signal}, ${fs.existsSync(out) ? 'complete' : 'absent'}`;
    tally[key] = (tally[key] ?? 0) + 1;
    const what = `run ${i} (${signals.map((s) => `${s.sig}@${s.afterMs.toFixed(0)}ms`).join(', ')}): code ${o.code} signal ${o.signal}\n${o.stderr}`;
    assert.doesNotMatch(o.stderr, /terminate called|Napi::Error|internal error/, what);
    assert.notEqual(o.signal, 'SIGABRT', what);
    if (fs.existsSync(out)) {
      seen.complete++;
      assert.deepEqual(snapshot(out), expected, `${what}: a target that exists is complete and byte-identical to an undisturbed run`);
    } else seen.absent++;
    if (signals[0].sig === 'SIGINT' && signals.length === 1) {
      // One Ctrl-C: a clean cancel (130, nothing on disk) or a run that had already committed (0).
      assert.ok((o.code === 130 && !fs.existsSync(out)) || (o.code === 0 && fs.existsSync(out)), what);
      assert.deepEqual(temporaries(parent), [], `${what}: no temporary sibling after a cancel`);
      if (o.code === 130) assert.match(o.stderr, /cancelled; nothing was written/);
    }
    if (o.code !== 0 && o.code !== null) assert.ok(!fs.existsSync(out), `${what}: a non-zero exit leaves no output`);
    // The next run to the same path removes whatever a killed run left and commits normally.
    assert.equal(prune(out).status, 0);
    assert.deepEqual(temporaries(parent), [], `${what}: the next run cleaned the leftovers`);
    assert.deepEqual(snapshot(out), expected);
  }
  console.log(`kill outcomes: ${JSON.stringify(tally)}`);
  assert.ok(seen.absent > 0, `some kills landed before the commit: ${JSON.stringify(seen)}`);
  fs.rmSync(root, { recursive: true, force: true });
});

/**
 * Runs optimize and sends `signals` once it reports the `verify` stage (ONNX Runtime sessions
 * open); with `closeStderr`, first closes the pipe the child writes its stderr to.
 */
function optimizeAndInterrupt(out: string, signals: NodeJS.Signals[], closeStderr = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const args = ['optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '120', '--limit-test', '40', '--c', '1', '--budget', '0.95', '--candidates', '2', '--no-cache', '--out', out];
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (sent || !stderr.includes('verifying the written folder')) return;
      sent = true;
      if (closeStderr) child.stderr.destroy();
      signals.forEach((s, i) => setTimeout(() => child.kill(s), 5 * i));
    });
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

test('Ctrl-C (or SIGTERM) during verify removes the folder and says so; a second Ctrl-C stops at once without a native abort', async () => {
  const parent = tempDir('ps-verify-int-');
  const once = await optimizeAndInterrupt(path.join(parent, 'a'), ['SIGINT']);
  assert.equal(once.code, 130, once.stderr);
  assert.match(once.stderr, /cancelled; nothing was written/);
  assert.ok(!fs.existsSync(path.join(parent, 'a')), 'the unverified folder is not left behind');
  const term = await optimizeAndInterrupt(path.join(parent, 't'), ['SIGTERM']);
  assert.equal(term.code, 143, `SIGTERM is a cancel, exit 128 + 15: ${term.stderr}`);
  assert.match(term.stderr, /cancelled; nothing was written/);
  assert.ok(!fs.existsSync(path.join(parent, 't')));
  // A closed terminal or a dropped SSH session sends SIGHUP: a cancel as well, exit 128 + 1.
  const hup = await optimizeAndInterrupt(path.join(parent, 'h'), ['SIGHUP']);
  assert.equal(hup.code, 129, `SIGHUP is a cancel: ${hup.stderr}`);
  assert.match(hup.stderr, /cancelled; nothing was written/);
  assert.ok(!fs.existsSync(path.join(parent, 'h')));
  // The terminal is gone: stderr cannot be written any more. The cancel still cleans up.
  const gone = await optimizeAndInterrupt(path.join(parent, 'g'), ['SIGHUP'], true);
  assert.equal(gone.code, 129, `SIGHUP with stderr closed: exit ${gone.code} / ${gone.signal}`);
  assert.ok(!fs.existsSync(path.join(parent, 'g')));
  const twice = await optimizeAndInterrupt(path.join(parent, 'b'), ['SIGINT', 'SIGINT']);
  assert.doesNotMatch(twice.stderr, /terminate called|Napi::Error/, twice.stderr);
  assert.notEqual(twice.signal, 'SIGABRT');
  assert.ok(twice.signal === 'SIGINT' || twice.code === 130, `exit ${twice.code} / ${twice.signal}`);
  assert.ok(!fs.existsSync(path.join(parent, 'b')));
  assert.deepEqual(temporaries(parent).filter((n) => !n.startsWith('.b.')), [], 'only the hard-stopped run may leave a temporary, cleaned by its next run');
  fs.rmSync(parent, { recursive: true, force: true });
});
