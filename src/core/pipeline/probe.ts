/**
 * Stage 3, probe: a linear probe on every hidden state of the full model, per task; for
 * optimize also C per task, the cross-validated layer scores that drive selection, and the
 * unpruned model's own scores that retention is measured against.
 */
import { JobContext, TaskSpec, stage } from '../jobs';
import { TaskData } from '../data/dataset';
import { LayerFeatures } from '../extract/extractor';
import { LayerScores } from '../optimize/predict';
import { selectC } from '../probe/cv';
import { FitPool } from '../probe/fitPool';
import { fitLayerRow, fitTestScore, foldedSplit, LayerRowWork, TestFitWork } from '../probe/layerRow';
import { LayerScore, Score, TaskReference, TaskReport } from '../report';
import { ProbeSettings } from '../settings';
import { bestLayerByCv } from '../../shared/bestLayer';
import { majorityBaseline } from '../probe/metrics';
import { weightOf } from './prepare';
import { FeatureSet, TaskFeatures } from './extract';
import { foldsForValidation, TaskSplit } from './measure';

/** A task's section of a report (every job writes the same shape). */
export function taskReport(task: TaskData, weight: number, pooling: ProbeSettings['pooling'], scores: Pick<TaskReport, 'majority' | 'layers' | 'bestLayer' | 'final'>): TaskReport {
  const { majority, layers, bestLayer, final } = scores;
  const textPairs = task.train.some((e) => e.textPair !== undefined) ? { textPairs: true as const } : {};
  return { labels: task.labels, majority, pooling, weight, source: task.source, nTrain: task.train.length, nTest: task.test.length, layers, bestLayer, ...(final ? { final } : {}), ...textPairs };
}

/**
 * The probe protocol of every job (probe, optimize, eval of a plain folder), so that a layer has one
 * accuracy per data and settings: one C per task, chosen by stratified 5-fold cross-validation on
 * the training rows of the full model's final layer (or fixed by --c), used by every layer's probe.
 *
 * Why one C per task rather than one per layer: decided by nested cross-validation on training
 * rows only (scripts/cPolicy.ts: an outer 5-fold split; inside each outer training part, "per
 * layer" picks C by 5-fold CV on that layer and "per task" on the final layer; both are scored on
 * the held-out outer fold). On roberta-mini, 1000 training rows, the mean held-out accuracy over
 * the 13 layers was, per layer vs per task: bshift 60.8 vs 61.2 %, spam 94.2 vs 94.2 %, sentlen
 * 72.7 vs 73.2 % (docs/RESULTS.md §7). Choosing among six C values at every layer adds selection
 * noise as large as what it gains: its clear wins are bshift's layers 0–2 (55.6 vs 52.8 % at
 * layer 0), its clear losses bshift's layer 6 (61.7 vs 65.2 %) and sentlen's layers 0–1. One C is also what optimize compares subsets with (a subset keeping blocks 0…k−1 is layer
 * k), costs one C search per task instead of one per layer, and keeps the layer table and the
 * measured subsets on one probe.
 */
export function taskC(task: TaskData, finalTrain: Float32Array, dim: number, settings: ProbeSettings, ctx: JobContext = {}): number {
  const onProgress = (done: number, total: number) => ctx.onProgress?.({ kind: 'cSearch', task: task.name, done, total });
  return settings.c ?? selectC(finalTrain, task.trainY, dim, task.labels.length, { seed: settings.seed, signal: ctx.signal, onProgress, pool: ctx.fits }).c;
}

/** One split per task: its weight, its validation folds and its C ({@link taskC}). */
export function taskSplits(tasks: TaskData[], specs: TaskSpec[], feats: FeatureSet, settings: ProbeSettings, ctx: JobContext): TaskSplit[] {
  stage(ctx, 'probe', settings.c === undefined ? 'choosing C per task by 5-fold cross-validation on the final layer' : `C fixed at ${settings.c}`);
  return tasks.map((task) => {
    const f = feats.get(task.name)!.train;
    const c = taskC(task, f.pooled[settings.pooling]![f.layers.length - 1], f.dim, settings, ctx);
    return { task, weight: weightOf(specs, task.name), folds: foldsForValidation(task, settings.seed), c };
  });
}

/** One layer's row under the protocol, as a fit worker takes it ({@link fitLayerRow}); with `share`, the layer's features go into that pool's shared memory (one place per layer, reused by the next task's round). */
export function layerRowWork(split: TaskSplit, feats: TaskFeatures, j: number, settings: ProbeSettings, share?: FitPool): LayerRowWork {
  const at = (f: LayerFeatures, part: string) => (share ? share.shared(`layerRow:${j}:${part}`, f.pooled[settings.pooling]![j]) : f.pooled[settings.pooling]![j]);
  return { split: foldedSplit(split), trainX: at(feats.train, 'train'), testX: at(feats.test, 'test'), dim: feats.train.dim, layer: feats.train.layers[j], seed: settings.seed };
}

