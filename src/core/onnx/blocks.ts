/**
 * Finds the transformer blocks of an encoder graph: which nodes belong to block N, the hidden
 * state entering and leaving each block, and the side inputs shared between blocks.
 */
import { OnnxParseError, UnsupportedModelError } from '../errors';
import { DataType, OnnxModel, OnnxNode } from './model';
import { structuralBlockOf } from './structure';

/** Exporter scopes: BERT/RoBERTa/ELECTRA/XLM-R, DistilBERT, T5, plus generic `layers.N`. */
const SCOPE = /(?:^|\/)(?:encoder\/layer|transformer\/layer|encoder\/block|encoder\/layers|layers|layer|block)\.(\d+)\//;

/** Quantizers are named after the tensor they read, which lies in the previous scope; they belong to their consumers. */
const FOLLOWS_CONSUMER = new Set(['DynamicQuantizeLinear', 'QuantizeLinear']);
/** Unscoped nodes that stay outside blocks even between nodes of one block (shape plumbing). */
const SCOPE_FREE_OK = new Set(['Shape', 'Size', 'Constant']);

export interface BlockStructure {
  numBlocks: number;
  /** Block index per node (same order as model.nodes), -1 outside any block. */
  blockOf: Int32Array;
  /** Hidden state entering each block; hiddenIn[0] is the embedding output h_0. */
  hiddenIn: string[];
  /** Hidden state leaving each block. */
  hiddenOut: string[];
  /** The graph output holding the final hidden state (h_L after any final norm); in a graph that ends in a task head, the last block's output. */
  finalOutput: string;
  /** Outputs of a task head the graph ends in instead of returning the hidden state (a fine-tuned classifier's logits), which the encoder leaves out; [] for an encoder export. */
  headOutputs: string[];
  /** Tensors produced inside a block and read by later blocks (e.g. T5's relative position bias). */
  sideInputs: string[];
  /** The exporter's scope number of each block (differs from the index in a pruned graph). */
  scopeIndex: number[];
  /** h_0, the embedding output (also defined when a pruned graph keeps no block). */
  embeddingOutput: string;
}

function consumersOf(model: OnnxModel): Map<string, number[]> {
  const m = new Map<string, number[]>();
  model.nodes.forEach((n, i) => {
    for (const t of n.inputs) {
      if (!t) continue;
      let a = m.get(t);
      if (!a) m.set(t, (a = []));
      a.push(i);
    }
  });
  return m;
}

export function producerIndex(model: OnnxModel): Map<string, number> {
  const m = new Map<string, number>();
  model.nodes.forEach((n, i) => n.outputs.forEach((o) => o && m.set(o, i)));
  return m;
}

/**
 * Shape reads that would keep a dropped block's weights in a pruned graph, each with the tensor to
 * read instead. T5's export makes the position bias every block reads from the sequence length of
 * block 0's own normed input and key projection: dropping block 0 would keep its norm and a d×d key
 * MatMul alive only to be measured. Each Shape (or Size) outside the kept blocks that measures a
 * tensor a dropped block computes from its input reads instead that tensor's twin in the first kept
 * block after it: the tensor that block computes the same way (same operators, attributes, weight
 * shapes and outside inputs, from its own input), which runs anyway and so has the same shape. That
 * block's input never depends on the dropped block, so no cycle arises. A read without a twin is left.
 */
export function shapeReadTwins(model: OnnxModel, blocks: BlockStructure, kept: number[]): { node: OnnxNode; from: string; to: string }[] {
  const producer = producerIndex(model);
  const keptSet = new Set(kept);
  const twins: { node: OnnxNode; from: string; to: string }[] = [];
  for (let d = 0; d < blocks.numBlocks; d++) {
    const k = kept.find((b) => b > d);
    if (keptSet.has(d) || k === undefined) continue;
    const measures = measuresState(model, blocks, producer, d);
    const twin = twinFinder(model, blocks, producer, d, k);
    model.nodes.forEach((n, i) => {
      if (keptSet.has(blocks.blockOf[i]) || !measures(n)) return;
      const to = twin(n.inputs[0]);
      if (to) twins.push({ node: n, from: n.inputs[0], to });
    });
  }
  return twins;
}

