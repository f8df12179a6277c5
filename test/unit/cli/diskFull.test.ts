/**
 * The CLI on real full and read-only disks: small tmpfs mounts (root only). Each case checks the
 * exit code, that the message names the disk's state and the path without a stack trace, and
 * that nothing half written (no partial file, no `probescale-tmp` sibling) is left. The same
 * failures injected without a mount: test/unit/core/commit/diskFull.test.ts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir, tempDir } from '../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const tiny = fixture('tiny-bert');
const sentlen = path.join(tasksDir, 'sentlen');
const LIMITS = ['--limit-train', '40', '--limit-test', '10', '--c', '1'];

/** A fresh tmpfs of `size` (mount's size= syntax), read-only with `ro`. */
function mountTmpfs(size: string, ro = false): string {
  const dir = tempDir('ps-disk-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${ro ? ',ro' : ''}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmdirSync(dir);
    throw new Error(`mount failed: ${r.error?.message ?? r.stderr.trim().split('\n')[0]}`);
  }
  return dir;
}

function unmount(dir: string): void {
  spawnSync('umount', [dir]);
  fs.rmdirSync(dir);
}

/** Why these cases cannot run here (mount tried once), or false when they can. */
const cannotMount = ((): string | false => {
  try {
    unmount(mountTmpfs('64k'));
    return false;
  } catch (e) {
    return `needs a tmpfs mount (root on Linux): ${(e as Error).message}`;
  }
})();

/** Runs `body` on a fresh tmpfs, unmounted afterwards whatever happens. */
async function onDisk(size: string, body: (disk: string) => Promise<void> | void, ro = false): Promise<void> {
  const disk = mountTmpfs(size, ro);
  try {
    await body(disk);
  } finally {
    unmount(disk);
  }
}

/** Fills the disk of `disk` with a file, then gives `room` bytes back. */
function fill(disk: string, room = 0): void {
  const file = path.join(disk, 'filler');
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 16);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
  if (room) fs.truncateSync(file, Math.max(0, fs.statSync(file).size - room));
}

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
}

const files = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).sort();

/** A failed write as the user must see it: exit 1, the disk's state and the path said, no stack trace, no temporary left. */
function refused(r: { status: number | null; stderr: string }, disk: string, state: RegExp, target: string): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, state);
  assert.ok(r.stderr.includes(`--out ${target}: cannot be written`), r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
  assert.deepEqual(files(disk).filter((f) => f.includes('probescale-tmp')), [], 'no temporary left');
}

function checksums(dir: string): string[] {
  return files(dir).flatMap((f) => (fs.statSync(path.join(dir, f)).isFile() ? [`${f} ${crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')}`] : []));
}

const FULL = /the disk is full \(ENOSPC\)/;

test('prune and optimize onto a full disk are refused before any work, naming the path', { skip: cannotMount }, () =>
  onDisk('1m', (disk) => {
    fill(disk);
    const out = path.join(disk, 'out');
    const pruned = run('prune', tiny, '--layers', '0', '--out', out, '-q');
    refused(pruned, disk, /--out .*: cannot be written: the disk is full \(ENOSPC\): 0 B free there\. .*no work was started\. Free space on that disk, or give --out a path on another disk\./, out);
    const optimized = run('optimize', tiny, '--task', `s=${sentlen}`, '--budget', '0.9', ...LIMITS, '--no-cache', '--out', out, '-q');
    refused(optimized, disk, FULL, out);
    assert.deepEqual(files(disk), ['filler']);
  }));

