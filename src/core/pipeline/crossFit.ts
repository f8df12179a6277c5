/**
 * Cross-fitted cross-validation of a candidate: fold k is scored through a variant calibrated on
 * the run's calibration texts minus fold k's (compensate/crossFit.ts), so no text or label of the
 * rows it predicts chose the units kept or fitted the bridges. Same folds, rows, probe and C as
 * optimize's measurement (measure.ts); only which texts calibrated differs. A plain subset has
 * nothing calibrated: its cross-fitted outcomes are its ordinary ones.
 */
import { JobContext } from '../jobs';
import { throwIfAborted } from '../errors';
import { TextTokenizer } from '../data/tokenize';
import { Extractor } from '../extract/extractor';
import { ModelInfo } from '../model/modelInfo';
import { ProbeSettings } from '../settings';
import { CV_FOLDS } from '../probe/cv';
import { FoldOutcomes, foldedOutcomes, foldedSplit, validationFold } from '../probe/layerRow';
import { CompSpec, isCompensated } from '../compensate/search';
import { foldCalibration } from '../compensate/crossFit';
import { buildVariant } from '../compensate/variant';
import { calibrationOptions } from './compensation';
import { extractorOptions } from './prepare';
import { TaskSplit } from './measure';

export interface CrossFitRun {
  info: ModelInfo;
  tokenizer: TextTokenizer;
  /** Every task of the run, in order: their training texts calibrate, as in optimize. */
  splits: TaskSplit[];
  settings: ProbeSettings;
}

type Outcomes = ReturnType<typeof foldedOutcomes>;

/** Per task: out-of-fold outcomes of every training row, fold k predicted through a variant that never saw fold k's texts. */
export async function crossFittedOutcomes(run: CrossFitRun, kept: number[], spec: CompSpec | undefined, ctx: JobContext = {}): Promise<Record<string, Outcomes>> {
  const got = run.splits.map(() => new Array<FoldOutcomes | null>(CV_FOLDS).fill(null));
  const folds = isCompensated(spec) ? Array.from({ length: CV_FOLDS }, (_, k) => [k]) : [Array.from({ length: CV_FOLDS }, (_, k) => k)];
  for (const scored of folds) {
    throwIfAborted(ctx.signal);
    ctx.log?.('info', `cross-fit: fold(s) ${scored.join(',')} of ${kept.join(',')}`);
    await withFoldFeatures(run, kept, spec, scored[0], ctx, (i, X) => {
      for (const k of scored) got[i][k] = validationFold(foldedSplit(run.splits[i]), X, run.info.hiddenSize, run.settings.seed, k, ctx.signal);
    });
  }
  return Object.fromEntries(run.splits.map((sp, i) => [sp.task.name, foldedOutcomes(sp, got[i])]));
}

/**
 * Runs `use` on each task's pooled training features through the candidate's graph: for a
 * compensated one, the variant calibrated without fold `k`'s texts (built, used, disposed).
 */
async function withFoldFeatures(run: CrossFitRun, kept: number[], spec: CompSpec | undefined, k: number, ctx: JobContext, use: (task: number, X: Float32Array) => void): Promise<void> {
  const { info, tokenizer, settings, splits } = run;
  const quiet: JobContext = { signal: ctx.signal, log: ctx.log };
  const variant = isCompensated(spec)
    ? await buildVariant(info, foldCalibration(tokenizer, splits.map((sp) => sp.task), splits.map((sp) => sp.folds), k, calibrationOptions(settings)), kept, spec!, calibrationOptions(settings), ctx)
    : null;
  let ex: Extractor | null = null;
  try {
    // As measure.ts's extractorFor: a variant's features are never cached (its graph is temporary).
    ex = variant
      ? await Extractor.create(variant.info, tokenizer, { ...extractorOptions(settings), cacheDir: null, kept: kept.map((_, i) => i) }, ctx)
      : await Extractor.create(info, tokenizer, { ...extractorOptions(settings), kept }, ctx);
    for (const [i, sp] of splits.entries()) {
      const f = await ex.extract(sp.task.train, `[cross-fit ${k}] ${sp.task.name}/train`, quiet);
      use(i, f.pooled[settings.pooling]![0]);
    }
  } finally {
    await ex?.release();
    variant?.dispose();
  }
}