/**
 * Weights a side input needs whichever blocks are kept (T5's position-bias table): the model keeps
 * them as long as it keeps any block, so countParams counts them as shared, not as the block's that
 * makes them. Where the Shape reads cannot be moved to another block (no twin), the weights those
 * reads measure stay as well, and are counted with them.
 */
export function sideInputWeights(model: OnnxModel, blocks: BlockStructure): Set<string> {
  const producer = producerIndex(model);
  const weights = new Set<string>();
  for (const side of blocks.sideInputs) {
    const d = blocks.blockOf[producer.get(side) ?? -1] ?? -1;
    if (d < 0 || d + 1 >= blocks.numBlocks) continue;
    const measures = measuresState(model, blocks, producer, d);
    const twin = twinFinder(model, blocks, producer, d, d + 1);
    const ancestors = ancestorsWithin(model, producer, blocks.blockOf, side, d, false);
    const movable = ancestors.every((i) => !measures(model.nodes[i]) || twin(model.nodes[i].inputs[0]) !== undefined);
    for (const i of movable ? ancestors : ancestorsWithin(model, producer, blocks.blockOf, side, d, true)) {
      for (const t of model.nodes[i].inputs) if (model.initializers.has(t)) weights.add(t);
    }
  }
  return weights;
}

const SHAPE_READS = new Set(['Shape', 'Size']);

/** Whether a node is a Shape (or Size) read of a tensor block `d` computes from its input's values (not only from its shape). */
function measuresState(model: OnnxModel, blocks: BlockStructure, producer: Map<string, number>, d: number): (n: OnnxNode) => boolean {
  const fromState = new Set([blocks.hiddenIn[d]]);
  model.nodes.forEach((n, i) => {
    if (blocks.blockOf[i] === d && !SHAPE_READS.has(n.opType) && n.inputs.some((t) => fromState.has(t))) n.outputs.forEach((o) => o && fromState.add(o));
  });
  return (n) => SHAPE_READS.has(n.opType) && fromState.has(n.inputs[0]) && blocks.blockOf[producer.get(n.inputs[0]) ?? -1] === d;
}

/**
 * twin(t): the tensor block k computes as block d computes `t` (memoised). Matching is structural
 * (operator, domain, attributes, outputs, and each input: block d's input ↔ block k's, a weight ↔ a
 * weight of the same shape and type, a graph input ↔ itself, any other tensor ↔ one made the same
 * way); where several nodes match (Q, K and V), any one has the same shape, which is all a Shape
 * read sees.
 */
function twinFinder(model: OnnxModel, blocks: BlockStructure, producer: Map<string, number>, d: number, k: number): (t: string) => string | undefined {
  const nodesOfK = model.nodes.filter((_, i) => blocks.blockOf[i] === k);
  // Float tensors (weights, norms' scales) match by shape and type: their values never change a shape.
  // Integer ones (axes, shapes, indices) can, so they match by value too.
  const FLOATS = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, 16 /* BFLOAT16 */]);
  const sameInitializer = (a: string, b: string) => {
    const [x, y] = [model.initializers.get(a), model.initializers.get(b)];
    if (!x || !y || x.dataType !== y.dataType || x.dims.join() !== y.dims.join()) return false;
    return FLOATS.has(x.dataType) || model.tensorBytes(x) === model.tensorBytes(y);
  };
  const pairs = new Map<string, boolean>();
  // Whether tensor b is computed as block d's tensor a is, with block k's input for block d's (memoised
  // per pair). Shape plumbing a graph tool placed outside the blocks is compared the same way.
  const same = (a: string, b: string): boolean => {
    if (a === blocks.hiddenIn[d] || b === blocks.hiddenIn[k]) return a === blocks.hiddenIn[d] && b === blocks.hiddenIn[k];
    if (a === b) return true;
    if (a === '' || b === '') return false;
    if (model.initializers.has(a)) return sameInitializer(a, b);
    const [i, j] = [producer.get(a), producer.get(b)];
    if (i === undefined || j === undefined) return false;
    const key = `${a}\u0000${b}`;
    if (!pairs.has(key)) {
      pairs.set(key, false); // a cycle cannot match
      const [n, c] = [model.nodes[i], model.nodes[j]];
      const ok =
        c.opType === n.opType &&
        c.domain === n.domain &&
        n.outputs.indexOf(a) === c.outputs.indexOf(b) &&
        c.inputs.length === n.inputs.length &&
        model.attributeBytes(c) === model.attributeBytes(n) &&
        n.inputs.every((x, t) => same(x, c.inputs[t]));
      pairs.set(key, ok);
    }
    return pairs.get(key)!;
  };
  const twin = (t: string): string | undefined => {
    const n = model.nodes[producer.get(t)!];
    const j = n.outputs.indexOf(t);
    return nodesOfK.map((c) => c.outputs[j]).find((b) => b !== undefined && same(t, b));
  };
  return twin;
}

