import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor, LayerFeatures } from '../../../../src/core/extract/extractor';
import { CacheEntryError, decodeFeatures, encodeFeatures } from '../../../../src/core/extract/featureCache';
import { openModel } from '../../../../src/core/model/modelInfo';
import { fixture, tasksDir, tempDir } from '../../../helpers';

function sample(): LayerFeatures {
  const f32 = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + k));
  return { n: 3, dim: 4, layers: [0, 1], pooled: { mean: [f32(12, 0), f32(12, 1)], first: [f32(12, 2), f32(12, 3)] }, cosine: [f32(3, 4)] };
}

test('a feature cache entry round-trips and every damage is a CacheEntryError naming it', () => {
  const f = sample();
  const buf = encodeFeatures(f);
  assert.deepEqual(decodeFeatures(buf), f);
  const cases: [string, Buffer, RegExp][] = [
    ['truncated by 4 bytes', buf.subarray(0, buf.length - 4), /payload is \d+ bytes, header declares/],
    ['one payload bit flipped', Buffer.concat([buf.subarray(0, buf.length - 1), Buffer.from([buf[buf.length - 1] ^ 1])]), /checksum/],
    ['garbage', Buffer.from('hello world, not a cache'), /not a ProbeScale feature cache entry/],
    ['empty', Buffer.alloc(0), /not a ProbeScale feature cache entry/],
  ];
  for (const [what, b, re] of cases) assert.throws(() => decodeFeatures(b), (e: unknown) => e instanceof CacheEntryError && re.test((e as Error).message), what);
});

test('a header that declares an absurd shape is refused before anything is allocated', () => {
  const json = Buffer.from(JSON.stringify({ n: 1e12, dim: 1e6, layers: [0], poolings: ['mean'], cosine: 0, bytes: 16, sha256: '' }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const buf = Buffer.concat([Buffer.from('PSFC0002'), len, json, Buffer.alloc((4 - (json.length % 4)) % 4, 0x20), Buffer.alloc(16)]);
  assert.throws(() => decodeFeatures(buf), /header declares 16 bytes but its shape needs 4000000000000000000/);
  const huge = Buffer.concat([Buffer.from('PSFC0002'), Buffer.from([0xff, 0xff, 0xff, 0x7f])]);
  assert.throws(() => decodeFeatures(huge), /header length 2147483647 exceeds the file/);
});

test('a truncated or overwritten cache file is re-extracted with a log line, never read as zeros', async () => {
  const cacheDir = tempDir('ps-cache-');
  const info = openModel(fixture('tiny-bert'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 20, limitTest: 5 });
  const ex = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true, cacheDir });
  const fresh = await ex.extract(task.train, 'x');
  const [file] = fs.readdirSync(cacheDir).map((n) => path.join(cacheDir, n));
  for (const damage of ['truncate', 'garbage'] as const) {
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, damage === 'truncate' ? bytes.subarray(0, bytes.length - 100) : Buffer.concat([bytes.subarray(0, 200), Buffer.alloc(bytes.length - 200, 0x41)]));
    const logs: string[] = [];
    const passes = ex.forwardPasses;
    const again = await ex.extract(task.train, 'x', { log: (_l, m) => logs.push(m) });
    assert.ok(ex.forwardPasses > passes, `${damage}: re-extracted`);
    assert.equal(logs.length, 1, `${damage}: one log line`);
    assert.match(logs[0], new RegExp(`feature cache entry .*${path.basename(file)} is damaged .*extracting again`));
    assert.deepEqual(again.pooled.mean, fresh.pooled.mean);
    assert.deepEqual(decodeFeatures(fs.readFileSync(file)).pooled.mean, fresh.pooled.mean, `${damage}: the entry was rewritten whole`);
  }
  assert.deepEqual(fs.readdirSync(cacheDir).filter((n) => n.includes('tmp')), []);
  await ex.release();
  info.model.close();
});

test('a cache folder that is a file, or an entry that is a folder, is warned about once and the run goes on without the cache', async () => {
  const root = tempDir('ps-cache-bad-');
  const info = openModel(fixture('tiny-bert'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 20, limitTest: 5 });
  try {
    const reference = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true, cacheDir: null });
    const expected = await reference.extract(task.train, 'x');
    await reference.release();
    // The cache "folder" is a file: nothing can be written under it.
    const fileDir = path.join(root, 'cache-is-a-file');
    fs.writeFileSync(fileDir, 'x');
    const ex = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true, cacheDir: fileDir });
    const logs: [string, string][] = [];
    const got = await ex.extract(task.train, 'x', { log: (l, m) => logs.push([l, m]) });
    await ex.extract(task.test, 'y', { log: (l, m) => logs.push([l, m]) });
    assert.deepEqual(got.pooled.mean, expected.pooled.mean);
    assert.equal(logs.length, 1, `one warning for the run: ${JSON.stringify(logs)}`);
    assert.equal(logs[0][0], 'warn');
    assert.match(logs[0][1], new RegExp(`cannot write the feature cache in ${fileDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(.*\\); going on without it\\. Point \\{\\{cacheDir\\}\\} elsewhere, or turn the cache off \\(\\{\\{noCache\\}\\}\\)`));
    assert.equal(fs.readFileSync(fileDir, 'utf8'), 'x', 'the file is left as it was');
    await ex.release();
    // An entry's path is a folder (someone put one there): left alone, warned about, the run goes on.
    const dir = path.join(root, 'cache');
    const ex2 = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true, cacheDir: dir });
    await ex2.extract(task.train, 'x');
    const [entry] = fs.readdirSync(dir);
    fs.rmSync(path.join(dir, entry));
    fs.mkdirSync(path.join(dir, entry, 'keep'), { recursive: true });
    const logs2: string[] = [];
    const again = await ex2.extract(task.train, 'x', { log: (_l, m) => logs2.push(m) });
    assert.deepEqual(again.pooled.mean, expected.pooled.mean);
    assert.ok(fs.existsSync(path.join(dir, entry, 'keep')), 'the folder is not removed');
    assert.ok(logs2.some((m) => /cannot write the feature cache/.test(m)), JSON.stringify(logs2));
    await ex2.release();
  } finally {
    info.model.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
