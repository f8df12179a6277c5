import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPytorchCheckpoint } from '../../../../src/core/model/pytorchCheckpoint';
import { readConfig, resolveEncoderGraph } from '../../../../src/core/model/modelInfo';
import { openWeights, WeightTensor } from '../../../../src/core/model/weights';
import { readSafetensorsHeader } from '../../../../src/core/model/safetensors';
import { readRange } from '../../../../src/core/util/fileKind';
import { UnsupportedModelError } from '../../../../src/core/errors';
import { fixture, lastHiddenOn, quickOptimize, RefBatch, runCli, tempDir } from '../../../helpers';

// Many checkpoints on the Hub (older ones, and fine-tunes saved before transformers wrote safetensors
// by default) hold only pytorch_model.bin. test/fixtures/pytorch was written by torch.save itself
// (scripts/ref/torch_bin.py) from the tiny fixtures' safetensors, so each tensor's bytes must match.

const tmp = tempDir('ps-pytorch-');
const bins = fixture('pytorch');
let counter = 0;

/** A model folder: `source`'s config and tokenizer files (no weights, no ONNX) and the given weight files. */
function binFolder(source: string, weights: string): string {
  const dir = path.join(tmp, `${path.basename(source)}-${counter++}`);
  fs.cpSync(source, dir, { recursive: true, filter: (f) => f === source || (!/\.safetensors$/.test(f) && path.basename(f) !== 'onnx') });
  for (const f of fs.readdirSync(weights)) fs.copyFileSync(path.join(weights, f), path.join(dir, f));
  return dir;
}

const bytes = (t: WeightTensor) => readRange(t.file, t.offset, t.length);

test('every tensor of a torch.save checkpoint is found in place: the safetensors bytes, tied weights over one range, int64 buffers', () => {
  const st = openWeights(fixture('tiny-bert')).tensors;
  const bin = readPytorchCheckpoint(path.join(bins, 'tiny-bert', 'pytorch_model.bin'), bins);
  for (const [name, t] of st) {
    const b = bin.get(`bert.${name}`);
    assert.ok(b, `bert.${name}`);
    assert.deepEqual([b.dtype, b.shape], [t.dtype, t.shape], name);
    assert.ok(bytes(b).equals(bytes(t)), `${name}: the same bytes`);
  }
  const word = bin.get('bert.embeddings.word_embeddings.weight')!;
  const tied = bin.get('cls.predictions.decoder.weight')!;
  assert.deepEqual([tied.offset, tied.length], [word.offset, word.length], 'tied weights: one storage');
  const ids = bin.get('bert.embeddings.position_ids')!;
  assert.equal(ids.dtype, 'I64');
  const max = (readConfig(fixture('tiny-bert')).max_position_embeddings as number);
  assert.deepEqual([...new BigInt64Array(Uint8Array.from(bytes(ids)).buffer)].map(Number), Array.from({ length: max }, (_, i) => i));
  // T5: shared.weight and encoder.embed_tokens.weight are one storage.
  const t5 = readPytorchCheckpoint(path.join(bins, 'tiny-t5', 'pytorch_model.bin'), bins);
  assert.equal(t5.get('shared.weight')!.offset, t5.get('encoder.embed_tokens.weight')!.offset);
  for (const [name, t] of openWeights(fixture('tiny-t5-encoder')).tensors) assert.ok(bytes(t5.get(name)!).equals(bytes(t)), name);
});

for (const [name, source, weights] of [
  ['tiny-bert (BertForPreTraining names, a head, position_ids)', 'tiny-bert', 'tiny-bert'],
  ['tiny-bert in two shards with pytorch_model.bin.index.json', 'tiny-bert', 'tiny-bert-sharded'],
  ['tiny-t5-encoder (tied shared table)', 'tiny-t5-encoder', 'tiny-t5'],
  ['tiny-bert in the format torch.save wrote before PyTorch 1.6', 'tiny-bert', 'tiny-bert-legacy'],
] as const) {
  test(`${name}: the graph built from pytorch_model.bin gives exactly the last hidden state of the one built from safetensors`, async () => {
    const dir = binFolder(fixture(source), path.join(bins, weights));
    const refs = JSON.parse(fs.readFileSync(fixture('refs', `${source}.refs.json`), 'utf8')) as RefBatch;
    const cache = path.join(tmp, 'graphs');
    const fromBin = resolveEncoderGraph(dir, readConfig(dir), { graphCacheDir: cache });
    const fromSt = resolveEncoderGraph(fixture(source), readConfig(fixture(source)), { from: 'safetensors', graphCacheDir: cache });
    assert.equal(fromBin.from, 'safetensors');
    assert.deepEqual(await lastHiddenOn(fromBin.file, refs), await lastHiddenOn(fromSt.file, refs));
  });
}