/** Nodes of block `b` that `tensor` is computed from (through producers in that block; through Shape reads' inputs only where `throughShapes`). */
function ancestorsWithin(model: OnnxModel, producer: Map<string, number>, blockOf: Int32Array, tensor: string, b: number, throughShapes = true): number[] {
  const seen = new Set<number>();
  const stack = [tensor];
  while (stack.length) {
    const i = producer.get(stack.pop()!);
    if (i === undefined || seen.has(i) || blockOf[i] !== b) continue;
    seen.add(i);
    const n = model.nodes[i];
    stack.push(...(throughShapes || !SHAPE_READS.has(n.opType) ? n.inputs.filter(Boolean) : []));
  }
  return [...seen];
}

/** metadata_props key under which a pruned graph records its block structure. */
export const BLOCKS_METADATA = 'probescale.blocks';

interface RecordedBlocks {
  scopeIndex: number[];
  hiddenIn: string[];
  hiddenOut: string[];
  embeddingOutput: string;
}

/** The block record of a pruned graph, checked field by field (it is data from a file). */
function parseRecord(json: string, file: string): RecordedBlocks {
  let r: Partial<RecordedBlocks> | null = null;
  try {
    r = JSON.parse(json) as Partial<RecordedBlocks>;
  } catch {
    // reported below
  }
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === 'string');
  const ok =
    r !== null &&
    typeof r === 'object' &&
    Array.isArray(r.scopeIndex) &&
    r.scopeIndex.every((x) => Number.isInteger(x) && x >= 0) &&
    strings(r.hiddenIn) &&
    strings(r.hiddenOut) &&
    r.hiddenIn!.length === r.scopeIndex.length &&
    r.hiddenOut!.length === r.scopeIndex.length &&
    typeof r.embeddingOutput === 'string';
  if (!ok) throw new OnnxParseError(`${file}: its '${BLOCKS_METADATA}' metadata is damaged (${json.slice(0, 120)}); prune the source model again.`);
  return r as RecordedBlocks;
}

/** The structure a pruned graph carries, for the edit that writes it. */
export function recordBlocks(b: BlockStructure, kept: number[], entry = b.hiddenIn[0]): Record<string, string> {
  const r: RecordedBlocks = {
    scopeIndex: kept.map((k) => b.scopeIndex[k]),
    hiddenIn: kept.map((_, j) => (j === 0 ? entry : b.hiddenOut[kept[j - 1]])),
    hiddenOut: kept.map((k) => b.hiddenOut[k]),
    embeddingOutput: b.embeddingOutput === b.hiddenIn[0] ? entry : b.embeddingOutput,
  };
  return { [BLOCKS_METADATA]: JSON.stringify(r) };
}

/** A graph's nodes with the block of each (-1 outside any) and the tensor links between them. */
interface BlockedGraph {
  model: OnnxModel;
  blockOf: Int32Array;
  consumers: Map<string, number[]>;
  producer: Map<string, number>;
}

