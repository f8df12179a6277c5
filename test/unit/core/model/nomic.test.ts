/**
 * NomicBERT encoders (model_type nomic_bert: nomic-embed-text), from their ONNX export and from their
 * weights alone. The fixture (scripts/ref/nomic.py, a transcription of Nomic's trust_remote_code
 * modeling_hf_nomic_bert.py) is nomic-embed-text-v1.5's config at a tiny shape: rotary attention from a
 * fused Wqkv, post-norm, a SwiGLU FFN whose n_inner 200 Nomic's code rounds up to 256, no biases;
 * seeded random weights, a torch.onnx export, and the last hidden state of the model with layers
 * deleted, which is what a pruned checkpoint computes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel, readConfig, resolveEncoderGraph } from '../../../../src/core/model/modelInfo';
import { buildEncoderGraph } from '../../../../src/core/model/encoderGraph';
import { openWeights } from '../../../../src/core/model/weights';
import { readSafetensorsHeader } from '../../../../src/core/model/safetensors';
import { compensationSource } from '../../../../src/core/compensate/source';
import { compensatedEdit, emptyPlan, narrowKey, planParamDelta } from '../../../../src/core/compensate/graph';
import { SublayerKind, findSublayers } from '../../../../src/core/compensate/structure';
import { GraphEdit, OnnxModel } from '../../../../src/core/onnx/model';
import { tensorBytes, writeSafetensors } from '../../../safetensorsFiles';
import { RefBatch, fixture, lastHiddenOn, pipelineAccuracyOnSentlen, runCli, tasksDir, tempDir } from '../../../helpers';
import { editedHidden, keepUnits, maskedDiff, prunedHidden, worstPrunedDiff, zeroedCopy } from '../../../exactness';

const tmp = tempDir('ps-nomic-');
const NAME = 'tiny-nomic-bert';
type Refs = RefBatch & { subsets: Record<string, { last_hidden_state: number[] }> };
const refs = (): Refs => JSON.parse(fs.readFileSync(fixture('refs', `${NAME}.refs.json`), 'utf8')) as Refs;

for (const [label, extra] of [['ONNX export', []], ['graph built from safetensors', ['--from', 'safetensors']]] as const) {
  test(`tiny-nomic-bert, ${label}: pruned folders compute Nomic's model with the other layers deleted`, async (t) => {
    const r = refs();
    // Built from the weights, each pruned folder's own weights build the same model again.
    const again = async (out: string, ref: number[], key: string) => {
      const file = resolveEncoderGraph(out, readConfig(out), { from: 'safetensors', graphCacheDir: path.join(tmp, 'graphs') }).file;
      assert.ok(maskedDiff(await lastHiddenOn(file, r), ref, r) < 1e-4, `{${key}} rebuilt from its safetensors`);
    };
    const worst = await worstPrunedDiff(fixture(NAME), r, path.join(tmp, label.split(' ')[0]), extra, extra.length ? again : undefined);
    t.diagnostic(`${label}: at most ${worst.toExponential(1)} from the reference`);
  });
}

test('a pruned NomicBERT folder keeps exactly the kept layers in model.safetensors, renumbered, and config.json says n_layer', () => {
  const out = path.join(tmp, 'safetensors-1_3');
  const p = runCli(['prune', fixture(NAME), '--layers', '1,3', '--out', out, '-q']);
  assert.equal(p.status, 0, p.stderr);
  const renumber = (name: string) => name.replace(/^encoder\.layers\.(\d+)\./, (_, n: string) => `encoder.layers.${{ 1: 0, 3: 1 }[Number(n) as 1 | 3]}.`);
  const want = readSafetensorsHeader(fixture(NAME, 'model.safetensors')).tensors.filter((t) => !/^encoder\.layers\.[02]\./.test(t.name));
  const got = readSafetensorsHeader(path.join(out, 'model.safetensors')).tensors;
  assert.deepEqual(got.map((t) => t.name).sort(), want.map((t) => renumber(t.name)).sort());
  const [before, after] = [tensorBytes(fixture(NAME, 'model.safetensors')).bytes, tensorBytes(path.join(out, 'model.safetensors')).bytes];
  for (const w of want) assert.ok(after.get(renumber(w.name))!.equals(before.get(w.name)!), w.name);
  const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config.n_layer, 2);
  assert.equal(config.model_type, 'nomic_bert');
  assert.deepEqual(config.auto_map, readConfig(fixture(NAME)).auto_map, "trust_remote_code still finds Nomic's code");
});

test('NomicBERT parameters are counted per block as the safetensors hold them, from the export and from the weights', () => {
  const header = readSafetensorsHeader(fixture(NAME, 'model.safetensors'));
  const size = (re: RegExp) => header.tensors.filter((t) => re.test(t.name)).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const layer = size(/^encoder\.layers\.0\./);
  for (const from of ['onnx', 'safetensors'] as const) {
    const info = openModel(fixture(NAME), { from, graphCacheDir: path.join(tmp, 'graphs') });
    try {
      assert.deepEqual(info.params.perBlock, [layer, layer, layer, layer], from);
      assert.equal(info.params.embeddings, size(/^(embeddings|emb_ln)\./), from);
      assert.equal(info.params.total, size(/./), from);
    } finally {
      info.model.close();
    }
  }
});

test("a NomicBERT export beside another model's weights is refused: the embeddings' norm (emb_ln) tells them apart", () => {
  const dir = path.join(tmp, 'other-weights');
  fs.cpSync(fixture(NAME), dir, { recursive: true });
  const { header, bytes } = tensorBytes(path.join(dir, 'model.safetensors'));
  const w = Buffer.from(bytes.get('emb_ln.weight')!);
  w.writeFloatLE(w.readFloatLE(0) + 0.5, 0);
  bytes.set('emb_ln.weight', w);
  writeSafetensors(path.join(dir, 'model.safetensors'), [...bytes].map(([n, b]) => [n, header[n].dtype, header[n].shape, b]));
  const r = runCli(['probe', dir, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '20', '--limit-test', '10', '--no-cache']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /onnx\/model\.onnx and model\.safetensors are different models \(tensor 'emb_ln\.weight' differs at element 0/);
});

test('NomicBERT configs the builder does not build are refused naming the key; the FFN width follows Nomic’s rounding', () => {
  const weights = openWeights(fixture(NAME));
  const base = readConfig(fixture(NAME));
  const build = (c: Record<string, unknown>) => buildEncoderGraph({ ...base, ...c }, weights, 'test');
  for (const [c, re] of [
    [{ prenorm: true }, /prenorm true \(pre-norm blocks\)/],
    [{ rotary_emb_interleaved: true }, /rotary_emb_interleaved true/],
    [{ rotary_emb_fraction: 0.5 }, /rotary_emb_fraction 0\.5.*partial rotary/],
    [{ rotary_emb_fraction: undefined }, /rotary_emb_fraction 0.*absolute position embeddings/],
    [{ rotary_emb_scale_base: 512 }, /rotary_emb_scale_base 512 \(xPos/],
    [{ activation_function: 'relu' }, /activation_function 'relu'/],
    [{ n_head: 3 }, /n_embd 32 is not a multiple of 3 heads/],
    [{ qkv_proj_bias: true }, /tensor 'encoder\.layers\.0\.attn\.Wqkv\.bias' is missing/],
    [{ n_inner: 300 }, /n_inner 300 \(512 after Nomic's rounding up to a multiple of 256\)/],
    [{ n_layer: 3 }, /in block 3, but config.json says n_layer 3/],
  ] as const) {
    assert.throws(() => build(c), re, JSON.stringify(c));
  }
  // n_inner 200 and 256 give the same weights' width; unset gives int(8 · 32 / 3) = 85 → 256 too.
  for (const n_inner of [256, null]) assert.ok(build({ n_inner }).bytes.length > 0);
  // NomicBertModel pads vocab_size up to pad_vocab_size_multiple (nomic-embed-text: 30,522 → 30,528), and so are the weights.
  assert.ok(build({ vocab_size: 4090 }).bytes.length > 0);
  assert.throws(() => build({ vocab_size: 4090, pad_vocab_size_multiple: 1 }), /embeddings\.word_embeddings\.weight' has shape \[4096, 32\] but config\.json \(vocab_size 4090 \(padded to a multiple of 1\)/);
});

/** The fixture with the output-projection columns of the units outside `heads` / `ffn` (per block) zeroed. */
const zeroed = (label: string, heads: Record<number, number[]>, ffn: Record<number, number[]>) =>
  zeroedCopy(fixture(NAME), path.join(tmp, label), 32, [
    ...Object.entries(heads).map(([b, keep]) => ({ weight: `encoder.layers.${b}.attn.out_proj.weight`, keep, group: 8 })),
    ...Object.entries(ffn).map(([b, keep]) => ({ weight: `encoder.layers.${b}.mlp.fc2.weight`, keep, group: 1 })),
  ]);
