/**
 * Times optimize's candidate fits (each task's 5 CV folds and its probe on every training row,
 * src/core/pipeline/measure.ts) inline and on a pool of fit threads, rounds alternating, in one
 * process: the README demo's model and tasks, candidates that are prefixes of the model (their
 * features are the full model's hidden states, so no graph runs and only the fits are timed).
 *
 *   npm run compile && node out/scripts/measurePoolBench.js --cache-dir DIR --rounds 2
 *
 * The first run fills DIR with the full model's features (one extraction).
 */
import * as path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { extractFull } from '../src/core/pipeline/extract';
import { SubsetEvaluator } from '../src/core/pipeline/measure';
import { withPrepared } from '../src/core/pipeline/prepare';
import { taskSplits } from '../src/core/pipeline/probe';
import { FitPool } from '../src/core/probe/fitPool';
import { DEFAULT_SETTINGS, ProbeSettings } from '../src/core/settings';

const PREFIXES = [[], [0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4]];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'cache-dir': { type: 'string' }, rounds: { type: 'string' }, threads: { type: 'string' } } });
  const rounds = Number(values.rounds ?? 1);
  const threads = Number(values.threads ?? 2);
  const root = path.join(__dirname, '..', '..');
  const settings: ProbeSettings = { ...DEFAULT_SETTINGS, provider: 'cpu', limitTrain: 1000, limitTest: 500, cacheDir: values['cache-dir'] ?? null };
  const specs = ['spam', 'sentlen'].map((name) => ({ name, path: path.join(root, 'data', 'tasks', name), weight: 1 }));
  await withPrepared(path.join(root, 'models', 'probescale-roberta-mini'), specs, settings, {}, async (run) => {
    const full = await extractFull(run, settings, null, {});
    const pools = { inline: new FitPool(1), pool: new FitPool(threads) };
    const splits = taskSplits(run.tasks, specs, full.feats, settings, { fits: pools.pool });
    const seconds: Record<keyof typeof pools, number[]> = { inline: [], pool: [] };
    const results: Record<keyof typeof pools, unknown> = { inline: null, pool: null };
    for (let r = 0; r < rounds; r++) {
      for (const which of r % 2 === 0 ? (['inline', 'pool'] as const) : (['pool', 'inline'] as const)) {
        const ev = new SubsetEvaluator(run.info, run.tokenizer, splits, settings, () => 0, full.feats);
        const t0 = performance.now();
        const measured = [];
        for (const kept of PREFIXES) measured.push(await ev.measure(kept, true, { fits: pools[which] }));
        seconds[which].push((performance.now() - t0) / 1000);
        results[which] = { measured, probes: Object.fromEntries(ev.probes) };
        ev.dispose();
        console.log(`round ${r + 1} ${which}: ${seconds[which].at(-1)!.toFixed(1)} s`);
      }
    }
    await pools.pool.close();
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    console.log(`${PREFIXES.length} candidates × 2 tasks × 6 fits, ${rounds} round(s): inline ${total(seconds.inline).toFixed(1)} s, pool of ${threads} ${total(seconds.pool).toFixed(1)} s → inline/pool ×${(total(seconds.inline) / total(seconds.pool)).toFixed(2)}; measurements ${isDeepStrictEqual(results.inline, results.pool) ? 'identical' : 'DIFFER'}`);
  });
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