export function findBlocks(model: OnnxModel, file = 'model'): BlockStructure {
  const scoped = scopeNumbers(model.nodes);
  const recorded = model.metadata.get(BLOCKS_METADATA);
  if (recorded !== undefined) return fromRecord(model, scoped, parseRecord(recorded, file), file);
  const g: BlockedGraph = { model, blockOf: scoped, consumers: consumersOf(model), producer: producerIndex(model) };
  placeUnscopedNodes(g, file);
  const scopeIndex = rankBlocks(g.blockOf, file);
  const numBlocks = scopeIndex.length;
  const external = externalInputs(g, numBlocks);
  const hiddenIn = hiddenInputs(g, external, file);
  const hiddenOut = [...hiddenIn.slice(1), lastHiddenOutput(g, numBlocks - 1, hiddenIn[1], file)];
  const { finalOutput, headOutputs } = finalHidden(model, hiddenOut[numBlocks - 1], file);
  const sideInputs = sideInputsOf(g, external, new Set([...hiddenIn, ...hiddenOut]));
  claimEnclosedNodes(g, hiddenIn, hiddenOut);
  return { numBlocks, blockOf: g.blockOf, hiddenIn, hiddenOut, finalOutput, headOutputs, sideInputs, scopeIndex, embeddingOutput: hiddenIn[0] };
}

/** The exporter's scope number of each node (`layer.N` in its name), -1 where it has none. */
function scopeNumbers(nodes: OnnxNode[]): Int32Array {
  const blockOf = new Int32Array(nodes.length).fill(-1);
  nodes.forEach((n, i) => {
    const m = SCOPE.exec(n.name);
    if (m) blockOf[i] = Number(m[1]);
  });
  return blockOf;
}

/**
 * Gives quantizers the block of their consumers, then optimizer-added nodes the block around them;
 * a graph without scope names gets its blocks from its structure instead.
 */
function placeUnscopedNodes(g: BlockedGraph, file: string): void {
  const { model, blockOf, consumers, producer } = g;
  model.nodes.forEach((n, i) => {
    // torch.onnx's TorchScript exporter also reads a weight used twice (DeBERTa's query and key
    // projections, applied to the relative embeddings too) through an unscoped Identity of it.
    const weightAlias = n.opType === 'Identity' && blockOf[i] < 0 && model.initializers.has(n.inputs[0]);
    if (!FOLLOWS_CONSUMER.has(n.opType) && !weightAlias) return;
    const bs = new Set<number>();
    for (const o of n.outputs) for (const c of consumers.get(o) ?? []) bs.add(blockOf[c]);
    if (bs.size === 1) blockOf[i] = [...bs][0];
  });
  if (blockOf.some((b) => b >= 0)) {
    closeFusedSublayers(model, blockOf, producer);
    joinEnclosingScope(model, blockOf, consumers, producer);
  } else {
    const source = model.runtimeInputs.find((i) => i.name === 'input_ids')?.name ?? model.runtimeInputs[0]?.name;
    const found = source ? structuralBlockOf(model, source, finalOutputOf(model, file)) : null;
    if (found) blockOf.set(found.blockOf);
  }
}

/**
 * ONNX Runtime's transformer optimizer (optimum's --optimize O2–O4) fuses each sub-layer's bias
 * Add, residual Add and LayerNorm into one com.microsoft SkipLayerNormalization named outside
 * every scope (`SkipLayerNorm_AddBias_3`). It ends the sub-layer whose output it adds, so it
 * belongs to the latest block among its inputs' producers (the residual comes from before).
 * Left outside, the hidden state between blocks was made outside every block and no block
 * boundary could be found.
 */
function closeFusedSublayers(model: OnnxModel, blockOf: Int32Array, producer: Map<string, number>): void {
  model.nodes.forEach((n, i) => {
    if (blockOf[i] >= 0 || n.opType !== 'SkipLayerNormalization') return;
    const from = n.inputs.flatMap((t) => (producer.has(t) && blockOf[producer.get(t)!] >= 0 ? [blockOf[producer.get(t)!]] : []));
    if (from.length) blockOf[i] = Math.max(...from);
  });
}

