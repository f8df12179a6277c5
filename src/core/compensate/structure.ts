/**
 * What width pruning needs to know about a block's two sub-layers, found by shape:
 *   attention: x → Q,K,V (d→inner MatMul [+ bias], reshaped to heads) → … → merge Reshape → O (inner→d) [+ bias] → + x
 *   FFN:       x → up (d→ff) [+ bias] → activation [· gate (d→ff)] → down (ff→d) [+ bias] → + x
 * BERT-style blocks have biases and a LayerNorm after each residual Add; T5 blocks have none,
 * an RMSNorm in front of each sub-layer, inner = heads × d_kv (not always d) and, in T5 v1.1 and
 * flan-T5, a gated FFN (two up projections). Each sub-layer is "input projections whose output
 * columns come in groups (heads of hd columns, or single neurons) → activations → output
 * projection"; plus reading float32 weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnsupportedModelError } from '../errors';
import { BlockStructure } from '../onnx/blocks';
import { DataType, OnnxInitializer, OnnxModel, OnnxNode } from '../onnx/model';

export type SublayerKind = 'attention' | 'ffn';

export interface Projection {
  weight: OnnxInitializer;
  /** Absent where the Linear has none (T5). */
  bias?: OnnxInitializer;
}

export interface SublayerSite {
  kind: SublayerKind;
  block: number;
  /** Projections whose output columns are narrowed (Q, K, V; or the FFN's up projection). */
  inputs: Projection[];
  /** The output projection, whose input rows are narrowed and refitted. */
  output: Projection;
  /** Input of the output projection: the activations a (tokens × width). */
  activations: string;
  /** The residual Add: its output is the pre-LayerNorm sum, `residual` its other input. */
  sum: string;
  residual: string;
  /** The residual Add node, and the tensor the output projection gives it (where a refit without a bias of its own adds one). */
  sumNode: OnnxNode;
  outputTensor: string;
  width: number;
  /** Columns per prunable unit: the head size for attention, 1 for FFN neurons. */
  group: number;
  /** Attention only: Reshapes to heads (shape [0, 0, heads, hd]) and the merge back (shape [0, 0, heads·hd]). */
  splitReshapes: OnnxNode[];
  mergeReshape: OnnxNode | null;
  /** Attention only: per-head terms added to the scores from outside the narrowed path (MPNet's relative position bias, [batch, heads, length, length]): `node` reads `input`, whose axis 1 holds the heads. */
  headTerms: { node: OnnxNode; input: string }[];
}

/** Refuses models compensation cannot rewrite (quantized graphs), naming what works instead. */
export function checkCompensable(quantized: boolean): void {
  if (quantized) throw new UnsupportedModelError('compensation rewrites float weights and this graph is quantized. Compensate the float model (onnx/model.onnx); the committed folder then holds the compensated float graph and, when the source has a quantized variant, its int8 quantization (onnx/model_quantized.onnx).');
}

interface Linear {
  mm: OnnxNode;
  proj: Projection;
  out: string;
}

/**
 * The graph seen through Identity nodes (how shared weights export, and what graph tools leave):
 * `source(t)` is the tensor t copies, `readers(t)` the other nodes that read t or a copy of it.
 * Written for this matcher because it only ever reads; the surgery replaces initializers by name
 * and renames Reshape inputs, which stays right whichever copy a node reads.
 */
interface Aliased {
  source(t: string): string;
  readers(t: string): OnnxNode[];
}

function aliased(model: OnnxModel): Aliased {
  const copyOf = new Map<string, string>();
  const readersOf = new Map<string, OnnxNode[]>();
  for (const n of model.nodes) {
    if (n.opType === 'Identity' && n.domain === '' && n.inputs[0] && n.outputs[0]) copyOf.set(n.outputs[0], n.inputs[0]);
  }
  const source = (t: string) => {
    for (let i = 0; i <= copyOf.size && copyOf.has(t); i++) t = copyOf.get(t)!;
    return t;
  };
  for (const n of model.nodes) {
    if (copyOf.has(n.outputs[0]) && n.opType === 'Identity') continue;
    for (const t of new Set(n.inputs.filter(Boolean).map(source))) {
      let r = readersOf.get(t);
      if (!r) readersOf.set(t, (r = []));
      r.push(n);
    }
  }
  return { source, readers: (t) => readersOf.get(source(t)) ?? [] };
}