const pruned = (dir: string, kept: number[], label: string) => prunedHidden(dir, kept, path.join(tmp, `pruned-${label}-${kept.join('_')}`), refs());
const edited = (model: OnnxModel, edit: GraphEdit, label: string) => editedHidden(model, edit, path.join(tmp, `${label}.onnx`), refs());

const WIDTH_CASES: { kept: number[]; heads: Record<number, number[]>; ffn: Record<number, number[]> }[] = [
  { kept: [0, 1, 2, 3], heads: { 0: [1, 3], 2: [0] }, ffn: { 1: [0, 5, 9, 17, 33, 63, 200, 255], 3: Array.from({ length: 100 }, (_, j) => 2 * j + 10) } },
  { kept: [1, 3], heads: { 1: [0, 1, 2], 3: [3] }, ffn: { 3: [2, 4, 8, 16, 32, 64, 128] } },
];

test("tiny-nomic-bert from safetensors: narrowing to every head and neuron leaves the output as it is; removing given heads and neurons (Wqkv's three row ranges, both SwiGLU projections) computes the model with their output-projection columns zeroed (1e-4)", async (t) => {
  const r = refs();
  const info = openModel(fixture(NAME), { from: 'safetensors', graphCacheDir: path.join(tmp, 'graphs') });
  const source = compensationSource(info);
  const diffs: number[] = [];
  try {
    const { model, blocks } = source.info;
    const enc = { model, blocks, hidden: 32, heads: 4 };
    const site = (b: number, kind: SublayerKind) => findSublayers(model, blocks, b, 32, 4)[kind];
    assert.equal(site(0, 'attention').inputs.length, 3, 'q, k and v cut with the heads');
    assert.equal(site(0, 'ffn').inputs.length, 2, 'fc11 and fc12 cut with the neurons');
    assert.equal(site(0, 'ffn').width, 256, "Nomic's width, not config.json's n_inner 200");
    const all = emptyPlan([0, 1, 2, 3]);
    for (const k of all.kept) for (const kind of ['attention', 'ffn'] as const) all.narrow.set(narrowKey(kind, k), keepUnits(model, site(k, kind), Array.from({ length: site(k, kind).width / site(k, kind).group }, (_, j) => j), 32));
    diffs.push(maskedDiff(await edited(model, compensatedEdit(model, blocks, all, enc), 'every-unit'), await pruned(fixture(NAME), all.kept, 'source'), r));
    assert.ok(diffs[0] < 1e-4, `every unit kept: ${diffs[0]}`);
    for (const c of WIDTH_CASES) {
      const plan = emptyPlan(c.kept);
      for (const [b, keep] of Object.entries(c.heads)) plan.narrow.set(narrowKey('attention', Number(b)), keepUnits(model, site(Number(b), 'attention'), keep, 32));
      for (const [b, keep] of Object.entries(c.ffn)) plan.narrow.set(narrowKey('ffn', Number(b)), keepUnits(model, site(Number(b), 'ffn'), keep, 32));
      const y = await edited(model, compensatedEdit(model, blocks, plan, enc), `narrowed-${c.kept.join('_')}`);
      const d = maskedDiff(y, await pruned(zeroed(`zeroed-${c.kept.join('_')}`, c.heads, c.ffn), c.kept, 'zeroed'), r);
      assert.ok(d < 1e-4, `${JSON.stringify(c)}: ${d}`);
      diffs.push(d);
      assert.ok(maskedDiff(y, await pruned(fixture(NAME), c.kept, 'source'), r) > 1e-3, 'the removed units mattered');
      const removedHeads = Object.values(c.heads).reduce((n, k) => n + 4 - k.length, 0);
      const removedNeurons = Object.values(c.ffn).reduce((n, k) => n + 256 - k.length, 0);
      // A neuron: 2 × 32 in, 32 out; a head: 3 × 8 × 32 in, 8 × 32 out; each refitted projection gains a bias of 32.
      assert.equal(planParamDelta(plan, 32, (key) => site(Number(key.split(':')[1]), key.split(':')[0] as SublayerKind)), -removedNeurons * 96 - removedHeads * 1024 + 32 * plan.narrow.size);
    }
  } finally {
    source.dispose();
    info.model.close();
  }
  t.diagnostic(`every unit kept: ${diffs[0].toExponential(1)}; units removed vs the zeroed model: ${diffs.slice(1).map((d) => d.toExponential(1)).join(', ')}`);
});