/**
 * A node without a scope name that lies between a block's input and output (reached from
 * hiddenIn[b], reaching hiddenOut[b]) belongs to that block. An optimizer's fused node (a
 * com.microsoft Attention named `Attention_3`) reads the hidden state entering its block, which is
 * made outside the block, so joinEnclosingScope cannot place it; left outside, its weights were
 * counted outside every block (2 of 4 blocks of tiny-bert reported as 93.7 % of the parameters
 * where the pruned file holds 89.9 %).
 */
function claimEnclosedNodes(g: BlockedGraph, hiddenIn: string[], hiddenOut: string[]): void {
  const reach = (from: number[], next: (i: number) => number[]) => {
    const seen = new Set<number>();
    for (const stack = [...from]; stack.length; ) {
      const i = stack.pop()!;
      if (seen.has(i)) continue;
      seen.add(i);
      stack.push(...next(i));
    }
    return seen;
  };
  const consumersOfNode = (i: number) => g.model.nodes[i].outputs.flatMap((o) => g.consumers.get(o) ?? []);
  const producersOfNode = (i: number) => g.model.nodes[i].inputs.flatMap((t) => (g.producer.has(t) ? [g.producer.get(t)!] : []));
  const claim = new Map<number, number>();
  hiddenIn.forEach((input, b) => {
    const after = reach(g.consumers.get(input) ?? [], consumersOfNode);
    const before = reach(g.producer.has(hiddenOut[b]) ? [g.producer.get(hiddenOut[b])!] : [], producersOfNode);
    for (const i of after) if (g.blockOf[i] < 0 && before.has(i) && !SCOPE_FREE_OK.has(g.model.nodes[i].opType) && !claim.has(i)) claim.set(i, b);
  });
  // What other blocks read as well is shared, not enclosed: MPNet's relative position bias, made
  // outside every block from the embeddings' length and added in each, is the encoder's.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [i, b] of claim) {
      if (consumersOfNode(i).every((c) => (claim.get(c) ?? g.blockOf[c]) === b)) continue;
      claim.delete(i);
      changed = true;
    }
  }
  for (const [i, b] of claim) g.blockOf[i] = b;
}

/**
 * Renumbers `blockOf` from scope numbers to 0, 1, 2, ... and returns the scope numbers in order: a
 * pruned graph keeps its source's scope numbers (layer.0, layer.2, ...).
 */
function rankBlocks(blockOf: Int32Array, file: string): number[] {
  const scopeIndex = [...new Set(blockOf)].filter((b) => b >= 0).sort((a, b) => a - b);
  const rank = new Map(scopeIndex.map((s, i) => [s, i]));
  blockOf.forEach((b, i) => (blockOf[i] = b < 0 ? -1 : rank.get(b)!));
  if (scopeIndex.length === 0) {
    throw new UnsupportedModelError(
      `${file}: no transformer blocks found. ProbeScale looks for exporter scope names such as /encoder/layer.N/, /transformer/layer.N/ or /encoder/block.N/ in node names, then for a residual stream forking into attention; neither is in this graph. Re-export the model with the TorchScript exporter (torch.onnx.export(..., dynamo=False)) or Optimum, which keep them.`,
    );
  }
  return scopeIndex;
}

/** The block that produces `t`; -1 for graph inputs, weights and tensors made outside blocks. */
function producedIn(g: BlockedGraph, t: string): number {
  const p = g.producer.get(t);
  return p === undefined ? -1 : g.blockOf[p];
}

function blocksReading(g: BlockedGraph, t: string): Set<number> {
  return new Set((g.consumers.get(t) ?? []).map((c) => g.blockOf[c]));
}

/** The op types that read `t` inside block `b` (Shape left out), sorted and joined: how the block uses it. */
function signature(g: BlockedGraph, t: string, b: number): string {
  return (g.consumers.get(t) ?? [])
    .filter((c) => g.blockOf[c] === b && g.model.nodes[c].opType !== 'Shape')
    .map((c) => g.model.nodes[c].opType)
    .sort()
    .join('+');
}

