/**
 * What compensation needs to know about a block's sub-layers: the FFN's two projections, its bias
 * adds, and the residual sum before the LayerNorm; plus reading float32 weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnsupportedModelError } from '../errors';
import { BlockStructure } from '../onnx/blocks';
import { DataType, OnnxInitializer, OnnxModel, OnnxNode } from '../onnx/model';

/** The feed-forward sub-layer of one block: x → act(x·Wup + bup) → ·Wdown + bdown → + residual → LayerNorm. */
export interface FfnSite {
  up: OnnxNode;
  upWeight: OnnxInitializer;
  upBias: OnnxInitializer;
  down: OnnxNode;
  downWeight: OnnxInitializer;
  downBias: OnnxInitializer;
  /** Input of the down projection: the activations a (tokens × ff). */
  activations: string;
  /** The residual Add: its output is the pre-LayerNorm sum, `residual` its other input. */
  sum: string;
  residual: string;
  width: number;
}

/** Refuses graphs the width surgery cannot rewrite, naming what works instead. */
export function checkCompensable(model: OnnxModel, architecture: string, quantized: boolean): void {
  if (quantized) throw new UnsupportedModelError('compensation rewrites float weights; this graph is quantized. Compensate the float model (onnx/model.onnx), then quantize the result.');
  if (architecture.includes('t5')) throw new UnsupportedModelError('compensation handles BERT-style encoders (bert, roberta, distilbert, electra, xlm-roberta); T5 (RMSNorm, no biases) is not supported yet. Use --compensate none for T5.');
  void model;
}

/** The FFN sub-layer of block `b`, found by shape: a MatMul d→ff, an activation, a MatMul ff→d. */
export function findFfn(model: OnnxModel, blocks: BlockStructure, b: number, hidden: number): FfnSite {
  const inBlock = model.nodes.filter((_, i) => blocks.blockOf[i] === b);
  const weightOf = (n: OnnxNode) => model.initializers.get(n.inputs[1]);
  const down = inBlock.find((n) => n.opType === 'MatMul' && weightOf(n)?.dims.length === 2 && weightOf(n)!.dims[1] === hidden && weightOf(n)!.dims[0] !== hidden);
  const up = inBlock.find((n) => n.opType === 'MatMul' && weightOf(n)?.dims.length === 2 && weightOf(n)!.dims[0] === hidden && weightOf(n)!.dims[1] === weightOf(down ?? n)!.dims[0] && n !== down);
  if (!down || !up) throw new UnsupportedModelError(`block ${b}: no feed-forward pair of MatMuls (${hidden}→ff, ff→${hidden}) with weights as initializers; width pruning needs an unfused FFN.`);
  const biasAdd = (n: OnnxNode) => {
    const add = inBlock.find((m) => m.opType === 'Add' && m.inputs.includes(n.outputs[0]));
    const bias = add && model.initializers.get(add.inputs.find((t) => t !== n.outputs[0])!);
    if (!add || !bias || bias.dims.length !== 1) throw new UnsupportedModelError(`block ${b}: ${n.name} is not followed by a bias Add; width pruning needs Linear layers with biases.`);
    return { add, bias };
  };
  const upB = biasAdd(up);
  const downB = biasAdd(down);
  const res = inBlock.find((m) => m.opType === 'Add' && m.inputs.includes(downB.add.outputs[0]));
  if (!res) throw new UnsupportedModelError(`block ${b}: no residual Add after ${down.name}.`);
  return {
    up,
    upWeight: weightOf(up)!,
    upBias: upB.bias,
    down,
    downWeight: weightOf(down)!,
    downBias: downB.bias,
    activations: down.inputs[0],
    sum: res.outputs[0],
    residual: res.inputs.find((t) => t !== downB.add.outputs[0])!,
    width: weightOf(down)!.dims[0],
  };
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
