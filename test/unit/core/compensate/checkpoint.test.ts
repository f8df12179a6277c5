import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { openModel } from '../../../../src/core/model/modelInfo';
import { readSafetensorsHeader } from '../../../../src/core/model/safetensors';
import { writeCompensatedFolder } from '../../../../src/core/compensate/commit';
import { CompSpec } from '../../../../src/core/compensate/search';
import { buildVariant, variantCalibration } from '../../../../src/core/compensate/variant';
import { compensationSource } from '../../../../src/core/compensate/source';
import { fixture, lastHiddenOn, maxAbsDiff, RefBatch, tasksDir, tempDir } from '../../../helpers';

// Before: no compensated commit wrote model.safetensors ("Hugging Face configs cannot express … narrowed
// attention/FFN widths per block"), though every kept FFN narrowed to one width is what a config with
// that intermediate_size (DistilBERT: hidden_dim) describes.
const ffnCases = [
  { name: 'tiny-bert', key: 'intermediate_size', up: 'encoder.layer.1.intermediate.dense.weight', down: 'encoder.layer.1.output.dense.weight' },
  { name: 'tiny-roberta', key: 'intermediate_size', up: 'encoder.layer.1.intermediate.dense.weight', down: 'encoder.layer.1.output.dense.weight' },
  { name: 'tiny-distilbert', key: 'hidden_dim', up: 'transformer.layer.1.ffn.lin1.weight', down: 'transformer.layer.1.ffn.lin2.weight' },
  { name: 'tiny-mpnet', key: 'intermediate_size', up: 'encoder.layer.1.intermediate.dense.weight', down: 'encoder.layer.1.output.dense.weight' },
];

async function compensatedFolder(name: string, kept: number[], spec: CompSpec, source = fixture(name)) {
  // A graph built from the weights is compensated through its standalone copy, as a job does.
  const original = openModel(source);
  const opened = compensationSource(original);
  const info = opened.info;
  const tok = await loadTokenizer(source, { maxLength: 128 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 120, limitTest: 10 });
  const dir = path.join(tempDir('ps-checkpoint-'), 'model');
  fs.mkdirSync(dir);
  const v = await buildVariant(info, variantCalibration(tok, [task], { batchSize: 16 }), kept, spec, { batchSize: 16 }, {});
  try {
    const written = await writeCompensatedFolder(info, v, spec, dir, {}, {});
    return { dir, written, params: v.info.params.total, config: JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown> & { probescale: { compensation: { safetensors: string } } } };
  } finally {
    v.dispose();
    opened.dispose();
    original.model.close();
  }
}

for (const c of ffnCases) {
  test(`${c.name}: every kept FFN narrowed to one width commits model.safetensors with ${c.key} set, and the graph built from it computes the committed ONNX encoder`, async () => {
    const { dir, written, params, config } = await compensatedFolder(c.name, [0, 2], { bridges: false, ffnWidth: 24 });
    assert.ok(written.files.includes('model.safetensors'), written.files.join());
    assert.equal(config[c.key], 24);
    assert.match(written.safetensors, new RegExp(`^model\\.safetensors is the same model for PyTorch: config\\.json's ${c.key} is 24 \\(was 64\\)`));
    assert.equal(config.probescale.compensation.safetensors, written.safetensors);
    const header = new Map(readSafetensorsHeader(path.join(dir, 'model.safetensors')).tensors.map((t) => [t.name, t]));
    const hidden = Number(config.hidden_size ?? config.dim);
    assert.deepEqual([header.get(c.up)?.shape, header.get(c.down)?.shape, header.get(c.down)?.dtype], [[24, hidden], [hidden, 24], 'F32']);
    assert.equal([...header.keys()].some((k) => /layer\.2\./.test(k)), false, 'two blocks, renumbered 0 and 1');
    // The folder as a PyTorch user gets it: config.json + model.safetensors, built by ProbeScale's own
    // builder (which reads the FFN width from config.json and checks every tensor's shape).
    const fromWeights = openModel(dir, { from: 'safetensors' });
    try {
      assert.deepEqual([fromWeights.graphFrom, fromWeights.numLayers, fromWeights.params.total], ['safetensors', 2, params]);
      const refs = JSON.parse(fs.readFileSync(fixture('refs', `${c.name}.refs.json`), 'utf8')) as RefBatch;
      const onnx = await lastHiddenOn(path.join(dir, 'onnx', 'model.onnx'), refs);
      const built = await lastHiddenOn(fromWeights.onnxFile, refs);
      assert.ok(maxAbsDiff(onnx, built) < 1e-4, `${maxAbsDiff(onnx, built)}`);
    } finally {
      fromWeights.model.close();
    }
  });
}

test('a sharded source (index + shards) gets its narrowed FFNs written into the shards and the index', async () => {
  const src = path.join(tempDir('ps-checkpoint-shards-'), 'tiny-bert');
  fs.cpSync(fixture('tiny-bert'), src, { recursive: true });
  const shard = 'model-00001-of-00001.safetensors';
  fs.renameSync(path.join(src, 'model.safetensors'), path.join(src, shard));
  const map = Object.fromEntries(readSafetensorsHeader(path.join(src, shard)).tensors.map((t) => [t.name, shard]));
  fs.writeFileSync(path.join(src, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));
  const { dir, written } = await compensatedFolder('tiny-bert', [1, 3], { bridges: false, ffnWidth: 16 }, src);
  assert.deepEqual(written.files.filter((f) => f.includes('safetensors')).sort(), [shard, 'model.safetensors.index.json']);
  const header = new Map(readSafetensorsHeader(path.join(dir, shard)).tensors.map((t) => [t.name, t]));
  assert.deepEqual(header.get('encoder.layer.1.intermediate.dense.weight')?.shape, [16, 32]);
  const fromWeights = openModel(dir, { from: 'safetensors' });
  try {
    const refs = JSON.parse(fs.readFileSync(fixture('refs', 'tiny-bert.refs.json'), 'utf8')) as RefBatch;
    const d = maxAbsDiff(await lastHiddenOn(path.join(dir, 'onnx', 'model.onnx'), refs), await lastHiddenOn(fromWeights.onnxFile, refs));
    assert.ok(d < 1e-4, `${d}`);
  } finally {
    fromWeights.model.close();
  }
});

