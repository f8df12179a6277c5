/**
 * An ONNX model as an index over its bytes: nodes, initializers, inputs and outputs are parsed
 * enough to edit the graph; everything else (opsets, metadata, unknown fields, weight bytes)
 * stays in the source and is written back untouched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxParseError } from '../errors';
import {
  BufferSource,
  ByteSource,
  Chunk,
  Field,
  FileSource,
  MessageWriter,
  WireType,
  fieldString,
  parseFields,
  readInt64s,
  writeChunks,
} from './wire';

/** ONNX TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

// Field numbers from onnx.proto.
const MODEL = { irVersion: 1, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const TENSOR = { dims: 1, dataType: 2, int64Data: 7, name: 8, rawData: 9, externalData: 13, dataLocation: 14 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const ATTRIBUTE = { name: 1, i: 3, t: 5, g: 6, ints: 8, graphs: 11 } as const;
/** Ops whose attributes hold subgraphs that may read tensors of the graph around them. */
export const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan']);

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** The node as it lies in the source. */
  field: Field;
}

export interface ExternalDataRef {
  location: string;
  offset: number;
  length: number | null;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  dataType: number;
  field: Field;
  external: ExternalDataRef | null;
}

export interface OnnxValueInfo {
  name: string;
  field: Field;
  elemType: number | null;
  /** Each dim: a number, a symbolic name, or null when unknown. */
  shape: (number | string | null)[] | null;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

/** A node added by an edit. */
export interface NewNode {
  name: string;
  opType: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  /** A number is an INT attribute when it is an integer, else FLOAT; `{ float }` is always FLOAT (an epsilon read as 1 or 0). */
  attributes?: Record<string, number | number[] | string | { floats: number[] } | { float: number }>;
  /** A copy of this original node (its op, domain and attributes as they lie in the source) under the name, inputs and outputs above. */
  copyOf?: OnnxNode;
}

/** An initializer added by an edit (small constants only; the bytes are held in memory). */
export interface NewInitializer {
  name: string;
  dataType: number;
  dims: number[];
  data: Buffer;
}

/** A graph output added by an edit. */
export interface NewValueInfo {
  name: string;
  elemType: number;
  shape: (number | string)[];
}

export type NodeRef = OnnxNode | NewNode;

function isOriginal(n: NodeRef): n is OnnxNode {
  return (n as OnnxNode).field !== undefined;
}

export class OnnxModel {
  readonly irVersion: number;
  readonly opsets: OpsetImport[];
  /** ModelProto.metadata_props. */
  readonly metadata = new Map<string, string>();
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, OnnxInitializer>();
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  readonly valueInfo: OnnxValueInfo[] = [];
  readonly graphName: string;
  private readonly byField = new Map<number, OnnxInitializer | OnnxValueInfo>();
  private readonly modelFields: Field[];
  private readonly graphFields: Field[];

  private constructor(
    readonly src: ByteSource,
    /** Folder that external-data locations are relative to (null for in-memory models). */
    readonly baseDir: string | null,
  ) {
    if (src.size === 0) throw new OnnxParseError(`${src.label} is empty; expected an ONNX model.`);
    this.modelFields = parseFields(src, 0, src.size);
    const g = this.modelFields.find((f) => f.num === MODEL.graph && f.wt === WireType.Len);
    if (!g) throw new OnnxParseError(`${src.label} has no graph; is it an ONNX model (.onnx)?`);
    this.irVersion = this.modelFields.find((f) => f.num === MODEL.irVersion)?.varint ?? 0;
    this.opsets = opsetsOf(src, this.modelFields);
    for (const [k, v] of metadataOf(src, this.modelFields)) this.metadata.set(k, v);
    this.graphFields = parseFields(src, g.valStart, g.valEnd);
    this.graphName = this.readGraph();
    for (const t of this.initializers.values()) this.byField.set(t.field.start, t);
    for (const v of [...this.inputs, ...this.valueInfo]) this.byField.set(v.field.start, v);
  }

