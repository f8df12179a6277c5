/**
 * Can standard-ONNX rewrites close the latency gap of the narrowest compensated models
 * (RESULTS §5f)? Rewrites each given graph cumulatively:
 *   mask   the exporter's [B,1,S,S] padding-mask subgraph (Range, Unsqueeze, GatherElements, And,
 *          Where …, the same in every graph) becomes Cast → Sub → Mul → Unsqueeze to [B,1,1,S];
 *   qkv    each block's Q, K and V MatMul + bias Add become one MatMul + Add and a Split;
 *   2d     the hidden states as [tokens, hidden], so ORT makes each MatMul + bias a Gemm;
 *   fold   each sub-layer's output bias moved into the LayerNorm (or bridge) before its residual,
 *          the MatMuls reading that state given c − b·W, and a one-row token-type table added
 *          to the position table (LEAN_KEEP=1 keeps the rewritten graphs for profileOps);
 * checks each rewrite's output against the graph's own (half the rows padded), and times all of
 * them alternately in one process, threads parked after each run as verify does.
 *   node out/scripts/timeLean.js BATCH LENGTH MODEL.onnx [MODEL.onnx …]
 * A diagnostic for HF BERT/RoBERTa exports (nodes found by their export names), not product code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataType, NewInitializer, NewNode, NodeRef, OnnxModel } from '../src/core/onnx/model';
import { checkedSessions, concatQkv, encoderInputs, live, Timed, timeAlternately } from './graphTiming';
import { readFloat32 } from '../src/core/compensate/structure';

const i64 = (name: string, values: number[]): NewInitializer => ({ name, dataType: DataType.INT64, dims: [values.length], data: Buffer.from(BigInt64Array.from(values, BigInt).buffer) });
const f32 = (name: string, value: number): NewInitializer => ({ name, dataType: DataType.FLOAT, dims: [], data: Buffer.from(Float32Array.of(value).buffer) });

interface Rewrite {
  nodes: NodeRef[];
  inits: NewInitializer[];
  rename: Map<string, string>;
}

/** The attention blocks' additive mask, rebuilt from attention_mask alone. */
function simpleMask(_m: OnnxModel, r: Rewrite): number {
  const adds = r.nodes.filter((n) => /\/attention\/self\/Add$/.test(n.name));
  const old = adds[0]?.inputs[1];
  if (!old) return 0;
  r.inits.push(f32('lean/one', 1), f32('lean/min', -3.4028234663852886e38), i64('lean/axes', [1, 2]));
  const mask: NewNode[] = [
    { name: 'lean/mask/Cast', opType: 'Cast', inputs: ['attention_mask'], outputs: ['lean/mask/f'], attributes: { to: DataType.FLOAT } },
    { name: 'lean/mask/Sub', opType: 'Sub', inputs: ['lean/one', 'lean/mask/f'], outputs: ['lean/mask/inv'] },
    { name: 'lean/mask/Mul', opType: 'Mul', inputs: ['lean/mask/inv', 'lean/min'], outputs: ['lean/mask/add'] },
    { name: 'lean/mask/Unsqueeze', opType: 'Unsqueeze', inputs: ['lean/mask/add', 'lean/axes'], outputs: ['lean/mask/4d'] },
  ];
  r.rename.set(old, 'lean/mask/4d');
  const first = r.nodes.indexOf(adds[0]);
  r.nodes.splice(first, 0, ...mask);
  return adds.length;
}

