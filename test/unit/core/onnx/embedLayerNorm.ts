/**
 * Rewrites a BERT export's embeddings as ONNX Runtime's Python transformer optimizer does
 * (onnxruntime/python/tools/transformers/fusion_embedlayer.py, which optimum's `--optimize O2`–O4
 * run): word Gather + token-type Gather → Add, position Gather → Add, LayerNormalization become one
 * com.microsoft EmbedLayerNormalization with the inputs in the fusion's order
 *   input_ids_int32, segment_ids_int32, word table, position table, segment table, gamma, beta[, mask]
 * (ids cast to int32 by unnamed Cast nodes whose outputs are `<name>_int32`), outputs
 * `EmbedLayerNormalization_0_output` and `EmbedLayerNormalization_0_dummy_mask_index`, and the
 * layer norm's epsilon. DistilBERT's embeddings (word + position, no token types) fuse as
 * fuse_distilbert does: the segment ids and table are empty inputs. With `attention`, every block's self-attention is first fused into a
 * com.microsoft Attention (scripts/timeFusions.ts); as the fusion with a mask index does, the
 * Attention mask then feeds the fused node and each Attention reads its mask_index instead.
 * Nodes left without readers are removed, as the optimizer's graph pruning does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fuseAttention } from '../../../../scripts/timeFusions';
import { DataType, NewNode, NodeRef, OnnxModel, OnnxNode } from '../../../../src/core/onnx/model';

const MS = { domain: 'com.microsoft', version: 1 };

export interface Fused {
  file: string;
  /** The fused node's name, 'EmbedLayerNormalization_0'. */
  node: string;
}

export interface FuseOptions {
  epsilon: number;
  /** Every self-attention as one com.microsoft Attention reading mask_index. */
  attention?: { headSize: number };
  /**
   * Every bias Add → residual Add → LayerNormalization as one com.microsoft SkipLayerNormalization
   * named `SkipLayerNorm_AddBias_<n>` outside every scope, inputs (MatMul output, residual, gamma,
   * beta, bias), as fusion_skiplayernorm.py's bias fusion writes it.
   */
  skipLayerNorm?: boolean;
  /**
   * Every FFN's bias Add → erf GELU (Div, Erf, Add, Mul, Mul) as one com.microsoft node reading
   * (MatMul output, bias), named outside every scope: `bias` is fusion_biasgelu.py's BiasGelu
   * (optimum's O2), `fast` the tanh approximation FastGelu that O3's gelu approximation makes of it.
   */
  gelu?: 'bias' | 'fast';
}

/** Writes `dst`: the BERT graph `src` with its embeddings fused, and what `options` adds. */
export function fuseEmbedLayerNorm(src: string, dst: string, options: FuseOptions): Fused {
  let from = src;
  if (options.attention) {
    from = path.join(path.dirname(dst), `${path.basename(dst)}.attention.onnx`);
    fuseAttention(OnnxModel.open(src), from, options.attention.headSize);
  }
  const m = OnnxModel.open(from);
  try {
    writeFused(m, dst, options);
  } finally {
    m.close();
    if (from !== src) fs.rmSync(from);
  }
  return { file: dst, node: 'EmbedLayerNormalization_0' };
}

