/**
 * Checks that a parsed graph can be trusted before anything runs it or copies it: every value a
 * node reads exists, and every external-data tensor lies inside its data file, which is as long as
 * the graph declares. ONNX Runtime would otherwise fail deep inside (a stack trace) or, for a
 * truncated data file, prune would copy it silently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxParseError } from '../errors';
import { DataType, OnnxInitializer, OnnxModel } from './model';
import { lfsPointer } from '../util/fileKind';

const BYTES: Record<number, number> = { [DataType.FLOAT]: 4, [DataType.UINT8]: 1, [DataType.INT8]: 1, [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.BOOL]: 1, [DataType.FLOAT16]: 2, [DataType.DOUBLE]: 8, 16: 2 };

/** Bytes an initializer's data takes: its declared external length, else elements × element size. */
export function tensorByteLength(t: OnnxInitializer): number {
  if (t.external?.length != null) return t.external.length;
  const size = BYTES[t.dataType];
  if (!size) throw new OnnxParseError(`initializer ${t.name}: external data without a length and of data type ${t.dataType}; cannot tell its size.`);
  return t.dims.reduce((a, b) => a * b, 1) * size;
}

/** Every node input is a graph input, an initializer or another node's output. */
export function checkValuesDefined(model: OnnxModel): void {
  const defined = new Set<string>(['', ...model.inputs.map((i) => i.name), ...model.initializers.keys()]);
  for (const n of model.nodes) for (const o of n.outputs) defined.add(o);
  for (const n of model.nodes) {
    const missing = n.inputs.find((i) => !defined.has(i));
    if (missing !== undefined) throw new OnnxParseError(`${model.src.label}: node '${n.name || n.opType}' reads '${missing}', which no initializer, graph input or node provides (an initializer is missing); re-export the model.`);
  }
}

/** Every external tensor: a location inside the model folder, a file that holds its whole byte range, a length that matches its shape. */
export function checkExternalData(model: OnnxModel): void {
  const sizes = new Map<string, number>();
  for (const t of model.initializers.values()) {
    const ext = t.external;
    if (!ext) continue;
    const where = `${model.src.label}: initializer '${t.name}'`;
    if (model.baseDir === null) throw new OnnxParseError(`${where} keeps its data in an external file, which an in-memory model cannot read.`);
    const file = path.resolve(model.baseDir, ext.location);
    const rel = path.relative(model.baseDir, file);
    if (!ext.location || rel.startsWith('..') || path.isAbsolute(rel)) throw new OnnxParseError(`${where}: external data location '${ext.location}' is not a file inside ${model.baseDir}; refusing to read it.`);
    if (!Number.isSafeInteger(ext.offset) || ext.offset < 0 || (ext.length !== null && (!Number.isSafeInteger(ext.length) || ext.length < 0))) {
      throw new OnnxParseError(`${where}: external data offset ${ext.offset} / length ${ext.length} are not byte counts.`);
    }
    const elem = BYTES[t.dataType];
    const shaped = elem ? t.dims.reduce((a, b) => a * b, 1) * elem : null;
    if (ext.length !== null && shaped !== null && ext.length !== shaped) throw new OnnxParseError(`${where}: its shape [${t.dims.join(', ')}] needs ${shaped} bytes but its external length is ${ext.length}; the graph is corrupt.`);
    let size = sizes.get(file);
    if (size === undefined) {
      if (!fs.existsSync(file)) throw new OnnxParseError(`${where}: its data file ${ext.location} is missing from ${model.baseDir}; copy it beside the graph.`);
      sizes.set(file, (size = fs.statSync(file).size));
    }
    const end = ext.offset + tensorByteLength(t);
    if (end > size) {
      const lfs = lfsPointer(file, size);
      if (lfs) throw new OnnxParseError(`${where}: its data file ${file} ${lfs}.`);
      throw new OnnxParseError(`${where} needs bytes up to ${end} of ${ext.location}, which has ${size} bytes: the data file is truncated or does not belong to this graph; download or export it again.`);
    }
  }
}