/** Q, K and V of each block as one MatMul + Add over concatenated weights, then Split. */
function mergeQkv(m: OnnxModel, r: Rewrite): number {
  let merged = 0;
  const byName = new Map(r.nodes.map((n) => [n.name, n]));
  for (let b = 0; b < 1000; b++) {
    const scope = `/encoder/layer.${b}/attention/self/`;
    const parts = ['query', 'key', 'value'].map((p) => ({ mm: byName.get(`${scope}${p}/MatMul`), add: byName.get(`${scope}${p}/Add`) }));
    if (parts.some((p) => !p.mm || !p.add)) continue;
    const lin = parts.map(({ mm, add }) => ({ x: mm!.inputs[0], w: m.initializers.get(mm!.inputs[1])!, bias: m.initializers.get(add!.inputs.find((t) => m.initializers.has(t))!)!, out: add!.outputs[0] }));
    const { widths, inits } = concatQkv(m, lin, `lean/qkv.${b}`);
    r.inits.push(...inits, i64(`lean/qkv_split.${b}`, widths));
    const fused: NewNode[] = [
      { name: `lean/qkv.${b}/MatMul`, opType: 'MatMul', inputs: [lin[0].x, `lean/qkv.${b}_w`], outputs: [`lean/qkv.${b}/mm`] },
      { name: `lean/qkv.${b}/Add`, opType: 'Add', inputs: [`lean/qkv.${b}/mm`, `lean/qkv.${b}_b`], outputs: [`lean/qkv.${b}/y`] },
      { name: `lean/qkv.${b}/Split`, opType: 'Split', inputs: [`lean/qkv.${b}/y`, `lean/qkv_split.${b}`], outputs: lin.map((l) => l.out), attributes: { axis: -1 } },
    ];
    const drop = new Set<NodeRef>(parts.flatMap((p) => [p.mm!, p.add!]));
    const at = r.nodes.indexOf(parts[0].mm!);
    r.nodes = r.nodes.flatMap((n, i) => (i === at ? fused : drop.has(n) ? [] : [n]));
    merged++;
  }
  return merged;
}

/** The hidden states as [tokens, hidden] between the embeddings and the output, so ORT fuses each MatMul + bias into a Gemm. */
function twoD(m: OnnxModel, r: Rewrite): number {
  const emb = r.nodes.find((n) => n.name === '/embeddings/LayerNorm/LayerNormalization');
  const out = m.outputs[0].name;
  const last = r.nodes.find((n) => n.outputs.includes(out));
  if (!emb || !last) return 0;
  const d = m.outputs[0].shape?.at(-1) as number;
  const E = emb.outputs[0];
  r.inits.push(i64('lean/2d/flat', [-1, d]), i64('lean/2d/d', [d]), i64('lean/2d/minus1', [-1]), i64('lean/2d/s0', [1]), i64('lean/2d/s1', [2]));
  const head: NewNode[] = [
    { name: 'lean/2d/Shape', opType: 'Shape', inputs: ['input_ids'], outputs: ['lean/2d/bs'] },
    { name: 'lean/2d/Slice', opType: 'Slice', inputs: ['lean/2d/bs', 'lean/2d/s0', 'lean/2d/s1'], outputs: ['lean/2d/S'] },
    { name: 'lean/2d/OutShape', opType: 'Concat', inputs: ['lean/2d/bs', 'lean/2d/d'], outputs: ['lean/2d/bsd'], attributes: { axis: 0 } },
    { name: 'lean/2d/Flatten', opType: 'Reshape', inputs: [E, 'lean/2d/flat'], outputs: ['lean/2d/emb'] },
  ];
  for (const n of r.nodes) if (n !== emb) n.inputs.forEach((t) => t === E && r.rename.set(E, 'lean/2d/emb'));
  const replace = new Map<NodeRef, NodeRef[]>();
  let blocks = 0;
  for (let b = 0; b < 1000; b++) {
    const scope = `/encoder/layer.${b}/attention/self/`;
    const split = ['Reshape', 'Reshape_1', 'Reshape_2'].map((k) => r.nodes.find((n) => n.name === scope + k));
    const merge = r.nodes.find((n) => n.name === `${scope}Reshape_3`);
    if (split.some((n) => !n) || !merge) continue;
    const w = m.initializers.get(r.nodes.find((n) => n.name === `${scope}query/MatMul`)?.inputs[1] ?? '')?.dims[1];
    if (!w) continue;
    r.inits.push(i64(`lean/2d/heads.${b}`, [w / 64, 64]), i64(`lean/2d/merge.${b}`, [-1, w]));
    const shape: NewNode = { name: `lean/2d/split.${b}`, opType: 'Concat', inputs: ['lean/2d/minus1', 'lean/2d/S', `lean/2d/heads.${b}`], outputs: [`lean/2d/split.${b}`], attributes: { axis: 0 } };
    split.forEach((n, k) => replace.set(n!, [...(k === 0 ? [shape] : []), { name: `${n!.name}/2d`, opType: 'Reshape', inputs: [n!.inputs[0], `lean/2d/split.${b}`], outputs: n!.outputs }]));
    replace.set(merge, [{ name: `${merge.name}/2d`, opType: 'Reshape', inputs: [merge.inputs[0], `lean/2d/merge.${b}`], outputs: merge.outputs }]);
    blocks++;
  }
  replace.set(last, [{ name: `${last.name}/2d`, opType: last.opType, inputs: last.inputs, copyOf: 'field' in last ? last : undefined, outputs: ['lean/2d/out'] }, { name: 'lean/2d/Unflatten', opType: 'Reshape', inputs: ['lean/2d/out', 'lean/2d/bsd'], outputs: [out] }]);
  replace.set(emb, [emb, ...head]);
  r.nodes = r.nodes.flatMap((n) => replace.get(n) ?? [n]);
  return blocks;
}

