/**
 * Dynamic int8 quantization of MatMul weights, in the format transformers.js loads as dtype 'q8'
 * (`onnx/model_quantized.onnx`). transformers.js' scripts/quantize.py runs ONNX Runtime's dynamic
 * quantizer with signed int8 weights (no Conv here), uint8 activations, per-tensor scales, on
 * MatMuls whose weight is a constant and on embedding Gathers; each such MatMul becomes what ORT writes:
 *
 *   DynamicQuantizeLinear(x) → x_q, x_scale, x_zp   (one per activation tensor)
 *   MatMulInteger(x_q, w_q, x_zp, w_zp) → Cast(float) → Mul(x_scale · w_scale) → the MatMul's output
 *
 * with w_q = round(w / s), s = max|w| / 127, zero point 0 (ORT's symmetric int8 weights), and
 * an embedding table is gathered as int8 and dequantized (DequantizeLinear) after the Gather.
 * ORT's quantizer is Python and a Node extension cannot run it, hence this rewrite of our own
 * on the ONNX editor (the compensated graph's weights are refitted, so the source's quantized
 * variant cannot simply be pruned).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphEdit, NewInitializer, NewNode, NodeRef, OnnxModel, OnnxNode, DataType } from '../onnx/model';
import { writeWithOwnData } from '../prune/surgery';
import { readFloat32 } from './structure';
import { HEAD_PREFIX } from '../commit/classifier';
import { throwIfAborted } from '../errors';

export const Q8_METADATA = 'probescale.quantization';
export const Q8_DESCRIPTION = 'dynamic int8 as transformers.js q8: MatMul weights and embedding tables int8 per tensor (symmetric), activations uint8 per batch (DynamicQuantizeLinear + MatMulInteger)';

/** Symmetric int8 of one weight tensor: values, scale (0 weights get scale 1 so that nothing divides by 0). */
export function quantizeSymmetric(w: Float32Array): { q: Int8Array; scale: number } {
  let absMax = 0;
  for (const v of w) absMax = Math.max(absMax, Math.abs(v));
  const scale = absMax > 0 ? absMax / 127 : 1;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, roundHalfEven(w[i] / scale)));
  return { q, scale: Math.fround(scale) };
}

/** numpy's rint, which ORT's quantizer uses. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function scalar(name: string, dataType: number, write: (b: Buffer) => void, bytes: number): NewInitializer {
  const data = Buffer.alloc(bytes);
  write(data);
  return { name, dataType, dims: [], data };
}

/** The tensor `t` copies through Identity nodes (how shared weights export), or `t` itself. */
function weightSource(model: OnnxModel, t: string): string {
  const copyOf = new Map(model.nodes.filter((n) => n.opType === 'Identity' && n.domain === '' && n.inputs[0]).map((n) => [n.outputs[0], n.inputs[0]]));
  for (let i = 0; i <= copyOf.size && copyOf.has(t); i++) t = copyOf.get(t)!;
  return t;
}

/**
 * What to quantize: MatMuls whose weight (B) is a float 2-D initializer (directly or through
 * Identity nodes), and Gathers that read a float 2-D table (the embeddings), as ORT's dynamic
 * quantizer does for MatMul and Gather.
 */
function quantizable(model: OnnxModel, skip: (n: OnnxNode) => boolean): OnnxNode[] {
  const float2d = (name: string | undefined) => {
    const t = model.initializers.get(name ?? '');
    return t !== undefined && t.dataType === DataType.FLOAT && t.dims.length === 2;
  };
  return model.nodes.filter((n) => !skip(n) && ((n.opType === 'MatMul' && float2d(weightSource(model, n.inputs[1] ?? ''))) || (n.opType === 'Gather' && float2d(n.inputs[0]))));
}

/** `nodes` less the Identity nodes whose output nothing reads any more (chains included). */
function withoutDeadIdentities(nodes: NodeRef[], read: (n: NodeRef) => string[], outputs: Set<string>): NodeRef[] {
  for (;;) {
    const live = new Set([...outputs, ...nodes.flatMap(read)]);
    const kept = nodes.filter((n) => n.opType !== 'Identity' || live.has(n.outputs[0]));
    if (kept.length === nodes.length) return nodes;
    nodes = kept;
  }
}

/** `w` as int8 (symmetric, per tensor): `w`_quantized, `w`_scale, `w`_zero_point. */
function int8Weight(model: OnnxModel, w: string): NewInitializer[] {
  const t = model.initializers.get(w)!;
  const { q, scale } = quantizeSymmetric(readFloat32(model, t));
  return [
    { name: `${w}_quantized`, dataType: DataType.INT8, dims: t.dims, data: Buffer.from(q.buffer, q.byteOffset, q.byteLength) },
    scalar(`${w}_scale`, DataType.FLOAT, (b) => b.writeFloatLE(scale), 4),
    scalar(`${w}_zero_point`, DataType.INT8, (b) => b.writeInt8(0), 1),
  ];
}