/** A tensor that holds a fixed value: an initializer or a Constant node's output. */
function isConstant(model: OnnxModel, al: Aliased, t: string): boolean {
  const src = al.source(t);
  return model.initializers.has(src) || model.nodes.some((n) => n.opType === 'Constant' && n.outputs[0] === src);
}

function linearsOf(model: OnnxModel, al: Aliased, inBlock: OnnxNode[], b: number): Linear[] {
  const res: Linear[] = [];
  for (const mm of inBlock) {
    const w = model.initializers.get(al.source(mm.inputs[1] ?? ''));
    if (mm.opType !== 'MatMul' || !w || w.dims.length !== 2) continue;
    // A bias is an Add of a constant; an Add of a computed tensor (T5's residual) or no Add at all means none.
    const add = al.readers(mm.outputs[0]).find((m) => m.opType === 'Add' && inBlock.includes(m) && m.inputs.some((t) => al.source(t) !== mm.outputs[0] && isConstant(model, al, t)));
    const biasName = add?.inputs.map((t) => al.source(t)).find((t) => t !== mm.outputs[0]);
    const bias = biasName === undefined ? undefined : model.initializers.get(biasName);
    if (add && (!bias || bias.dims.length !== 1 || bias.dims[0] !== w.dims[1])) throw new UnsupportedModelError(`block ${b}: ${mm.name} is followed by an Add of ${biasName}, which is not a bias of its ${w.dims[1]} outputs; width pruning needs Linear layers with a bias vector or none.`);
    // The same projection (weight and bias) applied to another input in the block (DeBERTa's query
    // and key projections also project the relative position embeddings): narrowed together, as one.
    const biasOf = (m: OnnxNode) => {
      const a = al.readers(m.outputs[0]).find((n) => n.opType === 'Add' && inBlock.includes(n) && n.inputs.some((t) => al.source(t) !== m.outputs[0] && isConstant(model, al, t)));
      return a?.inputs.map((t) => al.source(t)).find((t) => t !== m.outputs[0]);
    };
    const twins = inBlock.filter((m) => m !== mm && m.opType === 'MatMul' && al.source(m.inputs[1] ?? '') === w.name && al.source(m.inputs[0] ?? '') !== al.source(mm.inputs[0] ?? '') && biasOf(m) === biasName);
    const twinAdd = (n: OnnxNode) => n.opType === 'Add' && inBlock.includes(n) && twins.some((m) => n.inputs.some((t) => al.source(t) === m.outputs[0]));
    for (const t of bias ? [w, bias] : [w]) {
      const other = al.readers(t.name).find((n) => n !== mm && n !== add && !twins.includes(n) && !twinAdd(n));
      if (other) throw new UnsupportedModelError(`block ${b}: ${t.name}, read by ${mm.name || '(unnamed)'}, is also read by ${other.opType} ${other.name || '(unnamed)'}; width pruning narrows it, which would change that node too. Export the model without shared weights, or use {{compensate}} bridge.`);
    }
    res.push({ mm, proj: bias ? { weight: w, bias } : { weight: w }, out: add ? add.outputs[0] : mm.outputs[0] });
  }
  return res;
}

/**
 * The residual Add after output projection `out`. Its other input must be what the sub-layer's input
 * projection (`first`) reads, or what that is computed from in the block (T5's norm in front):
 * the refit's target is residual + sub-layer, and the fits feed the residual as the state there.
 */
function residualOf(al: Aliased, inBlock: OnnxNode[], out: Linear, first: Linear, b: number): { sum: string; residual: string; sumNode: OnnxNode; outputTensor: string } {
  const res = al.readers(out.out).find((m) => m.opType === 'Add' && inBlock.includes(m));
  if (!res) throw new UnsupportedModelError(`block ${b}: no residual Add after ${out.mm.name}.`);
  const residual = res.inputs.find((t) => al.source(t) !== out.out)!;
  if (!computedFrom(al, inBlock, first.mm.inputs[0], residual)) {
    throw new UnsupportedModelError(`block ${b}: the residual Add ${res.name || '(unnamed)'} after ${out.mm.name || '(unnamed)'} adds ${residual}, which ${first.mm.name || '(unnamed)'}'s input is not computed from; width pruning refits a sub-layer against its input + output. Re-export the model (optimum-cli export onnx), or use {{compensate}} bridge.`);
  }
  return { sum: res.outputs[0], residual, sumNode: res, outputTensor: res.inputs.find((t) => al.source(t) === out.out)! };
}

