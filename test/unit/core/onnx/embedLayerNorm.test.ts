/**
 * Graphs whose embeddings are one com.microsoft EmbedLayerNormalization (optimum's
 * `--optimize O2`–O4, ONNX Runtime's transformer optimizer), made from tiny-bert by
 * ./embedLayerNorm.ts: each command gives the plain graph's results or refuses naming the op.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { findBlocks } from '../../../../src/core/onnx/blocks';
import { pruneEdit } from '../../../../src/core/onnx/edit';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { trimVocabFile, unknownTokenMap } from '../../../../src/core/onnx/vocab';
import { chunksToBuffer } from '../../../../src/core/onnx/wire';
import { countParams } from '../../../../src/core/model/modelInfo';
import { CompensationPlan, compensatedEdit, emptyPlan, narrowKey, unitColumns } from '../../../../src/core/compensate/graph';
import { findSublayers, readFloat32 } from '../../../../src/core/compensate/structure';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';
import { fuseEmbedLayerNorm } from './embedLayerNorm';

const plain = fixture('tiny-bert', 'onnx', 'model.onnx');
const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const B = 4;
const S = 8;
const HIDDEN = 32;
/** Token ids from [CLS] … ; odd rows padded after half their length. */
const ids = BigInt64Array.from({ length: B * S }, (_, i) => BigInt(i % S === 0 ? 2 : 5 + ((i * 7919) % 4000)));
const mask = BigInt64Array.from({ length: B * S }, (_, i) => (Math.floor(i / S) % 2 === 1 && i % S >= S / 2 ? 0n : 1n));

