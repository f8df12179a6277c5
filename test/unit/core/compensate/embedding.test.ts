import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxModel, DataType } from '../../../../src/core/onnx/model';
import { findBlocks } from '../../../../src/core/onnx/blocks';
import { findWordEmbedding, readRows, wordEmbeddingWidth } from '../../../../src/core/onnx/vocab';
import { chunksToBuffer } from '../../../../src/core/onnx/wire';
import { probeEdit } from '../../../../src/core/onnx/edit';
import { countParams, openModel } from '../../../../src/core/model/modelInfo';
import { emptyPlan, compensatedEdit, planParamDelta } from '../../../../src/core/compensate/graph';
import { EMBEDDING_OUTPUT, EmbeddingFactor, factorSaving, factorTable, factorisedFloor, savingRanks, symmetricEigen } from '../../../../src/core/compensate/embedding';
import { candidateKey, compensatedCandidates, compensatedParams, describeSpec } from '../../../../src/core/compensate/search';
import { ParamCounts } from '../../../../src/shared/params';
import { fixture, tempDir } from '../../../helpers';
import { abortWhen, CancelledError } from '../../../../src/core/errors';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

test('symmetric eigen-decomposition: A·v = λ·v and orthonormal vectors (Jacobi, 1e-9)', () => {
  const n = 12;
  const r = rng(1);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r();
  const { values, vectors } = symmetricEigen(Float64Array.from(a), n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[j * n + k];
      assert.ok(Math.abs(av - values[k] * vectors[i * n + k]) < 1e-9, `pair ${k}, row ${i}`);
    }
    for (let l = 0; l < n; l++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += vectors[i * n + k] * vectors[i * n + l];
      assert.ok(Math.abs(dot - (k === l ? 1 : 0)) < 1e-9, `vectors ${k}·${l}`);
    }
  }
});

test('a table of rank 3 is recovered exactly at rank 3, whatever the token weights; rank 2 keeps less of it', () => {
  const [V, H] = [40, 10];
  const r = rng(2);
  const u = Array.from({ length: V * 3 }, r);
  const w = Array.from({ length: 3 * H }, r);
  const e = new Float32Array(V * H);
  for (let v = 0; v < V; v++) for (let h = 0; h < H; h++) for (let k = 0; k < 3; k++) e[v * H + h] += u[v * 3 + k] * w[k * H + h];
  const weights = Float64Array.from({ length: V }, (_, i) => 1 + (i % 7));
  const f = factorTable(e, V, H, weights, 3);
  const back = reconstruct(f, V, H);
  for (let i = 0; i < e.length; i++) assert.ok(Math.abs(back[i] - e[i]) < 1e-5, `entry ${i}: ${back[i]} vs ${e[i]}`);
  assert.ok(Math.abs(f.energy - 1) < 1e-9);
  assert.ok(factorTable(e, V, H, weights, 2).energy < 0.999);
  assert.throws(() => factorTable(e, V, H, weights, 0), /embedding rank.*0|\{\{embeddingRank\}\} is 0/);
});

test('the token weights decide what a low rank keeps: the frequent token’s row survives, the rare one’s is dropped', () => {
  const [V, H] = [2, 4];
  const e = Float32Array.from([1, 0, 0, 0, 0, 2, 0, 0]); // token 0 along x, token 1 (larger) along y
  for (const [heavy, light] of [
    [0, 1],
    [1, 0],
  ]) {
    const weights = new Float64Array(V);
    weights[heavy] = 1000;
    weights[light] = 1;
    const back = reconstruct(factorTable(e, V, H, weights, 1), V, H);
    for (let h = 0; h < H; h++) assert.ok(Math.abs(back[heavy * H + h] - e[heavy * H + h]) < 1e-6, `heavy token ${heavy} kept`);
    assert.ok(
      Array.from(back.subarray(light * H, (light + 1) * H)).every((x) => Math.abs(x) < 1e-6),
      `light token ${light} dropped`,
    );
  }
});

function reconstruct(f: EmbeddingFactor, V: number, H: number): Float32Array {
  const out = new Float32Array(V * H);
  for (let v = 0; v < V; v++) for (let h = 0; h < H; h++) for (let k = 0; k < f.rank; k++) out[v * H + h] += f.a[v * f.rank + k] * f.b[k * H + h];
  return out;
}