  /** Reads the graph's nodes, initializers, inputs, outputs and value infos into this model; returns the graph's name. */
  private readGraph(): string {
    let name = '';
    for (const f of this.graphFields) {
      switch (f.num) {
        case GRAPH.node:
          this.nodes.push(this.parseNode(f));
          break;
        case GRAPH.initializer: {
          const t = this.parseTensor(f);
          this.initializers.set(t.name, t);
          break;
        }
        case GRAPH.input:
          this.inputs.push(this.parseValueInfo(f));
          break;
        case GRAPH.output:
          this.outputs.push(this.parseValueInfo(f));
          break;
        case GRAPH.valueInfo:
          this.valueInfo.push(this.parseValueInfo(f));
          break;
        case GRAPH.name:
          name = fieldString(this.src, f);
          break;
      }
    }
    return name;
  }

  /** Opens a model file without reading its weights. */
  static open(file: string): OnnxModel {
    if (!fs.existsSync(file)) throw new OnnxParseError(`ONNX file not found: ${file}. Check the model folder has it (onnx/model.onnx, or onnx/encoder_model.onnx for T5).`);
    return new OnnxModel(new FileSource(file), path.dirname(file));
  }

  static fromBuffer(buf: Buffer, label = 'buffer'): OnnxModel {
    return new OnnxModel(new BufferSource(buf, label), null);
  }

  close(): void {
    if (this.src instanceof FileSource) this.src.close();
  }

  opsetVersion(domain = ''): number {
    return this.opsets.find((o) => o.domain === domain || (domain === '' && o.domain === 'ai.onnx'))?.version ?? 0;
  }

  /** Input names of graph inputs that are not initializers (IR < 4 lists initializers as inputs). */
  get runtimeInputs(): OnnxValueInfo[] {
    return this.inputs.filter((i) => !this.initializers.has(i.name));
  }

  /** Number of elements of each initializer, by name. */
  /** A node's INTS attribute `name` (Transpose's perm, …), or undefined where the node has none. */
  intsAttribute(node: OnnxNode, name: string): number[] | undefined {
    for (const f of parseFields(this.src, node.field.valStart, node.field.valEnd)) {
      if (f.num !== NODE.attribute || f.wt !== WireType.Len) continue;
      const sub = parseFields(this.src, f.valStart, f.valEnd);
      const n = sub.find((x) => x.num === ATTRIBUTE.name && x.wt === WireType.Len);
      if (n && fieldString(this.src, n) === name) return readInt64s(this.src, sub, ATTRIBUTE.ints);
    }
    return undefined;
  }

  /** A node's attributes as the bytes they lie in (equal for two nodes with equal attributes as an exporter writes them). */
  attributeBytes(node: OnnxNode): string {
    const out: string[] = [];
    for (const f of parseFields(this.src, node.field.valStart, node.field.valEnd)) {
      if (f.num === NODE.attribute && f.wt === WireType.Len) out.push(this.src.read(f.valStart, f.valEnd - f.valStart).toString('hex'));
    }
    return out.join(',');
  }

  /** A small initializer's value as the bytes it lies in, its name left out (equal for two tensors holding the same values). */
  tensorBytes(t: OnnxInitializer): string {
    return parseFields(this.src, t.field.valStart, t.field.valEnd)
      .filter((f) => f.num !== TENSOR.name)
      .map((f) => `${f.num}:${this.src.read(f.valStart, f.valEnd - f.valStart).toString('hex')}`)
      .join(',');
  }

