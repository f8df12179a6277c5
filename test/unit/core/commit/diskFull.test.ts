/**
 * A disk that fills or refuses writes, injected into the commit layer (always runs; the real
 * full and read-only disks, mounted, are in test/unit/cli/diskFull.test.ts).
 */
import { mock, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import fs from 'node:fs';
import { writeFileAtomic, writeFolderAtomically } from '../../../../src/core/commit/atomicDir';
import { DiskWriteError, messageIn } from '../../../../src/core/errors';
import { diskWriteError } from '../../../../src/core/util/diskErrors';
import { cliFlag } from '../../../../src/cli/main';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor } from '../../../../src/core/extract/extractor';
import { decodeFeatures } from '../../../../src/core/extract/featureCache';
import { openModel } from '../../../../src/core/model/modelInfo';
import { fixture, tasksDir, tempDir } from '../../../helpers';

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

/** Writes `bytes` to `file` through a write stream whose disk is full after `room` bytes (the write past it fails with ENOSPC). */
function streamUntilFull(file: string, bytes: number, room: number): Promise<void> {
  let written = 0;
  const failing = {
    open: fs.open,
    close: fs.close,
    write: (fd: number, buf: Buffer, off: number, len: number, pos: number | null, cb: (e: Error | null, n?: number) => void) => {
      const n = Math.min(len, room - written);
      if (n <= 0) return cb(enospc());
      written += n;
      fs.write(fd, buf, off, n, pos, cb);
    },
  };
  return new Promise((resolve, reject) => {
    const s = fs.createWriteStream(file, { fs: failing } as Parameters<typeof fs.createWriteStream>[1]);
    s.on('error', reject).on('finish', resolve);
    s.end(Buffer.alloc(bytes, 7));
  });
}

function tmpDir(): string {
  return tempDir('ps-diskfull-');
}

const entries = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
const snapshot = (dir: string) => entries(dir).map((f) => [f, fs.statSync(path.join(dir, f)).isFile() ? fs.readFileSync(path.join(dir, f), 'hex') : 'dir']);

