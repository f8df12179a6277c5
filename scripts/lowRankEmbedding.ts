/**
 * Feasibility: replace a model's word-embedding table E by its rank-r approximation E·V·Vᵀ, where V
 * holds the top r eigenvectors of Eᵀ·diag(w)·E (w: token counts on a task's training texts + 1), and
 * write a full copy of the folder's graph with that table (same shapes).
 *   node out/scripts/lowRankEmbedding.js MODEL_DIR TASK_DIR RANK OUT_DIR [--limit-train N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { OnnxModel, DataType } from '../src/core/onnx/model';
import { findWordEmbedding, readRows } from '../src/core/onnx/vocab';

/** Eigenvectors (columns of the returned row-major n×n) and eigenvalues of a symmetric matrix, cyclic Jacobi. */
function symEig(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 30; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

async function main(): Promise<void> {
  const [modelDir, taskDir, rankArg, outDir] = process.argv.slice(2);
  const limit = process.argv.includes('--limit-train') ? Number(process.argv[process.argv.indexOf('--limit-train') + 1]) : undefined;
  const r = Number(rankArg);
  const file = path.join(modelDir, 'onnx', 'model.onnx');
  const model = OnnxModel.open(file);
  const e = findWordEmbedding(model);
  if (e.weight.dataType !== DataType.FLOAT) throw new Error('float32 tables only');
  const V = e.vocab, H = e.hidden;
  const bytes = readRows(model, e.weight, Array.from({ length: V }, (_, i) => i));
  const E = new Float32Array(bytes.buffer, bytes.byteOffset, V * H);
  const tok = await loadTokenizer(modelDir, { maxLength: 128 });
  const task = await loadTask('t', taskDir, { limitTrain: limit });
  const w = new Float64Array(V).fill(1);
  for (const ex of task.train) for (const id of tok.encodeWithTypes(ex.text).ids) w[id] += 1;
  const G = new Float64Array(H * H);
  for (let v = 0; v < V; v++) {
    const row = E.subarray(v * H, (v + 1) * H);
    for (let i = 0; i < H; i++) {
      const wi = w[v] * row[i];
      for (let j = 0; j < H; j++) G[i * H + j] += wi * row[j];
    }
  }
  const { values, vectors } = symEig(G, H);
  const order = Array.from({ length: H }, (_, i) => i).sort((a, b) => values[b] - values[a]);
  const top = order.slice(0, r);
  const total = values.reduce((a, b) => a + b, 0);
  console.log(`rank ${r}: ${(100 * top.reduce((a, i) => a + values[i], 0) / total).toFixed(2)} % of the weighted energy`);
  const out = new Float32Array(V * H);
  const proj = new Float64Array(r);
  for (let v = 0; v < V; v++) {
    for (let k = 0; k < r; k++) {
      let s = 0;
      for (let i = 0; i < H; i++) s += E[v * H + i] * vectors[i * H + top[k]];
      proj[k] = s;
    }
    for (let i = 0; i < H; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += proj[k] * vectors[i * H + top[k]];
      out[v * H + i] = s;
    }
  }
  fs.cpSync(modelDir, outDir, { recursive: true });
  fs.rmSync(path.join(outDir, 'onnx'), { recursive: true });
  fs.mkdirSync(path.join(outDir, 'onnx'));
  model.write(path.join(outDir, 'onnx', 'model.onnx'), {
    nodes: model.nodes,
    keepInitializer: (name) => name !== e.weight.name,
    newInitializers: [{ name: e.weight.name, dataType: DataType.FLOAT, dims: [V, H], data: Buffer.from(out.buffer) }],
  });
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
