/**
 * Graph edits built on the block structure: dropping blocks (surgery) and adding pooled
 * per-layer outputs (probe graphs). Both produce a GraphEdit that OnnxModel serialises.
 */
import { badValue, UnsupportedModelError } from '../errors';
import { BlockStructure, ENCODER_OUTPUT, producerIndex, recordBlocks, shapeReadTwins } from './blocks';
import { DataType, GraphEdit, NewInitializer, NewNode, NewValueInfo, NodeRef, OnnxModel, OnnxNode, OnnxValueInfo, SUBGRAPH_OPS, floatInitializer, int64Initializer } from './model';

export interface Rewiring {
  /** Per original node: input renames applied to it. */
  renames: Map<OnnxNode, Map<string, string>>;
  /** Identity nodes added so an output keeps its name. */
  added: NewNode[];
  /** Original nodes that an added node replaces as producer. */
  replaced: Set<OnnxNode>;
  /** Tensor holding the pruned model's final hidden state (before any renaming to the output name). */
  lastHidden: string;
}

export function validateKept(kept: number[], numBlocks: number): number[] {
  const sorted = [...new Set(kept)].sort((a, b) => a - b);
  if (sorted.length !== kept.length) throw badValue('layers', kept.join(','), 'a block is listed twice; list each kept block once.');
  for (const k of sorted) {
    if (!Number.isInteger(k) || k < 0 || k >= numBlocks) throw badValue('layers', kept.join(','), `block ${k} does not exist; this model has blocks 0..${numBlocks - 1}.`);
  }
  return sorted;
}

/**
 * Rewires the graph so that only `kept` blocks run, in order, each reading the previous kept block's output.
 * `into(k, prev)` may return another tensor for kept block k to read instead of `prev` (a bridge over a gap);
 * `start` is the state the first kept block reads when it is not the graph's own (a factorised word table's up-projection).
 */
export function rewire(model: OnnxModel, blocks: BlockStructure, kept: number[], into?: (k: number, prev: string) => string, start = blocks.hiddenIn[0]): Rewiring {
  const L = blocks.numBlocks;
  const renames = new Map<OnnxNode, Map<string, string>>();
  const added: NewNode[] = [];
  const replaced = new Set<OnnxNode>();
  const setRename = (n: OnnxNode, from: string, to: string) => {
    if (from === to) return;
    let m = renames.get(n);
    if (!m) renames.set(n, (m = new Map()));
    m.set(from, to);
  };
  if (L === 0) return { renames, added, replaced, lastHidden: blocks.finalOutput };
  let prev = start;
  for (const k of kept) {
    if (into) prev = into(k, prev);
    const from = blocks.hiddenIn[k];
    model.nodes.forEach((n, i) => {
      if (blocks.blockOf[i] === k && n.inputs.includes(from)) setRename(n, from, prev);
    });
    prev = blocks.hiddenOut[k];
  }
  for (const t of shapeReadTwins(model, blocks, kept)) setRename(t.node, t.from, t.to);
  const lastOut = blocks.hiddenOut[L - 1];
  if (prev !== lastOut) {
    model.nodes.forEach((n, i) => {
      if (blocks.blockOf[i] === -1 && n.inputs.includes(lastOut)) setRename(n, lastOut, prev);
    });
    // The final hidden state read by name (a graph output, or under a task head the state pooled): it now comes from the last kept block.
    if (blocks.finalOutput === lastOut || model.outputs.some((o) => o.name === lastOut)) {
      model.nodes.forEach((n) => {
        if (n.outputs.includes(lastOut)) replaced.add(n);
      });
      added.push({ name: 'probescale/pruned_output', opType: 'Identity', inputs: [prev], outputs: [lastOut] });
    }
  }
  return { renames, added, replaced, lastHidden: prev };
}

/**
 * Keeps only the nodes needed for `outputs` (dead-code elimination after rewiring), the
 * initializers they read, and the value_info of tensors that still exist.
 */
