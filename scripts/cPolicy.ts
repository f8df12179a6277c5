/**
 * Decides the probe's C policy on training rows only (nested cross-validation; the test split is
 * never read): for every layer, an outer stratified 5-fold split of the training rows; inside each
 * outer training part, policy "layer" picks C by 5-fold CV on that layer, policy "task" picks C by
 * 5-fold CV on the final layer (what optimize did); both fit on the outer training part and are
 * scored on the held-out outer fold. Prints, per task, the mean held-out accuracy of each policy
 * over all layers and the layers where they differ.
 *
 *   node out/scripts/cPolicy.js MODEL_DIR --task NAME=DIR [--task …] [--limit-train 1000]
 */
import { parseArgs } from 'node:util';
import { Extractor } from '../src/core/extract/extractor';
import { extractAll } from '../src/core/pipeline/extract';
import { extractorOptions, withPrepared } from '../src/core/pipeline/prepare';
import { selectC, stratifiedKFold, takeRows } from '../src/core/probe/cv';
import { predictProbe, trainProbe } from '../src/core/probe/probe';
import { accuracy } from '../src/core/probe/metrics';
import { DEFAULT_SETTINGS, ProbeSettings } from '../src/core/settings';

const OUTER = 5;

function heldOut(X: Float32Array, y: Int32Array, dim: number, K: number, fit: Int32Array, held: Int32Array, c: number): number {
  const p = trainProbe(takeRows(X, dim, fit), Int32Array.from(fit, (i) => y[i]), dim, K, { c, control: false });
  return accuracy(Int32Array.from(held, (i) => y[i]), predictProbe(p, takeRows(X, dim, held), held.length));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { task: { type: 'string', multiple: true }, 'limit-train': { type: 'string' } } });
  const specs = (values.task ?? []).map((t) => ({ name: t.split('=')[0], path: t.split('=')[1], weight: 1 }));
  const settings: ProbeSettings = { ...DEFAULT_SETTINGS, limitTrain: Number(values['limit-train'] ?? 1000), limitTest: 2, cacheDir: null };
  await withPrepared(positionals[0], specs, settings, {}, async ({ info, tokenizer, tasks }) => {
    const extractor = await Extractor.create(info, tokenizer, extractorOptions(settings), {});
    const feats = await extractAll(extractor, tasks.map((t) => ({ ...t, test: t.test.slice(0, 2) })), {});
    await extractor.release();
    for (const t of tasks) {
      const f = feats.get(t.name)!.train;
      const L = f.layers.length;
      const y = t.trainY;
      const K = t.labels.length;
      const outer = stratifiedKFold(y, OUTER, 1000);
      const sum = { layer: new Float64Array(L), task: new Float64Array(L) };
      for (let o = 0; o < OUTER; o++) {
        const fit = Int32Array.from([...y.keys()].filter((i) => outer[i] !== o));
        const held = Int32Array.from([...y.keys()].filter((i) => outer[i] === o));
        const fitY = Int32Array.from(fit, (i) => y[i]);
        const cOf = (l: number) => selectC(takeRows(f.pooled.mean![l], f.dim, fit), fitY, f.dim, K, { seed: 0 }).c;
        const cs = Array.from({ length: L }, (_, l) => cOf(l));
        for (let l = 0; l < L; l++) {
          const X = f.pooled.mean![l];
          const a = heldOut(X, y, f.dim, K, fit, held, cs[l]);
          sum.layer[l] += a / OUTER;
          sum.task[l] += (cs[l] === cs[L - 1] ? a : heldOut(X, y, f.dim, K, fit, held, cs[L - 1])) / OUTER;
        }
      }
      const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
      const pct = (v: number) => (100 * v).toFixed(1);
      console.log(`${t.name} (${y.length} train rows): C per layer ${pct(mean(sum.layer))} %, C per task ${pct(mean(sum.task))} % (mean over ${L} layers, outer ${OUTER}-fold)`);
      console.log('  layer: ' + [...sum.layer.keys()].map((l) => `${l} ${pct(sum.layer[l])}/${pct(sum.task[l])}`).join(', '));
    }
  });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
