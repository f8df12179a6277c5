/**
 * Stage 3, probe: a linear probe on every hidden state of the full model, per task; for
 * optimize also C per task, the cross-validated layer scores that drive selection, and the
 * unpruned model's own scores that retention is measured against.
 */
import { JobContext, TaskSpec, stage } from '../jobs';
import { throwIfAborted } from '../errors';
import { TaskData } from '../data/dataset';
import { LayerFeatures } from '../extract/extractor';
import { LayerScores } from '../optimize/predict';
import { selectC } from '../probe/cv';
import { ProbeResult, runProbe } from '../probe/probe';
import { LayerScore, Score, TaskReference, TaskReport } from '../report';
import { ProbeSettings } from '../settings';
import { bestLayerByCv, bestLayerByTest } from '../../shared/bestLayer';
import { FeatureSet, TaskFeatures } from './extract';
import { foldsForValidation, TaskSplit, testScore, validationScore } from './measure';

/** One row of a report's per-layer table from a probe result. */
export function layerScore(layer: number, r: ProbeResult): LayerScore {
  return {
    layer,
    accuracy: r.accuracy,
    macroF1: r.macroF1,
    controlAccuracy: r.controlAccuracy,
    selectivity: r.controlAccuracy === null ? null : r.accuracy - r.controlAccuracy,
    c: r.c,
    cvAccuracy: r.cvAccuracy,
    converged: r.converged,
  };
}

/** A task's section of a report (every job writes the same shape). */
export function taskReport(task: TaskData, weight: number, pooling: ProbeSettings['pooling'], scores: Pick<TaskReport, 'majority' | 'layers' | 'bestLayer' | 'final'>): TaskReport {
  const { majority, layers, bestLayer, final } = scores;
  return { labels: task.labels, majority, pooling, weight, source: task.source, nTrain: task.train.length, nTest: task.test.length, layers, bestLayer, ...(final ? { final } : {}) };
}

/** The probe of one layer's pooled features: trained on the training rows, scored on the test rows. */
export function probeLayer(task: TaskData, train: LayerFeatures, test: LayerFeatures, j: number, settings: ProbeSettings, signal?: AbortSignal): ProbeResult {
  const pooled = (f: LayerFeatures) => f.pooled[settings.pooling]![j];
  return runProbe({ trainX: pooled(train), trainY: task.trainY, testX: pooled(test), testY: task.testY, dim: train.dim, numClasses: task.labels.length }, { c: settings.c, seed: settings.seed, signal });
}

export function probeTaskLayers(task: TaskData, feats: TaskFeatures, settings: ProbeSettings, weight: number, ctx: JobContext): TaskReport {
  const layers: LayerScore[] = [];
  let majority = 0;
  const total = feats.train.layers.length;
  for (let j = 0; j < total; j++) {
    throwIfAborted(ctx.signal);
    const r = probeLayer(task, feats.train, feats.test, j, settings, ctx.signal);
    majority = r.majority;
    layers.push(layerScore(feats.train.layers[j], r));
    ctx.onProgress?.({ kind: 'probe', task: task.name, done: j + 1, total });
  }
  // The best layer is chosen on cross-validation (src/shared/bestLayer.ts); on test only when C was fixed (no CV score).
  return taskReport(task, weight, settings.pooling, { majority, layers, bestLayer: bestLayerByCv(layers) ?? bestLayerByTest(layers)! });
}

/**
 * One split per task: its weight, its validation folds and C, chosen once per task by CV on the
 * full model's final layer (training split only) unless --c fixes it.
 */
export function taskSplits(tasks: TaskData[], specs: TaskSpec[], feats: FeatureSet, settings: ProbeSettings, ctx: JobContext): TaskSplit[] {
  stage(ctx, 'probe', settings.c === undefined ? 'choosing C per task by 5-fold cross-validation' : `C fixed at ${settings.c}`);
  return tasks.map((task) => {
    const weight = specs.find((s) => s.name === task.name)!.weight;
    const folds = foldsForValidation(task, settings.seed);
    if (settings.c !== undefined) return { task, weight, folds, c: settings.c };
    const f = feats.get(task.name)!.train;
    const X = f.pooled[settings.pooling]![f.layers.length - 1];
    return { task, weight, folds, c: selectC(X, task.trainY, f.dim, task.labels.length, { seed: settings.seed, signal: ctx.signal }).c };
  });
}

export interface LayerProbes {
  /** Cross-validated accuracy of every layer on the training rows: what selection reads. */
  valScores: LayerScores;
  /** The usual per-layer probe report (test scores), per task. */
  tasks: Record<string, TaskReport>;
}

/** Per-layer relevance: validation scores drive selection; test scores are the usual probe report. */
export function probeAllLayers(splits: TaskSplit[], feats: FeatureSet, plain: FeatureSet, settings: ProbeSettings, ctx: JobContext): LayerProbes {
  stage(ctx, 'probe', `probing ${feats.get(splits[0].task.name)!.train.layers.length} layers × ${splits.length} task(s)`);
  const valScores: LayerScores = {};
  const tasks: Record<string, TaskReport> = {};
  for (const sp of splits) {
    const f = feats.get(sp.task.name)!;
    valScores[sp.task.name] = f.train.layers.map((_, l) => validationScore(sp, f.train.pooled[settings.pooling]![l], f.train.dim, settings.seed, ctx.signal).accuracy);
    tasks[sp.task.name] = withCvScores(probeTaskLayers(sp.task, plain.get(sp.task.name)!, { ...settings, c: sp.c }, sp.weight, ctx), valScores[sp.task.name]);
  }
  return { valScores, tasks };
}

/** The per-layer cross-validated scores optimize measured (the task's C, 5 folds) go into the layer rows; the best layer is chosen on them. */
function withCvScores(t: TaskReport, cv: number[]): TaskReport {
  const layers = t.layers.map((l) => ({ ...l, cvAccuracy: cv[l.layer] }));
  return { ...t, layers, bestLayer: bestLayerByCv(layers) ?? t.bestLayer };
}

export interface UnprunedReference {
  perTask: Record<string, TaskReference>;
  /** --vocab-trim: the unpruned final layer with the trimmed vocabulary, per task. */
  trimmedFinal: Record<string, Score>;
}

/**
 * The unpruned model is its own reference: its final layer and its best layer (chosen on
 * validation), probed on the features already extracted.
 */
export function unprunedReference(splits: TaskSplit[], full: { feats: FeatureSet; plain: FeatureSet; trimmed: boolean }, probes: LayerProbes, settings: ProbeSettings, ctx: JobContext): UnprunedReference {
  const perTask: Record<string, TaskReference> = {};
  const trimmedFinal: Record<string, Score> = {};
  for (const sp of splits) {
    const name = sp.task.name;
    const f = full.plain.get(name)!;
    const L = f.train.layers.length - 1;
    const scoreAt = (g: TaskFeatures, l: number) => testScore(sp, g.train.pooled[settings.pooling]![l], g.test.pooled[settings.pooling]![l], g.train.dim, settings.seed, ctx.signal).score;
    if (full.trimmed) trimmedFinal[name] = scoreAt(full.feats.get(name)!, L);
    const vs = probes.valScores[name];
    const bestL = vs.indexOf(Math.max(...vs));
    perTask[name] = { final: scoreAt(f, L), bestLayer: { layer: bestL, test: scoreAt(f, bestL) }, majority: probes.tasks[name].majority };
  }
  return { perTask, trimmedFinal };
}
