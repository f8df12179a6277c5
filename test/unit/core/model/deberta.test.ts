/**
 * DeBERTa-v2/v3 encoders from their ONNX export. The fixture was written by Python transformers
 * 5.17 itself (scripts/ref/deberta_fixture.py on the lent GPU machine): a DebertaV2Model of v3's
 * kind (relative attention with log buckets, c2p + p2c, shared attention keys, no absolute
 * positions) with seeded random weights, torch.onnx exports (TorchScript and dynamo), and the
 * last hidden state of transformers' own model with layers deleted from encoder.layer, which is
 * what a pruned checkpoint computes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel, readConfig, resolveEncoderGraph } from '../../../../src/core/model/modelInfo';
import { writePrunedFolder } from '../../../../src/core/commit/prunedFolder';
import { compensationSource } from '../../../../src/core/compensate/source';
import { compensatedEdit, emptyPlan, narrowKey, planParamDelta } from '../../../../src/core/compensate/graph';
import { SublayerKind, findSublayers } from '../../../../src/core/compensate/structure';
import { GraphEdit, OnnxModel } from '../../../../src/core/onnx/model';
import { keptParams } from '../../../../src/shared/params';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { readSafetensorsHeader } from '../../../../src/core/model/safetensors';
import { tensorBytes, writeSafetensors } from '../../../safetensorsFiles';
import { RefBatch, fixture, lastHiddenOn, pipelineAccuracyOnSentlen, runCli, tasksDir, tempDir } from '../../../helpers';
import { editedHidden, keepUnits, maskedDiff, prunedHidden, worstPrunedDiff, zeroedCopy } from '../../../exactness';

const tmp = tempDir('ps-deberta-');
const graphCacheDir = path.join(tmp, 'graphs');
const built = (dir: string) => resolveEncoderGraph(dir, readConfig(dir), { from: 'safetensors', graphCacheDir }).file;
const NAME = 'tiny-deberta-v3';
const DYNAMO = fixture('exports', 'tiny-deberta-v3-dynamo.onnx');
type Refs = RefBatch & { subsets: Record<string, { last_hidden_state: number[] }>; tokenizerIds: { maxLength: number; singles: number[][]; pair: number[] }; texts: string[] };
const refs = (): Refs => JSON.parse(fs.readFileSync(fixture('refs', `${NAME}.refs.json`), 'utf8')) as Refs;

for (const [label, extra] of [['TorchScript export', []], ['dynamo export', ['--onnx', DYNAMO]], ['graph built from safetensors', ['--from', 'safetensors']]] as const) {
  test(`tiny-deberta-v3, ${label}: pruned folders compute transformers' model with the other layers deleted`, async (t) => {
    const worst = await worstPrunedDiff(fixture(NAME), refs(), path.join(tmp, label.split(' ')[0]), extra);
    t.diagnostic(`${label}: at most ${worst.toExponential(1)} from transformers`);
  });
}

test('a pruned DeBERTa folder keeps exactly the kept layers in model.safetensors, renumbered, and config.json says how many', () => {
  const out = path.join(tmp, 'safetensors-1_3');
  const p = runCli(['prune', fixture(NAME), '--layers', '1,3', '--out', out, '-q']);
  assert.equal(p.status, 0, p.stderr);
  const src = readSafetensorsHeader(fixture(NAME, 'model.safetensors'));
  const dst = readSafetensorsHeader(path.join(out, 'model.safetensors'));
  const renamed = new Map([['1', '0'], ['3', '1']]);
  const want = src.tensors
    .filter((t) => !/^encoder\.layer\.[02]\./.test(t.name))
    .map((t) => ({ ...t, name: t.name.replace(/^encoder\.layer\.(\d+)\./, (_, n: string) => `encoder.layer.${renamed.get(n)}.`) }));
  assert.deepEqual(dst.tensors.map((t) => t.name).sort(), want.map((t) => t.name).sort());
  const [before, after] = [tensorBytes(fixture(NAME, 'model.safetensors')).bytes, tensorBytes(path.join(out, 'model.safetensors')).bytes];
  for (const w of want) {
    const from = src.tensors.find((t) => t.name.replace(/^encoder\.layer\.(\d+)\./, (_, n: string) => `encoder.layer.${renamed.get(n)}.`) === w.name)!;
    assert.ok(after.get(w.name)!.equals(before.get(from.name)!), w.name);
  }
  const text = fs.readFileSync(path.join(out, 'config.json'), 'utf8');
  assert.equal(JSON.parse(text).num_hidden_layers, 2);
  assert.ok(text.includes('"pooler_dropout": 0.0'), 'floats stay floats (transformers 5 checks them)');
});

test('DeBERTa parameters are counted per block as the safetensors hold them, also where the export reads a weight through an Identity', () => {
  const header = readSafetensorsHeader(fixture(NAME, 'model.safetensors'));
  const size = (re: RegExp) => header.tensors.filter((t) => re.test(t.name)).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const layer = size(/^encoder\.layer\.0\./);
  for (const onnx of [undefined, DYNAMO]) {
    const info = openModel(fixture(NAME), onnx ? { onnx } : {});
    try {
      assert.deepEqual(info.params.perBlock, [layer, layer, layer, layer], onnx ?? 'TorchScript');
      assert.equal(info.params.embeddings, size(/^embeddings\./));
      assert.equal(info.params.other, size(/^encoder\.(rel_embeddings|LayerNorm)\./));
      assert.equal(info.params.total, size(/./));
    } finally {
      info.model.close();
    }
  }
});

test("ProbeScale's tokenizer gives the DeBERTa folder's ids as transformers 5.17 does", async () => {
  const r = refs();
  const tok = await loadTokenizer(fixture(NAME), { maxLength: r.tokenizerIds.maxLength });
  r.texts.forEach((text, i) => assert.deepEqual(tok.encode(text), r.tokenizerIds.singles[i], text));
  assert.deepEqual(tok.encode(r.texts[0], r.texts[1]), r.tokenizerIds.pair);
});

const limits = { limitTrain: 120, limitTest: 40 };
const optimize = (out: string, ...extra: string[]) =>
  runCli(['optimize', fixture(NAME), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.95', '--limit-train', String(limits.limitTrain), '--limit-test', String(limits.limitTest), '--candidates', '2', '--no-cache', '--out', out, '-q', ...extra]);

test('tiny-deberta-v3: optimize --compensate bridge commits a folder verify re-measures, and transformers.js runs its classifier as measured', async () => {
  const out = path.join(tmp, 'optimized');
  const r = optimize(out, '--compensate', 'bridge');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { model: { architecture: string }; verify: { perTask: Record<string, { measured: { accuracy: number } }> }; selection: { baselines: { name: string }[] } };
  assert.equal(report.model.architecture, 'deberta-v2');
  assert.ok(report.selection.baselines.some((b) => b.name === 'replaceme-bridge'), 'a bridge was measured');
  const classifier = path.join(out, 'classifiers', 'sentlen');
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(classifier, 'config.json'), 'utf8')).architectures, ['DebertaV2ForSequenceClassification']);
  assert.equal(await pipelineAccuracyOnSentlen(classifier, limits), report.verify.perTask.sentlen.measured.accuracy);
});

test('tiny-deberta-v3: width pruning of an export (--from onnx) is refused before any pass, naming --from safetensors, or --compensate bridge where the folder has no weights', () => {
  const width = optimize(path.join(tmp, 'width'), '--compensate', 'width', '--from', 'onnx');
  assert.equal(width.status, 1);
  assert.match(width.stderr, /--compensate width: DeBERTa's attention applies each layer's query and key projections to the relative position embeddings too; width pruning cuts them with the heads in the graph ProbeScale builds from the weights, not in an ONNX export\. Add --from safetensors \(the folder has the weights\)/);
  const exportOnly = path.join(tmp, 'export-only');
  fs.cpSync(fixture(NAME), exportOnly, { recursive: true, filter: (f) => path.basename(f) !== 'model.safetensors' });
  const r = runCli(['optimize', exportOnly, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.9', '--no-cache', '--out', path.join(tmp, 'width'), '-q', '--compensate', 'all']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /The folder has no weights \(model\.safetensors or pytorch_model\.bin\) to build it from; use --compensate bridge/);
  assert.ok(!fs.existsSync(path.join(tmp, 'width')));
});

/** The built graph's standalone copy (what compensation rewrites), its blocks and sub-layers. */
function compensable(dir: string) {
  const info = openModel(dir, { from: 'safetensors', graphCacheDir });
  const source = compensationSource(info);
  const { model, blocks } = source.info;
  const enc = { model, blocks, hidden: 32, heads: 2 };
  const site = (b: number, kind: SublayerKind) => findSublayers(model, blocks, b, 32, 2)[kind];
  return { model, blocks, enc, site, close: () => (source.dispose(), info.model.close()) };
}

