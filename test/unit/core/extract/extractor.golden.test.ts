import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor, type ExtractorOptions } from '../../../../src/core/extract/extractor';
import { openModel } from '../../../../src/core/model/modelInfo';
import type { ProgressEvent } from '../../../../src/core/jobs';
import { CancelledError, UnsupportedModelError } from '../../../../src/core/errors';
import { fixture, tasksDir } from '../../../helpers';

// Extractor's batching pinned when `compute` was split into stages (twelfth session). ORT's own
// numbers differ between machines, so the session is replaced by a fake whose outputs are a
// function of what it is fed: the digests pin which rows go into which pass (ids, masks, type ids,
// shapes, names asked for) and where each output row lands in the features.

const sha = (...parts: ArrayBufferView[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex').slice(0, 16);
};

interface Fake {
  passes: string[];
  disposed: number;
}

/** Replaces the extractor's session.run by a fake; its pooled rows are (pass, row, d, first id) mixed, its cosines likewise. */
function fakeSession(ex: Extractor, dim: number, onRun?: (pass: number) => void): Fake {
  const fake: Fake = { passes: [], disposed: 0 };
  const session = (ex as unknown as { opened: { session: ort.InferenceSession } }).opened.session;
  const cosine = new Set(ex.outputs.cosine);
  (session as { run: unknown }).run = async (feeds: Record<string, ort.Tensor>, wanted: string[]) => {
    const pass = fake.passes.length;
    const ids = feeds.input_ids.data as BigInt64Array;
    const [batch, seq] = feeds.input_ids.dims;
    const names = Object.keys(feeds).sort();
    fake.passes.push(`${batch}×${seq} ${names.join(',')} ${sha(...names.map((k) => feeds[k].data as BigInt64Array))} ${wanted.join(',')}`);
    onRun?.(pass);
    const out: Record<string, { data: Float32Array; dispose: () => void }> = {};
    wanted.forEach((name, w) => {
      const width = cosine.has(name) ? 1 : dim;
      const data = new Float32Array(batch * width);
      for (let r = 0; r < batch; r++) for (let d = 0; d < width; d++) data[r * width + d] = pass * 1e4 + w * 1e2 + r + d / 64 + Number(ids[r * seq]) / 1e5;
      out[name] = { data, dispose: () => fake.disposed++ };
    });
    return out;
  };
  return fake;
}

const golden: Record<string, string> = {
  "mean, first, cosine, 16 a pass":
    "70\u00d732 layers 0,1,2,3,4 mean c44b73af2d689075 first 1766b0620d10a851 cosine 4 f7d03613b71db9aa; passes 5 batches 5 disposed 70 2cb5e736c11285a9; first {\"kind\":\"extract\",\"label\":\"mean, first, cosine, 16 a pass\",\"done\":16,\"total\":70} last {\"kind\":\"extract\",\"label\":\"mean, first, cosine, 16 a pass\",\"done\":70,\"total\":70}",
  "mean, 64 tokens a pass":
    "70\u00d732 layers 0,1,2,3,4 mean c79ffa2fb9ec7ab5 first - cosine 4 f7d154a11d918585; passes 31 batches 31 disposed 279 d19885d343f29e2a; first {\"kind\":\"extract\",\"label\":\"mean, 64 tokens a pass\",\"done\":4,\"total\":70} last {\"kind\":\"extract\",\"label\":\"mean, 64 tokens a pass\",\"done\":70,\"total\":70}",
  "first, kept [0, 2], 5 a pass":
    "70\u00d732 layers 2 mean - first 686b7fe03657bf21 cosine 0 e3b0c44298fc1c14; passes 14 batches 14 disposed 14 a9b0dc2b14f1cbfb; first {\"kind\":\"extract\",\"label\":\"first, kept [0, 2], 5 a pass\",\"done\":5,\"total\":70} last {\"kind\":\"extract\",\"label\":\"first, kept [0, 2], 5 a pass\",\"done\":70,\"total\":70}",
};

test('extraction batches, scatters and reports exactly as before', async () => {
  const info = openModel(fixture('tiny-bert'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 70, limitTest: 10 });
  const runs: [string, ExtractorOptions][] = [
    ['mean, first, cosine, 16 a pass', { poolings: ['mean', 'first'], cosine: true, batchSize: 16 }],
    ['mean, 64 tokens a pass', { poolings: ['mean'], batchSize: 16, maxBatchTokens: 64 }],
    ['first, kept [0, 2], 5 a pass', { poolings: ['first'], kept: [0, 2], batchSize: 5 }],
  ];
  const got: Record<string, string> = {};
  for (const [name, opts] of runs) {
    const ex = await Extractor.create(info, tok, opts);
    const fake = fakeSession(ex, info.hiddenSize);
    const events: ProgressEvent[] = [];
    const f = await ex.extract(task.train, name, { onProgress: (e) => events.push(e) });
    const extracts = events.filter((e) => e.kind === 'extract');
    const features = (['mean', 'first'] as const).map((p) => `${p} ${f.pooled[p] ? sha(...f.pooled[p]) : '-'}`);
    got[name] = [
      `${f.n}×${f.dim} layers ${f.layers.join(',')} ${features.join(' ')} cosine ${f.cosine.length} ${sha(...f.cosine)}`,
      `passes ${ex.forwardPasses} batches ${ex.batches} disposed ${fake.disposed} ${sha(new TextEncoder().encode(fake.passes.join('\n')))}`,
      `first ${JSON.stringify(extracts[0])} last ${JSON.stringify(extracts[extracts.length - 1])}`,
    ].join('; ');
    await ex.release();
  }
  info.model.close();
  if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, golden);
});

test('extraction checks the abort signal before every pass, and names an input it cannot fill', async () => {
  const info = openModel(fixture('tiny-bert'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 40, limitTest: 10 });
  const ex = await Extractor.create(info, tok, { poolings: ['mean'], batchSize: 8 });
  const ac = new AbortController();
  const fake = fakeSession(ex, info.hiddenSize, (pass) => pass === 2 && ac.abort());
  await assert.rejects(ex.extract(task.train, 'abort', { signal: ac.signal }), CancelledError);
  assert.equal(fake.passes.length, 3);

  const session = (ex as unknown as { opened: { session: ort.InferenceSession } }).opened.session;
  Object.defineProperty(session, 'inputNames', { value: [...session.inputNames, 'position_ids'] });
  await assert.rejects(ex.extract(task.train, 'unknown input'), (e: Error) => {
    assert.ok(e instanceof UnsupportedModelError, e.name);
    assert.match(e.message, /model\.onnx needs the input 'position_ids', which ProbeScale does not know how to fill \(it feeds input_ids, attention_mask, token_type_ids\)\. Export the encoder with those inputs only/);
    return true;
  });
  await ex.release();
  info.model.close();
});
