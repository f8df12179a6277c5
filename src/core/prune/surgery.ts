/**
 * Writes pruned ONNX files: kept blocks rewired, side inputs alive, dead nodes and
 * initializers gone, everything else untouched. External data is re-packed so the pruned
 * model carries only the kept weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxParseError, throwIfAborted } from '../errors';
import { checkExternalData, tensorByteLength } from '../onnx/integrity';
import { findBlocks } from '../onnx/blocks';
import { pruneEdit } from '../onnx/edit';
import { GraphEdit, OnnxModel } from '../onnx/model';

export interface PrunedOnnx {
  file: string;
  bytes: number;
  nodes: number;
  initializers: number;
}

/** Prunes `src` to `kept` blocks and writes it to `dst` (plus `dst`_data when the source used external data). */
export function writePrunedOnnx(src: string, dst: string, kept: number[], signal?: AbortSignal): PrunedOnnx {
  const model = OnnxModel.open(src);
  try {
    checkExternalData(model);
    const blocks = findBlocks(model, src);
    const edit = pruneEdit(model, blocks, kept);
    throwIfAborted(signal);
    const bytes = writeWithOwnData(model, edit, dst, signal);
    let inits = 0;
    for (const name of model.initializers.keys()) if (edit.keepInitializer!(name)) inits++;
    return { file: dst, bytes, nodes: edit.nodes.length, initializers: inits };
  } finally {
    model.close();
  }
}

/**
 * Writes an edited graph to `dst`; externally stored weights it still reads are re-packed into
 * `dst`_data beside it (page-aligned), so the written file never points back at the source.
 */
export function writeWithOwnData(model: OnnxModel, edit: GraphEdit, dst: string, signal?: AbortSignal): number {
  const dataName = `${path.basename(dst)}_data`;
  const copies: { from: string; start: number; len: number; at: number }[] = [];
  let offset = 0;
  const own = edit.rewriteInitializer;
  const bytes = model.write(dst, {
    ...edit,
    rewriteInitializer: (t) => {
      const mine = own?.(t);
      if (mine || !t.external) return mine;
      const len = tensorByteLength(t);
      const at = Math.ceil(offset / 4096) * 4096;
      copies.push({ from: path.join(model.baseDir!, t.external.location), start: t.external.offset, len, at });
      offset = at + len;
      return model.rewriteTensor(t, { externalData: { location: dataName, offset: String(at), length: String(len) } });
    },
  });
  if (copies.length) copyRanges(copies, path.join(path.dirname(dst), dataName), signal);
  return bytes;
}

function copyRanges(copies: { from: string; start: number; len: number; at: number }[], file: string, signal?: AbortSignal): void {
  const out = fs.openSync(file, 'w');
  const buf = Buffer.allocUnsafe(1 << 22);
  const fds = new Map<string, number>();
  try {
    for (const c of copies) {
      throwIfAborted(signal);
      let fd = fds.get(c.from);
      if (fd === undefined) fds.set(c.from, (fd = fs.openSync(c.from, 'r')));
      for (let p = 0; p < c.len; ) {
        const n = Math.min(buf.length, c.len - p);
        if (fs.readSync(fd, buf, 0, n, c.start + p) !== n) throw new OnnxParseError(`${c.from}: ended before byte ${c.start + p + n}; the data file is truncated.`);
        fs.writeSync(out, buf, 0, n, c.at + p);
        p += n;
      }
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
    fs.closeSync(out);
  }
}
