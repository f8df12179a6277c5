import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DataType, OnnxModel } from '../../../../src/core/onnx/model';
import { findBlocks, sideInputWeights } from '../../../../src/core/onnx/blocks';
import { pruneEdit, probeEdit } from '../../../../src/core/onnx/edit';
import { chunksToBuffer } from '../../../../src/core/onnx/wire';
import { countParams, openModel } from '../../../../src/core/model/modelInfo';
import { keptParams } from '../../../../src/shared/params';
import { fixture, tempDir, tinyModels } from '../../../helpers';

interface Refs {
  texts: string[];
  input_ids: number[][];
  attention_mask: number[][];
  subsets: Record<string, { shape: number[]; last_hidden_state: number[] }>;
}

function onnxFile(name: string): string {
  return fixture(name, 'onnx', name.includes('t5') ? 'encoder_model.onnx' : 'model.onnx');
}

function feeds(refs: Refs, names: string[]): Record<string, ort.Tensor> {
  const b = refs.input_ids.length;
  const s = refs.input_ids[0].length;
  const t = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [b, s]);
  const f: Record<string, ort.Tensor> = { input_ids: t(refs.input_ids), attention_mask: t(refs.attention_mask) };
  if (names.includes('token_type_ids')) f.token_type_ids = t(refs.input_ids.map((r) => r.map(() => 0)));
  return f;
}

