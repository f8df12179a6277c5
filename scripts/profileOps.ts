/**
 * Where an encoder's time goes, by operator type (RESULTS §5f): ONNX Runtime's own profiler over
 * `runs` runs at batch × length (fixed token ids, all attended), kernel milliseconds per run.
 *   node out/scripts/profileOps.js MODEL.onnx BATCH LENGTH [RUNS]   (THREADS=N: intra-op threads, default 2)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

async function main(): Promise<void> {
  const [file, batch, length, runs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 40)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-profile-'));
  try {
    const s = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], intraOpNumThreads: Number(process.env.THREADS ?? 2), graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: path.join(dir, 'p') });
    const ids = BigInt64Array.from({ length: batch * length }, (_, i) => BigInt(5 + ((i * 7919) % 8000)));
    const mask = new BigInt64Array(batch * length).fill(1n);
    const feeds = Object.fromEntries(s.inputNames.map((n) => [n, new ort.Tensor('int64', n.includes('mask') ? mask : n.includes('type') ? new BigInt64Array(batch * length) : ids, [batch, length])]));
    for (let i = 0; i < runs; i++) await s.run(feeds);
    s.endProfiling();
    await s.release();
    const json = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    const events = JSON.parse(fs.readFileSync(path.join(dir, json!), 'utf8')) as ProfileEvent[];
    const n = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length;
    const byOp = new Map<string, number>();
    for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur);
    const total = [...byOp.values()].reduce((a, b) => a + b, 0);
    console.log(`${file}: ${(total / n / 1000).toFixed(2)} ms of kernels per run (${n} runs at ${batch} × ${length})`);
    for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) console.log(`  ${op.padEnd(26)} ${(us / n / 1000).toFixed(2).padStart(8)} ms  ${((100 * us) / total).toFixed(1).padStart(5)} %`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
