/**
 * Graph surgery for compensated models: kept blocks rewired with a bridge (MatMul + Add, over
 * the token or a 3-token window) in front of the blocks that follow a gap, and attention / FFN
 * sub-layers narrowed to their kept heads or neurons with a refitted output projection (head
 * Reshapes rewritten for the new head count). Inputs and outputs stay those of the source
 * graph unless the caller asks for inner tensors (calibration).
 */
import { BadInputError } from '../errors';
import { BlockStructure, recordBlocks } from '../onnx/blocks';
import { Rewiring, encoderOutputs, finishEdit, rewire, validateKept } from '../onnx/edit';
import { DataType, GraphEdit, NewInitializer, NewNode, NewValueInfo, OnnxModel, OnnxNode, OnnxValueInfo, floatInitializer, int64Initializer } from '../onnx/model';
import { findWordEmbedding } from '../onnx/vocab';
import { SublayerKind, SublayerSite, findSublayers, readFloat32 } from './structure';
import { EMBEDDING_OUTPUT, EmbeddingFactor, embeddingEdit, factorSaving } from './embedding';

/** Sizes the surgery needs: hidden size and attention heads of the source model. */
export interface EncoderShape {
  hidden: number;
  heads: number;
}

/**
 * y_t = [x_{t−1}, x_t, x_{t+1}]·w + b (window 3) or x_t·w + b (window 1), over the hidden size d:
 * w is (window·d)×d row-major (input-major). Neighbours outside the text (padding, sequence ends)
 * read zeros.
 */
export interface Bridge {
  w: Float32Array;
  b: Float32Array;
  window: 1 | 3;
}

/**
 * A sub-layer narrowed to `kept` units (heads or FFN neurons, sorted) with a refitted output
 * projection (kept.length·group × d, row-major) and bias.
 */
export interface Narrowing {
  kept: number[];
  out: Float32Array;
  outBias: Float32Array;
}

export interface CompensationPlan {
  kept: number[];
  /** Bridge read by kept block k (source numbering), fitted over the gap in front of it. */
  bridges: Map<number, Bridge>;
  /** Narrowed sub-layers, keyed `${kind}:${block}`. */
  narrow: Map<string, Narrowing>;
  /** The word-embedding table factorised to a low rank (absent: as it is). */
  embedding?: EmbeddingFactor;
}

export const COMPENSATION_METADATA = 'probescale.compensation';

export const narrowKey = (kind: SublayerKind, block: number) => `${kind}:${block}`;

export function emptyPlan(kept: number[]): CompensationPlan {
  return { kept, bridges: new Map(), narrow: new Map() };
}

/** Parameters of one unit of a sub-layer: its input-projection columns (and biases, where they have them), its output-projection row. */
export function unitParams(site: SublayerSite, hidden: number): number {
  return site.group * (site.inputs.reduce((n, p) => n + hidden + (p.bias ? 1 : 0), 0) + hidden);
}

/** Parameters a plan adds (bridges, the refit's bias of an output projection without one) or removes (heads, neurons, a factorised word table) relative to plain block dropping. */
export function planParamDelta(plan: CompensationPlan, hidden: number, site: (key: string) => SublayerSite): number {
  let d = 0;
  for (const br of plan.bridges.values()) d += br.window * hidden * hidden + hidden;
  for (const [key, n] of plan.narrow) {
    const s = site(key);
    d -= (s.width / s.group - n.kept.length) * unitParams(s, hidden);
    if (!s.output.bias) d += hidden;
  }
  if (plan.embedding) d -= factorSaving(plan.embedding.a.length / plan.embedding.rank, hidden, plan.embedding.rank);
  return d;
}

/**
 * The token window of a window-3 bridge: x masked by the attention mask, shifted one step each way
 * along the sequence (Pad + Slice) and concatenated with x on the hidden axis.
 */
