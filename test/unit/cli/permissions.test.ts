/**
 * Files and folders this user may not read, tried as a user who is not root (root reads
 * everything, so the rest of the suite never meets a permission): each is refused in one line
 * that says permission is the problem and what to do, never Node's raw EACCES or another cause's
 * advice ("not valid JSON", "damaged", "several train files").
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir, tempDir } from '../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
const USER = '54322';
const GRANT = /give yourself permission \(chmod u\+r on files, u\+rx on each folder on the way\) or run as a user who has it\.$/m;

interface Case {
  name: string;
  /** Takes away a permission under `d` (the model is d/m, the task d/t; d/locked/ a root-only folder holding copies); returns the model and task to probe. */
  lock: (d: string) => { model?: string; task?: string };
  stderr: RegExp;
}

const cases: Case[] = [
  { name: 'a model folder it may not list', lock: (d) => (fs.chmodSync(path.join(d, 'm'), 0o000), {}), stderr: /the model folder .*\/m cannot be read by this user \(permission denied\)/ },
  { name: 'a model folder inside one it may not enter', lock: (d) => ({ model: path.join(d, 'locked', 'm') }), stderr: /the model folder .*\/locked\/m cannot be read by this user \(permission denied\)/ },
  { name: 'config.json it may not read (was: "is not valid JSON")', lock: (d) => (fs.chmodSync(path.join(d, 'm', 'config.json'), 0o000), {}), stderr: /\/m\/config\.json cannot be read by this user \(permission denied\)/ },
  { name: 'onnx/model.onnx it may not read (was: Node\'s "EACCES: permission denied, open")', lock: (d) => (fs.chmodSync(path.join(d, 'm', 'onnx', 'model.onnx'), 0o000), {}), stderr: /\/m\/onnx\/model\.onnx cannot be read by this user \(permission denied\)/ },
  { name: 'an onnx folder it may not enter', lock: (d) => (fs.chmodSync(path.join(d, 'm', 'onnx'), 0o600), {}), stderr: /\/m\/onnx\/model\.onnx is in a folder this user may not enter \(permission denied\)/ },
  { name: 'tokenizer.json it may not read (was: "may be damaged or cut short")', lock: (d) => (fs.chmodSync(path.join(d, 'm', 'tokenizer.json'), 0o000), {}), stderr: /\/m\/tokenizer\.json cannot be read by this user \(permission denied\)/ },
  {
    name: 'model.safetensors it may not read (a folder without an ONNX export)',
    lock: (d) => (fs.rmSync(path.join(d, 'm', 'onnx'), { recursive: true }), fs.chmodSync(path.join(d, 'm', 'model.safetensors'), 0o000), {}),
    stderr: /\/m\/model\.safetensors cannot be read by this user \(permission denied\)/,
  },
  { name: 'a task folder it may not enter (was: "has several train files")', lock: (d) => (fs.chmodSync(path.join(d, 't'), 0o600), {}), stderr: /task "s": .*\/t cannot be read by this user \(permission denied\)/ },
  { name: 'a task folder inside one it may not enter', lock: (d) => ({ task: path.join(d, 'locked', 't') }), stderr: /task "s": .*\/locked\/t is in a folder this user may not enter \(permission denied\)/ },
  { name: 'a train file it may not read', lock: (d) => (fs.chmodSync(path.join(d, 't', 'train.jsonl'), 0o000), {}), stderr: /\/t\/train\.jsonl cannot be read by this user \(permission denied\)/ },
];

test('files and folders this user may not read are refused as a permission problem, with what to do', { skip: !(process.getuid?.() === 0 && setpriv) && 'needs root and setpriv to run as a user without permission' }, () => {
  for (const c of cases) {
    const d = tempDir('ps-perm-');
    // The test's temp folder (0700, root's) must let the other user through.
    fs.chmodSync(path.dirname(d), 0o711);
    fs.chmodSync(d, 0o755);
    fs.cpSync(fixture('tiny-bert'), path.join(d, 'm'), { recursive: true });
    fs.cpSync(path.join(tasksDir, 'sentlen'), path.join(d, 't'), { recursive: true });
    fs.mkdirSync(path.join(d, 'locked'), { mode: 0o700 });
    fs.cpSync(path.join(d, 'm'), path.join(d, 'locked', 'm'), { recursive: true });
    fs.cpSync(path.join(d, 't'), path.join(d, 'locked', 't'), { recursive: true });
    spawnSync('chmod', ['-R', 'a+rX', path.join(d, 'm'), path.join(d, 't')]);
    const { model = path.join(d, 'm'), task = path.join(d, 't') } = c.lock(d);
    const r = spawnSync(setpriv!, ['--reuid', USER, '--regid', USER, '--clear-groups', process.execPath, cli, 'probe', model, '--task', `s=${task}`, '--limit-train', '40', '--limit-test', '10', '--no-cache', '-q'], {
      cwd: d,
      env: { ...process.env, HOME: d },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1, `${c.name}: ${r.stderr}`);
    assert.match(r.stderr, c.stderr, c.name);
    assert.match(r.stderr, GRANT, `${c.name}: says what to do, and nothing else`);
    assert.doesNotMatch(r.stderr, /\n\s+at |EACCES: permission denied|not valid JSON|damaged|several train files|put the|download/, c.name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${c.name}: one line`);
  }
});

test('--out under a folder this user may not write names that folder, not the missing one below it', { skip: !(process.getuid?.() === 0 && setpriv) && 'needs root and setpriv to run as a user without permission' }, () => {
  const d = tempDir('ps-perm-out-');
  fs.chmodSync(path.dirname(d), 0o711);
  fs.chmodSync(d, 0o755);
  fs.cpSync(fixture('tiny-bert'), path.join(d, 'm'), { recursive: true });
  spawnSync('chmod', ['-R', 'a+rX', path.join(d, 'm')]);
  fs.mkdirSync(path.join(d, 'ro'), { mode: 0o555 });
  fs.mkdirSync(path.join(d, 'locked'), { mode: 0o700 });
  // Before: "permission denied (EACCES) in …/ro/sub", a folder that does not exist.
  for (const [out, refused] of [
    [path.join(d, 'ro', 'sub', 'out'), path.join(d, 'ro')],
    [path.join(d, 'ro', 'out'), path.join(d, 'ro')],
    [path.join(d, 'locked', 'sub', 'out'), path.join(d, 'locked')],
  ]) {
    const r = spawnSync(setpriv!, ['--reuid', USER, '--regid', USER, '--clear-groups', process.execPath, cli, 'prune', path.join(d, 'm'), '--layers', '0,1', '--out', out], { cwd: d, env: { ...process.env, HOME: d }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(`permission denied (EACCES) in ${refused}. `), `${out}: ${r.stderr}`);
  }
});