  /**
   * The tensors a node's subgraphs (If's branches, Loop's and Scan's bodies, nested ones too) read
   * from the graph around them: every input of their nodes that no node, input or initializer of a
   * subgraph on the way defines. torch.onnx's export of DeBERTa's relative positions has such Ifs.
   */
  outerReads(node: OnnxNode): string[] {
    const out = new Set<string>();
    const strings = (fields: Field[], num: number) => fields.filter((x) => x.num === num && x.wt === WireType.Len).map((x) => fieldString(this.src, x));
    const subgraphs = (start: number, end: number): Field[] =>
      parseFields(this.src, start, end)
        .filter((f) => f.num === NODE.attribute && f.wt === WireType.Len)
        .flatMap((a) => parseFields(this.src, a.valStart, a.valEnd).filter((x) => (x.num === ATTRIBUTE.g || x.num === ATTRIBUTE.graphs) && x.wt === WireType.Len));
    const visit = (graph: Field, outer: Set<string>): void => {
      const fields = parseFields(this.src, graph.valStart, graph.valEnd);
      const nodes = fields.filter((x) => x.num === GRAPH.node && x.wt === WireType.Len).map((n) => ({ n, fields: parseFields(this.src, n.valStart, n.valEnd) }));
      const local = new Set(outer);
      for (const x of fields.filter((x) => (x.num === GRAPH.input || x.num === GRAPH.initializer) && x.wt === WireType.Len)) {
        for (const name of strings(parseFields(this.src, x.valStart, x.valEnd), x.num === GRAPH.input ? VALUE_INFO.name : TENSOR.name)) local.add(name);
      }
      for (const { fields: nf } of nodes) for (const o of strings(nf, NODE.output)) local.add(o);
      for (const { n, fields: nf } of nodes) {
        for (const i of strings(nf, NODE.input)) if (i && !local.has(i)) out.add(i);
        for (const g of subgraphs(n.valStart, n.valEnd)) visit(g, local);
      }
    };
    for (const g of subgraphs(node.field.valStart, node.field.valEnd)) visit(g, new Set());
    return [...out];
  }

  /** A node's INT attribute `name` (Cast's to, …), or undefined where the node has none. */
  intAttribute(node: OnnxNode, name: string): number | undefined {
    for (const f of parseFields(this.src, node.field.valStart, node.field.valEnd)) {
      if (f.num !== NODE.attribute || f.wt !== WireType.Len) continue;
      const sub = parseFields(this.src, f.valStart, f.valEnd);
      const n = sub.find((x) => x.num === ATTRIBUTE.name && x.wt === WireType.Len);
      if (n && fieldString(this.src, n) === name) return sub.find((x) => x.num === ATTRIBUTE.i && x.wt === WireType.Varint)?.varint;
    }
    return undefined;
  }

  /**
   * The values of a small int64 tensor: an initializer, or the output of a Constant node (its
   * `value` tensor, `value_int` or `value_ints`); undefined for anything else (computed, external,
   * another type, or more than `limit` values).
   */
  intValues(name: string, limit = 64): number[] | undefined {
    const fromTensor = (start: number, end: number): number[] | undefined => {
      const sub = parseFields(this.src, start, end);
      if ((sub.find((x) => x.num === TENSOR.dataType)?.varint ?? 0) !== DataType.INT64) return undefined;
      const raw = sub.find((x) => x.num === TENSOR.rawData && x.wt === WireType.Len);
      if (!raw) {
        const v = readInt64s(this.src, sub, TENSOR.int64Data);
        return v.length <= limit ? v : undefined;
      }
      const n = (raw.valEnd - raw.valStart) / 8;
      if (!Number.isInteger(n) || n > limit) return undefined;
      const b = this.src.read(raw.valStart, 8 * n);
      return Array.from({ length: n }, (_, i) => Number(b.readBigInt64LE(8 * i)));
    };
    const init = this.initializers.get(name);
    if (init) return init.external ? undefined : fromTensor(init.field.valStart, init.field.valEnd);
    const node = this.nodes.find((n) => n.outputs[0] === name && n.opType === 'Constant' && n.domain === '');
    if (!node) return undefined;
    for (const f of parseFields(this.src, node.field.valStart, node.field.valEnd)) {
      if (f.num !== NODE.attribute || f.wt !== WireType.Len) continue;
      const sub = parseFields(this.src, f.valStart, f.valEnd);
      const n = sub.find((x) => x.num === ATTRIBUTE.name && x.wt === WireType.Len);
      const key = n ? fieldString(this.src, n) : '';
      if (key === 'value_int') return readInt64s(this.src, sub, ATTRIBUTE.i);
      if (key === 'value_ints') return readInt64s(this.src, sub, ATTRIBUTE.ints);
      const t = sub.find((x) => x.num === ATTRIBUTE.t && x.wt === WireType.Len);
      if (key === 'value' && t) return fromTensor(t.valStart, t.valEnd);
    }
    return undefined;
  }