/** One layer's row under the protocol: test scores of a probe fitted on every training row, and its cross-validated accuracy on the split's folds. */
export function layerRow(split: TaskSplit, feats: TaskFeatures, j: number, settings: ProbeSettings, signal?: AbortSignal): LayerScore {
  return fitLayerRow(layerRowWork(split, feats, j, settings), signal);
}

/** A task's per-layer table under the protocol, one layer per unit of the job's fit pool; the best layer is chosen on cross-validation (src/shared/bestLayer.ts). */
export function probeTaskLayers(split: TaskSplit, feats: TaskFeatures, settings: ProbeSettings, ctx: JobContext): TaskReport {
  const total = feats.train.layers.length;
  const pool = ctx.fits ?? new FitPool(1);
  const layers = pool.map('layerRow', total, (j) => layerRowWork(split, feats, j, settings, pool.size > 1 ? pool : undefined), fitLayerRow, { signal: ctx.signal, onDone: (done) => ctx.onProgress?.({ kind: 'probe', task: split.task.name, done, total }) });
  const majority = majorityBaseline(split.task.trainY, split.task.testY, split.task.labels.length);
  return taskReport(split.task, split.weight, settings.pooling, { majority, layers, bestLayer: bestLayerByCv(layers)! });
}

export interface LayerProbes {
  /** Cross-validated accuracy of every layer on the training rows: what selection reads. */
  valScores: LayerScores;
  /** The usual per-layer probe report (test scores), per task. */
  tasks: Record<string, TaskReport>;
}

/**
 * Per-layer relevance, the same table the probe job writes: validation scores drive selection;
 * test scores are the usual probe report. `feats` holds the test rows as the source model sees
 * them (with --vocab-trim the training rows are the same either way: they are all in the kept set).
 */
export function probeAllLayers(splits: TaskSplit[], feats: FeatureSet, settings: ProbeSettings, ctx: JobContext): LayerProbes {
  stage(ctx, 'probe', `probing ${feats.get(splits[0].task.name)!.train.layers.length} layers × ${splits.length} task(s)`);
  const valScores: LayerScores = {};
  const tasks: Record<string, TaskReport> = {};
  for (const sp of splits) {
    tasks[sp.task.name] = probeTaskLayers(sp, feats.get(sp.task.name)!, settings, ctx);
    valScores[sp.task.name] = tasks[sp.task.name].layers.map((l) => l.cvAccuracy!);
  }
  return { valScores, tasks };
}

export interface UnprunedReference {
  perTask: Record<string, TaskReference>;
  /** --vocab-trim: the unpruned final layer with the trimmed vocabulary, per task. */
  trimmedFinal: Record<string, Score>;
}

/**
 * The unpruned model is its own reference: its final layer and its best layer (chosen on
 * validation), probed on the features already extracted; every task's fits are one round of the
 * job's fit pool.
 */
export function unprunedReference(splits: TaskSplit[], full: { feats: FeatureSet; plain: FeatureSet; trimmed: boolean }, probes: LayerProbes, settings: ProbeSettings, ctx: JobContext): UnprunedReference {
  const pool = ctx.fits ?? new FitPool(1);
  // Per task, in this order: [the trimmed final layer (--vocab-trim),] the final layer, the best layer.
  const per = full.trimmed ? 3 : 2;
  const best = splits.map((sp) => probes.valScores[sp.task.name].indexOf(Math.max(...probes.valScores[sp.task.name])));
  const unitAt = (i: number): TestFitWork => {
    const t = Math.floor(i / per);
    const k = i % per;
    const name = splits[t].task.name;
    const g = k === 0 && full.trimmed ? full.feats.get(name)! : full.plain.get(name)!;
    const l = k === per - 1 ? best[t] : g.train.layers.length - 1;
    const at = (x: Float32Array, part: string) => (pool.size > 1 ? pool.shared(`reference:${i}:${part}`, x) : x);
    return { split: foldedSplit(splits[t]), trainX: at(g.train.pooled[settings.pooling]![l], 'train'), testX: at(g.test.pooled[settings.pooling]![l], 'test'), dim: g.train.dim, seed: settings.seed };
  };
  const scores = pool.map('referenceFit', splits.length * per, unitAt, fitTestScore, { signal: ctx.signal });
  const perTask: Record<string, TaskReference> = {};
  const trimmedFinal: Record<string, Score> = {};
  splits.forEach((sp, t) => {
    const name = sp.task.name;
    const mine = scores.slice(t * per, (t + 1) * per);
    if (full.trimmed) trimmedFinal[name] = mine[0];
    perTask[name] = { final: mine[per - 2], bestLayer: { layer: best[t], test: mine[per - 1] }, majority: probes.tasks[name].majority };
  });
  return { perTask, trimmedFinal };
}
