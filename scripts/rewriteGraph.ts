/**
 * `node out/scripts/rewriteGraph.js SRC_MODEL_DIR DST_MODEL_DIR KIND`: a copy of a model folder whose
 * onnx/model.onnx is rewritten as another exporter or graph tool writes it (test/graphRewrites.ts:
 * no-node-names, task-head, hidden-states-first, …); the folder's other ONNX variants are left out,
 * since they would not match. RESULTS.md runs the CLI on such copies of roberta-mini.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxModel } from '../src/core/onnx/model';
import { REWRITES, Rewrite, writeRewritten } from '../test/graphRewrites';

const [src, dst, kind] = process.argv.slice(2);
if (!src || !dst || !REWRITES.includes(kind as Rewrite)) {
  console.error(`usage: node out/scripts/rewriteGraph.js SRC_MODEL_DIR DST_MODEL_DIR KIND (KIND one of ${REWRITES.join(', ')})`);
  process.exit(1);
}
if (fs.existsSync(dst)) {
  console.error(`${dst} exists; give a new folder.`);
  process.exit(1);
}
fs.cpSync(src, dst, { recursive: true });
for (const f of fs.readdirSync(path.join(dst, 'onnx'))) if (f !== 'model.onnx') fs.rmSync(path.join(dst, 'onnx', f));
const file = path.join(dst, 'onnx', 'model.onnx');
const model = OnnxModel.open(file);
try {
  writeRewritten(model, kind as Rewrite, `${file}.new`);
} finally {
  model.close();
}
fs.renameSync(`${file}.new`, file);
console.log(`wrote ${dst} (${kind})`);