  initializerSize(name: string): number {
    const t = this.initializers.get(name);
    if (!t) return 0;
    return t.dims.reduce((a, b) => a * b, 1);
  }

  private parseNode(f: Field): OnnxNode {
    const sub = parseFields(this.src, f.valStart, f.valEnd);
    const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], field: f };
    for (const x of sub) {
      if (x.num === NODE.input) n.inputs.push(fieldString(this.src, x));
      else if (x.num === NODE.output) n.outputs.push(fieldString(this.src, x));
      else if (x.num === NODE.name) n.name = fieldString(this.src, x);
      else if (x.num === NODE.opType) n.opType = fieldString(this.src, x);
      else if (x.num === NODE.domain) n.domain = fieldString(this.src, x);
    }
    return n;
  }

  private parseTensor(f: Field): OnnxInitializer {
    const sub = parseFields(this.src, f.valStart, f.valEnd);
    const nameF = sub.find((x) => x.num === TENSOR.name);
    const ext = sub.filter((x) => x.num === TENSOR.externalData);
    let external: ExternalDataRef | null = null;
    if (ext.length > 0 && sub.find((x) => x.num === TENSOR.dataLocation)?.varint === 1) {
      external = { location: '', offset: 0, length: null };
      for (const e of ext) {
        const kv = parseFields(this.src, e.valStart, e.valEnd);
        const k = kv.find((x) => x.num === 1);
        const v = kv.find((x) => x.num === 2);
        const key = k ? fieldString(this.src, k) : '';
        const val = v ? fieldString(this.src, v) : '';
        if (key === 'location') external.location = val;
        else if (key === 'offset') external.offset = Number(val);
        else if (key === 'length') external.length = Number(val);
      }
    }
    return {
      name: nameF ? fieldString(this.src, nameF) : '',
      dims: readInt64s(this.src, sub, TENSOR.dims),
      dataType: sub.find((x) => x.num === TENSOR.dataType)?.varint ?? 0,
      field: f,
      external,
    };
  }

  private parseValueInfo(f: Field): OnnxValueInfo {
    const sub = parseFields(this.src, f.valStart, f.valEnd);
    const nameF = sub.find((x) => x.num === VALUE_INFO.name);
    const vi: OnnxValueInfo = { name: nameF ? fieldString(this.src, nameF) : '', field: f, elemType: null, shape: null };
    const typeF = sub.find((x) => x.num === VALUE_INFO.type);
    if (!typeF) return vi;
    const tensorType = parseFields(this.src, typeF.valStart, typeF.valEnd).find((x) => x.num === 1);
    if (!tensorType) return vi;
    const tt = parseFields(this.src, tensorType.valStart, tensorType.valEnd);
    vi.elemType = tt.find((x) => x.num === 1)?.varint ?? null;
    const shapeF = tt.find((x) => x.num === 2);
    if (shapeF) {
      vi.shape = parseFields(this.src, shapeF.valStart, shapeF.valEnd)
        .filter((x) => x.num === 1)
        .map((d) => {
          const df = parseFields(this.src, d.valStart, d.valEnd);
          const v = df.find((x) => x.num === 1);
          if (v) return v.varint ?? null;
          const p = df.find((x) => x.num === 2);
          return p ? fieldString(this.src, p) : null;
        });
    }
    return vi;
  }

  /**
   * Serialises an edited copy of this model. Kept nodes whose inputs were renamed are re-encoded
   * field by field (their attributes and unknown fields copied verbatim); everything not named in
   * the edit is written back exactly as it was.
   */
  serialize(edit: GraphEdit): Chunk[] {
    return this.writeModel(this.writeGraph(edit), edit).chunks;
  }

  /** Takes an edit; returns the graph message: this graph's fields in their order, nodes, outputs and initializers as the edit says. */
  private writeGraph(edit: GraphEdit): MessageWriter {
    const graph = new MessageWriter();
    // Each group the edit replaces or adds to is written once: where the source had its first field of that kind, else at the end (in this order).
    const pending = new Map<number, () => void>([
      [GRAPH.node, () => edit.nodes.forEach((n) => graph.message(GRAPH.node, this.encodeNode(n, edit.renameInputs)))],
      [GRAPH.initializer, () => (edit.newInitializers ?? []).forEach((t) => graph.message(GRAPH.initializer, encodeTensor(t)))],
      [GRAPH.output, () => (edit.outputs ?? this.outputs).forEach((o) => graph.message(GRAPH.output, isOriginalVI(o) ? rawMessage(this.src, o.field) : encodeValueInfo(o)))],
    ]);
    const emit = (num: number) => {
      const write = pending.get(num);
      pending.delete(num);
      write?.();
    };
    for (const f of this.graphFields) {
      emit(f.num);
      this.copyGraphField(graph, f, edit);
    }
    for (const num of [...pending.keys()]) emit(num);
    for (const i of edit.extraInputs ?? []) graph.message(GRAPH.input, encodeValueInfo(i));
    return graph;
  }

  /** Takes one field of this graph; writes it to `graph` as it was, rewritten, or not at all (nodes and outputs come from the edit). */
  private copyGraphField(graph: MessageWriter, f: Field, edit: GraphEdit): void {
    const keepInit = edit.keepInitializer ?? (() => true);
    switch (f.num) {
      case GRAPH.node:
      case GRAPH.output:
        return;
      case GRAPH.initializer: {
        const t = this.byField.get(f.start) as OnnxInitializer;
        if (!keepInit(t.name)) return;
        const rewritten = edit.rewriteInitializer?.(t);
        if (rewritten) graph.message(GRAPH.initializer, rewritten);
        else graph.raw(this.src, f);
        return;
      }
      case GRAPH.input: {
        const name = this.byField.get(f.start)?.name;
        if (name === undefined || !this.initializers.has(name) || keepInit(name)) graph.raw(this.src, f);
        return;
      }
      case GRAPH.valueInfo: {
        const vi = this.byField.get(f.start);
        if (!vi || (edit.keepValueInfo ?? (() => true))(vi.name)) graph.raw(this.src, f);
        return;
      }
      default:
        graph.raw(this.src, f);
    }
  }

  /** Takes the written graph and the edit; returns the model message: this model's fields with that graph, the edit's opsets and metadata. */
  private writeModel(graph: MessageWriter, edit: GraphEdit): MessageWriter {
    const model = new MessageWriter();
    const presentDomains = new Set(this.opsets.map((o) => o.domain));
    let wroteGraph = false;
    const replacedKeys = new Set(Object.keys(edit.metadata ?? {}));
    for (const f of this.modelFields) {
      if (f.num === MODEL.graph && f.wt === WireType.Len) {
        model.message(MODEL.graph, graph);
        wroteGraph = true;
      } else if (f.num === MODEL.opsetImport && edit.defaultOpset !== undefined && opsetsOf(this.src, [f])[0]?.domain === '') {
        // The import's own fields (its domain as written, or none), with the version replaced.
        const w = new MessageWriter();
        for (const x of parseFields(this.src, f.valStart, f.valEnd)) if (x.num !== 2) w.raw(this.src, x);
        model.message(MODEL.opsetImport, w.varint(2, edit.defaultOpset));
      } else if (f.num === MODEL.metadataProps && replacedKeys.size) {
        const k = parseFields(this.src, f.valStart, f.valEnd).find((x) => x.num === 1);
        if (!k || !replacedKeys.has(fieldString(this.src, k))) model.raw(this.src, f);
      } else model.raw(this.src, f);
    }
    if (!wroteGraph) model.message(MODEL.graph, graph);
    for (const o of edit.extraOpsets ?? []) {
      if (presentDomains.has(o.domain)) continue;
      model.message(MODEL.opsetImport, new MessageWriter().string(1, o.domain).varint(2, o.version));
    }
    for (const [k, v] of Object.entries(edit.metadata ?? {})) model.message(MODEL.metadataProps, new MessageWriter().string(1, k).string(2, v));
    return model;
  }

  private encodeNode(n: NodeRef, rename?: (node: OnnxNode, input: string) => string): MessageWriter {
    if (!isOriginal(n)) return n.copyOf ? this.encodeCopy(n, n.copyOf) : encodeNewNode(n);
    if (!rename || !n.inputs.some((i) => rename(n, i) !== i)) return rawMessage(this.src, n.field);
    const w = new MessageWriter();
    for (const x of parseFields(this.src, n.field.valStart, n.field.valEnd)) {
      if (x.num === NODE.input) w.string(NODE.input, rename(n, fieldString(this.src, x)));
      else w.raw(this.src, x);
    }
    return w;
  }

  private encodeCopy(n: NewNode, of: OnnxNode): MessageWriter {
    const w = new MessageWriter();
    for (const i of n.inputs) w.string(NODE.input, i);
    for (const o of n.outputs) w.string(NODE.output, o);
    w.string(NODE.name, n.name);
    const own = new Set<number>([NODE.input, NODE.output, NODE.name]);
    for (const x of parseFields(this.src, of.field.valStart, of.field.valEnd)) if (!own.has(x.num)) w.raw(this.src, x);
    return w;
  }

  /**
   * Re-encodes an initializer with its external-data entries replaced (relocating external
   * data). With `dropRawData` the inline bytes go too and the tensor is marked external, which
   * is how a model is converted to the external-data layout.
   */
  rewriteTensor(t: OnnxInitializer, replace: { externalData: Record<string, string>; dropRawData?: boolean }): MessageWriter {
    const w = new MessageWriter();
    for (const x of parseFields(this.src, t.field.valStart, t.field.valEnd)) {
      // data_location is written anew: a source may say DEFAULT (0) explicitly.
      if (x.num === TENSOR.externalData || x.num === TENSOR.dataLocation) continue;
      if (replace.dropRawData && x.num === TENSOR.rawData) continue;
      w.raw(this.src, x);
    }
    for (const [k, v] of Object.entries(replace.externalData)) w.message(TENSOR.externalData, new MessageWriter().string(1, k).string(2, v));
    w.varint(TENSOR.dataLocation, 1);
    return w;
  }

  /**
   * Re-encodes an external-data initializer with its bytes inline (raw_data streamed from `data`, a
   * source over its data file, bytes [offset, offset + length)), for graphs that must stand alone.
   */
  inlineTensor(t: OnnxInitializer, data: ByteSource, length: number): MessageWriter {
    const w = new MessageWriter();
    for (const x of parseFields(this.src, t.field.valStart, t.field.valEnd)) {
      if (x.num !== TENSOR.externalData && x.num !== TENSOR.dataLocation) w.raw(this.src, x);
    }
    return w.lenRange(TENSOR.rawData, data, t.external!.offset, t.external!.offset + length);
  }

  /** Byte range of an initializer's inline raw_data in the source, or null. */
  rawDataRange(t: OnnxInitializer): { start: number; end: number } | null {
    const f = parseFields(this.src, t.field.valStart, t.field.valEnd).find((x) => x.num === TENSOR.rawData);
    return f ? { start: f.valStart, end: f.valEnd } : null;
  }

  /** Writes an edited copy to a file. */
  write(file: string, edit: GraphEdit): number {
    return writeChunks(file, this.serialize(edit));
  }
}

