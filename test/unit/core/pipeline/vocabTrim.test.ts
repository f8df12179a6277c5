import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { openModel } from '../../../../src/core/model/modelInfo';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { VOCAB_METADATA_KEY, findWordEmbedding, readRows, unknownTokenMap, vocabTrimEdit } from '../../../../src/core/onnx/vocab';
import { unseenTokenMap } from '../../../../src/core/pipeline/nearestTokens';
import { chunksToBuffer } from '../../../../src/core/onnx/wire';
import { assertSharesEncoder, fixture, pipelineAccuracyOnSentlen, repoRoot, tasksDir, tinyModels, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

async function run(buf: Buffer | string, ids: number[][], mask: number[][]): Promise<Float32Array> {
  const session = typeof buf === 'string' ? await ort.InferenceSession.create(buf) : await ort.InferenceSession.create(buf);
  const b = ids.length;
  const s = ids[0].length;
  const t = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [b, s]);
  const feeds: Record<string, ort.Tensor> = { input_ids: t(ids), attention_mask: t(mask) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = t(ids.map((r) => r.map(() => 0)));
  const out = await session.run(feeds);
  const y = out[session.outputNames[0]].data as Float32Array;
  await session.release();
  return y;
}

for (const name of tinyModels) {
  test(`${name}: a trimmed vocabulary gives exactly the untrimmed outputs, with unseen ids read as the unknown token or their nearest kept token`, async () => {
    const dir = fixture(name);
    const info = openModel(dir);
    const tok = await loadTokenizer(dir, { maxLength: 32 });
    assert.ok(tok.unkId !== null, 'every fixture tokenizer names an unknown token');
    const texts = ['the cat sat on the mat', 'a completely different sentence about zebras and quantum physics'];
    const enc = texts.map((t) => tok.encode(t));
    const padded = tok.batch(enc);
    const ids = Array.from({ length: padded.batchSize }, (_, r) => Array.from(padded.inputIds.subarray(r * padded.seqLen, (r + 1) * padded.seqLen), Number));
    const mask = Array.from({ length: padded.batchSize }, (_, r) => Array.from(padded.attentionMask.subarray(r * padded.seqLen, (r + 1) * padded.seqLen), Number));
    // Keep the first text's tokens (and padding, unknown); the second text has ids outside that set.
    const kept = [...new Set([...enc[0], tok.padId, tok.unkId!])].sort((a, b) => a - b);
    const keptSet = new Set(kept);
    assert.ok(enc[1].some((id) => !keptSet.has(id)), 'the second text needs dropped tokens');
    const { edit, embedding } = vocabTrimEdit(info.model, kept, unknownTokenMap(findWordEmbedding(info.model).vocab, kept, tok.unkId!), { unkId: tok.unkId!, unseen: 'unknown' });
    const trimmed = chunksToBuffer(info.model.serialize(edit));
    // Same outputs as the source graph fed with unseen ids replaced by the unknown token.
    const remapped = ids.map((r) => r.map((id) => (keptSet.has(id) ? id : tok.unkId!)));
    const want = await run(info.onnxFile, remapped, mask);
    const got = await run(trimmed, ids, mask);
    assert.equal(got.length, want.length);
    for (let i = 0; i < got.length; i++) assert.equal(got[i], want[i], `${name} output ${i}`);
    // The first text alone is untouched by the trim.
    const src = await run(info.onnxFile, ids, mask);
    const n = got.length / 2;
    for (let i = 0; i < n; i++) assert.equal(got[i], src[i]);
    // The table really is smaller, and the edit is recorded.
    const m = OnnxModel.fromBuffer(trimmed);
    assert.deepEqual(m.initializers.get(embedding.weight.name)!.dims, [kept.length, embedding.hidden]);
    assert.deepEqual(JSON.parse(m.metadata.get(VOCAB_METADATA_KEY)!), { sourceVocab: embedding.vocab, kept: kept.length, unkId: tok.unkId });
    assert.throws(() => findWordEmbedding(m), /already trimmed/);
    const noUnk = kept.filter((k) => k !== tok.unkId);
    assert.throws(() => vocabTrimEdit(info.model, noUnk, unknownTokenMap(embedding.vocab, noUnk, tok.unkId!), { unkId: tok.unkId!, unseen: 'unknown' }), /unknown token \(id \d+\) must be kept/);

    // With the nearest-token map: the same outputs as the source graph fed the ids it maps to,
    // which differ from the unknown token's for the second text.
    const special = new Set([tok.padId, ...(tok.specialIds ?? [])]);
    const { readsAs, policy } = await unseenTokenMap(info.model, embedding, kept, tok.unkId!, special, 'nearest');
    assert.equal(policy, 'nearest');
    for (const id of kept) assert.equal(readsAs[id], id);
    for (let id = 0; id < embedding.vocab; id++) assert.ok(keptSet.has(readsAs[id]), `id ${id} reads a kept id`);
    const near = chunksToBuffer(info.model.serialize(vocabTrimEdit(info.model, kept, readsAs, { unkId: tok.unkId!, unseen: 'nearest' }).edit));
    const fedNear = ids.map((r) => r.map((id) => readsAs[id]));
    assert.notDeepEqual(fedNear, remapped, 'some unseen id reads a token other than the unknown one');
    const wantNear = await run(info.onnxFile, fedNear, mask);
    const gotNear = await run(near, ids, mask);
    for (let i = 0; i < gotNear.length; i++) assert.equal(gotNear[i], wantNear[i], `${name} nearest output ${i}`);
    // A map that sends a kept id elsewhere, or an id to a dropped one, is refused.
    const bad = Int32Array.from(readsAs);
    bad[enc[1].find((id) => !keptSet.has(id))!] = enc[1].find((id) => !keptSet.has(id))!;
    assert.throws(() => vocabTrimEdit(info.model, kept, bad, { unkId: tok.unkId!, unseen: 'nearest' }), /not kept or moves a kept id/);
    info.model.close();
  });
}

test('the nearest kept token is the one with the highest cosine of source rows; special tokens and padding read the unknown token', async () => {
  const info = openModel(fixture('tiny-roberta'));
  const tok = await loadTokenizer(info.dir, { maxLength: 32 });
  const e = findWordEmbedding(info.model);
  const rows = new Float32Array(readRows(info.model, e.weight, Array.from({ length: e.vocab }, (_, i) => i)).buffer.slice(0));
  const unit = (i: number) => {
    const r = rows.subarray(i * e.hidden, (i + 1) * e.hidden);
    const n = Math.hypot(...r);
    return Array.from(r, (x) => x / n);
  };
  const special = new Set([tok.padId, ...(tok.specialIds ?? [])]);
  assert.ok(special.size >= 3, `tiny-roberta names its special tokens: ${[...special]}`);
  // Keep every third id, the unknown token and the special ones.
  const kept = [...new Set([...Array.from({ length: e.vocab }, (_, i) => i).filter((i) => i % 3 === 0), tok.unkId!, ...special])].sort((a, b) => a - b);
  const keptSet = new Set(kept);
  const { readsAs } = await unseenTokenMap(info.model, e, kept, tok.unkId!, special, 'nearest');
  const targets = kept.filter((id) => id !== tok.unkId && !special.has(id));
  const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  let checked = 0;
  for (let id = 0; id < e.vocab; id += 7) {
    if (keptSet.has(id) || special.has(id)) continue;
    const q = unit(id);
    const best = Math.max(...targets.map((t) => cos(q, unit(t))));
    assert.ok(targets.includes(readsAs[id]), `id ${id} reads an ordinary kept token`);
    assert.ok(cos(q, unit(readsAs[id])) >= best - 1e-5, `id ${id}: cosine ${cos(q, unit(readsAs[id]))} vs best ${best}`);
    checked++;
  }
  assert.ok(checked > 50);
  // 'unknown' is the plain map.
  const plain = await unseenTokenMap(info.model, e, kept, tok.unkId!, special, 'unknown');
  assert.deepEqual(plain, { readsAs: unknownTokenMap(e.vocab, kept, tok.unkId!), policy: 'unknown' });
  info.model.close();
});

test('optimize --vocab-trim: smaller committed model, verified from disk, classifiers run in transformers.js with the reported accuracy', async () => {
  const out = path.join(tempDir('ps-vt-'), 'model');
  const args = ['optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.8', '--candidates', '2', '--no-cache', '--vocab-trim', '--out', out, '-q'];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  const s = rep.selection;
  const v = s.vocabTrim;
  assert.ok(v.keptTokens < v.sourceVocab && v.unseenTestTokens.sentlen > 0);
  assert.equal(v.unseen, 'nearest', 'the default map');
  assert.equal(v.wordEmbeddingParams.before - v.wordEmbeddingParams.after, (v.sourceVocab - v.keptTokens) * 32);
  // The reported parameter count is the committed graph's.
  const committed = openModel(out);
  assert.equal(committed.params.total, s.params);
  committed.model.close();
  assert.ok(s.params <= s.budget.params);
  assert.equal(rep.verify.allEqual, true, JSON.stringify(rep.verify.perTask));
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.probescale.vocabTrim.keptTokens, v.keptTokens);
  assert.equal(cfg.probescale.vocabTrim.unseen, 'nearest');
  assert.match(cfg.probescale.vocabTrim.note, /their nearest kept token/);
  const graph = OnnxModel.open(path.join(out, 'onnx', 'model.onnx'));
  assert.equal(JSON.parse(graph.metadata.get(VOCAB_METADATA_KEY)!).unseen, 'nearest');
  graph.close();
  assert.equal(cfg.probescale.params.after, s.params);
  assert.ok(fs.readFileSync(path.join(out, 'README.md'), 'utf8').includes(`Vocabulary trimmed to the ${v.keptTokens.toLocaleString('en-US')} of ${v.sourceVocab.toLocaleString('en-US')} tokens`));
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /other ids read the row of their nearest kept token/);

  assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), { limitTrain: 150, limitTest: 60 }), s.perTask.sentlen.test.accuracy);
  assertSharesEncoder(out, 'sentlen');
});