/** A float32 constant's values and the index of its initializer input, when `n` has one of dims [d]. */
function constInput(m: OnnxModel, n: NodeRef | undefined, d?: number): { at: number; values: Float32Array } | undefined {
  if (!n) return undefined;
  const at = n.inputs.findIndex((t) => m.initializers.has(t));
  const t = at < 0 ? undefined : m.initializers.get(n.inputs[at]);
  if (!t || t.dataType !== DataType.FLOAT || t.dims.length !== 1 || (d !== undefined && t.dims[0] !== d)) return undefined;
  return { at, values: readFloat32(m, t) };
}

/**
 * Each sub-layer's output bias b (MatMul → Add b → residual Add with x) folded into whatever makes
 * x: x' = x + b is the LayerNorm's β + b (or a bridge's bias + b); each MatMul reading x gets its
 * bias c − b·W so it sees what it saw. The residual then adds the bare MatMul: one full-width Add less.
 */
function foldBias(m: OnnxModel, r: Rewrite): number {
  const producer = new Map<string, NodeRef>();
  const consumers = new Map<string, NodeRef[]>();
  for (const n of r.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const t of n.inputs) consumers.set(t, [...(consumers.get(t) ?? []), n]);
  }
  const outputs = new Set(m.outputs.map((o) => o.name));
  const replace = new Map<NodeRef, NodeRef>();
  const changed = new Map<NodeRef, Float32Array>();
  // The constant each edited node adds: a LayerNorm's β (input 2), else an Add's initializer.
  const biasAt = (n: NodeRef) => (n.opType === 'LayerNormalization' ? 2 : constInput(m, n)!.at);
  const current = (n: NodeRef) => changed.get(n) ?? readFloat32(m, m.initializers.get(n.inputs[biasAt(n)])!);
  let folded = 0;
  for (const res of r.nodes) {
    if (res.opType !== 'Add' || res.inputs.length !== 2) continue;
    for (const side of [0, 1]) {
      const [a, x] = [res.inputs[side], res.inputs[1 - side]];
      const biasAdd = producer.get(a);
      const d = m.outputs[0].shape?.at(-1) as number;
      const b = biasAdd?.opType === 'Add' ? constInput(m, biasAdd, d) : undefined;
      const mm = b && producer.get(biasAdd!.inputs[1 - b.at]);
      if (!b || mm?.opType !== 'MatMul' || consumers.get(a)?.length !== 1 || outputs.has(x)) continue;
      const p = producer.get(x);
      const pConst = p?.opType === 'LayerNormalization' ? (p.inputs[2] && m.initializers.has(p.inputs[2]) ? { at: 2 } : undefined) : p?.opType === 'Add' ? constInput(m, p, d) : undefined;
      if (!p || !pConst || changed.has(p)) continue;
      const readers = (consumers.get(x) ?? []).filter((c) => c !== res && c.opType !== 'Shape');
      const fixes = readers.map((c) => {
        const w = c.opType === 'MatMul' && c.inputs[0] === x ? m.initializers.get(c.inputs[1]) : undefined;
        const add = consumers.get(c.outputs[0]);
        const cb = w && add?.length === 1 && add[0].opType === 'Add' ? constInput(m, add[0], w.dims[1]) : undefined;
        return w && cb && !changed.has(add![0]) ? { w, add: add![0] } : undefined;
      });
      if (fixes.some((f) => !f)) continue;
      const beta = Float32Array.from(current(p), (v, i) => v + b.values[i]);
      changed.set(p, beta);
      for (const f of fixes) {
        const W = readFloat32(m, f!.w);
        const cols = f!.w.dims[1];
        const c = Float32Array.from(current(f!.add));
        for (let i = 0; i < d; i++) for (let j = 0; j < cols; j++) c[j] -= b.values[i] * W[i * cols + j];
        changed.set(f!.add, c);
      }
      replace.set(res, { name: `${res.name}/folded`, opType: 'Add', inputs: [mm!.outputs[0], x], outputs: res.outputs });
      folded++;
      break;
    }
  }
  for (const [n, values] of changed) {
    const at = biasAt(n);
    const name = `lean/fold/${n.name}`;
    r.inits.push({ name, dataType: DataType.FLOAT, dims: [values.length], data: Buffer.from(values.buffer) });
    replace.set(n, { name: `${n.name}/folded`, opType: n.opType, domain: n.domain, inputs: n.inputs.map((t, i) => (i === at ? name : t)), outputs: n.outputs, copyOf: 'field' in n ? n : undefined });
  }
  r.nodes = r.nodes.map((n) => replace.get(n) ?? n);
  return folded;
}

