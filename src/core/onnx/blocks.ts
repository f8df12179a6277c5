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
  /** The graph output holding the final hidden state (h_L after any final norm). */
  finalOutput: string;
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
export function recordBlocks(b: BlockStructure, kept: number[]): Record<string, string> {
  const r: RecordedBlocks = {
    scopeIndex: kept.map((k) => b.scopeIndex[k]),
    hiddenIn: kept.map((_, j) => (j === 0 ? b.hiddenIn[0] : b.hiddenOut[kept[j - 1]])),
    hiddenOut: kept.map((k) => b.hiddenOut[k]),
    embeddingOutput: b.embeddingOutput,
  };
  return { [BLOCKS_METADATA]: JSON.stringify(r) };
}

export function findBlocks(model: OnnxModel, file = 'model'): BlockStructure {
  const nodes = model.nodes;
  const blockOf = new Int32Array(nodes.length).fill(-1);
  nodes.forEach((n: OnnxNode, i) => {
    const m = SCOPE.exec(n.name);
    if (m) blockOf[i] = Number(m[1]);
  });
  const recorded = model.metadata.get(BLOCKS_METADATA);
  if (recorded !== undefined) return fromRecord(model, blockOf, parseRecord(recorded, file), file);
  const consumers = consumersOf(model);
  const producer = producerIndex(model);
  nodes.forEach((n, i) => {
    if (!FOLLOWS_CONSUMER.has(n.opType)) return;
    const bs = new Set<number>();
    for (const o of n.outputs) for (const c of consumers.get(o) ?? []) bs.add(blockOf[c]);
    if (bs.size === 1) blockOf[i] = [...bs][0];
  });
  if (blockOf.some((b) => b >= 0)) joinEnclosingScope(model, blockOf, consumers, producer);
  else {
    const source = model.runtimeInputs.find((i) => i.name === 'input_ids')?.name ?? model.runtimeInputs[0]?.name;
    const found = source ? structuralBlockOf(model, source, finalOutputOf(model, file)) : null;
    if (found) blockOf.set(found.blockOf);
  }
  // A pruned graph keeps its source's scope numbers (layer.0, layer.2, ...): blocks are ranked.
  const scopeIndex = [...new Set(blockOf)].filter((b) => b >= 0).sort((a, b) => a - b);
  const rank = new Map(scopeIndex.map((s, i) => [s, i]));
  blockOf.forEach((b, i) => (blockOf[i] = b < 0 ? -1 : rank.get(b)!));
  const numBlocks = scopeIndex.length;
  if (numBlocks === 0) {
    throw new UnsupportedModelError(
      `${file}: no transformer blocks found. ProbeScale looks for exporter scope names such as /encoder/layer.N/, /transformer/layer.N/ or /encoder/block.N/ in node names, then for a residual stream forking into attention; neither is in this graph. Re-export the model with the TorchScript exporter (torch.onnx.export(..., dynamo=False)) or Optimum, which keep them.`,
    );
  }

  const isInit = (t: string) => model.initializers.has(t);
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const blocksReading = (t: string) => new Set((consumers.get(t) ?? []).map((c) => blockOf[c]));
  const producedIn = (t: string) => {
    const p = producer.get(t);
    return p === undefined ? -1 : blockOf[p];
  };
  const signature = (t: string, b: number) =>
    (consumers.get(t) ?? [])
      .filter((c) => blockOf[c] === b && nodes[c].opType !== 'Shape')
      .map((c) => nodes[c].opType)
      .sort()
      .join('+');

  // External inputs of each block: read inside, produced elsewhere, not weights.
  const external: string[][] = Array.from({ length: numBlocks }, () => []);
  nodes.forEach((n, i) => {
    const b = blockOf[i];
    if (b < 0) return;
    for (const t of n.inputs) {
      if (!t || isInit(t) || producedIn(t) === b || external[b].includes(t)) continue;
      external[b].push(t);
    }
  });

  const hiddenIn: string[] = new Array(numBlocks);
  let sig: string | null = null;
  for (let b = 1; b < numBlocks; b++) {
    const cands = external[b].filter((t) => producedIn(t) === b - 1 && ![...blocksReading(t)].some((x) => x > b));
    if (cands.length !== 1) {
      throw new UnsupportedModelError(`${file}: cannot tell which tensor carries the hidden state from block ${b - 1} into block ${b} (candidates: ${cands.join(', ') || 'none'}).`);
    }
    hiddenIn[b] = cands[0];
    sig ??= signature(cands[0], b);
  }
  {
    let cands = external[0].filter((t) => producedIn(t) === -1 && !model.runtimeInputs.some((i) => i.name === t));
    // Shape reads are often hoisted out of the first block, so they are left out of signatures.
    if (sig !== null && cands.length > 1) cands = cands.filter((t) => signature(t, 0) === sig);
    if (cands.length > 1) cands = cands.filter((t) => [...blocksReading(t)].every((x) => x <= 0));
    if (cands.length !== 1) throw new UnsupportedModelError(`${file}: cannot tell which tensor is the embedding output entering block 0 (candidates: ${cands.join(', ') || 'none'}).`);
    hiddenIn[0] = cands[0];
  }
  const hiddenOut = hiddenIn.slice(1);
  {
    const last = numBlocks - 1;
    const cands = new Set<string>();
    nodes.forEach((n, i) => {
      if (blockOf[i] !== last) return;
      for (const o of n.outputs) {
        if (!o) continue;
        if (graphOutputs.has(o) || (consumers.get(o) ?? []).some((c) => blockOf[c] === -1)) cands.add(o);
      }
    });
    if (cands.size !== 1) throw new UnsupportedModelError(`${file}: cannot tell which tensor leaves the last block ${last} (candidates: ${[...cands].join(', ') || 'none'}).`);
    hiddenOut.push([...cands][0]);
  }
  const finalOutput = finalOutputOf(model, file);

  const hidden = new Set([...hiddenIn, ...hiddenOut]);
  const sideInputs: string[] = [];
  for (let b = 0; b < numBlocks; b++) {
    for (const t of external[b]) {
      const p = producedIn(t);
      if (p >= 0 && !hidden.has(t) && !sideInputs.includes(t)) sideInputs.push(t);
    }
  }
  return { numBlocks, blockOf, hiddenIn, hiddenOut, finalOutput, sideInputs, scopeIndex, embeddingOutput: hiddenIn[0] };
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
  const finalOutput = finalOutputOf(model, file);
  return { numBlocks: r.scopeIndex.length, blockOf, hiddenIn: r.hiddenIn, hiddenOut: r.hiddenOut, finalOutput, sideInputs: [], scopeIndex: r.scopeIndex, embeddingOutput: r.embeddingOutput };
}
