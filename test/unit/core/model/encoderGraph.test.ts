import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelInfo, openModel, readConfig, resolveEncoderGraph } from '../../../../src/core/model/modelInfo';
import { writePrunedFolder } from '../../../../src/core/commit/prunedFolder';
import { keptParams } from '../../../../src/shared/params';
import { findWordEmbedding, readRows } from '../../../../src/core/onnx/vocab';
import { RefBatch, fixture, lastHiddenOn as lastHidden, maxAbsDiff, repoRoot, tasksDir, tinyModels, tempDir } from '../../../helpers';
import { roundedVariants, tensorBytes, writeSafetensors } from '../../../safetensorsFiles';

const tmp = tempDir('probescale-eg-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const graphCacheDir = path.join(tmp, 'graphs');

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
/** Runs the CLI with its caches (graphs included) under `cache`. */
function run(cache: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_CACHE_HOME: cache } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Refs extends RefBatch {
  subsets: Record<string, { shape: number[]; last_hidden_state: number[] }>;
}

const refsOf = (name: string): Refs => JSON.parse(fs.readFileSync(fixture('refs', `${name}.refs.json`), 'utf8'));
const built = (dir: string) => resolveEncoderGraph(dir, readConfig(dir), { from: 'safetensors', graphCacheDir }).file;

/** A model folder in tmp with the fixture's config and tokenizer files, and the given weight files. */
function folderLike(name: string, label: string, weights: Record<string, Buffer | string>): string {
  const dir = path.join(tmp, `${name}-${label}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(fixture(name))) if (f !== 'onnx' && f !== 'model.safetensors') fs.copyFileSync(fixture(name, f), path.join(dir, f));
  for (const [f, data] of Object.entries(weights)) fs.writeFileSync(path.join(dir, f), data);
  return dir;
}

for (const name of tinyModels) {
  test(`${name}: the graph built from safetensors equals the exported ONNX and PyTorch to 1e-4, weights not copied`, async () => {
    const refs = refsOf(name);
    const file = built(fixture(name));
    const exported = resolveEncoderGraph(fixture(name), readConfig(fixture(name))).file;
    assert.match(exported, /onnx[\\/](encoder_)?model\.onnx$/, 'ONNX is preferred when the folder has both');
    const y = await lastHidden(file, refs);
    const dExport = maxAbsDiff(y, await lastHidden(exported, refs));
    const dTorch = maxAbsDiff(y, refs.subsets['0,1,2,3'].last_hidden_state);
    assert.ok(dExport < 1e-4 && dTorch < 1e-4, `${name}: max |diff| vs export ${dExport}, vs PyTorch ${dTorch}`);
    // The weights are the fixture's own bytes (a hard link), not a copy; the graph itself is small.
    assert.equal(fs.statSync(path.join(path.dirname(file), 'model.safetensors')).ino, fs.statSync(fixture(name, 'model.safetensors')).ino);
    assert.ok(fs.statSync(file).size < 100_000, `graph ${fs.statSync(file).size} bytes`);
    const a = openModel(fixture(name), { from: 'safetensors', graphCacheDir });
    const b = openModel(fixture(name));
    assert.equal(a.graphFrom, 'safetensors');
    assert.equal(b.graphFrom, 'onnx');
    assert.deepEqual(a.params, b.params, 'same parameter accounting');
    assert.deepEqual([a.numLayers, a.hiddenSize, a.blocks.sideInputs.length], [b.numLayers, b.hiddenSize, b.blocks.sideInputs.length]);
    a.model.close();
    b.model.close();
  });
}

// A pruned folder is a model of its own: its safetensors build a graph that computes PyTorch's subset.
// Before, a T5 of two blocks (the position bias is read only by block 1 then, like the hidden state)
// was refused: "cannot tell which tensor carries the hidden state from block 0 into block 1".
for (const name of tinyModels) {
  test(`${name}: pruned folders of one and two blocks rebuild from their safetensors as PyTorch's subsets (1e-4)`, async () => {
    const refs = refsOf(name);
    const info = openModel(fixture(name), { from: 'safetensors', graphCacheDir });
    try {
      for (const kept of [[3], [0, 3], [1, 3]]) {
        const dir = path.join(tmp, `${name}-pruned-${kept.join('_')}`);
        fs.mkdirSync(dir);
        await writePrunedFolder(info, kept, dir, {}, {});
        const d = maxAbsDiff(await lastHidden(built(dir), refs), refs.subsets[kept.join(',')].last_hidden_state);
        assert.ok(d < 1e-4, `${name} {${kept}}: max |diff| ${d}`);
        const pruned = openModel(dir, { from: 'safetensors', graphCacheDir });
        assert.equal(pruned.numLayers, kept.length);
        assert.equal(pruned.params.total, keptParams(info.params, kept), `${name} {${kept}}: the parameters the account gave the subset`);
        pruned.model.close();
      }
    } finally {
      info.model.close();
    }
  });
}

