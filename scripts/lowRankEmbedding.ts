/**
 * The unpruned model with its word-embedding table replaced by the rank-r factorisation
 * `--embedding-rank` would use (RESULTS §5g: how much a rank costs before any block is dropped):
 * writes a copy of MODEL_DIR whose table holds A·B (same shapes), to be measured with
 * `probescale probe OUT_DIR …`. Token weights: counts in the task's training texts, plus one.
 *   node out/scripts/lowRankEmbedding.js MODEL_DIR TASK_DIR RANK OUT_DIR [--limit-train N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { DataType, OnnxModel } from '../src/core/onnx/model';
import { findWordEmbedding, readRows } from '../src/core/onnx/vocab';
import { factorTable } from '../src/core/compensate/embedding';

async function main(): Promise<void> {
  const [modelDir, taskDir, rankArg, outDir] = process.argv.slice(2);
  const limit = process.argv.includes('--limit-train') ? Number(process.argv[process.argv.indexOf('--limit-train') + 1]) : undefined;
  const model = OnnxModel.open(path.join(modelDir, 'onnx', 'model.onnx'));
  const e = findWordEmbedding(model);
  const [V, H] = [e.vocab, e.hidden];
  const bytes = readRows(
    model,
    e.weight,
    Array.from({ length: V }, (_, i) => i),
  );
  const tok = await loadTokenizer(modelDir, { maxLength: 128 });
  const task = await loadTask('t', taskDir, { limitTrain: limit });
  const w = new Float64Array(V).fill(1);
  for (const ex of task.train) for (const id of tok.encode(ex.text, ex.textPair)) w[id] += 1;
  const f = factorTable(new Float32Array(bytes.buffer, bytes.byteOffset, V * H), V, H, w, Number(rankArg));
  console.log(`rank ${f.rank}: ${(100 * f.energy).toFixed(2)} % of the weighted energy`);
  const table = new Float32Array(V * H);
  for (let v = 0; v < V; v++) for (let k = 0; k < f.rank; k++) for (let h = 0; h < H; h++) table[v * H + h] += f.a[v * f.rank + k] * f.b[k * H + h];
  fs.cpSync(modelDir, outDir, { recursive: true, filter: (src) => !src.includes(`${path.sep}onnx${path.sep}`) && !src.endsWith(`${path.sep}onnx`) });
  fs.mkdirSync(path.join(outDir, 'onnx'), { recursive: true });
  model.write(path.join(outDir, 'onnx', 'model.onnx'), { nodes: model.nodes, keepInitializer: (n) => n !== e.weight.name, newInitializers: [{ name: e.weight.name, dataType: DataType.FLOAT, dims: [V, H], data: Buffer.from(table.buffer) }] });
  model.close();
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