async function run(graph: string | Buffer): Promise<Float32Array> {
  const s = typeof graph === 'string' ? await ort.InferenceSession.create(graph, { logSeverityLevel: 3 }) : await ort.InferenceSession.create(graph, { logSeverityLevel: 3 });
  const feeds = { input_ids: new ort.Tensor('int64', ids, [B, S]), attention_mask: new ort.Tensor('int64', mask, [B, S]) };
  const out = (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
  await s.release();
  return out;
}

/** Largest |a − b| over attended tokens (a fused Attention leaves padded tokens' rows undefined). */
function worst(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let w = 0;
  for (let j = 0; j < a.length; j++) if (mask[Math.floor(j / HIDDEN)] === 1n) w = Math.max(w, Math.abs(a[j] - b[j]));
  return w;
}

/**
 * The fused graph in `dir`: embeddings only, or with every self-attention a com.microsoft Attention
 * reading mask_index; `skip` also fuses every bias + residual Add + LayerNorm into a
 * SkipLayerNormalization named outside every scope (with both: optimum's O2 graph).
 */
function fused(dir: string, attention: boolean, skip = false): string {
  const name = `${attention ? 'attention' : 'embed'}${skip ? '-skip' : ''}`;
  return fuseEmbedLayerNorm(plain, path.join(dir, `${name}.onnx`), { epsilon: 1e-12, attention: attention ? { headSize: 16 } : undefined, skipLayerNorm: skip }).file;
}

/** A model folder holding tiny-bert's tokenizer and config with the fused graph as onnx/model.onnx. */
function fusedFolder(dir: string, attention: boolean, skip = false): string {
  const folder = path.join(dir, `bert-${attention ? 'attention' : 'embed'}${skip ? '-skip' : ''}`);
  fs.cpSync(fixture('tiny-bert'), folder, { recursive: true });
  fs.copyFileSync(fused(dir, attention, skip), path.join(folder, 'onnx', 'model.onnx'));
  return folder;
}

const pruned = async (file: string, kept: number[]) => {
  const m = OnnxModel.open(file);
  try {
    return await run(chunksToBuffer(m.serialize(pruneEdit(m, findBlocks(m, file), kept))));
  } finally {
    m.close();
  }
};

test('the EmbedLayerNormalization rewrite of tiny-bert runs in ONNX Runtime and gives the plain graph’s output', async () => {
  const dir = tempDir('ps-eln-');
  const reference = await run(plain);
  for (const attention of [false, true]) {
    const m = OnnxModel.open(fused(dir, attention));
    const embed = m.nodes.filter((n) => n.opType === 'EmbedLayerNormalization' && n.domain === 'com.microsoft');
    assert.equal(embed.length, 1);
    assert.deepEqual(embed[0].inputs.slice(0, 7), ['input_ids_int32', '/embeddings/Expand_1_output_0_int32', 'embeddings.word_embeddings.weight', 'embeddings.position_embeddings.weight', 'embeddings.token_type_embeddings.weight', 'embeddings.LayerNorm.weight', 'embeddings.LayerNorm.bias']);
    assert.ok(!m.nodes.some((n) => n.opType === 'LayerNormalization' && n.inputs[1] === 'embeddings.LayerNorm.weight'), 'the embedding LayerNorm is fused');
    if (attention) assert.ok(m.nodes.filter((n) => n.opType === 'Attention').every((n) => n.inputs[3] === embed[0].outputs[1]), 'every Attention reads mask_index');
    const d = worst(await run(m.src.label), reference);
    m.close();
    assert.ok(d <= 1e-5, `attention ${attention}: max |diff| ${d}`);
  }
});

/** Parameter counts of `file` and its pruned models (prefix and not) as the plain graph `reference`'s, to `tolerance`. */
async function assertPrunesAsPlain(file: string, what: string, reference = plain, tolerance = 1e-4): Promise<void> {
  const [p, m] = [OnnxModel.open(reference), OnnxModel.open(file)];
  try {
    assert.deepEqual(countParams(m, findBlocks(m, file)), countParams(p, findBlocks(p)), what);
  } finally {
    p.close();
    m.close();
  }
  for (const kept of [[0, 1], [0, 2], [1, 3], [3]]) {
    const d = worst(await pruned(file, kept), await pruned(reference, kept));
    assert.ok(d <= tolerance, `${what}, kept ${kept}: max |diff| ${d}`);
  }
}

test('EmbedLayerNormalization graphs: probe counts and pruned models (prefix and not) as the plain graph’s', async () => {
  const dir = tempDir('ps-eln-prune-');
  for (const attention of [false, true]) await assertPrunesAsPlain(fused(dir, attention), `attention ${attention}`);
});

test('O2 graphs (EmbedLayerNormalization, Attention and SkipLayerNormalization named outside every scope): probe counts and pruned models as the plain graph’s', async () => {
  // Before: "cannot tell which tensor carries the hidden state from block 0 into block 1 (candidates: none)":
  // the fused SkipLayerNormalization that ends each block was outside every block.
  const dir = tempDir('ps-eln-o2-');
  for (const attention of [false, true]) {
    const file = fused(dir, attention, true);
    const m = OnnxModel.open(file);
    assert.equal(m.nodes.filter((n) => n.opType === 'SkipLayerNormalization' && /^SkipLayerNorm_AddBias_\d+$/.test(n.name)).length, 8);
    m.close();
    assert.ok(worst(await run(file), await run(plain)) <= 1e-5, 'the rewrite computes the plain graph');
    await assertPrunesAsPlain(file, `attention ${attention}`);
  }
});

test('EmbedLayerNormalization graphs: bridges and narrowed heads and neurons give the plain graph’s outputs', async () => {
  const dir = tempDir('ps-eln-comp-');
  const file = fused(dir, false);
  const outputOf = async (f: string, plan: CompensationPlan) => {
    const m = OnnxModel.open(f);
    try {
      return await run(chunksToBuffer(m.serialize(compensatedEdit(m, findBlocks(m, f), plan, { hidden: HIDDEN, heads: 2 }))));
    } finally {
      m.close();
    }
  };
  const m = OnnxModel.open(plain);
  const plan = emptyPlan([0, 2]);
  plan.bridges.set(2, { w: Float32Array.from({ length: HIDDEN * HIDDEN }, (_, i) => (i % (HIDDEN + 1) === 0 ? 0.5 : 0.01 * Math.sin(i))), b: new Float32Array(HIDDEN).fill(0.1), window: 1 });
  for (const [kind, k, keep] of [['attention', 2, [1]], ['ffn', 0, [0, 3, 5, 8, 40]]] as const) {
    const s = findSublayers(m, findBlocks(m), k, HIDDEN, 2)[kind];
    const out = readFloat32(m, s.output.weight);
    plan.narrow.set(narrowKey(kind, k), { kept: [...keep], out: Float32Array.from(unitColumns([...keep], s.group).flatMap((j) => Array.from(out.subarray(j * HIDDEN, (j + 1) * HIDDEN)))), outBias: readFloat32(m, s.output.bias!) });
  }
  m.close();
  const d = worst(await outputOf(file, plan), await outputOf(plain, plan));
  assert.ok(d <= 1e-4, `max |diff| ${d}`);
  // Bridges alone in the O2 graph, whose sub-layers cannot be narrowed.
  plan.narrow.clear();
  const o2 = worst(await outputOf(fused(dir, true, true), plan), await outputOf(plain, plan));
  assert.ok(o2 <= 1e-4, `O2 graph: max |diff| ${o2}`);
});

test('--vocab-trim of an EmbedLayerNormalization graph: the fused node reads the trimmed table through the id map, as the plain graph’s Gather does', async () => {
  // Before: refused, "no Gather reads a 2-D embedding table with input_ids directly".
  const dir = tempDir('ps-eln-vocab-');
  const kept = [...new Set([0, 1, 2, 3, 100, ...Array.from(ids, Number).filter((_, i) => i % 3 !== 0)])].sort((a, b) => a - b);
  const trimmed = async (src: string, name: string) => {
    const file = path.join(dir, name);
    fs.copyFileSync(src, file);
    trimVocabFile(file, kept, unknownTokenMap(4096, kept, 100), { unkId: 100, unseen: 'unknown' });
    const m = OnnxModel.open(file);
    assert.equal(m.initializers.get('embeddings.word_embeddings.weight')?.dims[0], kept.length, `${name}: table trimmed`);
    m.close();
    return run(file);
  };
  const reference = await trimmed(plain, 'plain.onnx');
  for (const attention of [false, true]) {
    const d = worst(await trimmed(fused(dir, attention), `fused-${attention}.onnx`), reference);
    assert.ok(d <= 1e-5, `attention ${attention}: max |diff| ${d}`);
  }
  assert.ok(worst(reference, await run(plain)) > 1e-3, 'some ids read the unknown token’s row');
});

const LIMITS = ['--task', `s=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '60', '--limit-test', '20', '--c', '1', '--no-cache', '-q', '--candidates', '1', '--baselines', 'none'];

test('optimize --vocab-trim, eval and verify on an EmbedLayerNormalization folder: the committed encoder equals the plain model’s', async () => {
  const dir = tempDir('ps-eln-opt-');
  const outputs: Float32Array[] = [];
  for (const src of [fixture('tiny-bert'), fusedFolder(dir, false)]) {
    const out = path.join(dir, `out-${outputs.length}`);
    const r = spawnSync(process.execPath, [cli, 'optimize', src, '--budget', '0.9', '--vocab-trim', '--out', out, ...LIMITS], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /verify: re-measured from the written folder equals the report/);
    const e = spawnSync(process.execPath, [cli, 'eval', out, ...LIMITS.slice(0, 8)], { encoding: 'utf8' });
    assert.equal(e.status, 0, e.stderr);
    outputs.push(await run(path.join(out, 'onnx', 'model.onnx')));
  }
  assert.ok(worst(outputs[1], outputs[0]) <= 1e-4, `max |diff| ${worst(outputs[1], outputs[0])}`);
});

test('--embedding-rank on an EmbedLayerNormalization graph is refused in one line naming the fused node and what to use instead', () => {
  // Before: "has no word-embedding table that input_ids read directly; start from the model it was made from".
  const dir = tempDir('ps-eln-rank-');
  const r = spawnSync(process.execPath, [cli, 'optimize', fusedFolder(dir, false), '--budget', '0.9', '--embedding-rank', '8', '--compensate', 'all', '--out', path.join(dir, 'out'), ...LIMITS], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /com\.microsoft EmbedLayerNormalization .*EmbedLayerNormalization_0.*without --optimize/);
  assert.ok(!fs.existsSync(path.join(dir, 'out')));
});

test('--compensate on an O2 folder: bridge runs and verifies, width is refused in one line naming the fused node and what to use instead', () => {
  // Before: both refused, "block 0: expected Q, K, V and output MatMuls … (fused attention or quantized?)":
  // bridge failed on the narrowed flap-uniform baseline.
  const dir = tempDir('ps-eln-o2comp-');
  const folder = fusedFolder(dir, true, true);
  const bridge = spawnSync(process.execPath, [cli, 'optimize', folder, '--budget', '0.9', '--compensate', 'bridge', '--out', path.join(dir, 'bridge'), ...LIMITS.slice(0, -2)], { encoding: 'utf8' });
  assert.equal(bridge.status, 0, bridge.stderr);
  assert.match(bridge.stderr + bridge.stdout, /verify: re-measured from the written folder equals the report/);
  const width = spawnSync(process.execPath, [cli, 'optimize', folder, '--budget', '0.9', '--compensate', 'width', '--out', path.join(dir, 'width'), ...LIMITS], { encoding: 'utf8' });
  assert.equal(width.status, 1, width.stderr);
  assert.equal(width.stderr.trim().split('\n').length, 1, width.stderr);
  assert.match(width.stderr, /block 0 holds the com\.microsoft (Attention|SkipLayerNormalization) node .*without --optimize.*--compensate bridge\. The folder has the model's weights: --from safetensors builds the graph from them/m);
});

const plainDistil = fixture('tiny-distilbert', 'onnx', 'model.onnx');
/** The optimizer's whole graph: fused embeddings, Attention, SkipLayerNormalization and BiasGelu (O2) or FastGelu (O3). */
const optimized = (src: string, dst: string, gelu: 'bias' | 'fast') => fuseEmbedLayerNorm(src, dst, { epsilon: 1e-12, attention: { headSize: 16 }, skipLayerNorm: true, gelu }).file;

test('O2 and O3 graphs of BERT and DistilBERT (no token types; BiasGelu or FastGelu): outputs, probe counts and pruned models as the plain graph’s', async () => {
  const dir = tempDir('ps-eln-o3-');
  for (const [name, reference] of [['bert', plain], ['distilbert', plainDistil]] as const) {
    for (const gelu of ['bias', 'fast'] as const) {
      const file = optimized(reference, path.join(dir, `${name}-${gelu}.onnx`), gelu);
      const m = OnnxModel.open(file);
      const ops = new Map<string, number>();
      for (const n of m.nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
      const embed = m.nodes.find((n) => n.opType === 'EmbedLayerNormalization')!;
      m.close();
      const what = `${name}, ${gelu === 'bias' ? 'O2 (BiasGelu)' : 'O3 (FastGelu)'}`;
      assert.deepEqual([ops.get('Attention'), ops.get('SkipLayerNormalization'), ops.get(gelu === 'bias' ? 'BiasGelu' : 'FastGelu'), ops.get('Erf'), ops.get('LayerNormalization')], [4, 8, 4, undefined, undefined], what);
      // DistilBERT has no token types: fuse_distilbert leaves the segment ids and table empty.
      assert.deepEqual([embed.inputs[1] === '', embed.inputs[4] === ''], [name === 'distilbert', name === 'distilbert'], what);
      // FastGelu is tanh's approximation of the erf GELU: the outputs differ a little, not by much.
      const d = worst(await run(file), await run(reference));
      assert.ok(gelu === 'bias' ? d <= 1e-5 : d > 1e-6 && d <= 1e-3, `${what}: max |diff| ${d}`);
      await assertPrunesAsPlain(file, what, reference, gelu === 'bias' ? 1e-4 : 1e-3);
    }
  }
});

test('a DistilBERT O2 folder and a BERT O3 folder: probe as the plain model, optimize (--vocab-trim, --compensate bridge) verifies, eval runs, width is refused naming the fused node', () => {
  const dir = tempDir('ps-eln-o3cli-');
  const accuracies = (folder: string) => {
    const out = path.join(dir, `${path.basename(folder)}.json`);
    const r = spawnSync(process.execPath, [cli, 'probe', folder, '--out', out, ...LIMITS.slice(0, 8)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(fs.readFileSync(out, 'utf8')) as { tasks: Record<string, { layers: { accuracy: number; cvAccuracy: number }[] }> }).tasks.s.layers.map((l) => [l.accuracy, l.cvAccuracy]);
  };
  for (const [name, gelu] of [['distilbert', 'bias'], ['bert', 'fast']] as const) {
    const folder = path.join(dir, `${name}-${gelu}`);
    fs.cpSync(fixture(`tiny-${name}`), folder, { recursive: true });
    optimized(fixture(`tiny-${name}`, 'onnx', 'model.onnx'), path.join(folder, 'onnx', 'model.onnx'), gelu);
    assert.deepEqual(accuracies(folder), accuracies(fixture(`tiny-${name}`)), `${name}: probe`);
    for (const options of [['--vocab-trim'], ['--compensate', 'bridge']]) {
      const out = path.join(dir, `${name}-${options.join('')}`);
      const r = spawnSync(process.execPath, [cli, 'optimize', folder, '--budget', '0.9', ...options, '--out', out, ...LIMITS], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${name} ${options}: ${r.stderr}`);
      assert.match(r.stderr + r.stdout, /verify: re-measured from the written folder equals the report/);
      const e = spawnSync(process.execPath, [cli, 'eval', out, ...LIMITS.slice(0, 8)], { encoding: 'utf8' });
      assert.equal(e.status, 0, e.stderr);
    }
    const width = spawnSync(process.execPath, [cli, 'optimize', folder, '--budget', '0.9', '--compensate', 'width', '--out', path.join(dir, `${name}-width`), ...LIMITS], { encoding: 'utf8' });
    assert.equal(width.status, 1, width.stderr);
    assert.match(width.stderr, /block 0 holds the com\.microsoft (Attention|SkipLayerNormalization|BiasGelu|FastGelu) node .*without --optimize.*--compensate bridge\. The folder has the model's weights: --from safetensors builds the graph from them/m);
    assert.ok(!fs.existsSync(path.join(dir, `${name}-width`)));
  }
});