export function finishEdit(
  model: OnnxModel,
  rw: Rewiring | null,
  extraNodes: NewNode[],
  outputs: (OnnxValueInfo | NewValueInfo)[],
  newInitializers: NewInitializer[] = [],
  /** Inner tensors fed as graph inputs instead of computed (a segment of the graph). */
  inputs: NewValueInfo[] = [],
): GraphEdit {
  const fed = new Set(inputs.map((i) => i.name));
  const renameOf = (n: OnnxNode, t: string) => rw?.renames.get(n)?.get(t) ?? t;
  const all: NodeRef[] = [...model.nodes.filter((n) => !rw?.replaced.has(n)), ...(rw?.added ?? []), ...extraNodes];
  const producer = new Map<string, NodeRef>();
  for (const n of all) for (const o of n.outputs) if (o) producer.set(o, n);
  const inputsOf = (n: NodeRef) => ('field' in n ? n.inputs.map((t) => renameOf(n, t)) : n.inputs);
  const keep = new Set<NodeRef>();
  const stack = outputs.map((o) => o.name);
  const seen = new Set<string>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const p = fed.has(t) ? undefined : producer.get(t);
    if (!p || keep.has(p)) continue;
    keep.add(p);
    for (const i of inputsOf(p)) if (i) stack.push(i);
    // A subgraph (If's branches, Loop's body) reads tensors of this graph without naming them as inputs.
    if ('field' in p && SUBGRAPH_OPS.has(p.opType)) for (const i of model.outerReads(p)) stack.push(i);
  }
  const usedInit = new Set<string>();
  for (const t of seen) if (model.initializers.has(t)) usedInit.add(t);
  const liveTensors = new Set<string>(seen);
  for (const n of keep) for (const o of n.outputs) liveTensors.add(o);
  const extraOpsets = extraNodes.some((n) => n.domain === 'com.microsoft') ? [{ domain: 'com.microsoft', version: 1 }] : [];
  return {
    nodes: all.filter((n) => keep.has(n)),
    renameInputs: rw ? (n, t) => renameOf(n, t) : undefined,
    keepInitializer: (name) => usedInit.has(name),
    keepValueInfo: (name) => liveTensors.has(name) && !fed.has(name),
    newInitializers: newInitializers.filter((t) => seen.has(t.name)),
    outputs,
    ...(inputs.length ? { extraInputs: inputs } : {}),
    extraOpsets,
  };
}

/**
 * The outputs an edited encoder graph returns: the source's, or for a graph that ends in a task
 * head (blocks.headOutputs) the final hidden state `lastHidden` as last_hidden_state instead, so
 * that the head is left out and the result is an encoder export like any other.
 */
export function encoderOutputs(model: OnnxModel, blocks: BlockStructure, lastHidden: string, kept: number[]): { outputs: (OnnxValueInfo | NewValueInfo)[]; nodes: NewNode[] } {
  if (blocks.headOutputs.length === 0) {
    const inBlock = blockOutputs(model, blocks);
    return { outputs: model.outputs.filter((o) => !inBlock.has(o.name) || kept.includes(inBlock.get(o.name)!)), nodes: [] };
  }
  const elemType = model.outputs.find((o) => blocks.headOutputs.includes(o.name))?.elemType ?? DataType.FLOAT;
  const outputs = [{ name: ENCODER_OUTPUT, elemType, shape: ['batch_size', 'sequence_length', 'hidden_size'] }];
  // A final norm under the head (ModernBERT's) reads the last kept block's state once rewired: its output is the encoder's.
  const state = blocks.numBlocks && blocks.finalOutput !== blocks.hiddenOut[blocks.numBlocks - 1] ? blocks.finalOutput : lastHidden;
  return { outputs, nodes: state === ENCODER_OUTPUT ? [] : [{ name: 'probescale/encoder_output', opType: 'Identity', inputs: [state], outputs: [ENCODER_OUTPUT] }] };
}

/**
 * Graph outputs computed inside one block, as an export with output_hidden_states or
 * output_attentions returns them (hidden_states.j + 1, attentions.j): output → block j, read
 * through Identity copies; not the final output (last_hidden_state), which rewire gives the last
 * kept block's state. A pruned graph keeps those of the kept blocks under their names; the others
 * would keep the dropped blocks in the graph.
 */
