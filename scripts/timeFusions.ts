/**
 * Would ONNX Runtime's fused CPU kernels close the latency gap of the narrowest compensated
 * models (RESULTS §5f)? Rewrites each given graph twice, once with every
 *   MatMul → Add(bias) → Add(residual) → LayerNormalization  as com.microsoft SkipLayerNormalization
 * and once with every self-attention (Q, K, V projections … merge Reshape) as com.microsoft Attention,
 * checks each rewrite's output against the graph's own (half the rows padded), and times all of them
 * alternately in one process, threads parked after each run as verify does.
 *   node out/scripts/timeFusions.js BATCH LENGTH MODEL.onnx [MODEL.onnx …]
 * ORT's own optimizer fuses neither here: its SkipLayerNorm fusion needs a fixed sequence length in
 * the graph's shapes, and its attention fusion does not match this export. A diagnostic for HF
 * BERT/RoBERTa exports (nodes found by their export names), not product code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataType, NewInitializer, NewNode, NodeRef, OnnxModel, OnnxNode } from '../src/core/onnx/model';
import { checkedSessions, concatQkv, encoderInputs, Timed, timeAlternately } from './graphTiming';

const MS = { domain: 'com.microsoft', version: 1 };

function producers(m: OnnxModel) {
  const prod = new Map<string, OnnxNode>();
  const uses = new Map<string, number>();
  for (const n of m.nodes) {
    for (const o of n.outputs) prod.set(o, n);
    for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  return { prod, uses };
}

/** Add(bias, MatMul) → Add(·, residual) → LayerNormalization becomes one SkipLayerNormalization. */
function fuseSkipLayerNorm(m: OnnxModel, out: string, epsilon: number): number {
  const { prod, uses } = producers(m);
  const drop = new Set<OnnxNode>();
  const swap = new Map<OnnxNode, NewNode>();
  for (const ln of m.nodes.filter((n) => n.opType === 'LayerNormalization')) {
    const sum = prod.get(ln.inputs[0]);
    if (sum?.opType !== 'Add' || uses.get(sum.outputs[0]) !== 1) continue;
    for (let k = 0; k < 2; k++) {
      const biasAdd = prod.get(sum.inputs[k]);
      const bias = biasAdd?.inputs.find((t) => m.initializers.get(t)?.dims.length === 1);
      if (biasAdd?.opType !== 'Add' || !bias || uses.get(biasAdd.outputs[0]) !== 1) continue;
      const x = biasAdd.inputs.find((t) => t !== bias)!;
      drop.add(sum).add(biasAdd);
      swap.set(ln, { name: `${ln.name}/skip`, opType: 'SkipLayerNormalization', domain: MS.domain, inputs: [x, sum.inputs[1 - k], ln.inputs[1], ln.inputs[2], bias], outputs: ln.outputs, attributes: { epsilon } });
      break;
    }
  }
  m.write(out, { nodes: m.nodes.filter((n) => !drop.has(n)).map((n) => swap.get(n) ?? n), extraOpsets: [MS] });
  return swap.size;
}

/** Where an export names each block's self-attention: its scope, the Q, K, V projections, and nodes in the scope that stay. */
interface AttentionNames {
  scope: (b: number) => string;
  qkv: string[];
  keep?: string;
}
/** HF BERT/RoBERTa exports; DistilBERT's (`/transformer/layer.N/attention/q_lin`, its out_lin in the same scope). */
const BERT_NAMES: AttentionNames = { scope: (b) => `/encoder/layer.${b}/attention/self/`, qkv: ['query', 'key', 'value'] };
const DISTILBERT_NAMES: AttentionNames = { scope: (b) => `/transformer/layer.${b}/attention/`, qkv: ['q_lin', 'k_lin', 'v_lin'], keep: 'out_lin/' };

/** Each block's Q, K, V MatMul+Add … merge Reshape becomes one Attention over concatenated weights. */
export function fuseAttention(m: OnnxModel, out: string, headSize: number): number {
  const byName = new Map(m.nodes.map((n) => [n.name, n]));
  const names = byName.has(DISTILBERT_NAMES.scope(0) + 'Reshape_3') ? DISTILBERT_NAMES : BERT_NAMES;
  const drop = new Set<OnnxNode>();
  const before = new Map<OnnxNode, NodeRef[]>();
  const inits: NewInitializer[] = [];
  const mask: NewNode = { name: 'fusion/mask_i32', opType: 'Cast', inputs: ['attention_mask'], outputs: ['fusion/mask_i32'], attributes: { to: DataType.INT32 } };
  for (let b = 0; b < 1000; b++) {
    const scope = names.scope(b);
    const merge = byName.get(`${scope}Reshape_3`);
    if (!merge) continue;
    const lin = names.qkv.map((p) => {
      const mm = byName.get(`${scope}${p}/MatMul`)!;
      const add = byName.get(`${scope}${p}/Add`)!;
      return { x: mm.inputs[0], w: m.initializers.get(mm.inputs[1])!, bias: m.initializers.get(add.inputs.find((t) => m.initializers.has(t))!)! };
    });
    const { widths, inits: qkv } = concatQkv(m, lin, `fusion/qkv.${b}`);
    inits.push(...qkv);
    for (const n of m.nodes) if (n.name.startsWith(scope) && !(names.keep && n.name.startsWith(scope + names.keep))) drop.add(n);
    const attention: NewNode = { name: `fusion/attention.${b}`, opType: 'Attention', domain: MS.domain, inputs: [lin[0].x, `fusion/qkv.${b}_w`, `fusion/qkv.${b}_b`, mask.outputs[0]], outputs: merge.outputs, attributes: { num_heads: widths[0] / headSize, qkv_hidden_sizes: widths } };
    before.set(merge, before.size ? [attention] : [mask, attention]);
  }
  const nodes = m.nodes.flatMap((n): NodeRef[] => before.get(n) ?? (drop.has(n) ? [] : [n]));
  m.write(out, { nodes, newInitializers: inits, extraOpsets: [MS] });
  return before.size;
}

async function main(): Promise<void> {
  const [batch, length] = [Number(process.argv[2]), Number(process.argv[3])];
  const models = process.argv.slice(4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-fusions-'));
  try {
    const inputs = encoderInputs(batch, length);
    const sessions: Timed[] = [];
    for (const [i, file] of models.entries()) {
      const hidden = OnnxModel.open(file).outputs[0].shape?.at(-1) as number;
      const variants = [
        { label: `${file}`, file },
        { label: `  skip-layer-norm (${fuseSkipLayerNorm(OnnxModel.open(file), path.join(dir, `${i}.skip.onnx`), 1e-5)} fused)`, file: path.join(dir, `${i}.skip.onnx`) },
        { label: `  attention (${fuseAttention(OnnxModel.open(file), path.join(dir, `${i}.attn.onnx`), 64)} fused)`, file: path.join(dir, `${i}.attn.onnx`) },
      ];
      // Fused attention leaves padded tokens' own rows undefined: compare attended tokens only.
      sessions.push(...(await checkedSessions(variants, inputs, (j) => inputs.padded[Math.floor(j / hidden)] === 1n)));
    }
    await timeAlternately(`batch ${batch} × ${length}`, sessions, inputs, 25);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