test('optimize onto a disk with room to start but not for the output warns before the search, then fails at the commit leaving nothing', { skip: cannotMount }, () =>
  onDisk('3m', (disk) => {
    fill(disk, 300_000);
    const out = path.join(disk, 'out');
    const r = run('optimize', tiny, '--task', `s=${sentlen}`, '--budget', '0.9', ...LIMITS, '--no-cache', '--out', out);
    refused(r, disk, FULL, out);
    const warned = r.stderr.indexOf(`the disk that will hold ${out} has`);
    assert.ok(warned >= 0, r.stderr);
    assert.ok(warned < r.stderr.indexOf('extracting'), 'the warning comes before the search');
    assert.match(r.stderr, /writing the output may take up to [\d.]+ MB \(90\.0 % of the source's [\d.]+ MB of weights, and its tokenizer files, for the encoder and each of 1 classifier, with a 10 % margin\)/);
    assert.deepEqual(files(disk), ['filler']);
  }));

test('prune --force over a good folder on a disk that fills mid-write: the old folder survives untouched', { skip: cannotMount }, () =>
  onDisk('3m', (disk) => {
    const out = path.join(disk, 'out');
    assert.equal(run('prune', tiny, '--layers', '0', '--out', out, '-q').status, 0);
    const before = checksums(out);
    // Room for a start (past the preflight), not for a second folder of 1.3 MB.
    fill(disk, 300_000);
    const r = run('prune', tiny, '--layers', '0,1', '--out', out, '--force', '-q');
    refused(r, disk, /DiskWriteError: --out .*: cannot be written: the disk is full \(ENOSPC\): it filled after [\d.]+ kB of the output were written, and the output needs more .*the folder already at .*out is untouched\./, out);
    assert.deepEqual(checksums(out), before);
    assert.deepEqual(files(disk).filter((f) => !f.startsWith('out')), ['filler']);
  }));

test('probe --out on a read-only disk is refused before any work', { skip: cannotMount }, () =>
  onDisk(
    '64k',
    (disk) => {
      const out = path.join(disk, 'report.json');
      refused(run('probe', tiny, '--task', `s=${sentlen}`, ...LIMITS, '--no-cache', '--out', out, '-q'), disk, /the disk is read-only \(EROFS\)\. .*Give --out a path on another disk, or remount that disk read-write\./, out);
    },
    true,
  ));

test('probe --out whose disk fills while the job runs: exit 1 saying what the report needed, no stack trace, no file', { skip: cannotMount }, () =>
  onDisk('1m', async (disk) => {
    const out = path.join(disk, 'report.json');
    const child = spawn(process.execPath, [cli, 'probe', tiny, '--task', `s=${sentlen}`, ...LIMITS, '--no-cache', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    const status = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        // Past the preflight, long before the report is written: the disk fills now.
        if (!stderr.includes('extracting') && (stderr + d).includes('extracting')) fill(disk);
        stderr += d;
      });
      child.on('close', resolve);
    });
    refused({ status, stderr }, disk, /DiskWriteError: --out .*report\.json: cannot be written: the disk is full \(ENOSPC\): it needs [\d.]+ kB, 0 B free there\. Nothing of it was left on disk\. Free at least [\d.]+ kB on that disk/, out);
    assert.match(stdout, /layer/, 'the results were shown before the write failed');
    assert.deepEqual(files(disk), ['filler']);
  }));

test('a feature cache on a full or read-only disk warns once, naming the folder, and the job goes on without it', { skip: cannotMount }, async () => {
  const cached = (dir: string, ...extra: string[]) => run('probe', tiny, '--task', `s=${sentlen}`, ...LIMITS, ...extra, '--cache-dir', dir);
  const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('warn:') && l.includes('feature cache'));
  await onDisk('1m', (disk) => {
    fill(disk);
    const cache = path.join(disk, 'cache');
    const r = cached(cache);
    assert.equal(r.status, 0, r.stderr);
    const w = warnings(r.stderr);
    assert.equal(w.length, 1, r.stderr);
    assert.ok(w[0].includes(`cannot write the feature cache in ${cache}: the disk is full (ENOSPC): it needs `), w[0]);
    assert.match(w[0], /going on without it .*; or turn the cache off \(--no-cache\)\.$/);
  });
  await onDisk(
    '64k',
    (disk) => {
      const r = cached(path.join(disk, 'cache'));
      assert.equal(r.status, 0, r.stderr);
      const w = warnings(r.stderr);
      assert.equal(w.length, 1, r.stderr);
      assert.match(w[0], /the disk is read-only \(EROFS\); going on without it/);
    },
    true,
  );
  // A run with candidates opens an extractor per subset: still one warning.
  await onDisk(
    '64k',
    (disk) => {
      const o = tempDir('ps-disk-out-');
      try {
        const r = run('optimize', tiny, '--task', `s=${sentlen}`, '--budget', '0.9', ...LIMITS, '--cache-dir', path.join(disk, 'cache'), '--out', path.join(o, 'out'), '-q');
        assert.equal(r.status, 0, r.stderr);
        assert.equal(warnings(r.stderr).length, 1, r.stderr);
      } finally {
        fs.rmSync(o, { recursive: true, force: true });
      }
    },
    true,
  );
});

