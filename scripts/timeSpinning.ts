/**
 * Why the verify timer parks its threads (RESULTS §5f): two encoders timed run for run in one
 * process, with ORT's default thread spinning, with spinning off, and with threads parked after
 * each run (`session.force_spinning_stop`, what verify uses), and each also timed alone.
 *   node out/scripts/timeSpinning.js ORIGINAL.onnx PRUNED.onnx BATCH LENGTH
 * Fixed token ids (all attended), 3 warm-up and 15 timed runs per encoder; medians in ms.
 */
import * as ort from 'onnxruntime-node';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function time(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  const t0 = performance.now();
  await session.run(feeds);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const [fa, fb, batch, length] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
  const configs: [string, Record<string, string>][] = [
    ['default (spinning)', {}],
    ['spinning off', { 'intra_op.allow_spinning': '0' }],
    ['parked after each run', { force_spinning_stop: '1' }],
  ];
  for (const [label, session] of configs) {
    const so: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableMemPattern: false, extra: { session } };
    const a = await ort.InferenceSession.create(fa, so);
    const b = await ort.InferenceSession.create(fb, so);
    const ids = BigInt64Array.from({ length: batch * length }, (_, i) => BigInt(5 + ((i * 7919) % 8000)));
    const mask = new BigInt64Array(batch * length).fill(1n);
    const feeds = (s: ort.InferenceSession) => Object.fromEntries(s.inputNames.map((n) => [n, new ort.Tensor('int64', n.includes('mask') ? mask : n.includes('type') ? new BigInt64Array(batch * length) : ids, [batch, length])]));
    const [xa, xb] = [feeds(a), feeds(b)];
    for (let i = 0; i < 3; i++) {
      await time(a, xa);
      await time(b, xb);
    }
    const [pa, pb, sa, sb]: number[][] = [[], [], [], []];
    for (let i = 0; i < 15; i++) {
      pa.push(await time(a, xa));
      pb.push(await time(b, xb));
    }
    for (let i = 0; i < 15; i++) sa.push(await time(a, xa));
    for (let i = 0; i < 15; i++) sb.push(await time(b, xb));
    const f = (x: number) => x.toFixed(1);
    console.log(`${label.padEnd(22)} alternating: ${f(median(pa))} / ${f(median(pb))} ms ×${(median(pa) / median(pb)).toFixed(2)} | alone: ${f(median(sa))} / ${f(median(sb))} ms ×${(median(sa) / median(sb)).toFixed(2)}`);
    await a.release();
    await b.release();
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