export function blockOutputs(model: OnnxModel, blocks: BlockStructure): Map<string, number> {
  const producer = producerIndex(model);
  const copyOf = new Map(model.nodes.filter((n) => n.opType === 'Identity').map((n) => [n.outputs[0], n.inputs[0]]));
  const found = new Map<string, number>();
  for (const o of model.outputs) {
    let t = o.name;
    for (let hops = 0; copyOf.has(t) && hops <= copyOf.size; hops++) t = copyOf.get(t)!;
    const block = producer.has(t) ? blocks.blockOf[producer.get(t)!] : -1;
    if (block >= 0 && o.name !== blocks.finalOutput) found.set(o.name, block);
  }
  return found;
}

/** Builds the edit that drops every block not in `kept`; inputs and outputs stay as they were (a task head is left out: encoderOutputs). */
export function pruneEdit(model: OnnxModel, blocks: BlockStructure, kept: number[]): GraphEdit {
  const k = validateKept(kept, blocks.numBlocks);
  const rw = rewire(model, blocks, k);
  const enc = encoderOutputs(model, blocks, rw.lastHidden, k);
  return { ...finishEdit(model, rw, enc.nodes, enc.outputs), metadata: recordBlocks(blocks, k) };
}

/**
 * How one vector per example is taken from a layer's token states, each as sentence-transformers'
 * Pooling computes it: masked mean, the first token, masked maximum per dimension, masked sum over
 * √(tokens) (mean_sqrt_len_tokens), mean weighted by position 1…n (weightedmean_tokens), the last
 * unpadded token (lasttoken).
 */
export const POOLINGS = ['mean', 'first', 'max', 'mean-sqrt-len', 'weighted-mean', 'last'] as const;
export type Pooling = (typeof POOLINGS)[number];

/** An empty output list per pooling (the type makes sure every one of POOLINGS is here). */
export function noPooled(): Record<Pooling, string[]> {
  return { mean: [], first: [], max: [], 'mean-sqrt-len': [], 'weighted-mean': [], last: [] };
}

export interface ProbeOutputs {
  /** Output name per hidden state l = 0..L (or only the final one for a pruned graph), per pooling. */
  pooled: Record<Pooling, string[]>;
  /** Per l = 1..L: masked mean over tokens of cos(h_{l-1}, h_l) per example (ShortGPT Block Influence = 1 − this). */
  cosine: string[];
  /** Index of each pooled entry in hidden-state numbering. */
  layers: number[];
}

export interface ProbeGraphOptions {
  poolings: Pooling[];
  /** Keep only these blocks (pruned candidate); its final hidden state alone is pooled. */
  kept?: number[];
  /** Add per-layer cosine outputs (only for the full graph). */
  cosine?: boolean;
  /**
   * Appends nodes after the pooled final hidden state (e.g. a classifier head); its outputs
   * replace the pooled outputs as the graph's outputs.
   */
  head?: (pooled: string) => { nodes: NewNode[]; initializers: NewInitializer[]; outputs: NewValueInfo[] };
}

const POOL_PREFIX = 'probescale/';

/** Nodes pooling hidden states over the attention mask (each of POOLINGS), with their constants and outputs. */
export class PoolingNodes {
  readonly nodes: NewNode[] = [];
  readonly inits: NewInitializer[];
  readonly vi: NewValueInfo[] = [];
  private readonly opset: number;
  private readonly axesAsInput: boolean;
  private readonly maxAxesAsInput: boolean;