export interface GraphEdit {
  /** The nodes of the new graph, in topological order. */
  nodes: NodeRef[];
  /** Renames inputs of kept original nodes (rewiring). */
  renameInputs?: (node: OnnxNode, input: string) => string;
  keepInitializer?: (name: string) => boolean;
  /** Returns a replacement encoding for a kept initializer, or undefined to copy it verbatim. */
  rewriteInitializer?: (t: OnnxInitializer) => MessageWriter | undefined;
  newInitializers?: NewInitializer[];
  keepValueInfo?: (name: string) => boolean;
  /** Graph outputs of the new model (defaults to the original outputs). */
  outputs?: (OnnxValueInfo | NewValueInfo)[];
  /** Graph inputs added after the original ones (inner tensors fed directly). */
  extraInputs?: NewValueInfo[];
  extraOpsets?: OpsetImport[];
  /** The default ONNX domain's opset version to write instead of the model's. */
  defaultOpset?: number;
  /** metadata_props entries to set (replacing entries with the same key). */
  metadata?: Record<string, string>;
}

function isOriginalVI(v: OnnxValueInfo | NewValueInfo): v is OnnxValueInfo {
  return (v as OnnxValueInfo).field !== undefined;
}

function rawMessage(src: ByteSource, f: Field): MessageWriter {
  const w = new MessageWriter();
  for (const x of parseFields(src, f.valStart, f.valEnd)) w.raw(src, x);
  return w;
}