/** Whether tensor `t` is `from` or computed from it by nodes of the block. */
function computedFrom(al: Aliased, inBlock: OnnxNode[], t: string, from: string): boolean {
  const producer = new Map(inBlock.flatMap((n) => n.outputs.map((o): [string, OnnxNode] => [o, n])));
  const target = al.source(from);
  const seen = new Set<string>();
  for (const stack = [al.source(t)]; stack.length; ) {
    const x = stack.pop()!;
    if (x === target) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    stack.push(...(producer.get(x)?.inputs.filter(Boolean).map((i) => al.source(i)) ?? []));
  }
  return false;
}

/** com.microsoft ops of ONNX Runtime's transformer optimizer that absorb the MatMuls or bias Adds width pruning rewrites. */
const FUSED_SUBLAYER = new Set(['Attention', 'MultiHeadAttention', 'SkipLayerNormalization', 'BiasGelu']);

/** The attention and FFN sub-layers of block `b` (`heads`: the model's attention head count). */
export function findSublayers(model: OnnxModel, blocks: BlockStructure, b: number, hidden: number, heads: number): Record<SublayerKind, SublayerSite> {
  const inBlock = model.nodes.filter((_, i) => blocks.blockOf[i] === b);
  try {
    return sublayersOf(model, blocks, inBlock, b, hidden, heads);
  } catch (e) {
    if (!(e instanceof UnsupportedModelError)) throw e;
    const fused = inBlock.find((n) => n.domain === 'com.microsoft' && (FUSED_SUBLAYER.has(n.opType) || (n.opType === 'FastGelu' && n.inputs.length > 1)));
    if (!fused) throw e;
    throw new UnsupportedModelError(
      `block ${b} holds the com.microsoft ${fused.opType} node ${fused.name || '(unnamed)'} (fused by ONNX Runtime's transformer optimizer, as optimum-cli export onnx --optimize O2–O4 does); width pruning rewrites the unfused Q, K, V, output and FFN MatMuls and their bias Adds. Export the model without --optimize (or point --onnx at the unoptimized graph), or use {{compensate}} bridge.`,
    );
  }
}