// T5 v1.1 / flan-T5 blocks: a gated FFN (gelu_new(wi_0 x) · wi_1 x → wo) and heads of d_kv 12 in a
// 32-wide model (inner 48). Before, the builder's gated branch had no test at all. tiny-umt5 (thirty-
// fourth session) has the same shape as umT5: a relative_attention_bias table in every block, each
// block making its own bias (scripts/ref/t5.py umt5); its export's pruned folders are checked too.
for (const name of ['tiny-t5-gated', 'tiny-umt5']) {
  test(`${name}: the graph built from safetensors equals the export and PyTorch to 1e-4, and its pruned folders rebuild as PyTorch subsets`, async (t) => {
    const refs = refsOf(name);
    const y = await lastHidden(built(fixture(name)), refs);
    const dExport = maxAbsDiff(y, await lastHidden(fixture(name, 'onnx', 'encoder_model.onnx'), refs));
    const dTorch = maxAbsDiff(y, refs.subsets['0,1,2'].last_hidden_state);
    assert.ok(dExport < 1e-4 && dTorch < 1e-4, `max |diff| vs export ${dExport}, vs PyTorch ${dTorch}`);
    let worst = 0;
    const info = openModel(fixture(name), { from: 'safetensors', graphCacheDir });
    const exported = openModel(fixture(name));
    try {
      assert.deepEqual(info.params, exported.params, 'same parameter accounting');
      const sources: [ModelInfo, string][] = [[info, 'safetensors'], ...(name === 'tiny-umt5' ? [[exported, 'onnx'] as [ModelInfo, string]] : [])];
      for (const [source, from] of sources) {
        for (const kept of [[2], [0, 2], [1, 2]]) {
          const dir = path.join(tmp, `${name}-${from}-pruned-${kept.join('_')}`);
          fs.mkdirSync(dir);
          await writePrunedFolder(source, kept, dir, {}, {});
          const d = maxAbsDiff(await lastHidden(built(dir), refs), refs.subsets[kept.join(',')].last_hidden_state);
          assert.ok(d < 1e-4, `{${kept}} from ${from}: max |diff| ${d}`);
          const dGraph = maxAbsDiff(await lastHidden(path.join(dir, 'onnx', 'encoder_model.onnx'), refs), refs.subsets[kept.join(',')].last_hidden_state);
          assert.ok(dGraph < 1e-4, `{${kept}} from ${from}, the pruned graph: max |diff| ${dGraph}`);
          worst = Math.max(worst, d, dGraph);
          const pruned = openModel(dir, { from: 'safetensors', graphCacheDir });
          assert.equal(pruned.params.total, keptParams(info.params, kept), `{${kept}}: the parameters the account gave the subset`);
          pruned.model.close();
        }
      }
      t.diagnostic(`${name}: built graph vs export ${dExport.toExponential(1)}, vs PyTorch ${dTorch.toExponential(1)}; pruned folders vs PyTorch's subsets at most ${worst.toExponential(1)}`);
    } finally {
      info.model.close();
      exported.model.close();
    }
  });
}

// tiny-modernbert: its Wqkv and Wi are read as row ranges, whose byte offsets depend on the dtype's width;
// tiny-deberta-v3: its relative-position table is a weight read whole (cast, then normalised), not gathered.
test('fp16 and bf16 weights are upcast in the graph: same outputs as float32 holding the same numbers', async () => {
  for (const name of ['tiny-roberta', 'tiny-t5-encoder', 'tiny-modernbert', 'tiny-deberta-v3']) {
    const refs = refsOf(name);
    const v = roundedVariants(fixture(name, 'model.safetensors'), tmp);
    const y32 = await lastHidden(built(folderLike(name, 'f32', { 'model.safetensors': v.F32 })), refs);
    for (const dtype of ['F16', 'BF16'] as const) {
      const dir = folderLike(name, dtype, { 'model.safetensors': v[dtype] });
      const d = maxAbsDiff(await lastHidden(built(dir), refs), y32);
      assert.ok(d < 1e-6, `${name} ${dtype}: max |diff| ${d}`);
      // --vocab-trim reads the table as stored: rows come back as the file's bytes.
      const info = openModel(dir, { from: 'safetensors', graphCacheDir });
      const e = findWordEmbedding(info.model);
      const table = tensorBytes(path.join(dir, 'model.safetensors')).bytes.get(e.weight.name)!;
      const row = 2 * e.hidden;
      assert.deepEqual(readRows(info.model, e.weight, [5, 7]), Buffer.concat([table.subarray(5 * row, 6 * row), table.subarray(7 * row, 8 * row)]));
      info.model.close();
    }
  }
});

