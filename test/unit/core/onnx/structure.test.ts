import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { findBlocks } from '../../../../src/core/onnx/blocks';
import { pruneEdit } from '../../../../src/core/onnx/edit';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { chunksToBuffer } from '../../../../src/core/onnx/wire';
import { fixture, tinyModels } from '../../../helpers';
import { stripNodeNames } from '../../../modelVariants';

const onnxOf = (name: string) => fixture(name, 'onnx', name.includes('t5') ? 'encoder_model.onnx' : 'model.onnx');

async function prunedOutput(file: string, kept: number[]): Promise<Float32Array> {
  const m = OnnxModel.open(file);
  const s = await ort.InferenceSession.create(chunksToBuffer(m.serialize(pruneEdit(m, findBlocks(m, file), kept))));
  m.close();
  const t = (v: bigint[]) => new ort.Tensor('int64', BigInt64Array.from(v), [1, v.length]);
  const feeds: Record<string, ort.Tensor> = { input_ids: t([2n, 100n, 200n, 300n, 3n]), attention_mask: t([1n, 1n, 1n, 1n, 1n]) };
  if (s.inputNames.includes('token_type_ids')) feeds.token_type_ids = t([0n, 0n, 0n, 0n, 0n]);
  const out = (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
  await s.release();
  return out;
}

function assertClose(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst <= tol, `${what}: max difference ${worst}`);
}

test('graphs without node names: the residual stream gives the same blocks and the same pruned models', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-nameless-'));
  for (const name of tinyModels) {
    const named = onnxOf(name);
    const nameless = stripNodeNames(named, path.join(dir, `${name}.onnx`));
    const a = findBlocks(OnnxModel.open(named));
    const b = findBlocks(OnnxModel.open(nameless));
    assert.ok(OnnxModel.open(nameless).nodes.every((n) => n.name === ''), `${name}: names stripped`);
    assert.deepEqual([b.numBlocks, b.hiddenIn, b.hiddenOut, b.finalOutput], [a.numBlocks, a.hiddenIn, a.hiddenOut, a.finalOutput], name);
    for (const kept of [[0, 2], [1, 3], [3]]) assertClose(await prunedOutput(nameless, kept), await prunedOutput(named, kept), 1e-5, `${name} kept ${kept}`);
  }
});

test('ONNX Runtime’s own optimized graph (fused MatMuls, unnamed BiasGelu) prunes like the source', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-ortopt-'));
  const optimized = path.join(dir, 'model.onnx');
  await (await ort.InferenceSession.create(onnxOf('tiny-bert'), { graphOptimizationLevel: 'extended', optimizedModelFilePath: optimized })).release();
  const m = OnnxModel.open(optimized);
  assert.ok(m.nodes.some((n) => n.opType === 'BiasGelu' && !n.name.includes('layer.')), 'the fixture has unscoped fused nodes');
  m.close();
  for (const kept of [[0, 2], [1, 3]]) assertClose(await prunedOutput(optimized, kept), await prunedOutput(onnxOf('tiny-bert'), kept), 1e-4, `kept ${kept}`);
});

test('a graph with neither scope names nor attention is refused naming what would work', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-noattn-'));
  const src = OnnxModel.open(onnxOf('tiny-bert'));
  const file = path.join(dir, 'model.onnx');
  // Embeddings only: the graph output is the embedding LayerNorm's output.
  const blocks = findBlocks(src);
  const edited = src.serialize(pruneEdit(src, blocks, []));
  fs.writeFileSync(file, chunksToBuffer(edited));
  src.close();
  const nameless = stripNodeNames(file, path.join(dir, 'nameless.onnx'), true);
  assert.throws(() => findBlocks(OnnxModel.open(nameless), nameless), /no transformer blocks found.*residual stream forking into attention.*Re-export/);
});
