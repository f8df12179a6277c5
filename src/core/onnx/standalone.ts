/**
 * A copy of a graph laid out as an exporter writes it, in one file: every initializer inline,
 * weights the graph casts from fp16/bf16 to float32 stored as float32, and the Transpose a graph
 * built from PyTorch Linear weights ([out, in]) puts in front of each MatMul folded into the
 * initializer the MatMul reads ([in, out]). Compensation reads and rewrites weights where exporters
 * put them (compensate/structure.ts), so a graph built from safetensors, or an export whose weights
 * lie in external data, is compensated through this copy. Casting to float32 and transposing are
 * exact, so the copy computes what the source computes.
 *
 * Only constant subgraphs of those two kinds are folded: an fp16 tensor read any other way stays as
 * it is (compensation then refuses it, naming it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnsupportedModelError } from '../errors';
import { BFLOAT16 } from './build';
import { DataType, NewInitializer, OnnxInitializer, OnnxModel, OnnxNode } from './model';
import { FileSource } from './wire';
import { halfToFloat32 } from '../util/half';

/** One ONNX file holds at most this many bytes (protobuf's 2 GB limit), less room for the graph itself. */
export const MAX_INLINE_BYTES = 2 ** 31 - 1 - (64 << 20);

const FLOATS = new Set<number>([DataType.FLOAT, DataType.FLOAT16, BFLOAT16]);

interface Folded {
  dims: number[];
  data: Float32Array;
}

/** Float32 bytes of the standalone copy's weights (what MAX_INLINE_BYTES bounds). */
function standaloneBytes(model: OnnxModel): number {
  let n = 0;
  for (const t of model.initializers.values()) {
    const elems = t.dims.reduce((a, b) => a * b, 1);
    n += FLOATS.has(t.dataType) ? 4 * elems : (t.external?.length ?? elems * 8);
  }
  return n;
}

/** The refusal for a model whose standalone copy would not fit in one ONNX file, or null. */
export function oversizeRefusal(model: OnnxModel, label = model.src.label): UnsupportedModelError | null {
  const bytes = standaloneBytes(model);
  if (bytes <= MAX_INLINE_BYTES) return null;
  return new UnsupportedModelError(`${label}: its weights take ${(bytes / 2 ** 30).toFixed(2)} GiB in float32, and compensation works on a float32 copy of the graph with its weights inline, which one ONNX file holds only below 2 GB. Use {{compensate}} none for this model.`);
}

/** What the copy changes: constant tensors folded (by name), tables made float32, nodes dropped, inputs read under another name. */
interface Folds {
  folded: Map<string, Folded>;
  converted: Map<string, Folded>;
  dropped: Set<OnnxNode>;
  alias: Map<string, string>;
}

/** Writes the standalone float32 copy of `model` to `file`; returns the bytes written. */
export function writeStandaloneFloat(model: OnnxModel, file: string): number {
  const tooLarge = oversizeRefusal(model);
  if (tooLarge) throw tooLarge;
  const { folded, converted, dropped, alias } = foldWeights(model);
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const keptReads = new Set(model.nodes.filter((n) => !dropped.has(n)).flatMap((n) => n.inputs.map((t) => alias.get(t) ?? t)));
  const needed = (name: string) => keptReads.has(name) || graphOutputs.has(name);
  const newInitializers: NewInitializer[] = [];
  for (const [name, v] of [...folded, ...converted]) {
    if (needed(name)) newInitializers.push({ name, dataType: DataType.FLOAT, dims: v.dims, data: Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength) });
  }
  const sources = new Map<string, FileSource>();
  try {
    return model.write(file, {
      nodes: model.nodes.filter((n) => !dropped.has(n)),
      renameInputs: (_node, input) => alias.get(input) ?? input,
      keepInitializer: (name) => needed(name) && !converted.has(name),
      rewriteInitializer: (t) => {
        if (!t.external) return undefined;
        const where = path.join(model.baseDir!, t.external.location);
        let src = sources.get(where);
        if (!src) sources.set(where, (src = new FileSource(where)));
        return model.inlineTensor(t, src, t.external.length ?? src.size - t.external.offset);
      },
      newInitializers,
      keepValueInfo: (name) => !alias.has(name) && !folded.has(name),
    });
  } finally {
    for (const s of sources.values()) s.close();
  }
}