test('a cache entry cut short by a full disk is never left to be read back', { skip: cannotMount }, () =>
  onDisk('1m', (disk) => {
    const cache = path.join(disk, 'cache');
    fs.mkdirSync(cache);
    // Room for the start of an entry (about 260 kB for 400 rows), not the whole of it.
    fill(disk, 12_000);
    const r = run('probe', tiny, '--task', `s=${sentlen}`, '--limit-train', '400', '--limit-test', '10', '--c', '1', '--cache-dir', cache);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /cannot write the feature cache in .*: the disk is full \(ENOSPC\): it needs [\d.]+ kB, [\d.]+ kB free there/);
    assert.deepEqual(files(cache), [], 'no entry, whole or partial, and no temporary');
  }));

test('optimize --compensate with a full system temporary folder: exit 1 naming the folder and TMPDIR, nothing left (was Node\'s bare ENOSPC)', { skip: cannotMount }, () =>
  onDisk('1m', (disk) => {
    fill(disk);
    const outDir = tempDir('ps-out-');
    try {
      const args = ['optimize', tiny, '--task', `s=${sentlen}`, '--budget', '0.95', ...LIMITS, '--compensate', 'all', '--no-cache', '--out', path.join(outDir, 'm'), '-q'];
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: disk } });
      assert.equal(r.status, 1, r.stderr);
      assert.ok(r.stderr.includes(`DiskWriteError: The temporary folder ${disk} (compensated candidates are built there`), r.stderr);
      assert.match(r.stderr, /cannot be written: the disk is full \(ENOSPC\): 0 B free there\. Nothing of it was left on disk\. Free space on that disk, or set TMPDIR to a folder on another disk\./);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
      assert.deepEqual(files(disk), ['filler']);
      assert.deepEqual(files(outDir), [], 'no output folder');
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }));

test('a safetensors-only folder whose graph cache (XDG_CACHE_HOME) is on a full disk: exit 1 naming the cache and XDG_CACHE_HOME (was Node\'s bare ENOSPC)', { skip: cannotMount }, () =>
  onDisk('1m', (disk) => {
    fill(disk);
    const model = tempDir('ps-st-');
    try {
      for (const f of fs.readdirSync(tiny)) if (f !== 'onnx') fs.copyFileSync(path.join(tiny, f), path.join(model, f));
      const r = spawnSync(process.execPath, [cli, 'probe', model, '--task', `s=${sentlen}`, ...LIMITS, '--no-cache', '-q'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_CACHE_HOME: disk } });
      assert.equal(r.status, 1, r.stderr);
      const cache = path.join(disk, 'probescale', 'graphs');
      assert.ok(r.stderr.includes(`DiskWriteError: The graph cache ${cache} (the graph built from ${model}'s safetensors is written there`), r.stderr);
      assert.match(r.stderr, /cannot be written: the disk is full \(ENOSPC\): 0 B free there\. Nothing of it was left on disk\. Free space on that disk, or set XDG_CACHE_HOME to a folder on another disk\./);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
      assert.deepEqual(files(cache), [], 'no half-built graph left in the cache');
    } finally {
      fs.rmSync(model, { recursive: true, force: true });
    }
  }));
