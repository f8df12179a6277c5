import { mock, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor, batchTokenLimit } from '../../../../src/core/extract/extractor';
import { openModel } from '../../../../src/core/model/modelInfo';
import { findWordEmbedding, unknownTokenMap } from '../../../../src/core/onnx/vocab';
import { POOLINGS, type Pooling } from '../../../../src/core/onnx/edit';
import { fixture, robertaMini, tasksDir, tempDir } from '../../../helpers';

test('extraction makes exactly one forward pass per batch and matches plain inference', async () => {
  const info = openModel(fixture('tiny-bert'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 70, limitTest: 10 });
  const ex = await Extractor.create(info, tok, { poolings: [...POOLINGS], cosine: true, batchSize: 16 });
  const f = await ex.extract(task.train, 'sentlen/train');
  assert.equal(ex.forwardPasses, Math.ceil(70 / 16));
  assert.equal(ex.forwardPasses, ex.batches);
  assert.deepEqual(f.layers, [0, 1, 2, 3, 4]);
  assert.equal(f.cosine.length, 4);

  // The final layer's pooled features equal pooling the unmodified model's output, one text at a time.
  const plain = await ort.InferenceSession.create(info.onnxFile);
  for (const i of [0, 33, 69]) {
    const { ids, typeIds } = tok.encodeWithTypes(task.train[i].text);
    const dims = [1, ids.length];
    const t = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);
    const out = await plain.run({ input_ids: t(ids), attention_mask: t(ids.map(() => 1)), token_type_ids: t(typeIds) });
    const h = out.last_hidden_state.data as Float32Array;
    const n = ids.length;
    for (let d = 0; d < f.dim; d++) {
      let s = 0;
      let m = -Infinity;
      let w = 0;
      for (let p = 0; p < n; p++) {
        s += h[p * f.dim + d];
        m = Math.max(m, h[p * f.dim + d]);
        w += (p + 1) * h[p * f.dim + d];
      }
      const got = (p: Pooling) => f.pooled[p]![4][i * f.dim + d];
      assert.ok(Math.abs(got('mean') - s / n) < 1e-4, `mean, example ${i}, dim ${d}`);
      // As sentence-transformers' mean_sqrt_len_tokens, weightedmean_tokens (weights 1…n) and lasttoken.
      assert.ok(Math.abs(got('mean-sqrt-len') - s / Math.sqrt(n)) < 1e-4, `mean-sqrt-len, example ${i}, dim ${d}`);
      assert.ok(Math.abs(got('weighted-mean') - w / ((n * (n + 1)) / 2)) < 1e-4, `weighted-mean, example ${i}, dim ${d}`);
      assert.ok(Math.abs(got('last') - h[(n - 1) * f.dim + d]) < 1e-4, `last, example ${i}, dim ${d}`);
      // Batched with longer texts, so padded: the padding must not win the maximum.
      assert.ok(Math.abs(f.pooled.max![4][i * f.dim + d] - m) < 1e-4, `max, example ${i}, dim ${d}`);
      assert.ok(Math.abs(f.pooled.first![4][i * f.dim + d] - h[d]) < 1e-4, `first, example ${i}, dim ${d}`);
    }
  }
  await plain.release();
  await ex.release();
  info.model.close();
});