function sublayersOf(model: OnnxModel, blocks: BlockStructure, inBlock: OnnxNode[], b: number, hidden: number, heads: number): Record<SublayerKind, SublayerSite> {
  const al = aliased(model);
  const lin = linearsOf(model, al, inBlock, b);
  const dims = (l: Linear) => l.proj.weight.dims;
  const reshapes = inBlock.filter((n) => n.opType === 'Reshape');
  // O reads the head merge; Q, K and V each feed a head split. Their inner width is heads × head size (T5: d_kv, not always d / heads).
  const o = lin.find((l) => dims(l)[1] === hidden && reshapes.some((n) => n.outputs[0] === al.source(l.mm.inputs[0])));
  const inner = o ? dims(o)[0] : hidden;
  const projections = lin.filter((l) => l !== o && dims(l)[0] === hidden && dims(l)[1] === inner && reshapes.some((n) => al.source(n.inputs[0]) === l.out));
  const { qkv, positions } = contentAndPositions(al, projections);
  const rest = lin.filter((l) => l !== o && !projections.includes(l));
  const down = rest.find((l) => dims(l)[1] === hidden);
  // One up projection, or two where the FFN is gated (T5 v1.1: act(wi_0 x) · wi_1 x).
  const ups = down ? rest.filter((l) => l !== down && dims(l)[0] === hidden && dims(l)[1] === dims(down)[0]) : [];
  if (!down || !o || qkv.length !== 3 || inner % heads !== 0 || ups.length < 1 || ups.length > 2 || rest.length !== ups.length + 1) {
    throw new UnsupportedModelError(`block ${b}: expected Q, K, V (${hidden}×inner) and output (inner×${hidden}) MatMuls and an unfused FFN (one or two up projections and a down projection) with weights as initializers; width pruning cannot rewrite this graph (fused attention or quantized?). Use the float export without fused kernels.`);
  }
  const splits = reshapes.filter((n) => projections.some((l) => l.out === al.source(n.inputs[0])));
  if (splits.length !== projections.length) throw new UnsupportedModelError(`block ${b}: expected one head Reshape after each of Q, K and V${positions.length ? ' and the position projections' : ''}, found ${splits.length}.`);
  const merge = reshapes.find((n) => n.outputs[0] === al.source(o.mm.inputs[0]))!;
  checkHeadLayout(model, al, inBlock, splits, merge, b);
  checkHeadCount(model, al, inBlock, splits, heads, inner / heads, b);
  const attentionPath = checkNarrowedReaders(model, al, inBlock, projections, o, b, splits);
  checkNarrowedReaders(model, al, inBlock, ups, down, b, []);
  const ffWidth = dims(down)[0];
  return {
    attention: { kind: 'attention', block: b, inputs: distinct(projections.map((l) => l.proj)), output: o.proj, activations: o.mm.inputs[0], ...residualOf(al, inBlock, o, qkv[0], b), width: inner, group: inner / heads, splitReshapes: splits, mergeReshape: merge, headTerms: headTermsOf(model, al, attentionPath, stateTensors(blocks), heads, b) },
    ffn: { kind: 'ffn', block: b, inputs: ups.map((l) => l.proj), output: down.proj, activations: down.mm.inputs[0], ...residualOf(al, inBlock, down, ups[0], b), width: ffWidth, group: 1, splitReshapes: [], mergeReshape: null, headTerms: [] },
  };
}

/**
 * Q, K and V read one tensor (the block's state, or its norm); DeBERTa's position projections (its
 * query and key projections applied to the relative position embeddings, or pos_query_proj and
 * pos_key_proj) read another, and are split into heads as K is. Anything else is not an attention
 * width pruning knows: the caller refuses it.
 */
function contentAndPositions(al: Aliased, projections: Linear[]): { qkv: Linear[]; positions: Linear[] } {
  const byInput = new Map<string, Linear[]>();
  for (const l of projections) byInput.set(al.source(l.mm.inputs[0]), [...(byInput.get(al.source(l.mm.inputs[0])) ?? []), l]);
  const groups = [...byInput.values()].sort((x, y) => y.length - x.length);
  const [qkv = [], positions = []] = groups;
  return groups.length <= 2 && qkv.length === 3 && positions.length <= 2 ? { qkv, positions } : { qkv: projections, positions: [] };
}

/** Each projection once, however many MatMuls read its weight. */
function distinct(projections: Projection[]): Projection[] {
  return projections.filter((p, i) => projections.findIndex((q) => q.weight.name === p.weight.name) === i);
}

/** The hidden states between blocks, where a search for what feeds a sub-layer from outside it stops. */
function stateTensors(blocks: BlockStructure): Set<string> {
  return new Set([...blocks.hiddenIn, ...blocks.hiddenOut, blocks.embeddingOutput]);
}

/**
 * Width pruning narrows every tensor on the path from a sub-layer's input projections to its output
 * projection. A node off that path reading one (a hand edit, another tool) would get the narrowed
 * tensor, so it is refused, naming both. A copy returned as a graph output (an export with
 * output_attentions) has no reader and stays: it returns the kept heads. So do reads that only
 * measure a dimension narrowing leaves alone (T5's export takes the key length from K's heads).
 */