/** External inputs of each block: read inside, produced elsewhere, not weights. */
function externalInputs(g: BlockedGraph, numBlocks: number): string[][] {
  const external: string[][] = Array.from({ length: numBlocks }, () => []);
  g.model.nodes.forEach((n, i) => {
    const b = g.blockOf[i];
    if (b < 0) return;
    for (const t of n.inputs) {
      if (!t || g.model.initializers.has(t) || producedIn(g, t) === b || external[b].includes(t)) continue;
      external[b].push(t);
    }
  });
  return external;
}

/** The hidden state entering each block: from the block before, and for block 0 the embedding output. */
function hiddenInputs(g: BlockedGraph, external: string[][], file: string): string[] {
  const numBlocks = external.length;
  const hiddenIn: string[] = new Array(numBlocks);
  let sig: string | null = null;
  const between = Array.from({ length: numBlocks }, (_, b) => (b === 0 ? [] : external[b].filter((t) => producedIn(g, t) === b - 1 && ![...blocksReading(g, t)].some((x) => x > b))));
  for (let b = 1; b < numBlocks; b++) {
    if (between[b].length !== 1) continue;
    hiddenIn[b] = between[b][0];
    sig ??= signature(g, between[b][0], b);
  }
  // A side input read only by the next block is a second candidate there (T5's position bias, in a
  // model of two blocks): the state is the one read as the other blocks read theirs.
  const entry = sig === null ? embeddingCandidates(g, external[0], null) : [];
  if (entry.length === 1) sig = signature(g, entry[0], 0);
  for (let b = 1; b < numBlocks; b++) {
    if (hiddenIn[b] !== undefined) continue;
    const alike = between[b].filter((t) => sig !== null && signature(g, t, b) === sig);
    if (alike.length !== 1) {
      throw new UnsupportedModelError(`${file}: cannot tell which tensor carries the hidden state from block ${b - 1} into block ${b} (candidates: ${between[b].join(', ') || 'none'}).`);
    }
    hiddenIn[b] = alike[0];
  }
  const cands = embeddingCandidates(g, external[0], sig);
  if (cands.length !== 1) throw new UnsupportedModelError(`${file}: cannot tell which tensor is the embedding output entering block 0 (candidates: ${cands.join(', ') || 'none'}).`);
  hiddenIn[0] = cands[0];
  return hiddenIn;
}

/** Tensors entering block 0 from outside that may be the embedding output, narrowed by `sig` (how later blocks read their state). */
function embeddingCandidates(g: BlockedGraph, external0: string[], sig: string | null): string[] {
  let cands = external0.filter((t) => producedIn(g, t) === -1 && !g.model.runtimeInputs.some((i) => i.name === t));
  // Shape reads are often hoisted out of the first block, so they are left out of signatures. Block 0
  // may read its state otherwise than the others (ModernBERT's has no attention norm): then the
  // signature tells nothing, and the rules below decide.
  const alike = sig === null ? [] : cands.filter((t) => signature(g, t, 0) === sig);
  if (alike.length && cands.length > 1) cands = alike;
  if (cands.length > 1) cands = cands.filter((t) => [...blocksReading(g, t)].every((x) => x <= 0));
  // With one block and nothing to compare with, the mask made from attention_mask is read by block 0
  // alone as well: the embedding output is the one computed from the values of input_ids.
  if (cands.length > 1) cands = cands.filter((t) => fromValuesOf(g, t, 'input_ids'));
  return cands;
}

/** Whether `t` is computed from the values of graph input `input` (through anything but a Shape or Size read). */
function fromValuesOf(g: BlockedGraph, t: string, input: string): boolean {
  const seen = new Set<string>();
  const stack = [t];
  while (stack.length) {
    const x = stack.pop()!;
    if (x === input) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    const n = g.model.nodes[g.producer.get(x) ?? -1];
    if (n && n.opType !== 'Shape' && n.opType !== 'Size') stack.push(...n.inputs.filter(Boolean));
  }
  return false;
}

/**
 * The tensor leaving block `last`: the one output of it that is a graph output or read outside
 * blocks; where an export returns more of it (output_attentions: its attention probabilities), the
 * one made by the operator that makes the state leaving block 0 (`firstExit`).
 */
