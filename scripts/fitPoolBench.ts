/**
 * The probe protocol inline vs on a pool of fit threads, side by side in one process, rounds
 * alternating (machines are noisy): the C search on the final layer, then every layer's row
 * (probe, control, 5 CV folds), on synthetic features. Checks the two give the same table and
 * prints the time ratio.
 *
 *   node out/scripts/fitPoolBench.js [--rows 2000] [--dim 256] [--labels 40] [--layers 13] [--threads 2] [--rounds 1]
 */
import { parseArgs } from 'node:util';
import { isDeepStrictEqual } from 'node:util';
import { TaskData } from '../src/core/data/dataset';
import { TaskFeatures } from '../src/core/pipeline/extract';
import { foldsForValidation, TaskSplit } from '../src/core/pipeline/measure';
import { probeTaskLayers, taskC } from '../src/core/pipeline/probe';
import { FitPool } from '../src/core/probe/fitPool';
import { DEFAULT_SETTINGS } from '../src/core/settings';
import { Rng } from '../src/core/util/rng';

/**
 * A `k`-class task with `layers` layers of `dim` features: noise in [−1, 1) plus a mean per class
 * (random, fixed by the seed) that grows with the layer, so later layers separate the classes better.
 */
export function syntheticTask(rows: { train: number; test: number }, dim: number, k: number, layers: number, seed = 7): { split: TaskSplit; feats: TaskFeatures } {
  const rng = new Rng(seed);
  const means = Array.from({ length: k }, () => Float32Array.from({ length: dim }, () => rng.next() * 2 - 1));
  const labelsOf = (n: number) => Int32Array.from({ length: n }, (_, i) => i % k);
  const features = (y: Int32Array) => ({
    n: y.length,
    dim,
    layers: Array.from({ length: layers }, (_, l) => l),
    pooled: { mean: Array.from({ length: layers }, (_, l) => Float32Array.from({ length: y.length * dim }, (_, i) => rng.next() * 2 - 1 + (0.3 * l * means[y[Math.floor(i / dim)]][i % dim]) / layers)) },
    cosine: [],
  });
  const trainY = labelsOf(rows.train);
  const testY = labelsOf(rows.test);
  const task: TaskData = { name: 'synthetic', labels: Array.from({ length: k }, (_, i) => `c${i}`), train: [], test: [], trainY, testY, source: 'synthetic' };
  return { split: { task, weight: 1, folds: foldsForValidation(task, 0), c: 1 }, feats: { train: features(trainY), test: features(testY) } };
}

/** The protocol of a probe job on one task: C by 5-fold CV on the final layer, then every layer's row. */
function protocol(t: ReturnType<typeof syntheticTask>, pool: FitPool) {
  const f = t.feats.train;
  const c = taskC(t.split.task, f.pooled.mean![f.layers.length - 1], f.dim, DEFAULT_SETTINGS, { fits: pool });
  return probeTaskLayers({ ...t.split, c }, t.feats, DEFAULT_SETTINGS, { fits: pool });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, dim: { type: 'string' }, labels: { type: 'string' }, layers: { type: 'string' }, threads: { type: 'string' }, rounds: { type: 'string' } } });
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const rows = num(values.rows, 2000);
  const [dim, k, layers, threads, rounds] = [num(values.dim, 256), num(values.labels, 40), num(values.layers, 13), num(values.threads, 2), num(values.rounds, 1)];
  const task = syntheticTask({ train: rows, test: Math.round(rows / 4) }, dim, k, layers);
  const pools = { inline: new FitPool(1), pool: new FitPool(threads) };
  const seconds: Record<keyof typeof pools, number[]> = { inline: [], pool: [] };
  const tables: Record<keyof typeof pools, unknown> = { inline: null, pool: null };
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? (['inline', 'pool'] as const) : (['pool', 'inline'] as const)) {
      const t0 = performance.now();
      tables[which] = protocol(task, pools[which]);
      seconds[which].push((performance.now() - t0) / 1000);
      console.log(`round ${r + 1} ${which}: ${seconds[which].at(-1)!.toFixed(1)} s`);
    }
  }
  await pools.pool.close();
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(`${rows} train rows × ${dim} features × ${k} labels × ${layers} layers, ${rounds} round(s): inline ${total(seconds.inline).toFixed(1)} s, pool of ${threads} ${total(seconds.pool).toFixed(1)} s → inline/pool ×${(total(seconds.inline) / total(seconds.pool)).toFixed(2)}; tables ${isDeepStrictEqual(tables.inline, tables.pool) ? 'identical' : 'DIFFER'}`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