function checkNarrowedReaders(model: OnnxModel, al: Aliased, inBlock: OnnxNode[], inputs: Linear[], output: Linear, b: number, splits: OnnxNode[]): NarrowedPath {
  const producer = new Map(inBlock.flatMap((n) => n.outputs.map((o): [string, OnnxNode] => [o, n])));
  const starts = new Set(inputs.map((l) => l.mm));
  const between = new Set<OnnxNode>();
  for (const stack = [al.source(output.mm.inputs[0])]; stack.length; ) {
    const p = producer.get(stack.pop()!);
    if (!p || between.has(p)) continue;
    between.add(p);
    // A Shape read passes on no values: what it measures is checked below, not narrowed.
    if (!starts.has(p) && !SHAPE_READS.has(p.opType)) stack.push(...p.inputs.filter(Boolean).map((t) => al.source(t)));
  }
  const narrowed = new Set<string>();
  const path = new Set<OnnxNode>();
  // Where each narrowed tensor's narrowed axis lies (of how many): last of a projection's [batch, length, width]
  // output, the heads axis after a split, moved by Transposes, kept by everything else on the path.
  const axisOf = new Map<string, { axis: number; rank: number }>();
  for (const n of inBlock) {
    if (!starts.has(n) && !(between.has(n) && !SHAPE_READS.has(n.opType) && n.inputs.some((t) => narrowed.has(al.source(t))))) continue;
    path.add(n);
    const from = n.inputs.map((t) => axisOf.get(al.source(t))).find(Boolean);
    const perm = n.opType === 'Transpose' && from ? (model.intsAttribute(n, 'perm') ?? Array.from({ length: from.rank }, (_, i) => from.rank - 1 - i)) : null;
    const at = starts.has(n) ? { axis: 2, rank: 3 } : splits.includes(n) ? { axis: 2, rank: 4 } : n.opType === 'Reshape' ? { axis: 2, rank: 3 } : perm && from ? { axis: perm.indexOf(from.axis), rank: from.rank } : from;
    n.outputs.forEach((o) => {
      if (!o) return;
      narrowed.add(o);
      if (at) axisOf.set(o, at);
    });
  }
  for (const t of narrowed) {
    const other = al.readers(t).find((r) => !path.has(r) && r !== output.mm && !(axisOf.has(t) && (measuresOnly(model, al, r, axisOf.get(t)!) || sizesGatherIndices(model, al, r, path, axisOf))));
    if (other) {
      throw new UnsupportedModelError(
        `block ${b}: ${t}, which width pruning narrows (on the path from ${inputs[0].mm.name || '(unnamed)'} to ${output.mm.name || '(unnamed)'}), is also read by ${other.opType} ${other.name || '(unnamed)'}, which would then get the narrowed tensor. Re-export the model (optimum-cli export onnx), or use {{compensate}} bridge.`,
      );
    }
  }
  return { path, narrowed };
}

/**
 * Whether `reader` only measures its input (through Transposes, then a Shape whose entries are read
 * by Gathers of constant indices) and never the narrowed axis, so that narrowing changes nothing it
 * computes.
 */
