/**
 * How close ProbeScale's q8 quantization (src/core/compensate/quantize.ts) of a folder's float
 * encoder is to it, beside the folder's own quantized variant (e.g. ORT's quantize_dynamic), on
 * the first 64 test texts of a task, one text per run: relative error of the last hidden state
 * (‖quantized − float‖ / ‖float‖ over all tokens) and file sizes.
 *   node out/scripts/compareQ8.js MODEL_DIR TASK_DIR
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { Q8_FILE, writeQuantized } from '../src/core/compensate/quantize';
import { openSession } from '../src/core/runtime/session';

async function lastHidden(file: string, ids: number[][]): Promise<Float32Array[]> {
  const { session } = await openSession(file, { provider: 'cpu' });
  const out: Float32Array[] = [];
  for (const row of ids) {
    const dims = [1, row.length];
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(row.map(BigInt)), dims), attention_mask: new ort.Tensor('int64', BigInt64Array.from(row.map(() => 1n)), dims) };
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(row.length), dims);
    out.push((await session.run(feeds))[session.outputNames[0]].data as Float32Array);
  }
  await session.release();
  return out;
}

function relativeError(a: Float32Array[], b: Float32Array[]): number {
  let err = 0;
  let norm = 0;
  for (const [r, x] of a.entries()) {
    for (let i = 0; i < x.length; i++) {
      err += (x[i] - b[r][i]) ** 2;
      norm += x[i] ** 2;
    }
  }
  return Math.sqrt(err / norm);
}

async function main(): Promise<void> {
  const [modelDir, taskDir] = process.argv.slice(2);
  const float = path.join(modelDir, 'onnx', 'model.onnx');
  const theirs = path.join(modelDir, 'onnx', Q8_FILE);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-q8-'));
  try {
    const ours = path.join(tmp, Q8_FILE);
    writeQuantized(float, ours);
    const tok = await loadTokenizer(modelDir, { maxLength: 128 });
    const task = await loadTask('t', taskDir, { limitTest: 64 });
    const ids = task.test.map((e) => tok.encodeWithTypes(e.text).ids);
    const ref = await lastHidden(float, ids);
    const size = (f: string) => `${(fs.statSync(f).size / 1e6).toFixed(1)} MB`;
    console.log(`float ${size(float)}`);
    console.log(`ProbeScale q8: relative error ${(100 * relativeError(ref, await lastHidden(ours, ids))).toFixed(2)} %, ${size(ours)}`);
    if (fs.existsSync(theirs)) console.log(`the folder's ${Q8_FILE}: relative error ${(100 * relativeError(ref, await lastHidden(theirs, ids))).toFixed(2)} %, ${size(theirs)}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