test('pruning a folder with only pytorch_model.bin writes model.safetensors with the kept blocks, as pruning its safetensors does', () => {
  for (const [weights, written] of [['tiny-bert', ['model.safetensors']], ['tiny-bert-sharded', ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']]] as const) {
    const dir = binFolder(fixture('tiny-bert'), path.join(bins, weights));
    const out = path.join(tmp, `pruned-${weights}`);
    const r = runCli(['prune', dir, '--layers', '0,2', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /pytorch_model|weight shards/);
    for (const f of written) assert.ok(fs.existsSync(path.join(out, f)), `${weights}: ${f}`);
    assert.ok(!fs.readdirSync(out).some((f) => f.endsWith('.bin')), 'no pickle in the pruned folder');
    const reference = path.join(tmp, `pruned-reference-${counter++}`);
    assert.equal(runCli(['prune', fixture('tiny-bert'), '--layers', '0,2', '--out', reference]).status, 0);
    const ref = openWeights(reference).tensors;
    const got = openWeights(out).tensors;
    for (const [name, t] of ref) {
      const g = got.get(name) ?? got.get(`bert.${name}`);
      assert.ok(g, `${weights}: ${name} in the pruned folder`);
      assert.deepEqual([g.dtype, g.shape], [t.dtype, t.shape]);
      assert.ok(bytes(g).equals(bytes(t)), `${weights}: ${name}`);
    }
    if (weights === 'tiny-bert') assert.equal(readSafetensorsHeader(path.join(out, 'model.safetensors')).metadata?.format, 'pt');
    // The pruned folder is a model folder of its own, probed from its new safetensors.
    assert.equal(runCli(['probe', out, '--task', `sentlen=${fixture('..', '..', 'data', 'tasks', 'sentlen')}`, '--limit-train', '60', '--limit-test', '20', '--no-cache']).status, 0);
  }
});

test('a checkpoint that is not what torch.save writes for a state dict is refused, naming it; a pickle that calls other code is not run', () => {
  const refused = (file: string, pattern: RegExp) => assert.throws(() => readPytorchCheckpoint(file, tmp), (e: Error) => e instanceof UnsupportedModelError && e.message.includes(file) && pattern.test(e.message));
  // The format before 1.6 is read (its storages located by walking their counts); cut short, it is refused.
  const legacy = readPytorchCheckpoint(path.join(bins, 'hostile', 'legacy.bin'), tmp).get('w')!;
  assert.deepEqual([legacy.dtype, legacy.shape, [...new Float32Array(Uint8Array.from(bytes(legacy)).buffer)]], ['F32', [3], [1, 1, 1]]);
  const old = fs.readFileSync(path.join(bins, 'tiny-bert-legacy', 'pytorch_model.bin'));
  const oldCut = path.join(tmp, 'legacy-cut.bin');
  fs.writeFileSync(oldCut, old.subarray(0, old.length - 100));
  refused(oldCut, /is cut short or damaged at storage \d+ \(byte \d+ of \d+\)\. Convert it once with Python/);
  const notMagic = path.join(tmp, 'not-magic.bin');
  fs.writeFileSync(notMagic, Buffer.from([0x80, 0x02, 0x4b, 0x07, 0x2e]));
  refused(notMagic, /starts with a pickle that is not the magic number of a PyTorch checkpoint/);
  const cwd = process.cwd();
  process.chdir(tmp);
  try {
    refused(path.join(bins, 'hostile', 'system.bin'), /names posix\.system, which a state dict of tensors never needs\. Nothing of it was run\. .* do not load it with torch\.load either/);
    assert.ok(!fs.existsSync(path.join(tmp, 'system-ran')), 'posix.system was not called');
  } finally {
    process.chdir(cwd);
  }
  refused(path.join(bins, 'hostile', 'bigendian.bin'), /holds its tensors big-endian/);
  assert.throws(() => readPytorchCheckpoint(path.join(bins, 'hostile', 'transposed.bin'), tmp), /tensor 'w' is a view that is not contiguous \(shape \[4, 3\], stride \[1, 4\]\); save the model again/);
  const whole = fs.readFileSync(path.join(bins, 'tiny-bert', 'pytorch_model.bin'));
  const cut = path.join(tmp, 'cut.bin');
  fs.writeFileSync(cut, whole.subarray(0, whole.length - 5000));
  refused(cut, /is cut short: its zip directory is missing/);
  const notZip = path.join(tmp, 'text.bin');
  fs.writeFileSync(notZip, 'version https://example/not-a-checkpoint\n');
  refused(notZip, /is not a PyTorch checkpoint \(no zip archive, nor the stream of pickles PyTorch wrote before 1\.6\)/);
  // A folder with only such a file says so when it is opened.
  const dir = binFolder(fixture('tiny-bert'), path.join(bins, 'tiny-bert'));
  fs.copyFileSync(path.join(bins, 'hostile', 'system.bin'), path.join(dir, 'pytorch_model.bin'));
  const r = runCli(['probe', dir, '--task', `sentlen=${fixture('..', '..', 'data', 'tasks', 'sentlen')}`, '--limit-train', '20', '--limit-test', '10', '--no-cache']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /pytorch_model\.bin has a pickle \(data\.pkl\) that names posix\.system/);
});

test('beside an ONNX export, pytorch_model.bin is left unread: the export is committed as before, with no model.safetensors, even where the checkpoint is one ProbeScale refuses', () => {
  const dir = path.join(tmp, `onnx-and-bin-${counter++}`);
  fs.cpSync(fixture('tiny-bert'), dir, { recursive: true, filter: (f) => !f.endsWith('.safetensors') });
  fs.copyFileSync(path.join(bins, 'hostile', 'system.bin'), path.join(dir, 'pytorch_model.bin'));
  const out = path.join(tmp, `onnx-and-bin-pruned-${counter++}`);
  const r = runCli(['prune', dir, '--layers', '0,2', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(out, 'onnx', 'model.onnx')) && !fs.existsSync(path.join(out, 'model.safetensors')));
  // Asked to build the graph from the weights, it reads the checkpoint and says why it cannot.
  const fromWeights = runCli(['prune', dir, '--from', 'safetensors', '--layers', '0,2', '--out', `${out}-st`]);
  assert.equal(fromWeights.status, 1);
  assert.match(fromWeights.stderr, /pytorch_model\.bin has a pickle \(data\.pkl\) that names posix\.system/);
});

test('optimize on a folder with only pytorch_model.bin commits model.safetensors, and the CLI, the report and the card say what the graph was built from', () => {
  const dir = binFolder(fixture('tiny-bert'), path.join(bins, 'tiny-bert'));
  const out = path.join(tmp, `optimized-${counter++}`);
  const r = quickOptimize(dir, out);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(out, 'model.safetensors')));
  const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { model: { graphFrom: string; weights?: string } };
  assert.deepEqual([report.model.graphFrom, report.model.weights], ['safetensors', 'pytorch_model.bin']);
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /graph built from its pytorch_model\.bin weights/);
  const probe = runCli(['probe', dir, '--task', `sentlen=${fixture('..', '..', 'data', 'tasks', 'sentlen')}`, '--limit-train', '40', '--limit-test', '20', '--no-cache']);
  assert.match(probe.stdout, /graph built from pytorch_model\.bin/);
  // The committed folder is built from its own safetensors, and says so.
  const again = runCli(['probe', out, '--from', 'safetensors', '--task', `sentlen=${fixture('..', '..', 'data', 'tasks', 'sentlen')}`, '--limit-train', '40', '--limit-test', '20', '--no-cache']);
  assert.match(again.stdout, /graph built from safetensors/);
});

