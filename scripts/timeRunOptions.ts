/**
 * Would ONNX Runtime's memory patterns or preallocated outputs close the latency gap of narrow
 * compensated models (RESULTS §5f)? Times two encoders run for run, with the verify timer's thread
 * parking, under memory patterns off/on × outputs allocated per run / preallocated.
 *   node out/scripts/timeRunOptions.js ORIGINAL.onnx PRUNED.onnx BATCH LENGTH [RUNS]
 * Fixed token ids (all attended), 3 warm-up and RUNS (default 15) timed pairs; medians in ms.
 */
import * as ort from 'onnxruntime-node';
import { disableOrtTelemetry } from '../src/core/runtime/telemetry';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
type Feeds = Record<string, ort.Tensor>;

function feedsFor(s: ort.InferenceSession, batch: number, length: number): Feeds {
  const ids = BigInt64Array.from({ length: batch * length }, (_, i) => BigInt(5 + ((i * 7919) % 8000)));
  const mask = new BigInt64Array(batch * length).fill(1n);
  return Object.fromEntries(s.inputNames.map((n) => [n, new ort.Tensor('int64', n.includes('mask') ? mask : n.includes('type') ? new BigInt64Array(batch * length) : ids, [batch, length])]));
}

/** Output tensors of the shapes one run gave, to be written into by the next runs. */
async function preallocated(s: ort.InferenceSession, feeds: Feeds): Promise<Record<string, ort.Tensor>> {
  const r = await s.run(feeds);
  return Object.fromEntries(s.outputNames.map((n) => [n, new ort.Tensor('float32', new Float32Array(r[n].size), r[n].dims)]));
}

async function timed(s: ort.InferenceSession, feeds: Feeds, fetches?: Record<string, ort.Tensor>): Promise<number> {
  const t0 = performance.now();
  await (fetches ? s.run(feeds, fetches) : s.run(feeds));
  return performance.now() - t0;
}

async function main(): Promise<void> {
  disableOrtTelemetry();
  const [fa, fb] = [process.argv[2], process.argv[3]];
  const [batch, length, runs] = [Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6] ?? 15)];
  for (const memPattern of [false, true]) {
    for (const prealloc of [false, true]) {
      const so: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 4, enableMemPattern: memPattern, extra: { session: { force_spinning_stop: '1' } } };
      const [a, b] = [await ort.InferenceSession.create(fa, so), await ort.InferenceSession.create(fb, so)];
      const [xa, xb] = [feedsFor(a, batch, length), feedsFor(b, batch, length)];
      const [oa, ob] = prealloc ? [await preallocated(a, xa), await preallocated(b, xb)] : [undefined, undefined];
      for (let i = 0; i < 3; i++) {
        await timed(a, xa, oa);
        await timed(b, xb, ob);
      }
      const [ta, tb]: number[][] = [[], []];
      for (let i = 0; i < runs; i++) {
        ta.push(await timed(a, xa, oa));
        tb.push(await timed(b, xb, ob));
      }
      console.log(`memory patterns ${memPattern ? 'on ' : 'off'}, outputs ${prealloc ? 'preallocated' : 'per run     '}: ${median(ta).toFixed(2)} / ${median(tb).toFixed(2)} ms, ×${(median(ta) / median(tb)).toFixed(2)}`);
      await a.release();
      await b.release();
    }
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