test('sharded model-0000x-of-0000y.safetensors with their index equal the exported ONNX', async () => {
  for (const name of ['tiny-bert', 'tiny-t5-encoder']) {
    const { header, bytes } = tensorBytes(fixture(name, 'model.safetensors'));
    const names = [...bytes.keys()];
    const shards = [names.slice(0, names.length / 2), names.slice(names.length / 2)];
    const files: Record<string, Buffer | string> = {};
    const weightMap: Record<string, string> = {};
    shards.forEach((part, i) => {
      const f = `model-0000${i + 1}-of-00002.safetensors`;
      const p = path.join(tmp, `${name}-${f}`);
      writeSafetensors(p, part.map((n) => [n, header[n].dtype, header[n].shape, bytes.get(n)!]));
      files[f] = fs.readFileSync(p);
      for (const n of part) weightMap[n] = f;
    });
    files['model.safetensors.index.json'] = JSON.stringify({ metadata: {}, weight_map: weightMap });
    const dir = folderLike(name, 'sharded', files);
    const refs = refsOf(name);
    const d = maxAbsDiff(await lastHidden(built(dir), refs), await lastHidden(resolveEncoderGraph(fixture(name), readConfig(fixture(name))).file, refs));
    assert.ok(d < 1e-4, `${name} sharded: max |diff| ${d}`);
    // Pruning keeps the shard layout; the pruned shards rebuild the pruned model PyTorch computes.
    const out = path.join(tmp, `${name}-sharded-pruned`);
    const r = run(fs.mkdtempSync(path.join(tmp, 'cache-')), 'prune', dir, '--layers', '1,3', '--out', out, '-q');
    assert.equal(r.code, 0, r.err);
    const index = JSON.parse(fs.readFileSync(path.join(out, 'model.safetensors.index.json'), 'utf8'));
    assert.ok(Object.keys(index.weight_map).every((n) => !/(layer|block)\.[23]\./.test(n)), 'blocks renumbered 0..1');
    const dp = maxAbsDiff(await lastHidden(built(out), refs), refs.subsets['1,3'].last_hidden_state);
    assert.ok(dp < 1e-4, `${name} pruned shards vs PyTorch blocks 1,3: max |diff| ${dp}`);
  }
});

/** A copy of the fixture without onnx/ whose safetensors header (and config) `mutate` may change. */
function brokenCopy(label: string, mutate: (header: Record<string, unknown>, config: Record<string, unknown>) => void): string {
  const src = fixture('tiny-bert', 'model.safetensors');
  const buf = fs.readFileSync(src);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const config = readConfig(fixture('tiny-bert'));
  mutate(header, config);
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return folderLike('tiny-bert', label, { 'model.safetensors': Buffer.concat([len, h, buf.subarray(8 + n)]), 'config.json': JSON.stringify(config) });
}

