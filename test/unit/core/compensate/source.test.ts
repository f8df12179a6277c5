/**
 * Compensation on graphs built from safetensors and on exports with external data: it works on a
 * standalone float32 copy (onnx/standalone.ts, compensate/source.ts), which must compute what the
 * source computes, count the same parameters, and let width pruning find every sub-layer.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelInfo, openModel } from '../../../../src/core/model/modelInfo';
import { compensationSource, STANDALONE_TMP } from '../../../../src/core/compensate/source';
import { widthRefusal } from '../../../../src/core/compensate/build';
import { buildVariant, variantCalibration } from '../../../../src/core/compensate/variant';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { DataType, OnnxModel } from '../../../../src/core/onnx/model';
import { GraphBuilder } from '../../../../src/core/onnx/build';
import { oversizeRefusal, writeStandaloneFloat } from '../../../../src/core/onnx/standalone';
import { messageIn } from '../../../../src/core/errors';
import { cliFlag } from '../../../../src/cli/main';
import { RefBatch, externalize, fixture, lastHiddenOn as lastHidden, maxAbsDiff, tasksDir, tempDir } from '../../../helpers';
import { roundedVariants } from '../../../safetensorsFiles';

const tmp = tempDir('ps-standalone-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const graphCacheDir = path.join(tmp, 'graphs');

const refsOf = (name: string): RefBatch => JSON.parse(fs.readFileSync(fixture('refs', `${name}.refs.json`), 'utf8'));

/** The copy is laid out as an export: weights inline, float32, read by MatMuls directly. */
function assertExportLayout(info: ModelInfo, label: string): void {
  const m = info.model;
  for (const t of m.initializers.values()) {
    assert.equal(t.external, null, `${label}: ${t.name} inline`);
    assert.ok(t.dataType !== DataType.FLOAT16 && t.dataType !== 16, `${label}: ${t.name} float32, not ${t.dataType}`);
  }
  const folded = m.nodes.filter((n) => (n.opType === 'Transpose' || n.opType === 'Cast') && m.initializers.has(n.inputs[0]));
  assert.deepEqual(folded.map((n) => n.name), [], `${label}: no Transpose or Cast of a weight left`);
}

const bertLike = ['tiny-bert', 'tiny-roberta', 'tiny-distilbert', 'tiny-mpnet'];

test('the standalone copy of a graph built from safetensors computes what it computes, counts the same parameters and has every sub-layer width pruning needs', async () => {
  for (const name of bertLike) {
    const built = openModel(fixture(name), { from: 'safetensors', graphCacheDir });
    const source = compensationSource(built);
    const dir = path.dirname(source.info.onnxFile);
    try {
      assert.notEqual(source.info.onnxFile, built.onnxFile, `${name}: a copy`);
      assert.ok(path.basename(dir).startsWith(`${STANDALONE_TMP}${process.pid}-`) && path.dirname(dir) === os.tmpdir(), `${name}: in a private temporary folder (${dir})`);
      assert.deepEqual(source.info.params, built.params, `${name}: same parameter accounting`);
      assert.deepEqual([source.info.dir, source.info.graphFrom, source.info.blocks.numBlocks], [built.dir, 'safetensors', built.blocks.numBlocks]);
      assertExportLayout(source.info, name);
      assert.equal(widthRefusal(source.info), null, `${name}: width pruning finds Q, K, V, output and FFN in every block`);
      assert.ok(widthRefusal(built) !== null, `${name}: (the built graph itself transposes its weights in the graph: not narrowable as it is)`);
      const d = maxAbsDiff(await lastHidden(source.info.onnxFile, refsOf(name)), await lastHidden(built.onnxFile, refsOf(name)));
      assert.ok(d <= 1e-6, `${name}: max |diff| ${d}`);
    } finally {
      source.dispose();
      built.model.close();
    }
    assert.ok(!fs.existsSync(dir), `${name}: dispose removes the copy`);
  }
});