export function encodeNewNode(n: NewNode): MessageWriter {
  const w = new MessageWriter();
  for (const i of n.inputs) w.string(NODE.input, i);
  for (const o of n.outputs) w.string(NODE.output, o);
  w.string(NODE.name, n.name);
  w.string(NODE.opType, n.opType);
  for (const [name, value] of Object.entries(n.attributes ?? {})) {
    const a = new MessageWriter().string(1, name);
    if (typeof value === 'number') {
      if (Number.isInteger(value)) a.varint(3, value).varint(20, 2);
      else a.float(2, value).varint(20, 1);
    } else if (typeof value === 'string') a.string(4, value).varint(20, 3);
    else if (Array.isArray(value)) {
      for (const v of value) a.varint(8, v);
      a.varint(20, 7);
    } else if ('float' in value) a.float(2, value.float).varint(20, 1);
    else {
      for (const v of value.floats) a.float(7, v);
      a.varint(20, 6);
    }
    w.message(NODE.attribute, a);
  }
  if (n.domain) w.string(NODE.domain, n.domain);
  return w;
}

export function encodeTensor(t: NewInitializer): MessageWriter {
  const w = new MessageWriter();
  for (const d of t.dims) w.varint(TENSOR.dims, d);
  w.varint(TENSOR.dataType, t.dataType);
  w.string(TENSOR.name, t.name);
  w.bytes(TENSOR.rawData, t.data);
  return w;
}