  constructor(model: OnnxModel) {
    const mask = model.runtimeInputs.find((i) => i.name === 'attention_mask');
    if (!mask) throw new UnsupportedModelError(`the graph has no attention_mask input (inputs: ${model.runtimeInputs.map((i) => i.name).join(', ')}); masked pooling needs one.`);
    const P = POOL_PREFIX;
    this.opset = model.opsetVersion('');
    this.axesAsInput = this.opset >= 13;
    this.maxAxesAsInput = this.opset >= 18;
    this.inits = [int64Initializer(`${P}axis1`, [1]), int64Initializer(`${P}axis1s`, [1], []), int64Initializer(`${P}axis2`, [2]), int64Initializer(`${P}zero`, [0], []), floatInitializer(`${P}zerof`, [0], []), floatInitializer(`${P}eps`, [1e-9], []), floatInitializer(`${P}one`, [1], []), floatInitializer(`${P}far`, [1e9], [])];
    this.nodes.push({ name: `${P}mask_f`, opType: 'Cast', inputs: [mask.name], outputs: [`${P}mask_f`], attributes: { to: DataType.FLOAT } });
    this.nodes.push(this.axesAsInput ? { name: `${P}mask_u`, opType: 'Unsqueeze', inputs: [`${P}mask_f`, `${P}axis2`], outputs: [`${P}mask_u`] } : { name: `${P}mask_u`, opType: 'Unsqueeze', inputs: [`${P}mask_f`], outputs: [`${P}mask_u`], attributes: { axes: [2] } });
    this.reduce(`${P}mask_n`, 'ReduceSum', `${P}mask_f`, 1, 1, `${P}mask_n0`);
    this.nodes.push({ name: `${P}mask_nc`, opType: 'Max', inputs: [`${P}mask_n0`, `${P}eps`], outputs: [`${P}mask_n`] });
  }

  readonly reduce = (name: string, op: string, input: string, axis: 1 | 2, keepdims: 0 | 1, out: string) =>
    this.nodes.push(
      this.axesAsInput
        ? { name, opType: op, inputs: [input, `${POOL_PREFIX}axis${axis}`], outputs: [out], attributes: { keepdims } }
        : { name, opType: op, inputs: [input], outputs: [out], attributes: { axes: [axis], keepdims } },
    );

  /** Pools hidden state `h` under the tag `l` in each of `poolings`, appending the output names to `outputs.pooled`. */
  pool(h: string, l: number, poolings: Pooling[], outputs: ProbeOutputs): void {
    // In POOLINGS' order whatever the order asked, so a graph's nodes do not depend on it.
    for (const p of POOLINGS.filter((x) => poolings.includes(x))) {
      const o = `${POOL_PREFIX}${p}_${l}`;
      this.poolOne(p, h, l, o);
      outputs.pooled[p].push(o);
      this.vi.push({ name: o, elemType: DataType.FLOAT, shape: ['batch', 'hidden'] });
    }
  }

  private poolOne(p: Pooling, h: string, l: number, o: string): void {
    const P = `${POOL_PREFIX}${p}_`;
    switch (p) {
      case 'first':
        this.nodes.push({ name: o, opType: 'Gather', inputs: [h, `${POOL_PREFIX}zero`], outputs: [o], attributes: { axis: 1 } });
        return;
      case 'max':
        // Padded tokens pushed 1e9 below, then the maximum over tokens.
        this.nodes.push({ name: `${P}add_${l}`, opType: 'Add', inputs: [h, this.shared('mask_low')], outputs: [`${P}add_${l}`] });
        // ReduceMax reads its axes as an input only from opset 18 (ReduceSum from 13).
        this.nodes.push(this.maxAxesAsInput ? { name: o, opType: 'ReduceMax', inputs: [`${P}add_${l}`, `${POOL_PREFIX}axis1`], outputs: [o], attributes: { keepdims: 0 } } : { name: o, opType: 'ReduceMax', inputs: [`${P}add_${l}`], outputs: [o], attributes: { axes: [1], keepdims: 0 } });
        return;
      case 'last':
        this.weightedSum(h, this.shared('last_u'), `${P}mul_${l}`, o);
        return;
      default: {
        // mean, mean-sqrt-len, weighted-mean: a weighted sum over tokens, divided.
        const mask = `${POOL_PREFIX}mask_u`;
        const [weights, divisor] = p === 'mean' ? [mask, `${POOL_PREFIX}mask_n`] : p === 'mean-sqrt-len' ? [mask, this.shared('mask_sqrt')] : [this.shared('pos_u'), this.shared('pos_n')];
        this.weightedSum(h, weights, `${P}mul_${l}`, `${P}sum_${l}`);
        this.nodes.push({ name: `${P}div_${l}`, opType: 'Div', inputs: [`${P}sum_${l}`, divisor], outputs: [o] });
      }
    }
  }