/** A one-row token-type table (RoBERTa's): every token adds its row, so it joins the position table and its Gather + Add go. */
function foldTypeRow(m: OnnxModel, r: Rewrite): number {
  const gather = r.nodes.find((n) => n.opType === 'Gather' && m.initializers.get(n.inputs[0])?.dims[0] === 1 && /token_type/.test(n.inputs[0]));
  const pos = r.nodes.find((n) => n.opType === 'Gather' && /position_embeddings/.test(n.inputs[0]) && m.initializers.has(n.inputs[0]));
  const add = gather && r.nodes.find((n) => n.opType === 'Add' && n.inputs.includes(gather.outputs[0]));
  if (!gather || !pos || !add) return 0;
  const row = readFloat32(m, m.initializers.get(gather.inputs[0])!);
  const table = m.initializers.get(pos.inputs[0])!;
  const p = readFloat32(m, table);
  for (let i = 0; i < p.length; i++) p[i] += row[i % row.length];
  r.inits.push({ name: 'lean/fold/position', dataType: DataType.FLOAT, dims: table.dims, data: Buffer.from(p.buffer) });
  const other = add.inputs.find((t) => t !== gather.outputs[0])!;
  r.rename.set(add.outputs[0], other);
  r.nodes = r.nodes.map((n) => (n === pos ? { name: `${n.name}/folded`, opType: 'Gather', inputs: ['lean/fold/position', n.inputs[1]], outputs: n.outputs, copyOf: 'field' in n ? n : undefined } : n));
  return 1;
}

function writeLean(file: string, out: string, steps: ((m: OnnxModel, r: Rewrite) => number)[]): string {
  const m = OnnxModel.open(file);
  const r: Rewrite = { nodes: [...m.nodes], inits: [], rename: new Map() };
  const counts = steps.map((s) => s(m, r));
  const renamed = r.nodes.map((n) => ({ n, inputs: 'field' in n ? n.inputs.map((t) => r.rename.get(t) ?? t) : n.inputs }));
  const needed = new Set(live(renamed.map(({ n, inputs }) => ({ ...n, inputs })), m.outputs.map((o) => o.name)).map((x) => x.name));
  const nodes = r.nodes.filter((n) => needed.has(n.name));
  m.write(out, { nodes, newInitializers: r.inits, renameInputs: (_n, t) => r.rename.get(t) ?? t });
  return `${counts.join('/')} rewritten, ${m.nodes.length} → ${nodes.length} nodes`;
}

async function main(): Promise<void> {
  const [batch, length] = [Number(process.argv[2]), Number(process.argv[3])];
  const models = process.argv.slice(4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-lean-'));
  try {
    const inputs = encoderInputs(batch, length);
    const sessions: Timed[] = [];
    for (const [i, file] of models.entries()) {
      const out = (name: string) => path.join(dir, `${i}.${name}.onnx`);
      const variants = [
        { label: file, file },
        { label: `  mask (${writeLean(file, out('mask'), [simpleMask])})`, file: out('mask') },
        { label: `  mask + qkv (${writeLean(file, out('qkv'), [simpleMask, mergeQkv])})`, file: out('qkv') },
        { label: `  mask + 2d (${writeLean(file, out('2d'), [simpleMask, twoD])})`, file: out('2d') },
        { label: `  fold (${writeLean(file, out('fold'), [foldBias, foldTypeRow])})`, file: out('fold') },
        { label: `  mask + fold (${writeLean(file, out('mfold'), [simpleMask, foldBias, foldTypeRow])})`, file: out('mfold') },
      ];
      sessions.push(...(await checkedSessions(variants, inputs)));
    }
    await timeAlternately(`batch ${batch} × ${length}`, sessions, inputs, 40);
  } finally {
    if (process.env.LEAN_KEEP) console.log(`rewritten graphs kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
