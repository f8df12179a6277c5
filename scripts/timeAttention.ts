/**
 * Would ONNX's own Attention operator (opset 23) make attention cheaper than the exporter's
 * Reshape → Transpose → MatMul → Softmax → MatMul → Transpose → Reshape chain (RESULTS §5f: ONNX
 * Runtime's Transposes run 3–4 times slower with a second thread on the development machines)?
 * Rewrites each block's self-attention of each given graph as one `Attention` node (Q, K and V as
 * [batch, length, width], q_num_heads from the block's width), raises the default opset to 23,
 * checks the output against the graph's own (half the rows padded), and times both alternately,
 * threads parked after each run as verify does.
 *   THREADS=2 node out/scripts/timeAttention.js BATCH LENGTH RUNS MODEL.onnx [MODEL.onnx …]
 * A diagnostic for HF BERT/RoBERTa exports (nodes found by their export names), not product code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NewNode, NodeRef, OnnxModel } from '../src/core/onnx/model';
import { readFloat32 } from '../src/core/compensate/structure';
import { checkedSessions, encoderInputs, live, Timed, timeAlternately } from './graphTiming';

const HEAD_SIZE = 64;

/** The nodes with every block's attention chain replaced by one Attention node; how many blocks. */
function withAttentionOp(m: OnnxModel): { nodes: NodeRef[]; blocks: number } {
  const byName = new Map<string, NodeRef>(m.nodes.map((n) => [n.name, n]));
  const replace = new Map<NodeRef, NodeRef[]>();
  let blocks = 0;
  for (let b = 0; b < 1000; b++) {
    const scope = byName.has(`/encoder/layer.${b}/attention/self/Reshape_3`) ? `/encoder/layer.${b}/attention/self/` : null;
    if (!scope) continue;
    const get = (k: string) => byName.get(scope + k)!;
    const [q, k, v] = ['query/Add', 'key/Add', 'value/Add'].map((x) => get(x).outputs[0]);
    const width = m.initializers.get(get('query/MatMul').inputs[1])!.dims[1];
    const maskAdd = get('Add');
    const scaled = get('Mul');
    const scaleInput = scaled.inputs.find((t) => t !== get('MatMul').outputs[0])!;
    const scaleNode = m.nodes.find((n) => n.outputs.includes(scaleInput));
    const scale = scaleNode?.opType === 'Constant' ? undefined : readFloat32(m, m.initializers.get(scaleInput)!)[0];
    const mask = maskAdd.inputs.find((t) => t !== scaled.outputs[0])!;
    const attention: NewNode = {
      name: `${scope}Attention23`,
      opType: 'Attention',
      inputs: [q, k, v, mask],
      outputs: get('Reshape_3').outputs,
      attributes: { q_num_heads: width / HEAD_SIZE, kv_num_heads: width / HEAD_SIZE, ...(scale === undefined ? {} : { scale }) },
    };
    replace.set(get('Reshape_3'), [attention]);
    blocks++;
  }
  const nodes = m.nodes.flatMap((n) => replace.get(n) ?? [n]);
  return { nodes: live(nodes, m.outputs.map((o) => o.name)), blocks };
}

async function main(): Promise<void> {
  const [batch, length, runs] = process.argv.slice(2, 5).map(Number);
  const models = process.argv.slice(5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-attn-'));
  try {
    const inputs = encoderInputs(batch, length);
    const sessions: Timed[] = [];
    for (const [i, file] of models.entries()) {
      const m = OnnxModel.open(file);
      const { nodes, blocks } = withAttentionOp(m);
      const out = path.join(dir, `${i}.attention23.onnx`);
      m.write(out, { nodes, defaultOpset: 23 });
      sessions.push(...(await checkedSessions([{ label: file, file }, { label: `  Attention (opset 23) in ${blocks} blocks, ${m.nodes.length} → ${nodes.length} nodes`, file: out }], inputs)));
    }
    await timeAlternately(`batch ${batch} × ${length}`, sessions, inputs, runs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