function windowNodes(P: string, prev: string, mask: string): { nodes: NewNode[]; inits: NewInitializer[]; out: string } {
  const inits = [
    int64Initializer(`${P}/pad_left`, [0, 1, 0, 0, 0, 0]),
    int64Initializer(`${P}/pad_right`, [0, 0, 0, 0, 1, 0]),
    int64Initializer(`${P}/zero`, [0]),
    int64Initializer(`${P}/one`, [1]),
    int64Initializer(`${P}/minus_one`, [-1]),
    int64Initializer(`${P}/end`, [Number.MAX_SAFE_INTEGER]),
    int64Initializer(`${P}/axis1`, [1]),
    int64Initializer(`${P}/axis2`, [2]),
  ];
  const n = (name: string, opType: string, inputs: string[], attributes?: NewNode['attributes']): NewNode => ({ name: `${P}/${name}`, opType, inputs, outputs: [`${P}/${name}_output_0`], attributes });
  const nodes = [
    n('mask_f', 'Cast', [mask], { to: DataType.FLOAT }),
    n('mask_u', 'Unsqueeze', [`${P}/mask_f_output_0`, `${P}/axis2`]),
    n('masked', 'Mul', [prev, `${P}/mask_u_output_0`]),
    n('pad_l', 'Pad', [`${P}/masked_output_0`, `${P}/pad_left`]),
    n('left', 'Slice', [`${P}/pad_l_output_0`, `${P}/zero`, `${P}/minus_one`, `${P}/axis1`]),
    n('pad_r', 'Pad', [`${P}/masked_output_0`, `${P}/pad_right`]),
    n('right', 'Slice', [`${P}/pad_r_output_0`, `${P}/one`, `${P}/end`, `${P}/axis1`]),
    n('window', 'Concat', [`${P}/left_output_0`, prev, `${P}/right_output_0`], { axis: 2 }),
  ];
  return { nodes, inits, out: `${P}/window_output_0` };
}

/** The tensor a bridge into kept block k writes (what block k reads). */
export const bridgeOutput = (k: number) => `probescale/bridge.${k}/output`;

/** The tensor kept block k reads in the graph of `plan`: its bridge's output, or the previous kept block's output. */
export function blockEntry(model: OnnxModel, blocks: BlockStructure, plan: CompensationPlan, k: number): string {
  if (plan.bridges.has(k)) return bridgeOutput(k);
  const j = plan.kept.indexOf(k);
  return j <= 0 ? embeddedState(model, blocks, plan) : blocks.hiddenOut[plan.kept[j - 1]];
}

/**
 * The state entering the blocks in the graph of `plan`. Where the first block reads the word lookup
 * itself (T5: no embedding sum or norm in between), a factorised table's lookup is rank-wide and the
 * state is its up-projection; elsewhere the lookup feeds a sum and norm, and the state is the graph's own.
 */
export function embeddedState(model: OnnxModel, blocks: BlockStructure, plan: CompensationPlan): string {
  const entry = blocks.hiddenIn[0];
  return plan.embedding && findWordEmbedding(model).node.outputs[0] === entry ? EMBEDDING_OUTPUT : entry;
}

function bridgeNodes(k: number, prev: string, br: Bridge, hidden: number, mask: string): { nodes: NewNode[]; inits: NewInitializer[]; out: string } {
  if (br.w.length !== br.window * hidden * hidden || br.b.length !== hidden) throw new BadInputError(`bridge into block ${k}: expected a ${br.window * hidden}×${hidden} map and ${hidden} biases.`);
  const P = `probescale/bridge.${k}`;
  const win = br.window === 3 ? windowNodes(P, prev, mask) : { nodes: [], inits: [], out: prev };
  const inits = [
    ...win.inits,
    { name: `${P}/weight`, dataType: DataType.FLOAT, dims: [br.window * hidden, hidden], data: Buffer.from(br.w.buffer, br.w.byteOffset, br.w.byteLength) },
    { name: `${P}/bias`, dataType: DataType.FLOAT, dims: [hidden], data: Buffer.from(br.b.buffer, br.b.byteOffset, br.b.byteLength) },
  ];
  const nodes: NewNode[] = [
    ...win.nodes,
    { name: `${P}/MatMul`, opType: 'MatMul', inputs: [win.out, `${P}/weight`], outputs: [`${P}/MatMul_output_0`] },
    { name: `${P}/Add`, opType: 'Add', inputs: [`${P}/MatMul_output_0`, `${P}/bias`], outputs: [bridgeOutput(k)] },
  ];
  return { nodes, inits, out: bridgeOutput(k) };
}