  /** Σ_tokens h · w ([batch, seq, 1] weights) → `sum`, [batch, hidden]; `mul` names the product. */
  private weightedSum(h: string, w: string, mul: string, sum: string): void {
    this.nodes.push({ name: mul, opType: 'Mul', inputs: [h, w], outputs: [mul] });
    this.reduce(sum, 'ReduceSum', mul, 1, 0, sum);
  }

  /** A tensor the poolings share, made once on first use; returns its name. */
  private shared(what: 'mask_low' | 'mask_sqrt' | 'pos_u' | 'pos_n' | 'last_u'): string {
    const P = POOL_PREFIX;
    const name = `${P}${what}`;
    if (this.nodes.some((n) => n.outputs.includes(name))) return name;
    const node = (opType: string, inputs: string[], out: string, attributes?: NewNode['attributes']) => this.nodes.push({ name: out, opType, inputs, outputs: [out], ...(attributes ? { attributes } : {}) });
    const unsqueeze = (input: string, out: string) => node('Unsqueeze', this.axesAsInput ? [input, `${P}axis2`] : [input], out, this.axesAsInput ? undefined : { axes: [2] });
    switch (what) {
      case 'mask_low':
        node('Sub', [`${P}mask_u`, `${P}one`], `${P}mask_off`);
        node('Mul', [`${P}mask_off`, `${P}far`], name);
        break;
      case 'mask_sqrt':
        node('Sqrt', [`${P}mask_n`], name);
        break;
      case 'pos_u':
      case 'pos_n': {
        // Positions 1…S (sentence-transformers' arange) on unpadded tokens, 0 on padding.
        this.requireOpset(11, 'weighted-mean');
        node('Mul', [`${P}mask_f`, `${P}zerof`], `${P}zeros`);
        node('Add', [`${P}zeros`, `${P}one`], `${P}ones`);
        node('CumSum', [`${P}ones`, `${P}axis1s`], `${P}pos`);
        node('Mul', [`${P}pos`, `${P}mask_f`], `${P}pos_w`);
        unsqueeze(`${P}pos_w`, `${P}pos_u`);
        this.reduce(`${P}pos_n0`, 'ReduceSum', `${P}pos_w`, 1, 1, `${P}pos_n0`);
        node('Max', [`${P}pos_n0`, `${P}eps`], `${P}pos_n`);
        break;
      }
      case 'last_u':
        // 1 where the running count of unpadded tokens reaches the count: the last one (either padding side).
        this.requireOpset(11, 'last');
        node('CumSum', [`${P}mask_f`, `${P}axis1s`], `${P}mask_cum`);
        node('Equal', [`${P}mask_cum`, `${P}mask_n0`], `${P}last_eq`);
        node('Cast', [`${P}last_eq`], `${P}last_f`, { to: DataType.FLOAT });
        node('Mul', [`${P}last_f`, `${P}mask_f`], `${P}last_w`);
        unsqueeze(`${P}last_w`, name);
        break;
    }
    return name;
  }

  private requireOpset(min: number, pooling: Pooling): void {
    if (this.opset < min) throw new UnsupportedModelError(`pooling ${pooling} needs CumSum, which this graph's opset ${this.opset} lacks (from opset ${min}); use mean, first or max pooling, or export the model at opset ${min} or later.`);
  }
}

/**
 * Adds masked-mean and first-token pooling of hidden states inside the graph, so one ORT pass
 * returns [batch, hidden] per layer instead of [batch, seq, hidden].
 */