async function run(buf: Uint8Array, ids: number[][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(buf);
  const shape = [ids.length, ids[0].length];
  const t = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), shape);
  const feeds: Record<string, ort.Tensor> = { input_ids: t(ids), attention_mask: t(ids.map((r) => r.map(() => 1))) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = t(ids.map((r) => r.map(() => 0)));
  const y = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
  await session.release();
  return y;
}

for (const name of ['tiny-bert', 'tiny-roberta', 'tiny-distilbert', 'tiny-mpnet', 'tiny-t5-encoder']) {
  test(`${name}: the factorised graph computes Gather(A)·B exactly as a table holding A·B would, and at full rank the source`, async () => {
    const model = OnnxModel.open(fixture(name, 'onnx', name === 'tiny-t5-encoder' ? 'encoder_model.onnx' : 'model.onnx'));
    try {
      const blocks = findBlocks(model);
      const we = findWordEmbedding(model);
      const [V, H] = [we.vocab, we.hidden];
      const bytes = readRows(
        model,
        we.weight,
        Array.from({ length: V }, (_, i) => i),
      );
      const e = Float32Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, V * H));
      const weights = Float64Array.from({ length: V }, (_, i) => 1 + (i % 5));
      const ids = [
        [0, 5, 9, 14, 3, 2],
        [0, 7, 7, 11, 8, 2],
      ].map((row) => row.map((i) => i % V));
      const kept = Array.from({ length: blocks.numBlocks }, (_, i) => i);
      const source = await run(chunksToBuffer(model.serialize(compensatedEdit(model, blocks, emptyPlan(kept), { hidden: H, heads: 2 }))), ids);
      for (const rank of [H, 3]) {
        const f = factorTable(e, V, H, weights, rank);
        const plan = { ...emptyPlan(kept), embedding: f };
        const edit = compensatedEdit(model, blocks, plan, { hidden: H, heads: 2 });
        const y = await run(chunksToBuffer(model.serialize(edit)), ids);
        // The same numbers with the table A·B in place and no MatMul: the MatMul sits right after the Gather.
        const ab = reconstruct(f, V, H);
        const flat = await run(chunksToBuffer(model.serialize({ nodes: model.nodes, keepInitializer: (n) => n !== we.weight.name, newInitializers: [{ name: we.weight.name, dataType: DataType.FLOAT, dims: [V, H], data: Buffer.from(ab.buffer) }] })), ids);
        const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
        assert.ok(diff(y, flat) < 1e-4, `${name} rank ${rank}: ${diff(y, flat)} from the A·B table`);
        if (rank === H) assert.ok(diff(y, source) < 1e-4, `${name} full rank: ${diff(y, source)} from the source`);
        else assert.ok(diff(y, source) > 1e-3, `${name} rank ${rank} changes the outputs`);
        // Parameter accounting: the written graph's count is what the plan says it saves.
        const dir = tempDir('probescale-emb-');
        try {
          const file = path.join(dir, 'model.onnx');
          model.write(file, edit);
          const written = OnnxModel.open(file);
          try {
            const counts = countParams(written, findBlocks(written));
            const before = countParams(model, blocks);
            assert.equal(counts.total - before.total, planParamDelta(plan, H, () => assert.fail('no narrowing')));
            assert.equal(before.total - counts.total, factorSaving(V, H, rank));
            assert.equal(wordEmbeddingWidth(written), H, 'the model reads hidden-wide embeddings after the up-projection');
            // The recorded state entering the blocks is hidden-wide too (T5 reads the lookup itself: the
            // up-projection), so the written graph probes every layer; before, a T5 record named the
            // rank-wide lookup and ONNX Runtime refused the probe graph ("Mul … Incompatible dimensions").
            const wb = findBlocks(written);
            assert.equal(wb.hiddenIn[0], name === 'tiny-t5-encoder' ? EMBEDDING_OUTPUT : blocks.hiddenIn[0]);
            const probed = await ort.InferenceSession.create(chunksToBuffer(written.serialize(probeEdit(written, wb, { poolings: ['mean'], cosine: true }).edit)));
            await probed.release();
          } finally {
            written.close();
          }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      // Subsets that drop the first block, with and without an identity bridge over it, and none at all:
      // at full rank each equals the same subset unfactorised. In T5 the blocks read the lookup itself, so
      // the first kept block (or the final norm) must read the up-projection, never the rank-wide lookup.
      const full = factorTable(e, V, H, weights, H);
      const identity = { w: Float32Array.from({ length: H * H }, (_, i) => (i % (H + 1) === 0 ? 1 : 0)), b: new Float32Array(H), window: 1 as const };
      const plans = [emptyPlan(kept.slice(1)), { ...emptyPlan(kept.slice(1)), bridges: new Map([[kept[1], identity]]) }, emptyPlan([])];
      for (const p of plans) {
        const what = `${name} blocks {${p.kept.join(',')}}${p.bridges.size ? ' + identity bridge' : ''}`;
        const plain = await run(chunksToBuffer(model.serialize(compensatedEdit(model, blocks, emptyPlan(p.kept), { hidden: H, heads: 2 }))), ids);
        const y = await run(chunksToBuffer(model.serialize(compensatedEdit(model, blocks, { ...p, embedding: full }, { hidden: H, heads: 2 }))), ids);
        const diff = y.reduce((m, x, i) => Math.max(m, Math.abs(x - plain[i])), 0);
        assert.ok(diff < 1e-4, `${what}, full rank: ${diff} from the unfactorised subset`);
      }
    } finally {
      model.close();
    }
  });
}

