/**
 * One probe graph for several block subsets at once. Their kept-block sequences form a trie:
 * subsets that start with the same blocks share those blocks' computation (e.g. 0,1,2,5 and
 * 0,1,2,7 run blocks 0–2 once), and a subset that is a prefix of another (0,1,2) is read off the
 * longer one's pass. Each trie node is a copy of one block's nodes reading its parent's output;
 * weights are shared by name, so the graph holds each block's weights once whatever the number
 * of subsets. Every subset's final hidden state (after any final norm) is pooled.
 */
import { BlockStructure } from './blocks';
import { Pooling, PoolingNodes, ProbeOutputs, finishEdit, noPooled, validateKept } from './edit';
import { GraphEdit, NewNode, OnnxModel } from './model';

/**
 * Indices of the nodes on a path from tensor `from` to tensor `to`: what must be recomputed when
 * `from` is replaced. Nodes that do not read `from` (directly or not) keep their original
 * outputs, which every copy shares (constants, the attention mask, weights' casts).
 */
export function nodesBetween(model: OnnxModel, from: string, to: string): number[] {
  const after = new Set<string>([from]);
  const downstream = new Set<number>();
  model.nodes.forEach((n, i) => {
    if (n.inputs.some((t) => after.has(t))) {
      downstream.add(i);
      for (const o of n.outputs) if (o) after.add(o);
    }
  });
  const needed = new Set<string>([to]);
  const between: number[] = [];
  for (let i = model.nodes.length - 1; i >= 0; i--) {
    const n = model.nodes[i];
    if (!downstream.has(i) || !n.outputs.some((o) => needed.has(o))) continue;
    between.push(i);
    for (const t of n.inputs) if (t) needed.add(t);
  }
  return between.reverse();
}

/** Copies `nodes` (in order) reading `input` in place of `from`; returns the copy's name for `to`. */
function copySegment(model: OnnxModel, nodes: number[], from: string, input: string, to: string, tag: string, out: NewNode[]): string {
  const renamed = new Map<string, string>([[from, input]]);
  for (const i of nodes) {
    const n = model.nodes[i];
    const outputs = n.outputs.map((o) => (o ? `${o}@${tag}` : o));
    n.outputs.forEach((o, j) => o && renamed.set(o, outputs[j]));
    out.push({ name: `${n.name || `${n.opType}_${i}`}@${tag}`, opType: n.opType, inputs: n.inputs.map((t) => renamed.get(t) ?? t), outputs, copyOf: n });
  }
  return renamed.get(to) ?? input;
}

/**
 * The probe graph of every subset in `subsets` (entry j of the outputs is subset j's final
 * hidden state, pooled). Features equal those of each subset's own pruned graph (`probeEdit`
 * with `kept`): the same nodes run on the same inputs.
 */
export function subsetsProbeEdit(model: OnnxModel, blocks: BlockStructure, subsets: number[][], poolings: Pooling[]): { edit: GraphEdit; outputs: ProbeOutputs } {
  const pool = new PoolingNodes(model);
  const copies: NewNode[] = [];
  const segment = new Map<number, number[]>();
  const lastOut = blocks.numBlocks ? blocks.hiddenOut[blocks.numBlocks - 1] : blocks.hiddenIn[0];
  const tail = lastOut === blocks.finalOutput ? [] : nodesBetween(model, lastOut, blocks.finalOutput);
  const trie = new Map<string, string>();
  const outputs: ProbeOutputs = { pooled: noPooled(), cosine: [], layers: subsets.map((_, j) => j) };
  subsets.forEach((s, j) => {
    let prev = blocks.hiddenIn[0];
    let key = '';
    for (const k of validateKept(s, blocks.numBlocks)) {
      key += `${k},`;
      let t = trie.get(key);
      if (!t) {
        if (!segment.has(k)) segment.set(k, nodesBetween(model, blocks.hiddenIn[k], blocks.hiddenOut[k]));
        trie.set(key, (t = copySegment(model, segment.get(k)!, blocks.hiddenIn[k], prev, blocks.hiddenOut[k], `t${trie.size}`, copies)));
      }
      prev = t;
    }
    const final = tail.length ? copySegment(model, tail, lastOut, prev, blocks.finalOutput, `s${j}`, copies) : prev;
    pool.pool(final, j, poolings, outputs);
  });
  return { edit: finishEdit(model, null, [...copies, ...pool.nodes], pool.vi, pool.inits), outputs };
}