/** Columns `cols` of a rows×cols row-major matrix. */
function takeColumns(a: Float32Array, rows: number, cols: number, keep: number[]): Float32Array {
  const out = new Float32Array(rows * keep.length);
  for (let r = 0; r < rows; r++) keep.forEach((c, j) => (out[r * keep.length + j] = a[r * cols + c]));
  return out;
}

function f32Init(name: string, a: Float32Array, dims: number[]): NewInitializer {
  return { name, dataType: DataType.FLOAT, dims, data: Buffer.from(a.buffer, a.byteOffset, a.byteLength) };
}

/** Column indices of units `kept` of `group` columns each. */
export function unitColumns(kept: number[], group: number): number[] {
  return kept.flatMap((u) => Array.from({ length: group }, (_, i) => u * group + i));
}

/**
 * New initializers replacing a narrowed sub-layer's weights (same names, new shapes). An output
 * projection without a bias of its own (T5) gets the refit's bias as a new Add between it and the
 * residual Add.
 */
function narrowedWeights(rw: Rewiring, model: OnnxModel, site: SublayerSite, n: Narrowing, hidden: number): { inits: NewInitializer[]; nodes: NewNode[] } {
  const cols = unitColumns(n.kept, site.group);
  const m = cols.length;
  if (m === 0) throw new BadInputError(`block ${site.block}: a ${site.kind} sub-layer must keep at least one unit.`);
  if (n.out.length !== m * hidden || n.outBias.length !== hidden) throw new BadInputError(`${site.kind} width plan of block ${site.block}: output projection must be ${m}×${hidden}.`);
  const inits: NewInitializer[] = [];
  for (const p of site.inputs) {
    inits.push(f32Init(p.weight.name, takeColumns(readFloat32(model, p.weight), hidden, site.width, cols), [hidden, m]));
    if (p.bias) {
      const bias = readFloat32(model, p.bias);
      inits.push(floatInitializer(p.bias.name, cols.map((j) => bias[j]), [m]));
    }
  }
  inits.push(f32Init(site.output.weight.name, n.out, [m, hidden]));
  if (site.output.bias) return { inits: [...inits, f32Init(site.output.bias.name, n.outBias, [hidden])], nodes: [] };
  const P = `probescale/${site.kind}.${site.block}`;
  renameInput(rw, site.sumNode, site.outputTensor, `${P}/output_bias_output_0`);
  return {
    inits: [...inits, f32Init(`${P}/output_bias`, n.outBias, [hidden])],
    nodes: [{ name: `${P}/Add_output_bias`, opType: 'Add', inputs: [site.outputTensor, `${P}/output_bias`], outputs: [`${P}/output_bias_output_0`] }],
  };
}

/** Head Reshapes read new shapes: [0, 0, heads, hd] to split, [0, 0, heads·hd] to merge (0 copies the batch and sequence dims). */
function renameInput(rw: Rewiring, node: OnnxNode, from: string, to: string): void {
  let m = rw.renames.get(node);
  if (!m) rw.renames.set(node, (m = new Map()));
  m.set(from, to);
}

function reshapeRenames(rw: Rewiring, site: SublayerSite, heads: number): NewInitializer[] {
  if (!site.mergeReshape) return [];
  const P = `probescale/heads.${site.block}`;
  const rename = (node: OnnxNode, to: string) => renameInput(rw, node, node.inputs[1], to);
  for (const r of site.splitReshapes) rename(r, `${P}/split_shape`);
  rename(site.mergeReshape, `${P}/merge_shape`);
  return [int64Initializer(`${P}/split_shape`, [0, 0, heads, site.group]), int64Initializer(`${P}/merge_shape`, [0, 0, heads * site.group])];
}

/** Per-head score terms (MPNet's position bias) read through a Gather of the kept heads on axis 1. */
function headTermNodes(rw: Rewiring, site: SublayerSite, kept: number[]): { nodes: NewNode[]; inits: NewInitializer[] } {
  if (site.headTerms.length === 0) return { nodes: [], inits: [] };
  const P = `probescale/heads.${site.block}`;
  const nodes = site.headTerms.map(({ node, input }, i): NewNode => {
    const out = `${P}/head_term_${i}`;
    renameInput(rw, node, input, out);
    return { name: `${P}/Gather_head_term_${i}`, opType: 'Gather', inputs: [input, `${P}/kept_heads`], outputs: [out], attributes: { axis: 1 } };
  });
  return { nodes, inits: [int64Initializer(`${P}/kept_heads`, kept)] };
}

