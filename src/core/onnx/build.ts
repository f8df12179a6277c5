/**
 * Writes a new ONNX model from scratch: nodes, small inline constants, weights referenced in
 * place as external data, graph inputs and outputs. Used to build an encoder graph from
 * config.json + safetensors without Python; the wire encoders are the ones edits use.
 */
import { MessageWriter, chunksToBuffer } from './wire';
import { NewInitializer, NewNode, NewValueInfo, encodeNewNode, encodeTensor, encodeValueInfo, floatInitializer, int64Initializer } from './model';

/** An initializer whose bytes stay in another file (ONNX external data; offset/length in bytes). */
export interface ExternalTensor {
  name: string;
  dataType: number;
  dims: number[];
  location: string;
  offset: number;
  length: number;
}

/** ONNX TensorProto.DataType of bfloat16 (not in DataType, which lists what edits write). */
export const BFLOAT16 = 16;

// Field numbers from onnx.proto.
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 } as const;
const TENSOR = { dims: 1, dataType: 2, name: 8, externalData: 13, dataLocation: 14 } as const;

type Attrs = NewNode['attributes'];

export class GraphBuilder {
  readonly nodes: NewNode[] = [];
  readonly constants: NewInitializer[] = [];
  readonly external: ExternalTensor[] = [];
  readonly inputs: NewValueInfo[] = [];
  readonly outputs: NewValueInfo[] = [];
  readonly metadata: Record<string, string> = {};
  private readonly constNames = new Map<string, string>();

  /**
   * Adds node `scope/op` (exporter style: the scope is the module path, e.g. /encoder/layer.0/attention/self/query)
   * and returns its first output, named `scope/op_output_0` unless `out` is given.
   */
  op(scope: string, op: string, inputs: string[], attributes?: Attrs, out?: string): string {
    const base = `${scope}/${op}`;
    let name = base;
    for (let i = 1; this.nodes.some((n) => n.name === name); i++) name = `${base}_${i}`;
    const output = out ?? `${name}_output_0`;
    this.nodes.push({ name, opType: op, inputs, outputs: [output], attributes });
    return output;
  }

  /** A shared int64 constant (shapes, axes, indices); `scalar` makes it 0-D. */
  ints(values: number[], scalar = false): string {
    return this.constant(`i64:${scalar ? 's' : 'v'}:${values.join(',')}`, (name) => int64Initializer(name, values, scalar ? [] : [values.length]));
  }

  /** A shared float32 scalar constant. */
  float(value: number): string {
    return this.constant(`f32:${value}`, (name) => floatInitializer(name, [value], []));
  }

  private constant(key: string, make: (name: string) => NewInitializer): string {
    let name = this.constNames.get(key);
    if (name === undefined) {
      name = `probescale/const_${this.constNames.size}`;
      this.constNames.set(key, name);
      this.constants.push(make(name));
    }
    return name;
  }

  /** Serialises the model (IR 8, default opset `opset`); weights are written as external-data references. */
  serialize(opset: number, producerVersion: string): Buffer {
    const graph = new MessageWriter();
    for (const n of this.nodes) graph.message(GRAPH.node, encodeNewNode(n));
    graph.string(GRAPH.name, 'main_graph');
    for (const t of this.constants) graph.message(GRAPH.initializer, encodeTensor(t));
    for (const t of this.external) graph.message(GRAPH.initializer, encodeExternal(t));
    for (const i of this.inputs) graph.message(GRAPH.input, encodeValueInfo(i));
    for (const o of this.outputs) graph.message(GRAPH.output, encodeValueInfo(o));
    const model = new MessageWriter().varint(MODEL.irVersion, 8).string(MODEL.producerName, 'probescale').string(MODEL.producerVersion, producerVersion);
    model.message(MODEL.graph, graph);
    model.message(MODEL.opsetImport, new MessageWriter().string(1, '').varint(2, opset));
    for (const [k, v] of Object.entries(this.metadata)) model.message(MODEL.metadataProps, new MessageWriter().string(1, k).string(2, v));
    return chunksToBuffer(model.chunks);
  }
}

function encodeExternal(t: ExternalTensor): MessageWriter {
  const w = new MessageWriter();
  for (const d of t.dims) w.varint(TENSOR.dims, d);
  w.varint(TENSOR.dataType, t.dataType);
  w.string(TENSOR.name, t.name);
  for (const [k, v] of [
    ['location', t.location],
    ['offset', String(t.offset)],
    ['length', String(t.length)],
  ]) {
    w.message(TENSOR.externalData, new MessageWriter().string(1, k).string(2, v));
  }
  w.varint(TENSOR.dataLocation, 1);
  return w;
}