/** An earlier model folder at `out`, as prune writes one (what --force may replace). */
function goodFolder(out: string): void {
  fs.mkdirSync(path.join(out, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(out, 'config.json'), '{"model_type":"bert"}');
  fs.writeFileSync(path.join(out, 'onnx', 'model.onnx'), Buffer.alloc(2000, 1));
}

test('a folder commit whose disk fills mid-write says so once, naming the path and the bytes, and leaves nothing', async () => {
  const dir = tmpDir();
  try {
    const out = path.join(dir, 'out');
    const err = await writeFolderAtomically(out, false, async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'config.json'), Buffer.alloc(5000, 1));
      await streamUntilFull(path.join(tmp, 'model.onnx'), 1_000_000, 3000);
    }).then(
      () => assert.fail('the commit succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DiskWriteError, `a DiskWriteError, not ${String(err)}`);
    assert.equal(err.code, 'disk-full');
    assert.equal(err.errno, 'ENOSPC');
    assert.deepEqual(err.bad, { param: 'out', value: out });
    const said = messageIn(err, cliFlag);
    assert.match(said, new RegExp(`^--out ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot be written: the disk is full \\(ENOSPC\\): it filled after 8\\.0 kB of the output were written`));
    assert.match(said, /Nothing of it was left on disk\. Free space on that disk, or give --out a path on another disk\.$/);
    assert.deepEqual(entries(dir), [], 'no folder, no temporary, no partial file');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('replacing (--force) a good folder: when the new one cannot be written, the old one stays as it was', async () => {
  const dir = tmpDir();
  try {
    const out = path.join(dir, 'out');
    goodFolder(out);
    const before = snapshot(out);
    await assert.rejects(
      writeFolderAtomically(out, true, (tmp) => streamUntilFull(path.join(tmp, 'model.onnx'), 100_000, 10_000)),
      (e: Error) => e instanceof DiskWriteError && /Nothing of it was left on disk; the folder already at .*out is untouched\./.test(e.message),
    );
    assert.deepEqual(snapshot(out), before);
    assert.deepEqual(entries(dir).filter((f) => !f.startsWith('out')), [], 'no temporary left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('replacing (--force): a failed rename of the new folder puts the old one back under its name', async () => {
  const dir = tmpDir();
  const out = path.join(dir, 'out');
  const rename = fs.renameSync;
  // The second rename of a replace (the new folder into place) fails, as a directory that needs a new block on a full disk can.
  const m = mock.method(fs, 'renameSync', (from: fs.PathLike, to: fs.PathLike) => {
    if (String(to) === out && String(from).includes('probescale-tmp') && fs.readdirSync(String(from)).includes('new')) throw Object.assign(enospc(), { syscall: 'rename' });
    return rename(from, to);
  });
  try {
    goodFolder(out);
    const before = snapshot(out);
    await assert.rejects(
      writeFolderAtomically(out, true, async (tmp) => fs.writeFileSync(path.join(tmp, 'new'), 'x')),
      (e: Error) => e instanceof DiskWriteError && e.code === 'disk-full',
    );
    assert.ok(m.mock.callCount() >= 2, 'the replace was reached');
    assert.deepEqual(snapshot(out), before, 'the old folder is back at its path, unchanged');
    assert.deepEqual(entries(dir).filter((f) => !f.startsWith('out')), [], 'no temporary left (the old folder is not parked under one)');
  } finally {
    m.mock.restore();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file commit that fills the disk keeps the earlier file, leaves no temporary and says what it needed', () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, 'report.json');
    fs.writeFileSync(file, 'earlier');
    const err = (() => {
      try {
        writeFileAtomic(file, (tmp) => {
          fs.writeFileSync(tmp, Buffer.alloc(1500, 1));
          throw enospc();
        }, 'out');
      } catch (e) {
        return e;
      }
      assert.fail('the write succeeded');
    })();
    assert.ok(err instanceof DiskWriteError);
    assert.match(messageIn(err, cliFlag), /^--out .*report\.json: cannot be written: the disk is full \(ENOSPC\): it filled after 1\.5 kB of the output were written.*Nothing of it was left on disk; the file already at .*report\.json is untouched\./);
    assert.equal(fs.readFileSync(file, 'utf8'), 'earlier');
    assert.deepEqual(entries(dir), ['report.json']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('disk errors are worded once: read-only, permission, quota; other errors are left alone', () => {
  // The folder that holds the output exists (its temporary was being made in it).
  const at = path.join(tempDir('ps-nowhere-'), 'out');
  const rofs = diskWriteError(Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' }), at, { param: 'out' })!;
  assert.equal(rofs.code, 'not-writable');
  assert.match(messageIn(rofs, cliFlag), /^--out .*out: cannot be written: the disk is read-only \(EROFS\)\. Nothing of it was left on disk\. Give --out a path on another disk, or remount that disk read-write\.$/);
  const denied = diskWriteError(Object.assign(new Error('EACCES'), { code: 'EACCES', path: path.join(path.dirname(at), '.out.probescale-tmp-1-ab') }), at, { param: 'out' })!;
  assert.equal(denied.code, 'not-writable');
  // The folder that refused is named, never the temporary's name.
  assert.equal(messageIn(denied, cliFlag), `--out ${at}: cannot be written: permission denied (EACCES) in ${path.dirname(at)}. Nothing of it was left on disk. Give --out a path you can write to, or give yourself write permission there.`);
  const quota = diskWriteError(Object.assign(new Error('EDQUOT'), { code: 'EDQUOT' }), at, { needed: 2_500_000 })!;
  assert.equal(quota.code, 'disk-full');
  assert.match(quota.message, /your disk quota is used up \(EDQUOT\): it needs 2\.5 MB/);
  assert.equal(diskWriteError(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }), at), undefined);
  assert.equal(diskWriteError(new Error('plain'), at), undefined);
  // Worded once, then named again for the folder it was part of: the system's code is kept.
  assert.equal(diskWriteError(rofs, path.dirname(at))?.errno, 'EROFS');
  // A folder no parameter named (the system temporary folder): its own name and its own way elsewhere.
  const temp = diskWriteError(Object.assign(new Error('EACCES'), { code: 'EACCES' }), at, { name: 'The temporary folder T', elsewhere: (where) => `set TMPDIR to a folder ${where}` })!;
  assert.equal(temp.message, 'The temporary folder T: cannot be written: permission denied (EACCES). Nothing of it was left on disk. Set TMPDIR to a folder you can write to, or give yourself write permission there.');
});

test('a feature cache entry the disk cuts short is warned about once, left nowhere, and the next run writes it whole', async () => {
  const cacheDir = tmpDir();
  const info = openModel(fixture('tiny-bert'));
  const write = fs.writeFileSync;
  // The disk fills halfway through each cache entry: half of it reaches the temporary, then ENOSPC.
  const m = mock.method(fs, 'writeFileSync', (file: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, o?: fs.WriteFileOptions) => {
    if (!String(file).includes('.feat.probescale-tmp')) return write(file, data, o);
    write(file, (data as Buffer).subarray(0, (data as Buffer).length >> 1));
    throw enospc();
  });
  try {
    const tok = await loadTokenizer(info.dir, { maxLength: 32 });
    const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 20, limitTest: 5 });
    const ex = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true, cacheDir });
    const logs: string[] = [];
    const log = (_l: string, msg: string) => logs.push(msg);
    const got = await ex.extract(task.train, 'train', { log });
    await ex.extract(task.test, 'test', { log });
    await ex.release();
    assert.equal(logs.length, 1, JSON.stringify(logs));
    assert.match(logs[0], new RegExp(`^train: cannot write the feature cache in ${cacheDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the disk is full \\(ENOSPC\\): it needs [\\d.]+ kB, .* free there; going on without it \\(no entry was left there\\)\\. To cache features, free .* on that disk, or point \\{\\{cacheDir\\}\\} to a folder on another disk; or turn the cache off \\(\\{\\{noCache\\}\\}\\)\\.$`));
    assert.deepEqual(fs.readdirSync(cacheDir), [], 'no entry, whole or cut short, and no temporary');
    m.mock.restore();
    const again = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true, cacheDir });
    await again.extract(task.train, 'train');
    await again.release();
    const entries = fs.readdirSync(cacheDir);
    assert.equal(entries.length, 1);
    assert.deepEqual(decodeFeatures(fs.readFileSync(path.join(cacheDir, entries[0]))).pooled.mean, got.pooled.mean);
  } finally {
    m.mock.restore();
    info.model.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});