function maxAbsDiff(a: Float32Array, b: number[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// The tiny models' own exports, and tiny-mpnet exported at opset 12 (LayerNorm decomposed, Unsqueeze axes as attributes).
for (const [name, file] of [...tinyModels.map((n) => [n, onnxFile(n)]), ['tiny-mpnet', fixture('exports', 'tiny-mpnet-opset12.onnx')]]) {
  test(`${name}${file.includes('opset12') ? ', opset 12' : ''}: every reference subset reproduces PyTorch to 1e-4`, async () => {
    const refs: Refs = JSON.parse(fs.readFileSync(fixture('refs', `${name}.refs.json`), 'utf8'));
    const model = OnnxModel.open(file);
    const blocks = findBlocks(model);
    assert.equal(blocks.numBlocks, 4);
    for (const [key, ref] of Object.entries(refs.subsets)) {
      const kept = key.split(',').map(Number);
      const buf = chunksToBuffer(model.serialize(pruneEdit(model, blocks, kept)));
      const session = await ort.InferenceSession.create(buf);
      const out = await session.run(feeds(refs, [...session.inputNames]));
      const y = out[session.outputNames[0]];
      assert.deepEqual(Array.from(y.dims), ref.shape, `${name} ${key} shape`);
      const d = maxAbsDiff(y.data as Float32Array, ref.last_hidden_state);
      assert.ok(d < 1e-4, `${name} subset ${key}: max |diff| ${d}`);
      await session.release();
    }
    model.close();
  });

  test(`${name}${file.includes('opset12') ? ', opset 12' : ''}: probe graph returns per-layer pooled features in one pass`, async () => {
    const refs: Refs = JSON.parse(fs.readFileSync(fixture('refs', `${name}.refs.json`), 'utf8'));
    const model = OnnxModel.open(file);
    const blocks = findBlocks(model);
    const { edit, outputs } = probeEdit(model, blocks, { poolings: ['mean', 'first'], cosine: true });
    const session = await ort.InferenceSession.create(chunksToBuffer(model.serialize(edit)));
    const out = await session.run(feeds(refs, [...session.inputNames]));
    assert.equal(outputs.pooled.mean.length, 5);
    const last = out[outputs.pooled.mean[4]];
    assert.deepEqual(Array.from(last.dims), [4, 32]);
    // The last layer's masked mean must equal the mean of the full model's output over real tokens.
    const full = refs.subsets['0,1,2,3'];
    const [B, S, H] = full.shape;
    for (let b = 0; b < B; b++) {
      const n = refs.attention_mask[b].reduce((a, x) => a + x, 0);
      for (let h = 0; h < H; h++) {
        let s = 0;
        for (let t = 0; t < S; t++) if (refs.attention_mask[b][t]) s += full.last_hidden_state[(b * S + t) * H + h];
        assert.ok(Math.abs((last.data as Float32Array)[b * H + h] - s / n) < 1e-4);
        assert.ok(Math.abs((out[outputs.pooled.first[4]].data as Float32Array)[b * H + h] - full.last_hidden_state[b * S * H + h]) < 1e-4);
      }
    }
    for (const c of outputs.cosine) {
      for (const v of out[c].data as Float32Array) assert.ok(v <= 1.0001 && v >= -1.0001, `cosine ${v}`);
    }
    await session.release();
    model.close();
  });
}

test('a pruned graph is read back as a model of its kept blocks', async () => {
  const model = OnnxModel.open(onnxFile('tiny-bert'));
  const blocks = findBlocks(model);
  const pruned = OnnxModel.fromBuffer(chunksToBuffer(model.serialize(pruneEdit(model, blocks, [0, 2, 3]))));
  const again = findBlocks(pruned);
  assert.equal(again.numBlocks, 3);
  assert.deepEqual(again.scopeIndex, [0, 2, 3]);
  // Pruning the pruned model again (drop its middle block) equals pruning the source to 0,3.
  const twice = chunksToBuffer(pruned.serialize(pruneEdit(pruned, again, [0, 2])));
  const once = chunksToBuffer(model.serialize(pruneEdit(model, blocks, [0, 3])));
  const refs: Refs = JSON.parse(fs.readFileSync(fixture('refs', 'tiny-bert.refs.json'), 'utf8'));
  const a = await ort.InferenceSession.create(twice);
  const b = await ort.InferenceSession.create(once);
  const ya = (await a.run(feeds(refs, [...a.inputNames])))[a.outputNames[0]].data as Float32Array;
  const yb = (await b.run(feeds(refs, [...b.inputNames])))[b.outputNames[0]].data as Float32Array;
  assert.deepEqual(ya, yb);
  model.close();
});

for (const name of tinyModels) {
  test(`${name}: pruned graphs of 0, 1 and 2 blocks are read back with their structure`, async () => {
    const model = OnnxModel.open(onnxFile(name));
    const blocks = findBlocks(model);
    const refs: Refs = JSON.parse(fs.readFileSync(fixture('refs', `${name}.refs.json`), 'utf8'));
    for (const kept of [[], [3], [1, 3]]) {
      const pruned = OnnxModel.fromBuffer(chunksToBuffer(model.serialize(pruneEdit(model, blocks, kept))));
      const again = findBlocks(pruned);
      assert.equal(again.numBlocks, kept.length, `${name} ${kept}`);
      assert.deepEqual(again.scopeIndex, kept);
      // Its probe graph runs, and the final pooled layer is numbered by the kept count.
      const { edit, outputs } = probeEdit(pruned, again, { poolings: ['mean'], cosine: true });
      assert.deepEqual(outputs.layers, Array.from({ length: kept.length + 1 }, (_, i) => i));
      const s = await ort.InferenceSession.create(chunksToBuffer(pruned.serialize(edit)));
      const out = await s.run(feeds(refs, [...s.inputNames]));
      assert.deepEqual(Array.from(out[outputs.pooled.mean.at(-1)!].dims), [4, 32]);
      await s.release();
    }
    model.close();
  });
}

// The budget is kept on the account (embeddings + shared + Σ kept blocks); the graph written must hold
// exactly that many parameters, for every subset. T5's export makes the position bias in block 0
// from the shape of that block's key projection: without the Shape reads moved to the first kept
// block, dropping block 0 left its norm and a d×d key matrix in the graph, uncounted.
for (const from of ['export', 'safetensors'] as const) {
  for (const name of tinyModels) {
    test(`${name} (${from}): every pruned graph holds the parameters the account gives its subset`, () => {
      const dir = tempDir('ps-surgery-');
      try {
        const info = openModel(fixture(name), { from: from === 'export' ? 'onnx' : 'safetensors', graphCacheDir: dir });
        const { model, blocks } = info;
        const acc = countParams(model, blocks);
        const floats = [...sideInputWeights(model, blocks)].filter((t) => model.initializers.get(t)!.dataType === DataType.FLOAT && model.initializerSize(t) > 1);
        assert.deepEqual(floats.map((t) => /relative_attention_bias/.test(t)), name.includes('t5') ? [true] : [], 'T5 shares its block-0 position-bias table, and nothing else');
        // T5 and MPNet: a model without blocks drops the position-bias table (32 buckets × 2 heads) only blocks read.
        const table = name.includes('t5') || name.includes('mpnet') ? 32 * 2 : 0;
        const everySubset = (m: OnnxModel, what: string) => {
          const b = findBlocks(m);
          const counted = countParams(m, b);
          for (let mask = 0; mask < 1 << b.numBlocks; mask++) {
            const kept = [...Array(b.numBlocks).keys()].filter((k) => mask & (1 << k));
            const pruned = OnnxModel.fromBuffer(chunksToBuffer(m.serialize(pruneEdit(m, b, kept))));
            const got = countParams(pruned, findBlocks(pruned)).total;
            assert.equal(got, keptParams(counted, kept) - (kept.length ? 0 : table), `${name} ${what} {${kept.join(',')}}`);
            pruned.close();
          }
          return counted;
        };
        assert.deepEqual(everySubset(model, 'source'), acc);
        // A pruned graph pruned again (its blocks read from the structure it records): the same holds.
        const again = OnnxModel.fromBuffer(chunksToBuffer(model.serialize(pruneEdit(model, blocks, [0, 2, 3]))));
        assert.equal(everySubset(again, 'pruned to {0,2,3}').total, keptParams(acc, [0, 2, 3]));
        again.close();
        model.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