function lastHiddenOutput(g: BlockedGraph, last: number, firstExit: string | undefined, file: string): string {
  const graphOutputs = new Set(g.model.outputs.map((o) => o.name));
  const cands = new Set<string>();
  g.model.nodes.forEach((n, i) => {
    if (g.blockOf[i] !== last) return;
    for (const o of n.outputs) {
      if (!o) continue;
      if (graphOutputs.has(o) || (g.consumers.get(o) ?? []).some((c) => g.blockOf[c] === -1)) cands.add(o);
    }
  });
  const exitOp = firstExit === undefined ? undefined : g.model.nodes[g.producer.get(firstExit)!]?.opType;
  const likeFirst = [...cands].filter((t) => g.model.nodes[g.producer.get(t)!].opType === exitOp);
  const found = cands.size > 1 && likeFirst.length === 1 ? likeFirst : [...cands];
  if (found.length !== 1) throw new UnsupportedModelError(`${file}: cannot tell which tensor leaves the last block ${last} (candidates: ${found.join(', ') || 'none'}).`);
  return found[0];
}

/** Tensors made inside a block and read by another that are not the hidden state (T5's position bias). */
function sideInputsOf(g: BlockedGraph, external: string[][], hidden: Set<string>): string[] {
  const sideInputs: string[] = [];
  for (const inputs of external) {
    for (const t of inputs) {
      if (producedIn(g, t) >= 0 && !hidden.has(t) && !sideInputs.includes(t)) sideInputs.push(t);
    }
  }
  return sideInputs;
}

/** The output name an encoder export gives its final hidden state (what transformers.js reads). */
export const ENCODER_OUTPUT = 'last_hidden_state';

/** Operators a task head projects the hidden state with; a final norm (T5's) has none. */
const PROJECTIONS = new Set(['MatMul', 'Gemm', 'MatMulInteger', 'QLinearMatMul', 'MatMulNBits', 'FusedMatMul', 'Conv']);

/**
 * The final hidden state, and the outputs of a task head where the graph ends in one instead of
 * returning that state, as a fine-tuned classifier's export does (pooler and classifier → logits).
 * A graph output the last block's output reaches with no projection on any path is the hidden
 * state (T5's final norm lies between); where every output it reaches passes one, the last block's output is
 * the final hidden state and those outputs are the head's.
 */
function finalHidden(model: OnnxModel, lastOut: string, file: string): { finalOutput: string; headOutputs: string[] } {
  const reached = new Set([lastOut]);
  const plain = new Set([lastOut]);
  for (const n of model.nodes) {
    if (!n.inputs.some((t) => reached.has(t))) continue;
    // Every input that carries the state must be unprojected: a quantized head's scale Mul also reads a scale of it.
    const keepsState = !PROJECTIONS.has(n.opType) && n.inputs.every((t) => !reached.has(t) || plain.has(t));
    for (const o of n.outputs) {
      if (!o) continue;
      reached.add(o);
      if (keepsState) plain.add(o);
    }
  }
  const outputs = model.outputs.map((o) => o.name);
  // With every layer's state returned as well (output_hidden_states), only the last is reached from the last block;
  // beside a pooled sentence_embedding, the per-token state is the one of rank 3.
  const states = model.outputs.filter((o) => plain.has(o.name));
  const state = states.find((o) => o.name === ENCODER_OUTPUT) ?? states.find((o) => o.elemType === DataType.FLOAT && (o.shape?.length ?? 3) === 3) ?? states[0];
  if (state) return { finalOutput: state.name, headOutputs: [] };
  if (!outputs.some((o) => reached.has(o))) return { finalOutput: finalOutputOf(model, file), headOutputs: [] };
  return { finalOutput: normedUnderHead(model, lastOut), headOutputs: outputs };
}

/** Operators a final norm is written with (LayerNormalization, or its parts at older opsets). */
const NORM_PARTS = new Set(['LayerNormalization', 'SimplifiedLayerNormalization', 'ReduceMean', 'Sub', 'Pow', 'Add', 'Sqrt', 'Div', 'Mul', 'Reciprocal', 'Cast']);

