/**
 * ModernBERT encoders (model_type modernbert; thirty-fifth session, refused before): rotary Q and K,
 * global and sliding-window layers, pre-norm layers (layer 0 without an attention norm), a GLU
 * feed-forward, no biases. The fixture is a PyTorch transcription of transformers'
 * modeling_modernbert.py (scripts/ref/modernbert.py) with a torch.onnx.export of it; here the graph
 * ProbeScale builds from the safetensors is checked against both, pruned folders against PyTorch's
 * subsets (each kept layer keeping its kind), and a user's whole run: optimize with every
 * compensation, verify, and the committed classifier in transformers.js.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel, readConfig, resolveEncoderGraph } from '../../../../src/core/model/modelInfo';
import { writePrunedFolder } from '../../../../src/core/commit/prunedFolder';
import { modernBertTransformersGap } from '../../../../src/core/model/modernBert';
import { keptParams } from '../../../../src/shared/params';
import { tensorBytes, writeSafetensors } from '../../../safetensorsFiles';
import { RefBatch, fixture, lastHiddenOn as lastHidden, maxAbsDiff, pipelineAccuracyOnSentlen, runCli, tasksDir, tempDir } from '../../../helpers';

const tmp = tempDir('ps-modernbert-');
const graphCacheDir = path.join(tmp, 'graphs');
const NAME = 'tiny-modernbert';
const refs = (): RefBatch & { subsets: Record<string, { last_hidden_state: number[] }> } => JSON.parse(fs.readFileSync(fixture('refs', `${NAME}.refs.json`), 'utf8'));
const built = (dir: string) => resolveEncoderGraph(dir, readConfig(dir), { from: 'safetensors', graphCacheDir }).file;

test('tiny-modernbert: the graph built from safetensors equals PyTorch and the export to 1e-4, with the same parameter accounting', async (t) => {
  const r = refs();
  const y = await lastHidden(built(fixture(NAME)), r);
  const dTorch = maxAbsDiff(y, r.subsets['0,1,2,3'].last_hidden_state);
  const dExport = maxAbsDiff(y, await lastHidden(fixture(NAME, 'onnx', 'model.onnx'), r));
  assert.ok(dTorch < 1e-4 && dExport < 1e-4, `max |diff| vs PyTorch ${dTorch}, vs export ${dExport}`);
  const a = openModel(fixture(NAME), { from: 'safetensors', graphCacheDir });
  const b = openModel(fixture(NAME));
  try {
    assert.deepEqual([a.graphFrom, b.graphFrom], ['safetensors', 'onnx']);
    assert.deepEqual(a.params, b.params, 'Wqkv and Wi read as row ranges count as the stored tensors do');
    assert.equal(a.numLayers, 4);
    // Layer 0 has no attention norm: 32 parameters fewer than the others.
    assert.equal(a.params.perBlock[1] - a.params.perBlock[0], 32);
  } finally {
    a.model.close();
    b.model.close();
  }
  t.diagnostic(`built graph vs PyTorch ${dTorch.toExponential(1)}, vs export ${dExport.toExponential(1)}`);
});

test('tiny-modernbert: pruned folders keep each layer its kind and norm, and rebuild from their safetensors as PyTorch subsets (1e-4)', async (t) => {
  const r = refs();
  const info = openModel(fixture(NAME), { from: 'safetensors', graphCacheDir });
  let worst = 0;
  try {
    for (const key of Object.keys(r.subsets).filter((k) => k !== '' && k !== '0,1,2,3')) {
      const kept = key.split(',').map(Number);
      const dir = path.join(tmp, `pruned-${kept.join('_')}`);
      fs.mkdirSync(dir);
      await writePrunedFolder(info, kept, dir, {}, {});
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      assert.deepEqual(config.layer_types, kept.map((k) => (k % 3 === 0 ? 'full_attention' : 'sliding_attention')), `{${key}}`);
      // Where transformers would run the layers otherwise, config.json says so; where not, it says nothing.
      assert.equal(typeof config.probescale.pytorch === 'string', modernBertTransformersGap(readConfig(fixture(NAME)), kept, 4) !== null, `{${key}}`);
      const want = r.subsets[key].last_hidden_state;
      const dBuilt = maxAbsDiff(await lastHidden(built(dir), r), want);
      const dGraph = maxAbsDiff(await lastHidden(path.join(dir, 'onnx', 'model.onnx'), r), want);
      assert.ok(dBuilt < 1e-4 && dGraph < 1e-4, `{${key}}: rebuilt ${dBuilt}, pruned graph ${dGraph}`);
      worst = Math.max(worst, dBuilt, dGraph);
      const pruned = openModel(dir, { from: 'safetensors', graphCacheDir });
      assert.equal(pruned.params.total, keptParams(info.params, kept), `{${key}}: the parameters the account gave the subset`);
      pruned.model.close();
    }
  } finally {
    info.model.close();
  }
  t.diagnostic(`pruned folders vs PyTorch's subsets: at most ${worst.toExponential(1)}`);
});

test('probescale prune says, as a warning, where transformers would run the pruned ModernBERT otherwise', () => {
  const out = path.join(tmp, 'prune-cli');
  const r = runCli(['prune', fixture(NAME), '--from', 'safetensors', '--layers', '1,3', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warn: transformers' ModernBertModel would not run model\.safetensors as measured: layer 1, now layer 0, has an attention norm/);
  const quiet = runCli(['prune', fixture(NAME), '--from', 'safetensors', '--layers', '0,1', '--out', `${out}-01`]);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /ModernBertModel would not run/);
});

test('transformers would run a ModernBERT subset otherwise only where it starts past layer 0 or moves a global layer', () => {
  const config = readConfig(fixture(NAME));
  assert.equal(modernBertTransformersGap(config, [0, 1, 2, 3], 4), null);
  assert.equal(modernBertTransformersGap(config, [0, 1], 4), null);
  assert.match(modernBertTransformersGap(config, [1, 3], 4) ?? '', /layer 1, now layer 0, has an attention norm/);
  assert.match(modernBertTransformersGap(config, [0, 3], 4) ?? '', /layer 3 \(global attention\), now layer 1/);
  assert.match(modernBertTransformersGap({ ...config, layer_types: ['full_attention', 'full_attention', 'sliding_attention', 'full_attention'] }, [0, 1], 4) ?? '', /layer 1 \(global attention\)/);
});

const limits = { limitTrain: 120, limitTest: 40 };
const optimize = (from: string, compensate: string, out: string) =>
  runCli(['optimize', fixture(NAME), '--from', from, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.97', '--compensate', compensate, '--limit-train', String(limits.limitTrain), '--limit-test', String(limits.limitTest), '--candidates', '2', '--no-cache', '--out', out, '-q']);

// From safetensors every compensation; from the export (Q, K and V fused in Wqkv, as transformers'
// module computes them) bridges, and width is refused naming --from safetensors.
for (const [from, compensate] of [['safetensors', 'all'], ['onnx', 'bridge']] as const) {
  test(`tiny-modernbert from ${from}: optimize --compensate ${compensate} commits a folder verify re-measures, and transformers.js runs its classifier as measured`, async () => {
    const out = path.join(tmp, `optimized-${from}`);
    const r = optimize(from, compensate, out);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { model: { architecture: string }; verify: { perTask: Record<string, { measured: { accuracy: number } }> }; selection: { baselines: { name: string }[] } };
    assert.equal(report.model.architecture, 'modernbert');
    assert.equal(report.selection.baselines.some((b) => b.name === 'flap-uniform'), compensate === 'all', 'width pruning was measured where asked');
    assert.ok(report.selection.baselines.some((b) => b.name === 'replaceme-bridge'), 'a bridge was measured');
    const classifier = path.join(out, 'classifiers', 'sentlen');
    assert.equal(JSON.parse(fs.readFileSync(path.join(classifier, 'config.json'), 'utf8')).model_type, 'modernbert');
    assert.equal(await pipelineAccuracyOnSentlen(classifier, limits), report.verify.perTask.sentlen.measured.accuracy);
  });
}

test('tiny-modernbert from its export: --compensate all is refused before any pass, naming --from safetensors', () => {
  const out = path.join(tmp, 'refused');
  const r = optimize('onnx', 'all', out);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /width pruning cannot rewrite this graph.*--from safetensors builds the graph/s);
  assert.ok(!fs.existsSync(out));
});

test('ModernBERT configs the builder cannot follow are refused naming the key; a null local_rope_theta takes the global base, as transformers 4.48 did', async () => {
  const base = readConfig(fixture(NAME));
  const folder = (label: string, config: Record<string, unknown>) => {
    const dir = path.join(tmp, `config-${label}`);
    fs.cpSync(fixture(NAME), dir, { recursive: true, filter: (f) => path.basename(f) !== 'onnx' });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['types', { ...base, layer_types: ['full_attention', 'sliding_attention'] }, /layer_types is .*one "full_attention" or "sliding_attention" per layer \(4 layers\)/],
    ['every', { ...base, global_attn_every_n_layers: 0 }, /global_attn_every_n_layers is 0; it must be an integer ≥ 1/],
    ['rope', { ...base, rope_parameters: { full_attention: { rope_type: 'yarn', rope_theta: 160000 } } }, /rope_parameters\.full_attention\.rope_type 'yarn' is not supported/],
    ['window', { ...base, local_attention: -2 }, /local_attention is -2/],
    ['headdim', { ...base, head_dim: 16 }, /head_dim 16 differs from hidden_size \/ num_attention_heads = 8/],
  ];
  for (const [label, config, re] of cases) assert.throws(() => built(folder(label, config)), re, label);
  // With both bases given as the global one, the graph equals the one whose local base is null.
  const r = refs();
  const nullLocal = await lastHidden(built(folder('nulllocal', { ...base, local_rope_theta: null })), r);
  const sameBase = await lastHidden(built(folder('samebase', { ...base, local_rope_theta: base.global_rope_theta })), r);
  assert.equal(maxAbsDiff(nullLocal, sameBase), 0);
  assert.ok(maxAbsDiff(nullLocal, r.subsets['0,1,2,3'].last_hidden_state) > 1e-3, 'the local base matters on these texts');
});

test('a ModernBERT config as transformers 5 saves it (layer_types, rope_parameters) builds the same model', async () => {
  const { global_attn_every_n_layers: _every, global_rope_theta: _global, local_rope_theta: _local, ...rest } = readConfig(fixture(NAME));
  const dir = path.join(tmp, 'transformers5-config');
  fs.cpSync(fixture(NAME), dir, { recursive: true, filter: (f) => path.basename(f) !== 'onnx' });
  const config = { ...rest, layer_types: ['full_attention', 'sliding_attention', 'sliding_attention', 'full_attention'], rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 160000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } } };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const r = refs();
  assert.ok(maxAbsDiff(await lastHidden(built(dir), r), r.subsets['0,1,2,3'].last_hidden_state) < 1e-4);
});

// A fine-tuned ModernBertForSequenceClassification exported with its head (logits), as optimum's
// text-classification export writes it: the encoder under the head ends in final_norm, which
// stays. Before, the last layer's output without final_norm was taken for the encoder's state.
test('tiny-modernbert-classifier: the encoder under the head keeps its final norm; pruned folders compute PyTorch subsets (1e-4)', async () => {
  const r = refs();
  const info = openModel(fixture('tiny-modernbert-classifier'));
  const base = openModel(fixture(NAME));
  try {
    assert.deepEqual(info.blocks.headOutputs, ['logits']);
    assert.deepEqual(info.params, base.params, 'the head is not counted; the final norm is');
    for (const kept of [[0, 1, 2, 3], [1, 3], [0, 2]]) {
      const dir = path.join(tmp, `classifier-pruned-${kept.join('_')}`);
      fs.mkdirSync(dir);
      await writePrunedFolder(info, kept, dir, {}, {});
      const d = maxAbsDiff(await lastHidden(path.join(dir, 'onnx', 'model.onnx'), r), r.subsets[kept.join(',')].last_hidden_state);
      assert.ok(d < 1e-4, `{${kept}}: ${d}`);
    }
  } finally {
    info.model.close();
    base.model.close();
  }
});

// Real ModernBERT checkpoints have no biases; a config that turns them on (norm_bias, attention_bias,
// mlp_bias) adds one to every Linear and LayerNorm, read in place as row ranges like the weights.
test('tiny-modernbert with every bias on (norm, attention, mlp) builds and prunes as PyTorch computes it (1e-4)', async () => {
  const ref = JSON.parse(fs.readFileSync(fixture('refs', 'tiny-modernbert-biased.refs.json'), 'utf8')) as RefBatch & { config: Record<string, boolean>; biases: Record<string, number[]>; subsets: Record<string, { last_hidden_state: number[] }> };
  const dir = path.join(tmp, 'biased');
  fs.cpSync(fixture(NAME), dir, { recursive: true, filter: (f) => path.basename(f) !== 'onnx' });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...readConfig(fixture(NAME)), ...ref.config }));
  const { header, bytes } = tensorBytes(fixture(NAME, 'model.safetensors'));
  const tensors: [string, string, number[], Buffer][] = [...bytes].map(([name, data]) => [name, header[name].dtype, header[name].shape, data]);
  for (const [name, values] of Object.entries(ref.biases)) tensors.push([name, 'F32', [values.length], Buffer.from(Float32Array.from(values).buffer)]);
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  assert.ok(maxAbsDiff(await lastHidden(built(dir), ref), ref.subsets['0,1,2,3'].last_hidden_state) < 1e-4);
  const info = openModel(dir, { from: 'safetensors', graphCacheDir });
  try {
    const pruned = path.join(tmp, 'biased-pruned');
    fs.mkdirSync(pruned);
    await writePrunedFolder(info, [1, 3], pruned, {}, {});
    assert.ok(maxAbsDiff(await lastHidden(built(pruned), ref), ref.subsets['1,3'].last_hidden_state) < 1e-4);
  } finally {
    info.model.close();
  }
});

// gte-modernbert, modernbert-embed and the like: a sentence-transformers folder whose weights are the
// bare ModernBertModel's (no `model.` prefix, no head), with mean pooling in 1_Pooling.
test('a sentence-transformers ModernBERT folder (bare ModernBertModel weights) builds the same encoder', async () => {
  const dir = path.join(tmp, 'sentence-transformers');
  fs.cpSync(fixture(NAME), dir, { recursive: true, filter: (f) => !['onnx', 'model.safetensors'].includes(path.basename(f)) });
  const { header, bytes } = tensorBytes(fixture(NAME, 'model.safetensors'));
  const bare: [string, string, number[], Buffer][] = [...bytes].filter(([name]) => name.startsWith('model.')).map(([name, data]) => [name.slice('model.'.length), header[name].dtype, header[name].shape, data]);
  writeSafetensors(path.join(dir, 'model.safetensors'), bare);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...readConfig(fixture(NAME)), architectures: ['ModernBertModel'] }));
  fs.writeFileSync(path.join(dir, 'modules.json'), JSON.stringify([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' }, { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' }]));
  fs.mkdirSync(path.join(dir, '1_Pooling'));
  fs.writeFileSync(path.join(dir, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 32, pooling_mode_mean_tokens: true, pooling_mode_cls_token: false, pooling_mode_max_tokens: false, pooling_mode_mean_sqrt_len_tokens: false }));
  const r = refs();
  assert.ok(maxAbsDiff(await lastHidden(built(dir), r), r.subsets['0,1,2,3'].last_hidden_state) < 1e-4);
  const info = openModel(dir, { graphCacheDir });
  const base = openModel(fixture(NAME));
  try {
    assert.equal(info.graphFrom, 'safetensors');
    assert.deepEqual(info.params, base.params);
  } finally {
    info.model.close();
    base.model.close();
  }
});