test('a committed-style folder with a factorised table opens as a model of its hidden size', () => {
  const dir = tempDir('probescale-emb-');
  try {
    // A committed compensated folder holds no safetensors (config.json cannot express a factorised table).
    fs.cpSync(fixture('tiny-roberta'), dir, { recursive: true, filter: (f) => path.basename(f) !== 'model.safetensors' });
    const model = OnnxModel.open(path.join(dir, 'onnx', 'model.onnx'));
    const blocks = findBlocks(model);
    const we = findWordEmbedding(model);
    const bytes = readRows(
      model,
      we.weight,
      Array.from({ length: we.vocab }, (_, i) => i),
    );
    const f = factorTable(new Float32Array(bytes.buffer, bytes.byteOffset, we.vocab * we.hidden), we.vocab, we.hidden, new Float64Array(we.vocab).fill(1), 4);
    const buf = chunksToBuffer(model.serialize(compensatedEdit(model, blocks, { ...emptyPlan([0, 1]), embedding: f }, { hidden: we.hidden, heads: 2 })));
    model.close();
    fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), buf);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 2 }));
    const info = openModel(dir);
    assert.equal(info.hiddenSize, we.hidden);
    assert.equal(info.numLayers, 2);
    info.model.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// roberta-mini: d 256, 4 heads, FFN 1024, 12 blocks of 789,760, embeddings 2,131,200 (8,192 word rows).
const shape = { hidden: 256, heads: 4, ffn: 1024, wordRows: 8192 };
const acc: ParamCounts = { total: 11_608_320, embeddings: 2_131_200, perBlock: new Array(12).fill(789_760), other: 0 };
const budget35 = Math.floor(0.35 * acc.total);