export function encodeValueInfo(v: NewValueInfo): MessageWriter {
  const shape = new MessageWriter();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new MessageWriter().varint(1, d) : new MessageWriter().string(2, d));
  const tensorType = new MessageWriter().varint(1, v.elemType).message(2, shape);
  return new MessageWriter().string(VALUE_INFO.name, v.name).message(VALUE_INFO.type, new MessageWriter().message(1, tensorType));
}

export function int64Initializer(name: string, values: number[], dims: number[] = [values.length]): NewInitializer {
  const data = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => data.writeBigInt64LE(BigInt(v), 8 * i));
  return { name, dataType: DataType.INT64, dims, data };
}

export function floatInitializer(name: string, values: number[], dims: number[] = [values.length]): NewInitializer {
  const data = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => data.writeFloatLE(v, 4 * i));
  return { name, dataType: DataType.FLOAT, dims, data };
}

/** The model's opset imports (domain "" is the default ONNX domain). */
function opsetsOf(src: ByteSource, modelFields: Field[]): OpsetImport[] {
  return modelFields
    .filter((f) => f.num === MODEL.opsetImport && f.wt === WireType.Len)
    .map((f) => {
      const sub = parseFields(src, f.valStart, f.valEnd);
      const d = sub.find((x) => x.num === 1);
      return { domain: d ? fieldString(src, d) : '', version: sub.find((x) => x.num === 2)?.varint ?? 0 };
    });
}

/** The model's metadata_props as key/value pairs, in file order (a key without a value reads as ""). */
function metadataOf(src: ByteSource, modelFields: Field[]): [string, string][] {
  const out: [string, string][] = [];
  for (const f of modelFields) {
    if (f.num !== MODEL.metadataProps || f.wt !== WireType.Len) continue;
    const kv = parseFields(src, f.valStart, f.valEnd);
    const k = kv.find((x) => x.num === 1);
    const v = kv.find((x) => x.num === 2);
    if (k) out.push([fieldString(src, k), v ? fieldString(src, v) : '']);
  }
  return out;
}