test('bad safetensors or config: exit 1 with one line naming the tensor, nothing written', () => {
  const notJson = folderLike('tiny-bert', 'notjson', { 'model.safetensors': Buffer.concat([Buffer.from([16, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a": not json!}'), Buffer.alloc(64)]) });
  const binOnly = folderLike('tiny-bert', 'binonly', { 'pytorch_model.bin': Buffer.alloc(64) });
  const whole = fs.readFileSync(fixture('tiny-bert', 'model.safetensors'));
  const truncated = folderLike('tiny-bert', 'truncated', { 'model.safetensors': whole.subarray(0, whole.length - 1000) });
  const cases: [string, RegExp][] = [
    [notJson, /model\.safetensors: header is not valid JSON/],
    [brokenCopy('outside', (h) => ((h['embeddings.LayerNorm.bias'] as { data_offsets: number[] }).data_offsets = [1e9, 1e9 + 128])), /tensor 'embeddings\.LayerNorm\.bias' has a malformed entry/],
    [brokenCopy('overlap', (h) => ((h['embeddings.LayerNorm.weight'] as { data_offsets: number[] }).data_offsets = (h['embeddings.LayerNorm.bias'] as { data_offsets: number[] }).data_offsets)), /tensors 'embeddings\.LayerNorm\.(bias|weight)' .* and 'embeddings\.LayerNorm\.(bias|weight)' .* overlap/],
    [brokenCopy('dtype', (h) => ((h['encoder.layer.1.attention.self.key.weight'] as { dtype: string }).dtype = 'I32')), /tensor 'encoder\.layer\.1\.attention\.self\.key\.weight' has dtype I32 in .*model\.safetensors; ProbeScale reads F32, F16 and BF16 weights: save the model in one of them .*or export it to ONNX/],
    [brokenCopy('shape', (_h, c) => (c.intermediate_size = 48)), /tensor 'encoder\.layer\.0\.intermediate\.dense\.weight' has shape \[64, 32\] but config\.json \(hidden_size 32, intermediate_size 48\) implies \[48, 32\]/],
    [brokenCopy('missing', (h) => delete h['encoder.layer.2.output.dense.bias']), /tensor 'encoder\.layer\.2\.output\.dense\.bias' is missing/],
    // Since the thirty-fourth session pytorch_model.bin is read (pytorchCheckpoint.test.ts); 64 zero bytes are not a checkpoint.
    [binOnly, /pytorch_model\.bin is not a PyTorch checkpoint \(no zip archive, nor the stream of pickles PyTorch wrote before 1\.6\).*save_pretrained.*safe_serialization=True/],
    // Hostile-user pass (seventh session): a config with fewer blocks than the weights was built silently from the first ones (the ONNX path refuses it).
    [brokenCopy('fewer-blocks', (_h, c) => (c.num_hidden_layers = 2)), /tensor 'encoder\.layer\.2\.[\w.]+' in .*model\.safetensors is in block 2, but config\.json says num_hidden_layers 2; .*set num_hidden_layers to the number of blocks the weights hold/],
    [truncated, /model\.safetensors is truncated: its header describes 677888 bytes of tensor data \(tensor '[\w.]+' ends at byte \d+\), the file holds 676888; download or copy the file again/],
  ];
  for (const [dir, re] of cases) {
    const cache = fs.mkdtempSync(path.join(tmp, 'cache-'));
    const out = path.join(tmp, `out-${path.basename(dir)}`);
    for (const args of [['prune', dir, '--layers', '0', '--out', out], ['probe', dir, '--task', `s=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '20', '--out', `${out}.json`]]) {
      const r = run(cache, ...args, '-q');
      assert.equal(r.code, 1, `${args.join(' ')} → ${r.code}: ${r.err}`);
      assert.match(r.err, re);
      assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    }
    assert.ok(!fs.existsSync(out) && !fs.existsSync(`${out}.json`), 'no output written');
    assert.deepEqual(fs.readdirSync(cache), [], 'no graph written');
  }
});

for (const name of tinyModels) {
  test(`${name}: optimize on a copy with onnx/ deleted gives the ONNX folder's per-layer accuracies and pick`, () => {
    const copy = folderLike(name, 'no-onnx', { 'model.safetensors': fs.readFileSync(fixture(name, 'model.safetensors')) });
    const cache = fs.mkdtempSync(path.join(tmp, 'cache-'));
    const reports = [copy, fixture(name)].map((dir, i) => {
      const out = path.join(tmp, `${name}-opt-${i}`);
      const r = run(cache, 'optimize', dir, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '80', '--limit-test', '30', '--c', '1', '--budget', '0.95', '--candidates', '2', '--no-cache', '--out', out, '-q');
      assert.equal(r.code, 0, r.err);
      assert.ok(fs.existsSync(path.join(out, 'onnx', name.includes('t5') ? 'encoder_model.onnx' : 'model.onnx')), 'the committed folder has its ONNX encoder');
      return JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
    });
    assert.deepEqual(reports.map((r) => r.model.graphFrom), ['safetensors', 'onnx']);
    const acc = (r: { tasks: Record<string, { layers: { accuracy: number }[] }> }) => r.tasks.sentlen.layers.map((l) => l.accuracy);
    assert.deepEqual(acc(reports[0]), acc(reports[1]));
    assert.deepEqual(reports[0].selection.kept, reports[1].selection.kept);
    assert.deepEqual(reports[0].selection.perTask, reports[1].selection.perTask);
    assert.deepEqual(reports[0].model.params, reports[1].model.params);
  });
}

test('--from safetensors uses the weights even beside an ONNX export, and the report says which', () => {
  const cache = fs.mkdtempSync(path.join(tmp, 'cache-'));
  const [st, onnx] = ['safetensors', 'onnx'].map((from) => {
    const out = path.join(tmp, `from-${from}.json`);
    const r = run(cache, 'probe', fixture('tiny-bert'), '--from', from, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '60', '--limit-test', '30', '--c', '1', '--no-cache', '--out', out, '-q');
    assert.equal(r.code, 0, r.err);
    return JSON.parse(fs.readFileSync(out, 'utf8'));
  });
  assert.equal(st.model.graphFrom, 'safetensors');
  assert.equal(onnx.model.graphFrom, 'onnx');
  assert.match(run(cache, 'probe', fixture('tiny-bert'), '--from', 'safetensors', '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '30', '--limit-test', '10', '--c', '1', '--no-cache', '-q').out, /· graph built from safetensors ·/);
  assert.deepEqual(st.tasks.sentlen.layers, onnx.tasks.sentlen.layers);
  const noOnnx = folderLike('tiny-bert', 'from-onnx', { 'model.safetensors': fs.readFileSync(fixture('tiny-bert', 'model.safetensors')) });
  const bad: [string[], RegExp][] = [
    [[fixture('tiny-bert'), '--from', 'pickle'], /--from pickle: use onnx or safetensors/],
    [[noOnnx, '--from', 'onnx'], /no model\.onnx in onnx\/ .*Export the model to ONNX/],
    [[fixture('tiny-bert'), '--from', 'safetensors', '--quantized'], /--from safetensors: cannot be combined with --quantized/],
  ];
  for (const [args, re] of bad) {
    const r = run(cache, 'probe', ...args, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '-q');
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, re);
  }
});

test('tiny-mpnet: the relative position bias agrees with the exported graph at every distance up to 127, where buckets go logarithmic and then stop', async () => {
  // Distances 8–127 take the logarithmic buckets (8..15) the 24-token references barely reach; rows of 128 and 70 tokens, the second padded.
  const len = 128;
  const row = (n: number, seed: number) => Array.from({ length: len }, (_, i) => (i === 0 ? 0 : i === n - 1 ? 2 : i < n ? 5 + ((i * 7919 + seed) % 4000) : 1));
  const ids = [row(len, 1), row(70, 2)];
  const refs = { input_ids: ids, attention_mask: ids.map((r) => r.map((t) => (t === 1 ? 0 : 1))), subsets: {} };
  const exported = resolveEncoderGraph(fixture('tiny-mpnet'), readConfig(fixture('tiny-mpnet'))).file;
  const d = maxAbsDiff(await lastHidden(built(fixture('tiny-mpnet')), refs), await lastHidden(exported, refs));
  assert.ok(d < 1e-4, `max |diff| ${d}`);
  // The bias matters at these distances: the same graph with every bucket's row zeroed differs.
  const noBias = folderLike('tiny-mpnet', 'nobias', {});
  const { header, bytes } = tensorBytes(fixture('tiny-mpnet', 'model.safetensors'));
  writeSafetensors(path.join(noBias, 'model.safetensors'), Object.keys(header).map((n) => [n, header[n].dtype, header[n].shape, n.includes('relative_attention_bias') ? Buffer.alloc(bytes.get(n)!.length) : bytes.get(n)!]));
  assert.ok(maxAbsDiff(await lastHidden(built(noBias), refs), await lastHidden(exported, refs)) > 1e-2, 'the position bias changes the output');
});

test('MPNet configs the builder cannot follow are refused naming the key', () => {
  const dir = folderLike('tiny-mpnet', 'fewbuckets', { 'model.safetensors': fs.readFileSync(fixture('tiny-mpnet', 'model.safetensors')) });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...readConfig(fixture('tiny-mpnet')), relative_attention_num_buckets: 16 }));
  assert.throws(() => built(dir), /relative_attention_num_buckets is 16; MPNet looks up 32 relative-position buckets/);
});