test('factorised candidates: the saving is rows·d − (rows·r + r·d), and they bring subsets that do not fit whole into the budget', () => {
  assert.equal(compensatedParams(acc, [1, 2, 3, 4], { bridges: true, embeddingRank: 32 }, shape), 2_131_200 - (8192 * 256 - (8192 * 32 + 32 * 256)) + 4 * 789_760 + 256 * 256 + 256);
  const ranked = [[2, 3], [0, 1]];
  const wider = [[1, 2, 3, 4], [0, 1, 2, 3, 4, 5]];
  const without = compensatedCandidates('all', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2 }, 'task');
  const withRank = compensatedCandidates('all', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2, factorised: 4 }, 'task', [32]);
  assert.ok(without.every((c) => c.spec.embeddingRank === undefined));
  const fac = withRank.filter((c) => c.origin === 'factorised');
  assert.deepEqual(
    fac.map((c) => candidateKey(c.kept, c.spec)),
    ['1,2,3,4+bridge+e32', fac[1] && candidateKey([0, 1, 2, 3, 4, 5], fac[1].spec), '2,3+bridge+e32', '0,1+e32'],
  );
  assert.match(candidateKey(fac[1].kept, fac[1].spec), /^0,1,2,3,4,5\+h\d\/f\d+\/task\+e32$/, 'six blocks still need narrowing, less than without the factorisation');
  for (const c of withRank) assert.ok(compensatedParams(acc, c.kept, c.spec, shape) <= budget35, candidateKey(c.kept, c.spec));
  assert.match(describeSpec([1, 2, 3, 4], fac[0].spec, shape), /least-squares bridge into block 1; word embeddings factorised to rank 32 of 256/);
  // The same subset narrowed without the factorisation keeps fewer units.
  const narrowed = without.find((c) => c.kept.length === 6);
  if (narrowed) assert.ok((narrowed.spec.ffnWidth ?? 1024) * (narrowed.spec.heads ?? 4) < (fac[1].spec.ffnWidth ?? 1024) * (fac[1].spec.heads ?? 4));
  assert.throws(() => compensatedParams(acc, [0], { bridges: false, embeddingRank: 8 }, { hidden: 256, heads: 4, ffn: 1024 }), /wordRows/);
});

test('savingRanks: only ranks that make the table smaller; auto drops the others, a number is refused with the largest that works', () => {
  assert.deepEqual(savingRanks([16, 32, 64], { rows: 8192, hidden: 256, trimmed: false }, false), [16, 32, 64]);
  assert.throws(() => savingRanks([249], { rows: 8192, hidden: 256, trimmed: false }, false), /embedding rank 249: the word table is 8192 × 256; at rank 249 it would have 2103552 parameters, not fewer than 2097152\. Give a rank of at most 248\./);
  assert.deepEqual(savingRanks([248], { rows: 8192, hidden: 256, trimmed: false }, false), [248]);
  assert.deepEqual(savingRanks([2, 4, 8], { rows: 10, hidden: 32, trimmed: true }, true), [2, 4], 'auto: rank 8 of a 10-row table would add parameters');
  assert.throws(() => savingRanks([1], { rows: 1, hidden: 32, trimmed: true }, true), /embedding rank auto: the word table is 1 × 32 \(after vocabulary trimming\), and none of the ranks it tries \(1\) makes it smaller\. No rank makes it smaller/);
});

test('factorisedFloor: the smallest rank asked for sets the floor, the whole table counted once and replaced by its factors', () => {
  // roberta-mini-like: an 8192 × 256 word table inside 2,200,000 embedding parameters.
  const acc = { total: 11_000_000, embeddings: 2_200_000, other: 1000, perBlock: [] };
  const f = factorisedFloor(acc, { rows: 8192, hidden: 256 }, [64, 32], '32,64');
  const embeddings = 2_200_000 - 8192 * 256 + 8192 * 32 + 32 * 256;
  assert.equal(f.params, embeddings + 1000);
  assert.equal(f.what, `embeddings ${embeddings} with the word table factorised to rank 32 + final norm/head 1000, no blocks`);
  assert.equal(f.advice, `{{embeddingRank}} 32,64 cannot make a smaller model; give {{budget}} ${embeddings + 1000} or more, or a smaller rank.`);
});

test('factorising stops at a cancel inside its loops, not after them (BERT-base scale took 25 s uninterruptible)', () => {
  const V = 2048;
  const H = 64;
  const e = Float32Array.from({ length: V * H }, (_, i) => Math.sin(i * 12.9898));
  const w = new Float64Array(V).fill(1);
  for (const after of [1, 3, 40]) {
    const ac = new AbortController();
    let polls = 0;
    abortWhen(ac, () => ++polls > after);
    assert.throws(() => factorTable(e, V, H, w, 8, ac.signal), CancelledError, `cancel after ${after} checks`);
    assert.equal(polls, after + 1, 'it stopped at the first check after the cancel');
  }
  assert.equal(factorTable(e, V, H, w, 8, new AbortController().signal).rank, 8, 'an untouched signal changes nothing');
});