function maskInput(model: OnnxModel): string {
  const m = model.runtimeInputs.find((i) => i.name === 'attention_mask');
  if (!m) throw new BadInputError(`${model.src.label}: a window bridge needs the attention_mask input, which this graph lacks.`);
  return m.name;
}

/**
 * The edit that realises `plan`. `outputs` defaults to the source graph's outputs; calibration
 * passes inner tensors (e.g. the tensor entering a gap) to read them, and may feed the inner
 * tensor `cut` ([batch, sequence, hidden]) as an input so that only the graph after it runs.
 */
export function compensatedEdit(model: OnnxModel, blocks: BlockStructure, plan: CompensationPlan, shape: EncoderShape, outputs?: string[], cut?: string): GraphEdit {
  const { hidden } = shape;
  const sites = (b: number) => findSublayers(model, blocks, b, hidden, shape.heads);
  const kept = validateKept(plan.kept, blocks.numBlocks);
  const extra: NewNode[] = [];
  const inits: NewInitializer[] = [];
  const rw = rewire(
    model,
    blocks,
    kept,
    (k, prev) => {
      const br = plan.bridges.get(k);
      if (!br) return prev;
      const b = bridgeNodes(k, prev, br, hidden, maskInput(model));
      extra.push(...b.nodes);
      inits.push(...b.inits);
      return b.out;
    },
    embeddedState(model, blocks, plan),
  );
  const replaced = new Set<string>();
  for (const [key, n] of plan.narrow) {
    const [kind, b] = key.split(':');
    if (!kept.includes(Number(b))) throw new BadInputError(`width plan for block ${b}, which is not kept (${kept.join(',')}).`);
    const site = sites(Number(b))[kind as SublayerKind];
    const w = narrowedWeights(rw, model, site, n, hidden);
    for (const t of w.inits) {
      inits.push(t);
      replaced.add(t.name);
    }
    extra.push(...w.nodes);
    inits.push(...reshapeRenames(rw, site, n.kept.length));
    const terms = headTermNodes(rw, site, n.kept);
    extra.push(...terms.nodes);
    inits.push(...terms.inits);
  }
  if (plan.embedding) {
    const e = embeddingEdit(model, plan.embedding);
    extra.push(...e.nodes);
    for (const t of e.inits) {
      inits.push(t);
      replaced.add(t.name);
    }
    for (const [node, from, to] of e.renames) renameInput(rw, node, from, to);
  }
  const enc = encoderOutputs(model, blocks, rw.lastHidden, kept);
  const outs: (OnnxValueInfo | NewValueInfo)[] = outputs ? outputs.map((name) => ({ name, elemType: DataType.FLOAT, shape: ['batch', 'sequence', 'width'] })) : enc.outputs;
  const fed = cut ? [{ name: cut, elemType: DataType.FLOAT, shape: ['batch', 'sequence', hidden] }] : [];
  const edit = finishEdit(model, rw, outputs ? extra : [...extra, ...enc.nodes], outs, inits, fed);
  const keepInit = edit.keepInitializer!;
  edit.keepInitializer = (name) => !replaced.has(name) && keepInit(name);
  // Blocks are recorded as plain pruning records them: block j's input is block j−1's output, and a
  // bridge between them lies outside every block, so re-probing or re-pruning the graph keeps it.
  // The state entering them is the factorised table's up-projection where T5 reads the lookup itself
  // (recorded as the rank-wide lookup, re-probing the committed folder failed in ONNX Runtime).
  edit.metadata = { ...recordBlocks(blocks, kept, embeddedState(model, blocks, plan)), [COMPENSATION_METADATA]: JSON.stringify(describePlan(plan)) };
  return edit;
}

export function describePlan(plan: CompensationPlan): { bridges: number[]; width: Record<string, number>; embeddingRank?: number } {
  return { bridges: [...plan.bridges.keys()], width: Object.fromEntries([...plan.narrow].map(([k, n]) => [k, n.kept.length])), ...(plan.embedding ? { embeddingRank: plan.embedding.rank } : {}) };
}
