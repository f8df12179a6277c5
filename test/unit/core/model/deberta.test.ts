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
import { openModel } from '../../../../src/core/model/modelInfo';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { readSafetensorsHeader } from '../../../../src/core/model/safetensors';
import { tensorBytes } from '../../../safetensorsFiles';
import { RefBatch, fixture, lastHiddenOn, pipelineAccuracyOnSentlen, runCli, tasksDir, tempDir } from '../../../helpers';

const tmp = tempDir('ps-deberta-');
const NAME = 'tiny-deberta-v3';
const DYNAMO = fixture('exports', 'tiny-deberta-v3-dynamo.onnx');
type Refs = RefBatch & { subsets: Record<string, { last_hidden_state: number[] }>; tokenizerIds: { maxLength: number; singles: number[][]; pair: number[] }; texts: string[] };
const refs = (): Refs => JSON.parse(fs.readFileSync(fixture('refs', `${NAME}.refs.json`), 'utf8')) as Refs;

/** Max |a − b| over real tokens (transformers and ONNX may differ on padding, which nothing reads). */
function maskedDiff(a: ArrayLike<number>, b: ArrayLike<number>, r: RefBatch): number {
  const mask = r.attention_mask.flat();
  const h = a.length / mask.length;
  let d = 0;
  for (let i = 0; i < a.length; i++) if (mask[Math.floor(i / h)]) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

for (const [label, extra] of [['TorchScript export', []], ['dynamo export', ['--onnx', DYNAMO]]] as const) {
  test(`tiny-deberta-v3, ${label}: pruned folders compute transformers' model with the other layers deleted`, async (t) => {
    const r = refs();
    let worst = 0;
    for (const [key, sub] of Object.entries(r.subsets)) {
      const out = path.join(tmp, `${label.split(' ')[0]}-${key.replace(/,/g, '_')}`);
      const p = runCli(['prune', fixture(NAME), '--layers', key, '--out', out, '-q', ...extra]);
      assert.equal(p.status, 0, p.stderr);
      const d = maskedDiff(await lastHiddenOn(path.join(out, 'onnx', 'model.onnx'), r), sub.last_hidden_state, r);
      assert.ok(d < 1e-4, `{${key}}: ${d}`);
      worst = Math.max(worst, d);
    }
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

test('tiny-deberta-v3: width pruning and building from safetensors are refused before any pass, saying what works', () => {
  const width = optimize(path.join(tmp, 'width'), '--compensate', 'width');
  assert.equal(width.status, 1);
  assert.match(width.stderr, /--compensate width: DeBERTa's attention applies each layer's query and key projections to the relative position embeddings too.*Use --compensate bridge/);
  const built = runCli(['prune', fixture(NAME), '--layers', '0,1', '--from', 'safetensors', '--out', path.join(tmp, 'built'), '-q']);
  assert.equal(built.status, 1);
  assert.match(built.stderr, /model_type 'deberta-v2': ProbeScale builds graphs from safetensors for .*; export this model to ONNX instead/);
  assert.ok(!fs.existsSync(path.join(tmp, 'width')) && !fs.existsSync(path.join(tmp, 'built')));
});
