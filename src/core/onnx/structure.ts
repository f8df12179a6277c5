/**
 * Blocks found from the graph's shape alone, for exports without scope names (dynamo exports,
 * graphs whose node names were stripped or rewritten). The residual stream is the chain of
 * tensors that every path from input_ids to the final output passes through; a block starts at
 * the stream tensor that forks into an attention branch (Softmax, Attention, or a MatMul of two
 * activations) and its residual, and runs to the next such fork. Nodes off the stream (masks,
 * shapes) join the one block that reads them, else stay outside.
 */
import { OnnxModel } from './model';

const ATTENTION_OPS = new Set(['Softmax', 'Attention', 'MultiHeadAttention']);
/** Outputs of these carry shapes or indices, not activations: they do not extend the stream. */
const NOT_ACTIVATION = new Set(['Shape', 'Size']);
const PASS_THROUGH = new Set(['Cast', 'Identity']);
// Path counts modulo two primes below 2^26 (products stay exact in doubles): a tensor lies on
// every path iff paths(in→t)·paths(t→out) = paths(in→out); two moduli make a false match negligible.
const PRIMES = [67108859, 67108837];

/** Block index per node, or null when no attention fork is found. */
export function structuralBlockOf(model: OnnxModel, source: string, sink: string): { blockOf: Int32Array; numBlocks: number } | null {
  const { isActive, fwd } = forwardPaths(model.nodes, source);
  const bwd = backwardPaths(model.nodes, isActive, fwd, sink);
  const onEveryPath = (t: string) => PRIMES.every((p, k) => fwd[k].get(sink) !== undefined && ((fwd[k].get(t) ?? 0) * (bwd[k].get(t) ?? 0)) % p === fwd[k].get(sink));
  const { segment, segmentOfTensor } = streamSegments(model.nodes, isActive, onEveryPath, source, sink);
  const starts = attentionSegments(model, isActive, segment, segmentOfTensor);
  if (starts.length === 0) return null;
  // Forks after the last block's share (a final norm, as in T5) lie outside every block.
  const perBlock = starts.length > 1 ? starts[1] - starts[0] : Infinity;
  const tail = starts.every((a, j) => j === 0 || a - starts[j - 1] === perBlock) ? starts[starts.length - 1] + perBlock : Infinity;
  const blockOfSegment = (s: number) => (s >= tail ? -1 : starts.filter((a) => a <= s).length - 1);
  const blockOf = Int32Array.from(segment, (s, i) => (isActive[i] ? blockOfSegment(s) : -2));
  return { blockOf: joinReaders(model, blockOf), numBlocks: starts.length };
}

/** Path counts per tensor, one map per prime. */
type PathCounts = Map<string, number>[];

/** The nodes on some path from `source` (activations, not shapes), with the count of paths from `source` to each tensor. */
function forwardPaths(nodes: OnnxModel['nodes'], source: string): { isActive: Uint8Array; fwd: PathCounts } {
  const fwd = PRIMES.map(() => new Map<string, number>([[source, 1]]));
  const active = (i: number) => !NOT_ACTIVATION.has(nodes[i].opType) && nodes[i].inputs.some((t) => fwd[0].has(t));
  const isActive = new Uint8Array(nodes.length);
  nodes.forEach((n, i) => {
    if (!active(i)) return;
    isActive[i] = 1;
    PRIMES.forEach((p, k) => {
      const v = n.inputs.reduce((a, t) => (a + (fwd[k].get(t) ?? 0)) % p, 0);
      n.outputs.forEach((o, j) => o && !(n.opType === 'EmbedLayerNormalization' && j > 0) && fwd[k].set(o, v));
    });
  });
  return { isActive, fwd };
}

/** The count of paths from each tensor reached from the source to `sink`. */
function backwardPaths(nodes: OnnxModel['nodes'], isActive: Uint8Array, fwd: PathCounts, sink: string): PathCounts {
  const bwd = PRIMES.map(() => new Map<string, number>([[sink, 1]]));
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!isActive[i]) continue;
    PRIMES.forEach((p, k) => {
      const v = nodes[i].outputs.reduce((a, o) => (a + (bwd[k].get(o) ?? 0)) % p, 0);
      for (const t of nodes[i].inputs) if (fwd[k].has(t)) bwd[k].set(t, ((bwd[k].get(t) ?? 0) + v) % p);
    });
  }
  return bwd;
}

/** The stream's forks, numbered in order; each active node's segment is the last fork above it (-1 before the first). */
function streamSegments(nodes: OnnxModel['nodes'], isActive: Uint8Array, onEveryPath: (t: string) => boolean, source: string, sink: string): { segment: Int32Array; segmentOfTensor: Map<string, number> } {
  const edges = new Map<string, number>();
  nodes.forEach((n, i) => isActive[i] && n.inputs.forEach((t) => edges.set(t, (edges.get(t) ?? 0) + 1)));
  const forkIndex = new Map<string, number>();
  const segmentOfTensor = new Map<string, number>([[source, -1]]);
  const segment = new Int32Array(nodes.length).fill(-1);
  nodes.forEach((n, i) => {
    if (!isActive[i]) return;
    segment[i] = Math.max(-1, ...n.inputs.map((t) => segmentOfTensor.get(t) ?? -1));
    for (const o of n.outputs) {
      if (o && onEveryPath(o) && (edges.get(o) ?? 0) >= 2 && o !== sink) forkIndex.set(o, forkIndex.size);
      segmentOfTensor.set(o, forkIndex.get(o) ?? segment[i]);
      // A cast right before the fork (T5 norms cast first) opens the block with it.
      if (PASS_THROUGH.has(n.opType) && forkIndex.has(o)) segment[i] = forkIndex.get(o)!;
    }
  });
  return { segment, segmentOfTensor };
}

/** The segments holding attention (an attention op, or a MatMul of two activations), in order: where blocks start. */
function attentionSegments(model: OnnxModel, isActive: Uint8Array, segment: Int32Array, segmentOfTensor: Map<string, number>): number[] {
  const found = new Set<number>();
  model.nodes.forEach((n, i) => {
    const twoActivations = n.opType === 'MatMul' && n.inputs.filter((t) => segmentOfTensor.has(t) && !model.initializers.has(t)).length === 2;
    if (isActive[i] && segment[i] >= 0 && (ATTENTION_OPS.has(n.opType) || twoActivations)) found.add(segment[i]);
  });
  return [...found].sort((a, b) => a - b);
}

/** Nodes off the stream (-2) join the single block that reads their outputs, else -1. */
function joinReaders(model: OnnxModel, blockOf: Int32Array): Int32Array {
  const readers = new Map<string, number[]>();
  model.nodes.forEach((n, i) => n.inputs.forEach((t) => readers.set(t, [...(readers.get(t) ?? []), i])));
  const outputs = new Set(model.outputs.map((o) => o.name));
  for (let i = model.nodes.length - 1; i >= 0; i--) {
    if (blockOf[i] !== -2) continue;
    const n = model.nodes[i];
    const bs = new Set(n.outputs.flatMap((o) => (readers.get(o) ?? []).map((c) => blockOf[c])));
    blockOf[i] = bs.size === 1 && !n.outputs.some((o) => outputs.has(o)) ? [...bs][0] : -1;
  }
  return blockOf;
}
