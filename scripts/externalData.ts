/**
 * `node out/scripts/externalData.js SRC_MODEL_DIR DST_MODEL_DIR`: a copy of a model folder whose
 * onnx/model.onnx keeps every initializer over 1 KiB in onnx/model.onnx_data, the layout of
 * models over 2 GB. Tensors are streamed one at a time (page-aligned), so any size works.
 * Tests build their external-data fixtures with it; RESULTS.md §10 made the large model's copy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxModel } from '../src/core/onnx/model';

/** Writes `dst` (an .onnx path) with the weights of `src` moved into `<dst>_data`. */
export function externalize(src: string, dst: string): string {
  const m = OnnxModel.open(src);
  const dataName = `${path.basename(dst)}_data`;
  const fd = fs.openSync(path.join(path.dirname(dst), dataName), 'w');
  let offset = 0;
  try {
    m.write(dst, {
      nodes: m.nodes,
      rewriteInitializer: (t) => {
        const r = m.rawDataRange(t);
        if (!r || r.end - r.start < 1024) return undefined;
        const at = Math.ceil(offset / 4096) * 4096;
        fs.writeSync(fd, m.src.read(r.start, r.end - r.start), 0, r.end - r.start, at);
        offset = at + r.end - r.start;
        return m.rewriteTensor(t, { externalData: { location: dataName, offset: String(at), length: String(r.end - r.start) }, dropRawData: true });
      },
    });
  } finally {
    fs.closeSync(fd);
    m.close();
  }
  return dst;
}

/** Copies the folder's files (tokenizer, config) and writes its onnx/model.onnx in the external-data layout. */
export function externalDataCopy(srcDir: string, dstDir: string): string {
  fs.mkdirSync(path.join(dstDir, 'onnx'), { recursive: true });
  for (const f of fs.readdirSync(srcDir)) {
    const p = path.join(srcDir, f);
    if (fs.statSync(p).isFile()) fs.copyFileSync(p, path.join(dstDir, f));
  }
  return externalize(path.join(srcDir, 'onnx', 'model.onnx'), path.join(dstDir, 'onnx', 'model.onnx'));
}

if (require.main === module) {
  const [src, dst] = process.argv.slice(2);
  if (!src || !dst) {
    console.error('usage: node out/scripts/externalData.js SRC_MODEL_DIR DST_MODEL_DIR');
    process.exit(1);
  }
  console.log(`wrote ${externalDataCopy(path.resolve(src), path.resolve(dst))}`);
}