function measuresOnly(model: OnnxModel, al: Aliased, reader: OnnxNode, { axis, rank }: { axis: number; rank: number }, depth = 0): boolean {
  if (reader.domain !== '' || depth > 8) return false;
  const readers = al.readers(reader.outputs[0]);
  if (reader.opType === 'Transpose') {
    const perm = model.intsAttribute(reader, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    return readers.length > 0 && readers.every((r) => measuresOnly(model, al, r, { axis: perm.indexOf(axis), rank }, depth + 1));
  }
  if (reader.opType !== 'Shape' || model.intAttribute(reader, 'start') !== undefined || model.intAttribute(reader, 'end') !== undefined) return false;
  return readers.every((g) => {
    const idx = g.opType === 'Gather' && g.domain === '' && al.source(g.inputs[0]) === reader.outputs[0] ? model.intValues(al.source(g.inputs[1])) : undefined;
    return idx !== undefined && idx.every((i) => (i < 0 ? i + rank : i) !== axis);
  });
}

/**
 * Whether `reader` is a Shape whose result only sizes Expands of the indices of GatherElements on
 * the narrowed path, gathering along another axis than the heads: the indices then take the kept
 * heads with the data they index (DeBERTa's content→position and position→content gathers).
 */
function sizesGatherIndices(model: OnnxModel, al: Aliased, reader: OnnxNode, path: Set<OnnxNode>, axisOf: Map<string, { axis: number; rank: number }>): boolean {
  if (reader.opType !== 'Shape' || reader.domain !== '' || model.intAttribute(reader, 'start') !== undefined || model.intAttribute(reader, 'end') !== undefined) return false;
  const expands = al.readers(reader.outputs[0]);
  return (
    expands.length > 0 &&
    expands.every((e) => {
      const gathers = e.opType === 'Expand' && e.domain === '' && al.source(e.inputs[1] ?? '') === reader.outputs[0] ? al.readers(e.outputs[0]) : [];
      return (
        gathers.length > 0 &&
        gathers.every((g) => {
          const at = axisOf.get(al.source(g.inputs[0]));
          const axis = model.intAttribute(g, 'axis') ?? 0;
          return g.opType === 'GatherElements' && g.domain === '' && path.has(g) && al.source(g.inputs[1]) === e.outputs[0] && at !== undefined && (axis < 0 ? axis + at.rank : axis) !== at.axis;
        })
      );
    })
  );
}

interface NarrowedPath {
  /** The nodes whose outputs narrowing changes, and those outputs. */
  path: Set<OnnxNode>;
  narrowed: Set<string>;
}

/**
 * Terms an attention path combines with its scores per head, made outside the path. Found by where
 * they come from: a float table with a column per head among the term's ancestors (MPNet's
 * relative_attention_bias, [buckets, heads], read outside the blocks; T5's, read in block 0 and
 * shared by every block). The search stops at the hidden states between blocks and at Shape reads,
 * which pass on no values. The padding mask ([batch, 1, 1, length]) comes from no such table and
 * broadcasts over any number of heads, so it is left alone.
 */
function headTermsOf(model: OnnxModel, al: Aliased, { path, narrowed }: NarrowedPath, states: Set<string>, heads: number, b: number): { node: OnnxNode; input: string }[] {
  const producer = new Map(model.nodes.flatMap((n) => n.outputs.map((o): [string, OnnxNode] => [o, n])));
  const perHead = (t: string): boolean => {
    const seen = new Set<string>();
    for (const stack = [al.source(t)]; stack.length; ) {
      const x = stack.pop()!;
      if (seen.has(x) || states.has(x)) continue;
      seen.add(x);
      const init = model.initializers.get(x);
      if (init) {
        if (init.dataType === DataType.FLOAT && init.dims.length === 2 && init.dims[1] === heads && heads > 1) return true;
        continue;
      }
      const p = producer.get(x);
      if (p && !SHAPE_READS.has(p.opType)) stack.push(...p.inputs.filter(Boolean).map((i) => al.source(i)));
    }
    return false;
  };
  const terms: { node: OnnxNode; input: string }[] = [];
  for (const n of path) {
    if (!n.inputs.some((t) => narrowed.has(al.source(t)))) continue;
    for (const t of n.inputs) {
      if (!t || narrowed.has(al.source(t)) || !perHead(t)) continue;
      // Elementwise with broadcasting, the kept heads' columns give the kept heads' result; what else a node does with it is unknown.
      if (!ELEMENTWISE.has(n.opType) || n.domain !== '') {
        throw new UnsupportedModelError(`block ${b}: ${n.opType} ${n.name || '(unnamed)'} reads ${t}, a tensor with a column per attention head (from a table of ${heads} columns), where width pruning knows how to cut the heads only for elementwise operators (Add, Mul, …). Re-export the model (optimum-cli export onnx), or use {{compensate}} bridge.`);
      }
      terms.push({ node: n, input: t });
    }
  }
  return terms;
}

const SHAPE_READS = new Set(['Shape', 'Size']);

/** Operators that combine tensors element by element (with broadcasting), so a per-head operand can be cut to the kept heads. */
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Where', 'Equal', 'Less', 'Greater', 'And', 'Or']);

/** Transpose perms after the head split: Q and V to [batch, heads, length, size], K to [batch, heads, size, length]. */
const SPLIT_PERMS = ['0,2,1,3', '0,2,3,1'];

/**
 * The surgery rewrites the head Reshapes to [0, 0, heads, size] and [0, 0, heads·size], which is
 * right only where heads sit on axis 2 after the split and are moved back there before the merge,
 * as exporters write attention. Any other layout (a hand edit, another tool) is refused, not
 * rewritten into a graph that computes something else. A split may be read by more than one such
 * Transpose (T5's export reads K twice, once only to measure its length).
 */
function checkHeadLayout(model: OnnxModel, al: Aliased, inBlock: OnnxNode[], splits: OnnxNode[], merge: OnnxNode, b: number): void {
  const perm = (n: OnnxNode | undefined) => (n?.opType === 'Transpose' ? (model.intsAttribute(n, 'perm') ?? []).join(',') : null);
  const permWords = (p: string | null) => (p === null ? '' : p === '' ? ' with no perm (all axes reversed)' : ` with perm [${p.replace(/,/g, ', ')}]`);
  const describe = (n: OnnxNode | undefined) => (n ? `${n.opType} ${n.name || '(unnamed)'}${permWords(perm(n))}` : 'nothing');
  for (const s of splits) {
    const next = al.readers(s.outputs[0]).filter((n) => inBlock.includes(n));
    if (next.length === 0 || !next.every((n) => SPLIT_PERMS.includes(perm(n) ?? ''))) {
      throw new UnsupportedModelError(`block ${b}: the head split ${s.name || '(unnamed)'} is read by ${next.map(describe).join(', ') || 'nothing'}, where width pruning expects Transposes with perm [0, 2, 1, 3] (or [0, 2, 3, 1] for K), as exporters write attention. Re-export the model (optimum-cli export onnx), or use {{compensate}} bridge.`);
    }
  }
  const before = inBlock.find((n) => n.outputs.includes(al.source(merge.inputs[0])));
  if (perm(before) !== '0,2,1,3') {
    throw new UnsupportedModelError(`block ${b}: the head merge ${merge.name || '(unnamed)'} reads ${describe(before)}, where width pruning expects a Transpose with perm [0, 2, 1, 3], as exporters write attention. Re-export the model (optimum-cli export onnx), or use {{compensate}} bridge.`);
  }
}

/**
 * The surgery cuts heads of `size` columns, `heads` of them as config.json says. Where a head split's
 * target shape is written in the graph (a constant [batch, length, heads, size], or a Concat whose
 * last two entries are constants, as exporters write it), it must say the same: otherwise cutting
 * "heads" would cut across the graph's real heads and compute another function, unsaid.
 */
function checkHeadCount(model: OnnxModel, al: Aliased, inBlock: OnnxNode[], splits: OnnxNode[], heads: number, size: number, b: number): void {
  for (const s of splits) {
    const target = al.source(s.inputs[1] ?? '');
    const concat = inBlock.find((n) => n.opType === 'Concat' && n.outputs[0] === target);
    const shape = concat ? (concat.inputs.length === 4 ? concat.inputs.slice(2).map((t) => model.intValues(al.source(t))) : []) : [model.intValues(target)?.slice(2)];
    const written = shape.every((v) => v !== undefined) ? shape.flatMap((v) => v!) : [];
    if (written.length !== 2) continue;
    // Exporters write −1 (or 0) for the count Reshape infers: only the entries given are compared.
    const [h, hd] = written;
    if ((h > 0 && h !== heads) || (hd > 0 && hd !== size)) {
      const graph = h > 0 && hd > 0 ? `${h} heads of ${hd} columns` : hd > 0 ? `heads of ${hd} columns` : `${h} heads`;
      throw new UnsupportedModelError(`block ${b}: the graph's head split ${s.name || '(unnamed)'} makes ${graph}, but config.json says ${heads} heads (of ${size} columns); width pruning would cut across the graph's heads. Fix config.json's head count (num_attention_heads, n_heads or num_heads) to the graph's, or use {{compensate}} bridge.`);
    }
  }
}

/** A float32 initializer's values (inline raw_data or external data). */
export function readFloat32(model: OnnxModel, t: OnnxInitializer): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new UnsupportedModelError(`${t.name} has element type ${t.dataType}; compensation reads float32 weights. Use the float32 ONNX export.`);
  const n = t.dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const bytes = Buffer.from(out.buffer);
  if (t.external) {
    const fd = fs.openSync(path.join(model.baseDir!, t.external.location), 'r');
    try {
      fs.readSync(fd, bytes, 0, 4 * n, t.external.offset);
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
  const range = model.rawDataRange(t);
  if (!range || range.end - range.start !== 4 * n) throw new UnsupportedModelError(`${t.name} is not stored as raw_data; compensation needs raw tensor bytes.`);
  model.src.read(range.start, 4 * n).copy(bytes);
  return out;
}