/** Folds, in node order, each Cast to float32 of a weight and each 2-D Transpose of one; makes fp16/bf16 tables that are gathered then cast float32. */
function foldWeights(model: OnnxModel): Folds {
  const readers = new Map<string, OnnxNode[]>();
  for (const n of model.nodes) for (const t of new Set(n.inputs)) if (t) readers.set(t, [...(readers.get(t) ?? []), n]);
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const f: Folds = { folded: new Map(), converted: new Map(), dropped: new Set(), alias: new Map() };
  const value = (t: string): Folded | undefined => f.folded.get(t) ?? floatInitializerValue(model, model.initializers.get(t));
  // A weight transposed twice (DeBERTa applies its query and key projections to the relative
  // embeddings too) is folded once; the second Transpose's readers read the first's copy.
  const transposedAs = new Map<string, string>();
  for (const n of model.nodes) {
    if (n.domain !== '' || graphOutputs.has(n.outputs[0])) continue;
    if (n.opType === 'Cast' && model.intAttribute(n, 'to') === DataType.FLOAT) {
      const v = value(n.inputs[0]);
      const table = v ? undefined : gatheredTable(model, n.inputs[0]);
      if (v) f.folded.set(n.outputs[0], v);
      // An embedding table gathered in fp16/bf16 and cast after: the table becomes float32, the Cast goes.
      else if (table && castsOnly(model, readers, table)) {
        if (!f.converted.has(table.name)) f.converted.set(table.name, floatInitializerValue(model, table)!);
        f.alias.set(n.outputs[0], n.inputs[0]);
      } else continue;
      f.dropped.add(n);
      continue;
    }
    const perm = n.opType === 'Transpose' ? model.intsAttribute(n, 'perm') : undefined;
    const v = n.opType === 'Transpose' ? value(n.inputs[0]) : undefined;
    if (v && v.dims.length === 2 && (perm === undefined || perm.join(',') === '1,0')) {
      const first = transposedAs.get(n.inputs[0]);
      if (first !== undefined) f.alias.set(n.outputs[0], first);
      else {
        f.folded.set(n.outputs[0], { dims: [v.dims[1], v.dims[0]], data: transpose(v.data, v.dims[0], v.dims[1]) });
        transposedAs.set(n.inputs[0], n.outputs[0]);
      }
      f.dropped.add(n);
      // A cast weight read only here is not kept twice (the copy holds the model once in float32).
      if ((readers.get(n.inputs[0]) ?? []).every((r) => f.dropped.has(r))) f.folded.delete(n.inputs[0]);
    }
  }
  return f;
}

/** An fp16/bf16 initializer whose rows a Gather reads, when `t` is that Gather's output. */
function gatheredTable(model: OnnxModel, t: string): OnnxInitializer | undefined {
  const g = model.nodes.find((n) => n.opType === 'Gather' && n.domain === '' && n.outputs[0] === t);
  const table = g && model.initializers.get(g.inputs[0]);
  return table && (table.dataType === DataType.FLOAT16 || table.dataType === BFLOAT16) ? table : undefined;
}

/** True when `table` is read only as Gather data whose rows are read only by Casts to float32. */
function castsOnly(model: OnnxModel, readers: Map<string, OnnxNode[]>, table: OnnxInitializer): boolean {
  return (readers.get(table.name) ?? []).every(
    (g) => g.opType === 'Gather' && g.inputs[0] === table.name && g.inputs[1] !== table.name && (readers.get(g.outputs[0]) ?? []).every((c) => c.opType === 'Cast' && model.intAttribute(c, 'to') === DataType.FLOAT),
  );
}

/** The values of a float32, fp16 or bf16 initializer stored as raw bytes (inline or external), as float32; undefined for others. */
function floatInitializerValue(model: OnnxModel, t: OnnxInitializer | undefined): Folded | undefined {
  if (!t || !FLOATS.has(t.dataType)) return undefined;
  const n = t.dims.reduce((a, b) => a * b, 1);
  const size = t.dataType === DataType.FLOAT ? 4 : 2;
  const raw = rawBytes(model, t, n * size);
  if (!raw) return undefined;
  if (t.dataType === DataType.FLOAT) return { dims: t.dims, data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
  const out = halfToFloat32(raw, t.dataType === BFLOAT16 ? 'BF16' : 'F16');
  return { dims: t.dims, data: out };
}

function rawBytes(model: OnnxModel, t: OnnxInitializer, length: number): Buffer | undefined {
  if (t.external) {
    const out = Buffer.alloc(length);
    const fd = fs.openSync(path.join(model.baseDir!, t.external.location), 'r');
    try {
      if (fs.readSync(fd, out, 0, length, t.external.offset) !== length) return undefined;
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
  const r = model.rawDataRange(t);
  return r && r.end - r.start === length ? Buffer.from(model.src.read(r.start, length)) : undefined;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}