/** `dir` with the output-projection columns of the units outside `heads` / `ffn` (per block) zeroed. */
const zeroed = (dir: string, label: string, heads: Record<number, number[]>, ffn: Record<number, number[]>) =>
  zeroedCopy(dir, path.join(tmp, label), 32, [
    ...Object.entries(heads).map(([b, keep]) => ({ weight: `encoder.layer.${b}.attention.output.dense.weight`, keep, group: 16 })),
    ...Object.entries(ffn).map(([b, keep]) => ({ weight: `encoder.layer.${b}.output.dense.weight`, keep, group: 1 })),
  ]);
const pruned = (dir: string, kept: number[], label: string) => prunedHidden(dir, kept, path.join(tmp, `pruned-${label}-${kept.join('_')}`), refs());
const edited = (model: OnnxModel, edit: GraphEdit, label: string) => editedHidden(model, edit, path.join(tmp, `${label}.onnx`), refs());

const WIDTH_CASES: { kept: number[]; heads: Record<number, number[]>; ffn: Record<number, number[]> }[] = [
  { kept: [0, 1, 2, 3], heads: { 0: [1], 2: [0] }, ffn: { 1: [0, 5, 9, 17, 33, 63], 3: Array.from({ length: 40 }, (_, j) => j + 10) } },
  { kept: [1, 3], heads: { 1: [0], 3: [1] }, ffn: { 3: [2, 4, 8, 16, 32] } },
];