const limits = { limitTrain: 120, limitTest: 40 };
const optimize = (out: string, ...extra: string[]) =>
  runCli(['optimize', fixture(NAME), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.9', '--limit-train', String(limits.limitTrain), '--limit-test', String(limits.limitTest), '--candidates', '2', '--no-cache', '--out', out, '-q', ...extra]);

for (const [label, extra] of [
  ['export, --compensate bridge', ['--compensate', 'bridge']],
  ['weights, --compensate all', ['--compensate', 'all', '--from', 'safetensors']],
] as const) {
  test(`tiny-nomic-bert from its ${label}: optimize commits a folder verify re-measures, and transformers.js runs its classifier as measured`, async () => {
    const out = path.join(tmp, `optimized-${extra.length}`);
    const r = optimize(out, ...extra);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { model: { architecture: string }; verify: { perTask: Record<string, { measured: { accuracy: number } }> }; selection: { baselines: { name: string }[] } };
    assert.equal(report.model.architecture, 'nomic_bert');
    assert.ok(report.selection.baselines.some((b) => b.name === (label.includes('all') ? 'flap-uniform' : 'replaceme-bridge')), 'a compensated baseline was measured');
    const classifier = path.join(out, 'classifiers', 'sentlen');
    const config = JSON.parse(fs.readFileSync(path.join(classifier, 'config.json'), 'utf8')) as { model_type: string; probescale: { sourceModelType: string } };
    assert.equal(config.model_type, 'bert', 'transformers.js has no NomicBERT classification class');
    assert.equal(config.probescale.sourceModelType, 'nomic_bert');
    assert.equal(await pipelineAccuracyOnSentlen(classifier, limits), report.verify.perTask.sentlen.measured.accuracy);
  });
}

test('tiny-nomic-bert, export and weights, --compensate width with the graph source left to auto: the graph is built from the weights, said in the log; --from onnx keeps the export and is refused', () => {
  const out = path.join(tmp, 'width-auto');
  const r = runCli(['optimize', fixture(NAME), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.9', '--limit-train', '60', '--limit-test', '20', '--candidates', '1', '--no-cache', '--out', out, '--compensate', 'width']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /--compensate width: the ONNX export of this nomic_bert model fuses or reuses the projections width pruning narrows, so the graph is built from the folder's weights \(--from safetensors\); give --from onnx to run the export/);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { model: { graphFrom: string }; selection: { baselines: { name: string }[] } };
  assert.equal(report.model.graphFrom, 'safetensors');
  assert.ok(report.selection.baselines.some((b) => b.name === 'flap-uniform'), 'width pruning measured');
  const refused = runCli(['optimize', fixture(NAME), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.9', '--no-cache', '--out', path.join(tmp, 'width-onnx'), '-q', '--compensate', 'width', '--from', 'onnx']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /width pruning cannot rewrite this graph.*The folder has the model's weights: --from safetensors builds the graph from them/s);
});