test('a source with only its ONNX export gets no model.safetensors (its config.json still gives the FFN width), and the note does not send the user to --compensate none (which writes none either)', async () => {
  const src = path.join(tempDir('ps-checkpoint-onnx-'), 'tiny-bert');
  fs.cpSync(fixture('tiny-bert'), src, { recursive: true, filter: (f) => path.basename(f) !== 'model.safetensors' });
  const { dir, written, config } = await compensatedFolder('tiny-bert', [0, 2], { bridges: false, ffnWidth: 24 }, src);
  assert.match(written.safetensors, /^No model\.safetensors: the source folder has none \(only its ONNX export\)/);
  assert.equal(config.intermediate_size, 24, 'config.json describes the graph all the same');
  assert.doesNotMatch(written.safetensors, /--compensate none/);
  assert.equal(fs.existsSync(path.join(dir, 'model.safetensors')), false);
});

test('a compensation that changed nothing (an FFN width at the source\'s) commits the whole kept blocks as model.safetensors, said as such', async () => {
  const { dir, written, config } = await compensatedFolder('tiny-roberta', [0, 1], { bridges: false, ffnWidth: 64 });
  assert.match(written.safetensors, /^model\.safetensors is the same model for PyTorch: its kept blocks are whole/);
  assert.equal(config.intermediate_size, 64);
  const fromWeights = openModel(dir, { from: 'safetensors' });
  try {
    const refs = JSON.parse(fs.readFileSync(fixture('refs', 'tiny-roberta.refs.json'), 'utf8')) as RefBatch;
    const d = maxAbsDiff(await lastHiddenOn(path.join(dir, 'onnx', 'model.onnx'), refs), await lastHiddenOn(fromWeights.onnxFile, refs));
    assert.ok(d < 1e-4, `${d}`);
  } finally {
    fromWeights.model.close();
  }
});

test('what a Hugging Face config cannot express writes no model.safetensors and says why: narrowed heads (transformers 5 removed pruned_heads), bridges, a factorised table, T5 refits', async () => {
  const cases: [CompSpec, number[], RegExp][] = [
    [{ bridges: false, heads: 1 }, [0, 1], /^No model\.safetensors: narrowed attention \(transformers 5 removed `pruned_heads`/],
    [{ bridges: true, ffnWidth: 24 }, [0, 2], /^No model\.safetensors: least-squares bridges between blocks, which a Hugging Face config cannot express/],
    [{ bridges: false, embeddingRank: 4 }, [0, 1], /^No model\.safetensors: a factorised word-embedding table/],
  ];
  for (const [spec, kept, why] of cases) {
    const { dir, written, config } = await compensatedFolder('tiny-roberta', kept, spec);
    assert.match(written.safetensors, why);
    assert.match(written.safetensors, /Use onnx\/model\.onnx/);
    assert.equal(fs.existsSync(path.join(dir, 'model.safetensors')), false);
    assert.equal(config.intermediate_size, 64, 'the config keeps the source widths');
  }
  // T5: a narrowed FFN's refit adds a bias T5 lacks; a factorised table alone is said as such (it
  // was blamed on T5's refits, though nothing was refitted), and the graph is named as T5's.
  const t5: [CompSpec, RegExp][] = [
    [{ bridges: false, ffnWidth: 32 }, /^No model\.safetensors: T5's refitted projections/],
    [{ bridges: false, embeddingRank: 8 }, /^No model\.safetensors: a factorised word-embedding table/],
  ];
  for (const [spec, why] of t5) {
    const { written } = await compensatedFolder('tiny-t5-encoder', [0, 1], spec);
    assert.match(written.safetensors, why);
    assert.match(written.safetensors, /Use onnx\/encoder_model\.onnx \(ONNX Runtime, transformers\.js\)/);
  }
});

test("NomicBERT: narrowed FFNs write no model.safetensors and say why (each refit adds a bias Nomic's one switch per projection kind cannot give, and Nomic's code rounds n_inner up to 256)", async () => {
  // Width pruning rewrites the graph built from the weights: a copy without the export builds it.
  const src = path.join(tempDir('ps-checkpoint-nomic-'), 'weights-only');
  fs.cpSync(fixture('tiny-nomic-bert'), src, { recursive: true, filter: (f) => path.basename(f) !== 'onnx' });
  const { dir, written, config } = await compensatedFolder('tiny-nomic-bert', [0, 2], { bridges: false, ffnWidth: 100 }, src);
  assert.match(written.safetensors, /^No model\.safetensors: NomicBERT's refitted projections .* \(its code rounds n_inner up to a multiple of 256\)/);
  assert.match(written.safetensors, /Use onnx\/model\.onnx/);
  assert.equal(fs.existsSync(path.join(dir, 'model.safetensors')), false);
  assert.equal(config.n_inner, 200, 'the config keeps the source width');
  assert.equal(config.n_layer, 2);
});