/** Narrowing `dir`'s built graph to every unit changes nothing; removing WIDTH_CASES' units equals zeroing their output-projection columns. Returns the diffs. */
async function checkWidth(dir: string, label: string, projections: number): Promise<number[]> {
  const r = refs();
  const diffs: number[] = [];
  const { model, blocks, enc, site, close } = compensable(dir);
  try {
    assert.equal(site(0, 'attention').inputs.length, projections, `${label}: projections narrowed with the heads`);
    const all = emptyPlan([0, 1, 2, 3]);
    for (const k of all.kept) for (const kind of ['attention', 'ffn'] as const) all.narrow.set(narrowKey(kind, k), keepUnits(model, site(k, kind), Array.from({ length: site(k, kind).width / site(k, kind).group }, (_, j) => j), 32));
    diffs.push(maskedDiff(await edited(model, compensatedEdit(model, blocks, all, enc), `${label}-every-unit`), await pruned(dir, all.kept, label), r));
    assert.ok(diffs[0] < 1e-4, `${label}, every unit kept: ${diffs[0]}`);
    for (const c of WIDTH_CASES) {
      const plan = emptyPlan(c.kept);
      for (const [b, keep] of Object.entries(c.heads)) plan.narrow.set(narrowKey('attention', Number(b)), keepUnits(model, site(Number(b), 'attention'), keep, 32));
      for (const [b, keep] of Object.entries(c.ffn)) plan.narrow.set(narrowKey('ffn', Number(b)), keepUnits(model, site(Number(b), 'ffn'), keep, 32));
      const y = await edited(model, compensatedEdit(model, blocks, plan, enc), `${label}-narrowed-${c.kept.join('_')}`);
      const d = maskedDiff(y, await pruned(zeroed(dir, `${label}-zeroed-${c.kept.join('_')}`, c.heads, c.ffn), c.kept, `${label}-zeroed`), r);
      assert.ok(d < 1e-4, `${label} ${JSON.stringify(c)}: ${d}`);
      diffs.push(d);
      assert.ok(maskedDiff(y, await pruned(dir, c.kept, label), r) > 1e-3, `${label}: the removed units mattered`);
      const removedHeads = Object.values(c.heads).reduce((n, k) => n + 2 - k.length, 0);
      const removedNeurons = Object.values(c.ffn).reduce((n, k) => n + 64 - k.length, 0);
      // A neuron: 32 + 1 in, 32 out; a head: each projection's 16 × 33 in, 16 × 32 out.
      assert.equal(planParamDelta(plan, 32, (key) => site(Number(key.split(':')[1]), key.split(':')[0] as SublayerKind)), -removedNeurons * 65 - removedHeads * (projections * 16 * 33 + 16 * 32));
    }
  } finally {
    close();
  }
  return diffs;
}

