/**
 * What compensation's standalone float32 copy of a graph built from safetensors costs
 * (compensate/source.ts; RESULTS §6 "Thirtieth session"): builds the graph from MODEL_DIR's
 * safetensors, writes the copy, and prints the seconds it took, the copy's size, this process's
 * peak RSS before and after, and the max |diff| of last_hidden_state between the built graph and
 * the copy on a seeded batch of token ids.
 *   node out/scripts/timeStandalone.js MODEL_DIR [BATCH] [LENGTH]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { openModel } from '../src/core/model/modelInfo';
import { compensationSource } from '../src/core/compensate/source';
import { Rng } from '../src/core/util/rng';

async function lastHidden(file: string, ids: BigInt64Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2 });
  const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), dims) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(ids.length), dims);
  const out = (await session.run(feeds)).last_hidden_state.data as Float32Array;
  await session.release();
  return out;
}

async function main(): Promise<void> {
  const [dir, batch, length] = [process.argv[2], Number(process.argv[3] ?? 4), Number(process.argv[4] ?? 64)];
  const graphCacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'time-standalone-'));
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  try {
    const info = openModel(dir, { from: 'safetensors', graphCacheDir });
    const before = process.resourceUsage().maxRSS * 1024;
    const t0 = performance.now();
    const source = compensationSource(info);
    const seconds = (performance.now() - t0) / 1000;
    const after = process.resourceUsage().maxRSS * 1024;
    try {
      const vocab = Number(info.config.vocab_size);
      const rng = new Rng(1);
      const ids = BigInt64Array.from({ length: batch * length }, (_, i) => BigInt(i % length === 0 ? 0 : 5 + Math.floor(rng.next() * (vocab - 5))));
      const a = await lastHidden(info.onnxFile, ids, [batch, length]);
      const b = await lastHidden(source.info.onnxFile, ids, [batch, length]);
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
      const weights = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
      console.log(`${dir}: ${info.params.total.toLocaleString('en-US')} parameters, safetensors ${mib(weights)} MiB; copy written in ${seconds.toFixed(2)} s, ${mib(fs.statSync(source.info.onnxFile).size)} MiB; peak RSS ${mib(before)} → ${mib(after)} MiB; max |diff| built vs copy ${d} (${batch} × ${length} ids)`);
    } finally {
      source.dispose();
      info.model.close();
    }
  } finally {
    fs.rmSync(graphCacheDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