test('fp16 and bf16 weights become float32 in the copy (word table included), with the outputs of float32 weights holding the same numbers', async () => {
  const v = roundedVariants(fixture('tiny-roberta', 'model.safetensors'), tmp);
  const folder = (label: string, weights: Buffer) => {
    const dir = path.join(tmp, `tiny-roberta-${label}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(fixture('tiny-roberta'))) if (f !== 'onnx' && f !== 'model.safetensors') fs.copyFileSync(fixture('tiny-roberta', f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'model.safetensors'), weights);
    return openModel(dir, { graphCacheDir });
  };
  const refs = refsOf('tiny-roberta');
  const f32 = folder('f32', v.F32);
  const y32 = await lastHidden(f32.onnxFile, refs);
  f32.model.close();
  for (const dtype of ['F16', 'BF16'] as const) {
    const info = folder(dtype, v[dtype]);
    assert.equal(info.graphFrom, 'safetensors', 'no export: built');
    const source = compensationSource(info);
    try {
      assertExportLayout(source.info, dtype);
      const word = source.info.model.initializers.get('embeddings.word_embeddings.weight');
      assert.equal(word?.dataType, DataType.FLOAT, `${dtype}: the word table as float32 under its name`);
      const d = maxAbsDiff(await lastHidden(source.info.onnxFile, refs), y32);
      assert.ok(d <= 1e-6, `${dtype}: max |diff| ${d}`);
    } finally {
      source.dispose();
      info.model.close();
    }
  }
});

test('an export with external data is copied with its weights inline; an export with inline weights is used as it is', async () => {
  const dir = path.join(tmp, 'ext-bert');
  fs.cpSync(fixture('tiny-bert'), dir, { recursive: true });
  externalize(fixture('tiny-bert', 'onnx', 'model.onnx'), path.join(dir, 'onnx'));
  const ext = openModel(dir);
  const source = compensationSource(ext);
  try {
    assert.ok([...ext.model.initializers.values()].some((t) => t.external), 'the source keeps its weights outside');
    assertExportLayout(source.info, 'external');
    assert.equal(maxAbsDiff(await lastHidden(source.info.onnxFile, refsOf('tiny-bert')), await lastHidden(ext.onnxFile, refsOf('tiny-bert'))), 0);
  } finally {
    source.dispose();
    ext.model.close();
  }
  const plain = openModel(fixture('tiny-bert'));
  const same = compensationSource(plain);
  assert.equal(same.info, plain, 'no copy of an export with inline weights');
  same.dispose();
  assert.ok(fs.existsSync(plain.onnxFile), 'disposing it leaves the model alone');
  plain.model.close();
});

test('a bridged, narrowed variant built from safetensors equals the one built from the export', async () => {
  const tok = await loadTokenizer(fixture('tiny-roberta'), { maxLength: 32 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 60, limitTest: 5 });
  const set = variantCalibration(tok, [task], { batchSize: 16 });
  const spec = { bridges: true, heads: 1, ffnWidth: 16 };
  const exported = openModel(fixture('tiny-roberta'));
  const built = openModel(fixture('tiny-roberta'), { from: 'safetensors', graphCacheDir });
  const source = compensationSource(built);
  const a = await buildVariant(exported, set, [0, 2], spec, { batchSize: 16 }, {});
  const b = await buildVariant(source.info, set, [0, 2], spec, { batchSize: 16 }, {});
  try {
    assert.deepEqual(b.info.params, a.info.params);
    assert.deepEqual(b.stats.map((s) => [s.kind, s.block, s.units, s.lambda]), a.stats.map((s) => [s.kind, s.block, s.units, s.lambda]), 'the same fits, the same λ');
    const d = maxAbsDiff(await lastHidden(b.info.onnxFile, refsOf('tiny-roberta')), await lastHidden(a.info.onnxFile, refsOf('tiny-roberta')));
    assert.ok(d < 1e-4, `max |diff| ${d}`);
  } finally {
    a.dispose();
    b.dispose();
    source.dispose();
    built.model.close();
    exported.model.close();
  }
});

test('a model whose float32 copy would not fit in one ONNX file is refused, saying so and what to use', () => {
  const g = new GraphBuilder();
  g.external.push({ name: 'w', dataType: DataType.FLOAT16, dims: [40_000, 30_000], location: 'model.safetensors', offset: 0, length: 2 * 40_000 * 30_000 });
  const x = g.op('s', 'Cast', ['w'], { to: DataType.FLOAT });
  g.outputs.push({ name: x, elemType: DataType.FLOAT, shape: [40_000, 30_000] });
  const model = OnnxModel.fromBuffer(g.serialize(17, 'test'), 'big.onnx');
  const e = oversizeRefusal(model);
  assert.ok(e);
  assert.match(messageIn(e, cliFlag), /^big\.onnx: its weights take 4\.47 GiB in float32, and compensation works on a float32 copy of the graph with its weights inline, which one ONNX file holds only below 2 GB\. Use --compensate none for this model\.$/);
  assert.equal(oversizeRefusal(OnnxModel.open(fixture('tiny-bert', 'onnx', 'model.onnx'))), null);
});

test("a weight transposed twice is folded once: the standalone copy of DeBERTa's built graph counts each query and key projection once and computes what the source does", async () => {
  const built = openModel(fixture('tiny-deberta-v3'), { from: 'safetensors', graphCacheDir });
  const source = compensationSource(built);
  try {
    assert.deepEqual(source.info.params, built.params, 'same parameter accounting (each block 8,544, not 2 × 1,024 more)');
    assertExportLayout(source.info, 'tiny-deberta-v3');
    const d = maxAbsDiff(await lastHidden(source.info.onnxFile, refsOf('tiny-deberta-v3')), await lastHidden(built.onnxFile, refsOf('tiny-deberta-v3')));
    assert.ok(d <= 1e-6, `max |diff| ${d}`);
  } finally {
    source.dispose();
    built.model.close();
  }
  // A graph that transposes one weight in two Transposes (as the builder wrote DeBERTa before) folds it into one initializer read twice.
  const g = new GraphBuilder();
  g.constants.push({ name: 'w', dataType: DataType.FLOAT, dims: [2, 3], data: Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer) });
  g.inputs.push({ name: 'x', elemType: DataType.FLOAT, shape: [1, 3] }, { name: 'y', elemType: DataType.FLOAT, shape: [1, 3] });
  const out = g.op('s', 'Add', [g.op('s/x', 'MatMul', ['x', g.op('s/x2', 'Transpose', ['w'], { perm: [1, 0] })]), g.op('s/y', 'MatMul', ['y', g.op('s/y2', 'Transpose', ['w'], { perm: [1, 0] })])]);
  g.outputs.push({ name: out, elemType: DataType.FLOAT, shape: [1, 2] });
  const file = path.join(tmp, 'twice.onnx');
  fs.writeFileSync(file, g.serialize(17, 'test'));
  const copy = path.join(tmp, 'twice-standalone.onnx');
  writeStandaloneFloat(OnnxModel.open(file), copy);
  const m = OnnxModel.open(copy);
  assert.deepEqual([...m.initializers.values()].map((t) => t.dims), [[3, 2]], 'one folded [in, out] copy of w');
  m.close();
  const ort = await import('onnxruntime-node');
  const feeds = { x: new ort.Tensor('float32', new Float32Array([1, -1, 3]), [1, 3]), y: new ort.Tensor('float32', new Float32Array([2, 0.5, -2]), [1, 3]) };
  const run = async (f: string) => Array.from((await (await ort.InferenceSession.create(f)).run(feeds))[out].data as Float32Array);
  assert.deepEqual(await run(copy), await run(file));
});