test('tiny-deberta-v3 from safetensors: narrowing to every head and neuron leaves the output as it is; removing given heads and neurons computes the model with their output-projection columns zeroed (1e-4), with shared and with separate position projections', async (t) => {
  // Shared (v3): the position projections are Q's and K's own weights, cut once with them: 3 projections a head.
  const shared = await checkWidth(fixture(NAME), 'shared', 3);
  // Unshared: pos_key_proj and pos_query_proj of their own (seeded values), cut with the heads too: 5 projections a head.
  let seed = 7;
  const rnd = (n: number) => Buffer.from(Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.6).buffer);
  const unsharedDir = variant('unshared-random', { share_att_key: false }, () =>
    [0, 1, 2, 3].flatMap((i): [string, string, number[], Buffer][] => ['pos_key_proj', 'pos_query_proj'].flatMap((p): [string, string, number[], Buffer][] => [[`encoder.layer.${i}.attention.self.${p}.weight`, 'F32', [32, 32], rnd(1024)], [`encoder.layer.${i}.attention.self.${p}.bias`, 'F32', [32], rnd(32)]])),
  );
  const unshared = await checkWidth(unsharedDir, 'unshared', 5);
  t.diagnostic(`every unit kept: ${shared[0].toExponential(1)} / ${unshared[0].toExponential(1)}; units removed vs the zeroed model: ${[...shared.slice(1), ...unshared.slice(1)].map((d) => d.toExponential(1)).join(', ')} (shared, then separate position projections)`);
});

test('tiny-deberta-v3 from safetensors: optimize --compensate width narrows heads and neurons, commits a folder verify re-measures, and transformers.js runs its classifier as measured', async () => {
  const out = path.join(tmp, 'width-built');
  const r = optimize(out, '--compensate', 'width', '--from', 'safetensors');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { verify: { perTask: Record<string, { measured: { accuracy: number } }> }; selection: { baselines: { name: string; compensation?: unknown }[] } };
  assert.ok(report.selection.baselines.some((b) => b.name === 'flap-uniform'), 'uniform width pruning measured beside the pick');
  assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), limits), report.verify.perTask.sentlen.measured.accuracy);
});

test('tiny-deberta-v3 from safetensors: the built graph counts parameters as the export does, and its pruned folders rebuild from their own safetensors as transformers computes them (1e-4)', async (t) => {
  const r = refs();
  const info = openModel(fixture(NAME), { from: 'safetensors', graphCacheDir });
  const exported = openModel(fixture(NAME));
  let worst = 0;
  try {
    assert.equal(info.graphFrom, 'safetensors');
    assert.deepEqual(info.params, exported.params);
    for (const key of ['1,3', '0,2,3', '3']) {
      const kept = key.split(',').map(Number);
      const dir = path.join(tmp, `rebuilt-${kept.join('_')}`);
      fs.mkdirSync(dir);
      await writePrunedFolder(info, kept, dir, {}, {});
      const d = maskedDiff(await lastHiddenOn(built(dir), r), r.subsets[key].last_hidden_state, r);
      assert.ok(d < 1e-4, `{${key}}: ${d}`);
      worst = Math.max(worst, d);
      const pruned = openModel(dir, { from: 'safetensors', graphCacheDir });
      assert.equal(pruned.params.total, keptParams(info.params, kept), `{${key}}`);
      pruned.model.close();
    }
  } finally {
    info.model.close();
    exported.model.close();
  }
  t.diagnostic(`pruned folders rebuilt from their safetensors: at most ${worst.toExponential(1)} from transformers`);
});

/** A copy of the fixture without its export, with config.json changed by `config` and tensors added by `extra`. */
function variant(label: string, config: Record<string, unknown>, extra: (bytes: Map<string, Buffer>) => [string, string, number[], Buffer][] = () => []): string {
  const dir = path.join(tmp, `variant-${label}`);
  fs.cpSync(fixture(NAME), dir, { recursive: true, filter: (f) => path.basename(f) !== 'onnx' });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...readConfig(fixture(NAME)), ...config }));
  const { header, bytes } = tensorBytes(fixture(NAME, 'model.safetensors'));
  const tensors = [...bytes].map(([name, b]): [string, string, number[], Buffer] => [name, header[name].dtype, header[name].shape, b]);
  writeSafetensors(path.join(dir, 'model.safetensors'), [...tensors, ...extra(bytes)]);
  return dir;
}

