/**
 * Where the CLI runs: without a home folder (a user id with no entry in the user database and
 * HOME unset, as `docker run -u 12345` or OpenShift give), with a relative XDG_CACHE_HOME, and
 * from a working folder that was deleted under the shell.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir, tempDir } from '../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const LIMITS = ['--limit-train', '40', '--limit-test', '10', '--c', '1', '-q'];

/** A private, world-readable copy of tiny-bert and the sentlen task, and a world-writable folder for outputs. */
function worldReadable(): { dir: string; model: string; bare: string; task: string; out: string } {
  const dir = tempDir('ps-home-');
  const model = path.join(dir, 'tiny-bert');
  fs.cpSync(fixture('tiny-bert'), model, { recursive: true });
  const bare = path.join(dir, 'bare');
  fs.cpSync(model, bare, { recursive: true });
  fs.rmSync(path.join(bare, 'onnx'), { recursive: true });
  const task = path.join(dir, 'sentlen');
  fs.cpSync(path.join(tasksDir, 'sentlen'), task, { recursive: true });
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  fs.chmodSync(out, 0o777);
  // The test process's own temp folder (scripts/runTests.mjs makes it 0700) must let the other user through.
  fs.chmodSync(path.dirname(dir), 0o711);
  return { dir, model, bare, task, out };
}

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
const asRoot = process.getuid?.() === 0;

test('without a home folder the CLI runs without the feature cache and says so, and names what needs a home', { skip: !(asRoot && setpriv) && 'needs root and setpriv to run as a user id with no home' }, () => {
  // Before: every command failed with "A system error occurred: uv_os_homedir returned ENOENT".
  const f = worldReadable();
  const { HOME: _h, XDG_CACHE_HOME: _x, ...env } = process.env;
  const run = (...args: string[]) =>
    spawnSync(setpriv!, ['--reuid', '54321', '--regid', '54321', '--clear-groups', process.execPath, cli, ...args], { cwd: f.out, env, encoding: 'utf8', timeout: 120_000 });
  const probed = run('probe', f.model, '--task', `s=${f.task}`, ...LIMITS, '--out', path.join(f.out, 'r.json'));
  assert.equal(probed.status, 0, probed.stderr);
  assert.match(probed.stderr, /^warn: the feature cache is off: there is no home folder, and XDG_CACHE_HOME is not set to an absolute path\. .*set XDG_CACHE_HOME to an absolute folder, or pass --cache-dir DIR\./m);
  assert.ok(fs.existsSync(path.join(f.out, 'r.json')));
  const none = run('probe', f.model, '--task', `s=${f.task}`, ...LIMITS, '--no-cache');
  assert.equal(none.status, 0, none.stderr);
  assert.doesNotMatch(none.stderr, /feature cache/, 'asked for no cache: nothing to say');

  const cache = run('cache');
  assert.equal(cache.status, 0, cache.stderr);
  assert.equal(cache.stdout, 'feature cache: none (there is no home folder, and XDG_CACHE_HOME is not set to an absolute path)\ngraph cache: none (there is no home folder, and XDG_CACHE_HOME is not set to an absolute path)\n');

  const tilde = run('probe', f.model, '--task', `s=${f.task}`, ...LIMITS, '--out=~/r.json');
  assert.equal(tilde.status, 1);
  assert.match(tilde.stderr, /^probescale: ~\/r\.json: ~ stands for the home folder, and there is none \(HOME is unset and user id 54321 has no home folder in the user database\); give the path in full\.$/m);

  const built = run('probe', f.bare, '--task', `s=${f.task}`, ...LIMITS, '--no-cache');
  assert.equal(built.status, 1, built.stderr);
  assert.match(built.stderr, /bare has no ONNX export, so its graph is built from the safetensors into the graph cache, and there is no folder for it: HOME is unset and user id 54321 has no home folder in the user database, and XDG_CACHE_HOME is not set to an absolute path\. Set XDG_CACHE_HOME to a folder you can write to/);
  for (const r of [probed, cache, tilde, built]) assert.doesNotMatch(r.stderr, /\n\s+at |uv_os_homedir/, 'no stack, no libuv words');

  // XDG_CACHE_HOME, absolute, is all the caches need.
  const xdg = path.join(f.out, 'xdg');
  const withXdg = spawnSync(setpriv!, ['--reuid', '54321', '--regid', '54321', '--clear-groups', process.execPath, cli, 'probe', f.bare, '--task', `s=${f.task}`, ...LIMITS], { cwd: f.out, env: { ...env, XDG_CACHE_HOME: xdg }, encoding: 'utf8', timeout: 120_000 });
  assert.equal(withXdg.status, 0, withXdg.stderr);
  assert.deepEqual(fs.readdirSync(path.join(xdg, 'probescale')).sort(), ['features', 'graphs']);
});

test('a relative XDG_CACHE_HOME is ignored, as the XDG spec says: the cache goes to ~/.cache, not under the working folder', () => {
  // Before: XDG_CACHE_HOME=rel made ./rel/probescale/features wherever the command ran.
  const dir = tempDir('ps-xdg-rel-');
  const home = path.join(dir, 'home');
  const r = spawnSync(process.execPath, [cli, 'probe', fixture('tiny-bert'), '--task', `s=${path.join(tasksDir, 'sentlen')}`, ...LIMITS], {
    cwd: dir,
    env: { ...process.env, HOME: home, XDG_CACHE_HOME: 'rel' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(dir), ['home']);
  assert.ok(fs.readdirSync(path.join(home, '.cache', 'probescale', 'features')).some((n) => n.endsWith('.feat')));
});

test('from a working folder deleted under the shell the CLI says so in one line and exits 1', () => {
  // Before: "internal error: Error: ENOENT: no such file or directory, uv_cwd" with a worker-thread stack, exit 2.
  const gone = path.join(tempDir('ps-cwd-'), 'gone');
  fs.mkdirSync(gone);
  const script = `cd "$1" && rmdir "$1" && exec "$2" "$3" probe ${JSON.stringify(fixture('tiny-bert'))} --task s=${JSON.stringify(path.join(tasksDir, 'sentlen'))} ${LIMITS.join(' ')}`;
  const r = spawnSync('/bin/sh', ['-c', script, 'sh', gone, process.execPath, cli], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, 'probescale: the current folder no longer exists (it was deleted, and Node starts its worker threads in it); run from a folder that exists (cd there in a terminal; restart VS Code if it was started there).\n');
});