/**
 * Under a task head, the encoder's final state: the last block's output, or the output of a final
 * norm between it and the head (ModernBERT's final_norm): the one tensor that leaves the region of
 * norm operators computed from the last block's output and weights alone. Pooling mixes in the
 * attention mask and a head projects, so neither is taken into the region.
 */
function normedUnderHead(model: OnnxModel, lastOut: string): string {
  const region = new Set([lastOut]);
  const inRegion = new Set<OnnxNode>();
  const constants = new Set(model.nodes.filter((n) => n.opType === 'Constant').flatMap((n) => n.outputs));
  const fixed = (t: string) => !t || model.initializers.has(t) || constants.has(t);
  for (const n of model.nodes) {
    if (!NORM_PARTS.has(n.opType) || n.domain !== '' || !n.inputs.some((t) => region.has(t))) continue;
    if (!n.inputs.every((t) => region.has(t) || fixed(t))) continue;
    inRegion.add(n);
    for (const o of n.outputs) if (o) region.add(o);
  }
  const leaving = [...region].filter((t) => model.outputs.some((o) => o.name === t) || model.nodes.some((n) => !inRegion.has(n) && n.inputs.includes(t)));
  const weighted = [...inRegion].some((n) => n.inputs.some((t) => model.initializers.has(t) && model.initializerSize(t) > 1));
  return leaving.length === 1 && leaving[0] !== lastOut && weighted ? leaving[0] : lastOut;
}

function finalOutputOf(model: OnnxModel, file: string): string {
  const out = model.outputs.find((o) => o.elemType === DataType.FLOAT && (o.shape?.length ?? 3) === 3)?.name ?? model.outputs[0]?.name;
  if (!out) throw new UnsupportedModelError(`${file}: the graph has no output; expected last_hidden_state.`);
  return out;
}

/**
 * Nodes an optimizer added without a scope name (ONNX Runtime's BiasGelu, for one) belong to the
 * block that both feeds and reads them.
 */
function joinEnclosingScope(model: OnnxModel, blockOf: Int32Array, consumers: Map<string, number[]>, producer: Map<string, number>): void {
  for (let changed = true; changed; ) {
    changed = false;
    model.nodes.forEach((n, i) => {
      if (blockOf[i] >= 0 || SCOPE_FREE_OK.has(n.opType)) return;
      const from = new Set(n.inputs.filter((t) => t && producer.has(t)).map((t) => blockOf[producer.get(t)!]));
      const to = new Set(n.outputs.flatMap((o) => (consumers.get(o) ?? []).map((c) => blockOf[c])));
      if (from.size === 1 && to.size === 1 && [...from][0] >= 0 && [...from][0] === [...to][0]) {
        blockOf[i] = [...from][0];
        changed = true;
      }
    });
  }
}

/**
 * A graph ProbeScale pruned says which blocks it kept and where the hidden state flows; scope
 * numbers alone would mislead (T5's bias nodes of a dropped block 0 stay in the graph).
 */
function fromRecord(model: OnnxModel, scoped: Int32Array, r: RecordedBlocks, file: string): BlockStructure {
  const rank = new Map(r.scopeIndex.map((s, i) => [s, i]));
  const blockOf = Int32Array.from(scoped, (b) => (b >= 0 && rank.has(b) ? rank.get(b)! : -1));
  const { finalOutput } = finalHidden(model, r.hiddenOut.at(-1) ?? r.embeddingOutput, file);
  // Side inputs are found again (a pruned T5 that kept block 0 still makes its position bias there).
  const g: BlockedGraph = { model, blockOf, consumers: consumersOf(model), producer: producerIndex(model) };
  const sideInputs = sideInputsOf(g, externalInputs(g, r.scopeIndex.length), new Set([...r.hiddenIn, ...r.hiddenOut]));
  return { numBlocks: r.scopeIndex.length, blockOf, hiddenIn: r.hiddenIn, hiddenOut: r.hiddenOut, finalOutput, headOutputs: [], sideInputs, scopeIndex: r.scopeIndex, embeddingOutput: r.embeddingOutput };
}