/** MatMul(x, w) → MatMulInteger on the quantized x and w, cast and scaled back into the MatMul's output. */
function matMulNodes(n: OnnxNode, x: string, w: string): NewNode[] {
  const out = n.outputs[0];
  const name = n.name || out;
  return [
    { name: `${name}_quant`, opType: 'MatMulInteger', inputs: [`${x}_quantized`, `${w}_quantized`, `${x}_zero_point`, `${w}_zero_point`], outputs: [`${out}_output_quantized`] },
    { name: `${out}_output_quantized_cast`, opType: 'Cast', inputs: [`${out}_output_quantized`], outputs: [`${out}_output_quantized_cast_output`], attributes: { to: DataType.FLOAT } },
    { name: `${name}_quant_scales_mul`, opType: 'Mul', inputs: [`${x}_scale`, `${w}_scale`], outputs: [`${name}_quant_scales_mul:0`] },
    { name: `${name}_quant_output_scale_mul`, opType: 'Mul', inputs: [`${out}_output_quantized_cast_output`, `${name}_quant_scales_mul:0`], outputs: [out] },
  ];
}

/**
 * The edit that quantizes `targets`. A Gather keeps its node (and attributes), reads the int8
 * table and is followed by a DequantizeLinear whose output its consumers read instead; float
 * weights go when nothing else reads them.
 */
export function quantizeEdit(model: OnnxModel, targets: OnnxNode[]): GraphEdit {
  const chosen = new Set(targets);
  const weights = new Map<string, NewInitializer[]>();
  const quantize = (w: string) => weights.has(w) || weights.set(w, int8Weight(model, w));
  const dequantized = new Map<string, string>();
  const activations = new Set<string>();
  const nodes: NodeRef[] = [];
  for (const n of model.nodes) {
    if (!chosen.has(n)) {
      nodes.push(n);
    } else if (n.opType === 'Gather') {
      const [table, out] = [n.inputs[0], n.outputs[0]];
      quantize(table);
      dequantized.set(out, `${out}_dequantized`);
      nodes.push(n, { name: `${out}_DequantizeLinear`, opType: 'DequantizeLinear', inputs: [out, `${table}_scale`, `${table}_zero_point`], outputs: [`${out}_dequantized`] });
    } else {
      const x = dequantized.get(n.inputs[0]) ?? n.inputs[0];
      if (!activations.has(x)) nodes.push({ name: `${x}_QuantizeLinear`, opType: 'DynamicQuantizeLinear', inputs: [x], outputs: [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`] });
      activations.add(x);
      const w = weightSource(model, n.inputs[1]);
      quantize(w);
      nodes.push(...matMulNodes(n, x, w));
    }
  }
  const rename = (n: OnnxNode, input: string) => (chosen.has(n) && n.opType === 'Gather' ? (input === n.inputs[0] ? `${input}_quantized` : input) : (dequantized.get(input) ?? input));
  const read = (n: NodeRef) => ('field' in n ? n.inputs.map((i) => rename(n, i)) : n.inputs);
  // An Identity that copied a weight into a quantized MatMul reads nothing anyone needs now.
  const live = withoutDeadIdentities(nodes, read, new Set(model.outputs.map((o) => o.name)));
  const stillRead = new Set(live.flatMap(read));
  return {
    nodes: live,
    renameInputs: rename,
    keepInitializer: (name) => !weights.has(name) || stillRead.has(name),
    // A Gather's output is int8 now: a float type recorded for it would be wrong.
    keepValueInfo: (name) => !dequantized.has(name),
    newInitializers: [...weights.values()].flat(),
    metadata: { [Q8_METADATA]: Q8_DESCRIPTION },
  };
}

/**
 * Writes `dst`, the q8 variant of the float graph `src`; `skip` leaves nodes float (the probe
 * head of a classifier). Returns how many MatMuls and Gathers were quantized.
 */
export function writeQuantized(src: string, dst: string, skip: (n: OnnxNode) => boolean = () => false): number {
  const model = OnnxModel.open(src);
  try {
    const targets = quantizable(model, skip);
    writeWithOwnData(model, quantizeEdit(model, targets), dst);
    return targets.length;
  } finally {
    model.close();
  }
}

/** The file name transformers.js loads for dtype 'q8'. */
export const Q8_FILE = 'model_quantized.onnx';

/** Whether the source folder ships a quantized variant of its encoder (model_quantized/int8/uint8 beside model.onnx). */
export function hasQuantizedVariant(onnxFile: string): boolean {
  const base = path.basename(onnxFile).replace(/\.onnx$/, '');
  return ['_quantized', '_int8', '_uint8'].some((s) => fs.existsSync(path.join(path.dirname(onnxFile), `${base}${s}.onnx`)));
}

/** The q8 file beside the float graph `graph` (T5's encoder_model.onnx → encoder_model_quantized.onnx). */
export const q8File = (graph: string) => graph.replace(/\.onnx$/, '_quantized.onnx');

/**
 * Writes the q8 variant beside the float graph of the committed encoder (`onnx/<encoderGraph>`:
 * model.onnx, or T5's encoder_model.onnx) and of each classifier (`classifiers/<task>/onnx/model.onnx`,
 * its probe head left float); returns the files written, relative to `dir`.
 */
export function writeQ8Variants(dir: string, classifiers: string[], signal?: AbortSignal, encoderGraph = 'model.onnx'): string[] {
  const written: string[] = [];
  for (const sub of ['', ...classifiers]) {
    throwIfAborted(signal);
    const onnxDir = path.join(dir, sub, 'onnx');
    const graph = sub === '' ? encoderGraph : 'model.onnx';
    writeQuantized(path.join(onnxDir, graph), path.join(onnxDir, q8File(graph)), (n) => n.name.startsWith(HEAD_PREFIX));
    written.push(path.posix.join(sub.split(path.sep).join('/'), 'onnx', q8File(graph)));
  }
  return written;
}