export function probeEdit(model: OnnxModel, blocks: BlockStructure, opts: ProbeGraphOptions): { edit: GraphEdit; outputs: ProbeOutputs } {
  const pool = new PoolingNodes(model);
  const { rw, hidden, layers } = probedStates(model, blocks, opts.kept);
  const outputs: ProbeOutputs = { pooled: noPooled(), cosine: [], layers };
  hidden.forEach((h, j) => pool.pool(h, layers[j], opts.poolings, outputs));
  if (opts.cosine && !opts.kept) addCosines(pool, hidden, outputs);
  const { nodes, inits, vi } = pool;
  if (opts.head) {
    const last = outputs.pooled[opts.poolings[0]].at(-1)!;
    const h = opts.head(last);
    return { edit: finishEdit(model, rw, [...nodes, ...h.nodes], h.outputs, [...inits, ...h.initializers]), outputs };
  }
  return { edit: finishEdit(model, rw, nodes, vi, inits), outputs };
}

/** The hidden states to pool and their numbers: every one, or with `kept` the pruned graph's final one (with its rewiring). */
function probedStates(model: OnnxModel, blocks: BlockStructure, kept: number[] | undefined): { rw: Rewiring | null; hidden: string[]; layers: number[] } {
  if (kept) {
    const k = validateKept(kept, blocks.numBlocks);
    return { rw: rewire(model, blocks, k), hidden: [blocks.finalOutput], layers: [k.length] };
  }
  const hidden = blocks.numBlocks === 0 ? [blocks.finalOutput] : [...blocks.hiddenIn, blocks.finalOutput];
  return { rw: null, hidden, layers: hidden.map((_, i) => i) };
}

/** Per l = 1..L, nodes for the masked mean over tokens of cos(h_{l-1}, h_l), appending their outputs to `outputs.cosine`. */
function addCosines(pool: PoolingNodes, hidden: string[], outputs: ProbeOutputs): void {
  const { nodes, reduce, vi } = pool;
  const P = POOL_PREFIX;
  const sq = hidden.map((h, l) => {
    const o = `${P}sq_${l}`;
    nodes.push({ name: `${P}sqm_${l}`, opType: 'Mul', inputs: [h, h], outputs: [`${P}sqm_${l}`] });
    reduce(o, 'ReduceSum', `${P}sqm_${l}`, 2, 0, o);
    return o;
  });
  for (let l = 1; l < hidden.length; l++) {
    const o = `${P}cos_${l}`;
    nodes.push({ name: `${P}dotm_${l}`, opType: 'Mul', inputs: [hidden[l - 1], hidden[l]], outputs: [`${P}dotm_${l}`] });
    reduce(`${P}dot_${l}`, 'ReduceSum', `${P}dotm_${l}`, 2, 0, `${P}dot_${l}`);
    nodes.push({ name: `${P}nn_${l}`, opType: 'Mul', inputs: [sq[l - 1], sq[l]], outputs: [`${P}nn_${l}`] });
    nodes.push({ name: `${P}nne_${l}`, opType: 'Max', inputs: [`${P}nn_${l}`, `${P}eps`], outputs: [`${P}nne_${l}`] });
    nodes.push({ name: `${P}nrm_${l}`, opType: 'Sqrt', inputs: [`${P}nne_${l}`], outputs: [`${P}nrm_${l}`] });
    nodes.push({ name: `${P}cost_${l}`, opType: 'Div', inputs: [`${P}dot_${l}`, `${P}nrm_${l}`], outputs: [`${P}cost_${l}`] });
    nodes.push({ name: `${P}cosm_${l}`, opType: 'Mul', inputs: [`${P}cost_${l}`, `${P}mask_f`], outputs: [`${P}cosm_${l}`] });
    reduce(`${P}coss_${l}`, 'ReduceSum', `${P}cosm_${l}`, 1, 1, `${P}coss_${l}`);
    nodes.push({ name: `${P}cosd_${l}`, opType: 'Div', inputs: [`${P}coss_${l}`, `${P}mask_n`], outputs: [o] });
    outputs.cosine.push(o);
    vi.push({ name: o, elemType: DataType.FLOAT, shape: ['batch', 1] });
  }
}