test('DeBERTa config switches the fixture does not use build what transformers computes: each checked where it must leave the output as it is, or must change it', async () => {
  const r = refs();
  const full = r.subsets['0,1,2,3'].last_hidden_state;
  const zeros = (rows: number) => Buffer.alloc(rows * 32 * 4);
  const copies = (bytes: Map<string, Buffer>) =>
    [0, 1, 2, 3].flatMap((i): [string, string, number[], Buffer][] => {
      const at = (p: string) => bytes.get(`encoder.layer.${i}.attention.self.${p}`)!;
      return [
        [`encoder.layer.${i}.attention.self.pos_key_proj.weight`, 'F32', [32, 32], at('key_proj.weight')],
        [`encoder.layer.${i}.attention.self.pos_key_proj.bias`, 'F32', [32], at('key_proj.bias')],
        [`encoder.layer.${i}.attention.self.pos_query_proj.weight`, 'F32', [32, 32], at('query_proj.weight')],
        [`encoder.layer.${i}.attention.self.pos_query_proj.bias`, 'F32', [32], at('query_proj.bias')],
      ];
    });
  const same: [string, string][] = [
    ['string', variant('string', { pos_att_type: 'P2C|c2p' })],
    ['separate position projections equal to the shared ones', variant('unshared', { share_att_key: false }, copies)],
    ['absolute positions that are all zero', variant('absolute', { position_biased_input: true }, () => [['embeddings.position_embeddings.weight', 'F32', [128, 32], zeros(128)]])],
    ['one token type whose row is zero', variant('types', { type_vocab_size: 1 }, () => [['embeddings.token_type_embeddings.weight', 'F32', [1, 32], zeros(1)]])],
  ];
  for (const [label, dir] of same) {
    const d = maskedDiff(await lastHiddenOn(built(dir), r), full, r);
    assert.ok(d < 1e-4, `${label}: ${d}`);
  }
  const different: [string, string][] = [
    ['c2p only', variant('c2p', { pos_att_type: ['c2p'] })],
    ['p2c only', variant('p2c', { pos_att_type: ['p2c'] })],
    ['no normalisation of the table', variant('norel', { norm_rel_ebd: 'none' })],
    ['relative positions without log buckets', variant('nobuckets', { position_buckets: -1, max_relative_positions: 16 })],
  ];
  for (const [label, dir] of different) assert.ok(maskedDiff(await lastHiddenOn(built(dir), r), full, r) > 1e-2, `${label} matters on these texts`);
});

test('DeBERTa configs the builder cannot follow are refused naming the key and what to do', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['conv', { conv_kernel_size: 3 }, /conv_kernel_size 3: DeBERTa-v2's convolution after the first layer .* export this model to ONNX instead/],
    ['terms', { pos_att_type: 7 }, /'pos_att_type' is 7; expected a list such as \["p2c", "c2p"\]/],
    ['relative', { relative_attention: 'yes' }, /'relative_attention' is "yes"; expected true or false/],
    ['heads', { num_attention_heads: 3 }, /hidden_size 32 is not a multiple of the 3 attention heads/],
    ['rows', { position_buckets: 8 }, /tensor 'encoder\.rel_embeddings\.weight' has shape \[32, 32\] but config\.json \(max_relative_positions \/ position_buckets give 16 rows/],
    ['unshared', { share_att_key: false }, /tensor 'encoder\.layer\.0\.attention\.self\.pos_key_proj\.weight' is missing/],
    ['buckets', { position_buckets: 16, max_relative_positions: 9 }, /position_buckets 16 needs relative positions up to more than 9, but max_relative_positions .* gives 9/],
    ['one bucket', { position_buckets: 1 }, /'position_buckets' is 1; it must be an integer ≥ 2/],
  ];
  for (const [label, config, re] of cases) assert.throws(() => built(variant(`bad-${label}`, config)), re, label);
});

test('tiny-deberta-v3 with only its safetensors (no export): optimize --compensate bridge builds the graph, commits a folder verify re-measures, and transformers.js runs its classifier as measured', async () => {
  const src = path.join(tmp, 'weights-only');
  fs.cpSync(fixture(NAME), src, { recursive: true, filter: (f) => path.basename(f) !== 'onnx' });
  const out = path.join(tmp, 'weights-only-optimized');
  const r = runCli(['optimize', src, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.95', '--limit-train', String(limits.limitTrain), '--limit-test', String(limits.limitTest), '--candidates', '2', '--no-cache', '--out', out, '-q', '--compensate', 'bridge']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { model: { architecture: string; graphFrom: string }; verify: { perTask: Record<string, { measured: { accuracy: number } }> } };
  assert.deepEqual([report.model.architecture, report.model.graphFrom], ['deberta-v2', 'safetensors']);
  assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), limits), report.verify.perTask.sentlen.measured.accuracy);
});