test('a feature cache folder deleted while an entry is written (a user clearing caches) is made again, with no warning', async () => {
  const cacheDir = path.join(tempDir('ps-cache-gone-'), 'features');
  const info = openModel(fixture('tiny-roberta'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('bshift', path.join(tasksDir, 'bshift'), { limitTrain: 20, limitTest: 5 });
  const rename = fs.renameSync;
  let removed = 0;
  // The folder goes between the temporary's write and its rename, the race `probescale cache --clear` or `rm -rf` can hit.
  const m = mock.method(fs, 'renameSync', (from: fs.PathLike, to: fs.PathLike) => {
    if (String(to).endsWith('.feat') && removed++ === 0) fs.rmSync(cacheDir, { recursive: true, force: true });
    return rename(from, to);
  });
  const warnings: string[] = [];
  const ctx = { log: (level: string, msg: string) => level === 'warn' && warnings.push(msg) };
  const a = await Extractor.create(info, tok, { poolings: ['mean'], cacheDir });
  try {
    await a.extract(task.train, 'x', ctx);
  } finally {
    m.mock.restore();
  }
  assert.equal(removed > 0, true, 'the folder was removed mid-write');
  assert.deepEqual(warnings, [], 'no warning, least of all one naming the temporary file');
  const passes = a.forwardPasses;
  await a.extract(task.train, 'x', ctx);
  assert.equal(a.forwardPasses, passes, 'the entry was written to the folder made again, and serves the next extraction');
  await a.release();
  info.model.close();
});

test('the feature cache serves repeated extractions without running the model', async () => {
  const cacheDir = tempDir('ps-cache-');
  const info = openModel(fixture('tiny-roberta'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('bshift', path.join(tasksDir, 'bshift'), { limitTrain: 40, limitTest: 10 });
  const a = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true, cacheDir });
  const f1 = await a.extract(task.train, 'x');
  const passes = a.forwardPasses;
  const f2 = await a.extract(task.train, 'x');
  assert.equal(a.forwardPasses, passes, 'second call served from the cache');
  assert.deepEqual(f2.pooled.mean, f1.pooled.mean);
  assert.deepEqual(f2.cosine, f1.cosine);
  const f3 = await a.extract(task.train.slice(0, 39), 'x');
  assert.ok(a.forwardPasses > passes, 'other data is not served from the cache');
  assert.equal(f3.n, 39);
  await a.release();
  // A pruned graph is a different key.
  const b = await Extractor.create(info, tok, { poolings: ['mean'], kept: [0, 1], cacheDir });
  await b.extract(task.train, 'x');
  assert.ok(b.forwardPasses > 0);
  await b.release();
  info.model.close();
});

test('an id remap (--vocab-trim) shares the cache where it changes nothing and feeds the unknown token where it does', async () => {
  const cacheDir = tempDir('ps-cache-');
  const info = openModel(fixture('tiny-roberta'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('bshift', path.join(tasksDir, 'bshift'), { limitTrain: 40, limitTest: 10 });
  const keep = new Set<number>([tok.padId, tok.unkId!]);
  for (const ex of task.train) for (const id of tok.encode(ex.text)) keep.add(id);
  const plain = await Extractor.create(info, tok, { poolings: ['mean'], cacheDir });
  const trainPlain = await plain.extract(task.train, 'train');
  const testPlain = await plain.extract(task.test, 'test');
  await plain.release();
  const trimmed = await Extractor.create(info, tok, { poolings: ['mean'], cacheDir, idRemap: { readsAs: unknownTokenMap(findWordEmbedding(info.model).vocab, [...keep], tok.unkId!), tag: 't' } });
  const trainTrim = await trimmed.extract(task.train, 'train');
  assert.equal(trimmed.forwardPasses, 0, 'training rows are all kept: the untrimmed features are served from the cache');
  assert.deepEqual(trainTrim.pooled.mean, trainPlain.pooled.mean);
  const testTrim = await trimmed.extract(task.test, 'test');
  assert.ok(task.test.some((ex) => tok.encode(ex.text).some((id) => !keep.has(id))), 'some test token is unseen');
  assert.ok(trimmed.forwardPasses > 0, 'remapped test rows are a different cache entry');
  assert.notDeepEqual(testTrim.pooled.mean, testPlain.pooled.mean);
  await trimmed.release();
  info.model.close();
});

test('cancellation stops extraction between batches', async () => {
  const info = openModel(robertaMini);
  const tok = await loadTokenizer(info.dir, { maxLength: 128 });
  const task = await loadTask('spam', path.join(tasksDir, 'spam'), { limitTrain: 200, limitTest: 10 });
  const ex = await Extractor.create(info, tok, { poolings: ['mean'], batchSize: 8 });
  const ac = new AbortController();
  const p = ex.extract(task.train, 'spam', { signal: ac.signal, onProgress: () => ac.abort() });
  await assert.rejects(p, (e: Error) => e.name === 'CancelledError');
  assert.ok(ex.forwardPasses <= 2, `stopped after ${ex.forwardPasses} passes`);
  await ex.release();
  info.model.close();
});

test('a quantized graph extracts too', async () => {
  const info = openModel(robertaMini, { quantized: true });
  const tok = await loadTokenizer(info.dir, { maxLength: 64 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 12, limitTest: 6 });
  const ex = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true });
  const f = await ex.extract(task.train, 'q');
  assert.equal(f.layers.length, 13);
  assert.ok(f.pooled.mean!.every((a) => a.every(Number.isFinite)));
  await ex.release();
  info.model.close();
});

test('a pruned prefix of a post-LN model outputs exactly the full model’s hidden state h_k', async () => {
  const info = openModel(fixture('tiny-roberta'));
  assert.equal(info.blocks.finalOutput, info.blocks.hiddenOut[3], 'no final norm after the last block');
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 20, limitTest: 6 });
  const full = await Extractor.create(info, tok, { poolings: ['mean'] });
  const prefix = await Extractor.create(info, tok, { poolings: ['mean'], kept: [0, 1] });
  const a = (await full.extract(task.train, 'full')).pooled.mean![2];
  const b = (await prefix.extract(task.train, 'prefix')).pooled.mean![0];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5);
  await full.release();
  await prefix.release();
  info.model.close();
});

test('a token limit splits long batches into more passes with the same features', async () => {
  assert.equal(batchTokenLimit(1024), 2048);
  assert.ok(batchTokenLimit(512) >= 32 * 128, 'the default 32 × 128 batch is never split below width 512');
  const info = openModel(fixture('tiny-bert'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 70, limitTest: 10 });
  const whole = await Extractor.create(info, tok, { poolings: ['mean'], batchSize: 16 });
  const split = await Extractor.create(info, tok, { poolings: ['mean'], batchSize: 16, maxBatchTokens: 64 });
  const a = await whole.extract(task.train, 'whole');
  const b = await split.extract(task.train, 'split');
  assert.equal(whole.forwardPasses, 5);
  assert.ok(split.forwardPasses > 10, `${split.forwardPasses} passes`);
  a.pooled.mean!.forEach((x, l) => x.forEach((v, i) => assert.ok(Math.abs(v - b.pooled.mean![l][i]) < 1e-5, `layer ${l}`)));
  await whole.release();
  await split.release();
  info.model.close();
});
