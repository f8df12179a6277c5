/**
 * What `--vocab-trim` costs on words the training texts never used, and which map for the
 * dropped ids costs less, measured on training rows only (RESULTS §5l; the test split is not
 * read): the training rows are split in two seeded halves A and B; the vocabulary is trimmed to
 * A's tokens; a probe per hidden state is trained on A (C by cross-validation on A) and scored on
 * B three ways: B as it is, B with dropped ids read as the unknown token, and B with dropped ids
 * read as their nearest kept token.
 *   node out/scripts/trimUnseen.js MODEL_DIR TASK_DIR... [--limit-train N] [--seed S]
 */
import * as path from 'node:path';
import { loadTask, TaskData } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { Extractor, IdRemap, LayerFeatures } from '../src/core/extract/extractor';
import { openModel } from '../src/core/model/modelInfo';
import { findWordEmbedding, UnseenTokens } from '../src/core/onnx/vocab';
import { unseenTokenMap } from '../src/core/pipeline/nearestTokens';
import { keptTokenIds } from '../src/core/pipeline/vocabTrim';
import { predictProbe, runProbe, trainProbe } from '../src/core/probe/probe';
import { accuracy } from '../src/core/probe/metrics';
import { Rng } from '../src/core/util/rng';

/** Standard error of the mean per-row difference (right or not) between two predictions of the same rows. */
function pairedSe(y: Int32Array, a: Int32Array, b: Int32Array): number {
  const d = Array.from(y, (t, i) => Number(a[i] === t) - Number(b[i] === t));
  const m = d.reduce((s, x) => s + x, 0) / d.length;
  return Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1) / d.length);
}

const flag = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  const [modelDir, ...taskDirs] = args;
  const limitTrain = flag('--limit-train', 2000);
  const seed = flag('--seed', 0);
  const info = openModel(modelDir);
  const tok = await loadTokenizer(modelDir, { maxLength: 128 });
  const e = findWordEmbedding(info.model);
  console.log('| task | B tokens unseen in A | layer (best CV on A) | B as it is | unknown token | nearest kept token | nearest − unknown (paired SE) | mean over layers: as it is / unknown / nearest |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const dir of taskDirs) {
    const task = await loadTask(path.basename(dir), dir, { limitTrain, limitTest: 1 });
    const order = new Rng(seed).shuffle(task.train.map((_, i) => i));
    const half = Math.floor(order.length / 2);
    const [a, b] = [order.slice(0, half), order.slice(half)];
    const part = (rows: number[]): TaskData => ({ ...task, train: rows.map((i) => task.train[i]), trainY: Int32Array.from(rows, (i) => task.trainY[i]) });
    const A = part(a);
    const B = part(b);
    const kept = await keptTokenIds(tok, [A], info);
    const keep = new Set(kept);
    const exclude = new Set([tok.padId, ...(tok.specialIds ?? [])]);
    let all = 0;
    let unseen = 0;
    for (const ex of B.train) {
      for (const id of tok.encode(ex.text, ex.textPair)) {
        all++;
        if (!keep.has(id)) unseen++;
      }
    }
    const feats = async (rows: TaskData, remap?: IdRemap): Promise<LayerFeatures> => {
      const x = await Extractor.create(info, tok, { poolings: ['mean'], idRemap: remap, cacheDir: null });
      try {
        return await x.extract(rows.train, rows.name);
      } finally {
        await x.release();
      }
    };
    const mapOf = async (p: UnseenTokens): Promise<IdRemap> => ({ readsAs: (await unseenTokenMap(info.model, e, kept, tok.unkId!, exclude, p)).readsAs, tag: p });
    const fa = await feats(A);
    const fb = { plain: await feats(B), unknown: await feats(B, await mapOf('unknown')), nearest: await feats(B, await mapOf('nearest')) };
    const per: { layer: number; cv: number; acc: Record<keyof typeof fb, number>; se: number }[] = [];
    for (let l = 0; l < fa.layers.length; l++) {
      const x = fa.pooled.mean![l];
      const data = { trainX: x, trainY: A.trainY, testX: fb.plain.pooled.mean![l], testY: B.trainY, dim: fa.dim, numClasses: task.labels.length };
      const r = runProbe(data, { seed, control: false });
      const probe = trainProbe(x, A.trainY, fa.dim, task.labels.length, { seed, c: r.c });
      const pred = (f: LayerFeatures) => predictProbe(probe, f.pooled.mean![l], f.n);
      const [p0, pu, pn] = [pred(fb.plain), pred(fb.unknown), pred(fb.nearest)];
      per.push({ layer: fa.layers[l], cv: r.cvAccuracy ?? 0, acc: { plain: accuracy(B.trainY, p0), unknown: accuracy(B.trainY, pu), nearest: accuracy(B.trainY, pn) }, se: pairedSe(B.trainY, pn, pu) });
    }
    const best = per.reduce((m, p) => (p.cv > m.cv ? p : m));
    const mean = (k: keyof typeof fb) => (100 * per.reduce((s, p) => s + p.acc[k], 0)) / per.length;
    const pc = (x: number) => (100 * x).toFixed(1);
    console.log(`| ${task.name} | ${((100 * unseen) / all).toFixed(2)} % | ${best.layer} | ${pc(best.acc.plain)} | ${pc(best.acc.unknown)} | ${pc(best.acc.nearest)} | ${(100 * (best.acc.nearest - best.acc.unknown)).toFixed(1)} ± ${(100 * best.se).toFixed(1)} | ${mean('plain').toFixed(1)} / ${mean('unknown').toFixed(1)} / ${mean('nearest').toFixed(1)} |`);
  }
  info.model.close();
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