function writeFused(m: OnnxModel, dst: string, { epsilon, skipLayerNorm, gelu }: FuseOptions): void {
  const producer = new Map<string, OnnxNode>();
  const readers = new Map<string, OnnxNode[]>();
  for (const n of m.nodes) {
    n.outputs.forEach((o) => producer.set(o, n));
    n.inputs.forEach((t) => readers.set(t, [...(readers.get(t) ?? []), n]));
  }
  const table = (g: OnnxNode | undefined) => g?.opType === 'Gather' && m.initializers.get(g.inputs[0])?.dims.length === 2;
  const word = m.nodes.find((n) => table(n) && n.inputs[1] === 'input_ids')!;
  const add0 = readers.get(word.outputs[0])!.find((n) => n.opType === 'Add')!;
  const second = producer.get(add0.inputs.find((t) => t !== word.outputs[0])!)!;
  // DistilBERT: word + position → LayerNorm; BERT: word + token type, + position → LayerNorm.
  const distil = readers.get(add0.outputs[0])![0].opType === 'LayerNormalization';
  const add1 = distil ? add0 : readers.get(add0.outputs[0])![0];
  const segment = distil ? undefined : second;
  const position = distil ? second : producer.get(add1.inputs.find((t) => t !== add0.outputs[0])!)!;
  const ln = readers.get(add1.outputs[0])![0];
  if (![add0.opType, add1.opType, ln.opType].every((t, i) => t === ['Add', 'Add', 'LayerNormalization'][i]) || !(distil || table(segment)) || !table(position)) {
    throw new Error(`${m.src.label}: not a BERT embedding (word + token type, + position, LayerNormalization) nor DistilBERT's (word + position, LayerNormalization)`);
  }
  const attention = m.nodes.filter((n) => n.opType === 'Attention');
  const mask = attention[0]?.inputs[3];
  const cast = (t: string): NewNode => ({ name: '', opType: 'Cast', inputs: [t], outputs: [`${t}_int32`], attributes: { to: DataType.INT32 } });
  const name = 'EmbedLayerNormalization_0';
  const embed: NewNode = {
    name,
    opType: 'EmbedLayerNormalization',
    domain: MS.domain,
    inputs: [`${word.inputs[1]}_int32`, segment ? `${segment.inputs[1]}_int32` : '', word.inputs[0], position.inputs[0], segment?.inputs[0] ?? '', ln.inputs[1], ln.inputs[2], ...(mask ? [mask] : [])],
    outputs: [`${name}_output`, `${name}_dummy_mask_index`],
    attributes: { epsilon: { float: epsilon } },
  };
  const fused = new Set([word, position, add0, add1, ln, ...(segment ? [segment] : [])]);
  const skips = new Map<OnnxNode, NewNode>();
  if (skipLayerNorm) {
    const bias = (n: OnnxNode | undefined) => (n?.opType === 'Add' ? n.inputs.find((t) => m.initializers.get(t)?.dims.length === 1) : undefined);
    for (const norm of m.nodes.filter((n) => n.opType === 'LayerNormalization' && n !== ln)) {
      const sum = producer.get(norm.inputs[0]);
      const k = sum?.opType === 'Add' ? [0, 1].find((j) => bias(producer.get(sum.inputs[j]))) : undefined;
      if (!sum || k === undefined) continue;
      const biasAdd = producer.get(sum.inputs[k])!;
      const b = bias(biasAdd)!;
      fused.add(sum).add(biasAdd);
      const x = biasAdd.inputs.find((t) => t !== b)!;
      skips.set(norm, { name: `SkipLayerNorm_AddBias_${skips.size}`, opType: 'SkipLayerNormalization', domain: MS.domain, inputs: [x, sum.inputs[1 - k], norm.inputs[1], norm.inputs[2], b], outputs: norm.outputs, attributes: { epsilon: { float: epsilon } } });
    }
  }
  const gelus = gelu ? fuseGelu(m, producer, readers, gelu, fused) : new Map<OnnxNode, NewNode>();
  const nodes: NodeRef[] = m.nodes.flatMap((n): NodeRef[] => {
    if (n === ln) return [cast(word.inputs[1]), ...(segment ? [cast(segment.inputs[1])] : []), embed];
    if (gelus.has(n)) return [gelus.get(n)!];
    if (skips.has(n)) return [{ ...skips.get(n)!, inputs: skips.get(n)!.inputs.map((t) => (t === ln.outputs[0] ? embed.outputs[0] : t)) }];
    if (fused.has(n)) return [];
    const inputs = n.inputs.map((t) => (t === ln.outputs[0] ? embed.outputs[0] : n.opType === 'Attention' && t === mask ? embed.outputs[1] : t));
    return inputs.some((t, i) => t !== n.inputs[i]) ? [{ name: n.name, opType: n.opType, domain: n.domain, inputs, outputs: n.outputs, copyOf: n }] : [n];
  });
  const kept = live(sorted(nodes), new Set(m.outputs.map((o) => o.name)));
  const read = new Set(kept.flatMap((n) => n.inputs));
  m.write(dst, { nodes: kept, keepInitializer: (t) => read.has(t), extraOpsets: [MS] });
}

/**
 * Each bias Add → Div → Erf → Add → Mul → Mul (HF's erf GELU) as one `BiasGelu_AddBias_<n>` or
 * `FastGelu_AddBias_<n>` reading (MatMul output, bias), keyed by the last Mul it replaces; the
 * nodes it absorbs go into `fused`.
 */
function fuseGelu(m: OnnxModel, producer: Map<string, OnnxNode>, readers: Map<string, OnnxNode[]>, kind: 'bias' | 'fast', fused: Set<OnnxNode>): Map<OnnxNode, NewNode> {
  const out = new Map<OnnxNode, NewNode>();
  const only = (t: string) => readers.get(t)?.[0];
  for (const erf of m.nodes.filter((n) => n.opType === 'Erf')) {
    const div = producer.get(erf.inputs[0]);
    const biasAdd = div && producer.get(div.inputs[0]);
    const bias = biasAdd?.opType === 'Add' ? biasAdd.inputs.find((t) => m.initializers.get(t)?.dims.length === 1) : undefined;
    const plus = only(erf.outputs[0]);
    const times = plus && only(plus.outputs[0]);
    const half = times && only(times.outputs[0]);
    if (div?.opType !== 'Div' || !bias || plus?.opType !== 'Add' || times?.opType !== 'Mul' || half?.opType !== 'Mul') throw new Error(`${m.src.label}: ${erf.name} is not an erf GELU after a bias Add`);
    const op = kind === 'bias' ? 'BiasGelu' : 'FastGelu';
    out.set(half, { name: `${op}_AddBias_${out.size}`, opType: op, domain: MS.domain, inputs: [biasAdd!.inputs.find((t) => t !== bias)!, bias], outputs: half.outputs });
    [biasAdd!, div, erf, plus, times, half].forEach((n) => fused.add(n));
  }
  return out;
}

/** The nodes in an order where each comes after the producers of its inputs (stable otherwise). */
function sorted(nodes: NodeRef[]): NodeRef[] {
  const made = new Set<string>(nodes.flatMap((n) => n.outputs));
  const ready = new Set<string>();
  const out: NodeRef[] = [];
  const waiting = [...nodes];
  while (waiting.length) {
    const i = waiting.findIndex((n) => n.inputs.every((t) => !t || !made.has(t) || ready.has(t)));
    if (i < 0) throw new Error('cycle in the rewritten graph');
    const [n] = waiting.splice(i, 1);
    n.outputs.forEach((o) => ready.add(o));
    out.push(n);
  }
  return out;
}

/** The nodes some graph output depends on. */
function live(nodes: NodeRef[], outputs: Set<string>): NodeRef[] {
  const needed = new Set(outputs);
  const keep = new Set<NodeRef>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!nodes[i].outputs.some((o) => needed.has(o))) continue;
    keep.add(nodes[i]);
    nodes[i].inputs.forEach((t) => needed.add(t));
  }
  return nodes.filter((n) => keep.has(n));
}
