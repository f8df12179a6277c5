/**
 * One layer's row of the probe protocol (a probe on every training row scored on the test rows,
 * its control, and its cross-validated accuracy), from plain arrays: the unit of work that
 * src/core/probe/fitPool.ts hands to a fit worker, so this module imports nothing heavier than
 * the probe itself (no model runtime, no pipeline).
 */
import type { LayerScore, Score } from '../report';
import { CV_FOLDS, takeRows } from './cv';
import { accuracy, macroF1 } from './metrics';
import { ProbeResult, runProbe, scoreRows, TrainedProbe, trainProbe } from './probe';

/** Per-row outcomes of one subset on one task's rows: the basis of paired comparisons. */
export interface RowOutcomes {
  /** 1 where the probe labelled the row correctly. */
  correct: Uint8Array;
  /** Log-probability of the true class (clipped at log 1e−15). */
  logp: Float64Array;
}

/** What cross-validated scoring reads of a task's split (pipeline/measure.ts TaskSplit has it all). */
export interface FoldedSplit {
  task: { trainY: Int32Array; testY: Int32Array; labels: string[] };
  /** Fold of each training row. */
  folds: Int32Array;
  c: number;
}

export function pick(y: Int32Array, rows: Int32Array): Int32Array {
  return Int32Array.from(rows, (r) => y[r]);
}

export function scoreOf(yTrue: Int32Array, yPred: Int32Array, numClasses: number): Score {
  return { accuracy: accuracy(yTrue, yPred), macroF1: macroF1(yTrue, yPred, numClasses) };
}

export function outcomes(y: Int32Array, pred: Int32Array, logp: Float64Array): RowOutcomes {
  return { correct: Uint8Array.from(y, (v, i) => (v === pred[i] ? 1 : 0)), logp };
}

/** What a fit worker needs of a split: its labels, folds and C (not the task's texts). */
export function foldedSplit(split: FoldedSplit): FoldedSplit {
  const { trainY, testY, labels } = split.task;
  return { task: { trainY, testY, labels }, folds: split.folds, c: split.c };
}

/** The rows one fold holds out, with the probe's outcome on each (fitted on the other folds). */
export interface FoldOutcomes {
  held: Int32Array;
  pred: Int32Array;
  logp: Float64Array;
}

/** Fold `f` of cross-validated scoring: a probe fitted on the other folds' rows, scored on this fold's; null when the fold holds no row. */
export function validationFold(split: FoldedSplit, trainFeatures: Float32Array, dim: number, seed: number, f: number, signal?: AbortSignal): FoldOutcomes | null {
  const t = split.task;
  const fit: number[] = [];
  const held: number[] = [];
  split.folds.forEach((k, i) => (k === f ? held : fit).push(i));
  if (held.length === 0) return null;
  const fitRows = Int32Array.from(fit);
  const heldRows = Int32Array.from(held);
  const probe = trainProbe(takeRows(trainFeatures, dim, fitRows), pick(t.trainY, fitRows), dim, t.labels.length, { c: split.c, seed, control: false, signal });
  const r = scoreRows(probe, takeRows(trainFeatures, dim, heldRows), pick(t.trainY, heldRows));
  return { held: heldRows, pred: r.pred, logp: r.logp };
}

/** Out-of-fold predictions of every row, put together from the folds' outcomes. */
export function foldedOutcomes(split: FoldedSplit, folds: (FoldOutcomes | null)[]): { score: Score; rows: RowOutcomes } {
  const t = split.task;
  const pred = new Int32Array(t.trainY.length);
  const logp = new Float64Array(t.trainY.length);
  for (const o of folds) {
    o?.held.forEach((row, i) => {
      pred[row] = o.pred[i];
      logp[row] = o.logp[i];
    });
  }
  return { score: scoreOf(t.trainY, pred, t.labels.length), rows: outcomes(t.trainY, pred, logp) };
}

/** Cross-validated score of one layer's training features: out-of-fold predictions of every row. */
export function validationRows(split: FoldedSplit, trainFeatures: Float32Array, dim: number, seed: number, signal?: AbortSignal): { score: Score; rows: RowOutcomes } {
  return foldedOutcomes(split, Array.from({ length: CV_FOLDS }, (_, f) => validationFold(split, trainFeatures, dim, seed, f, signal)));
}

export function validationScore(split: FoldedSplit, trainFeatures: Float32Array, dim: number, seed: number, signal?: AbortSignal): Score {
  return validationRows(split, trainFeatures, dim, seed, signal).score;
}

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

/** One layer's pooled features and what its row is scored against. */
export interface LayerRowWork {
  split: FoldedSplit;
  /** The layer's pooled training and test features, row-major, `dim` wide. */
  trainX: Float32Array;
  testX: Float32Array;
  dim: number;
  /** The layer's number in the report. */
  layer: number;
  seed: number;
}

/** The layer's row: test scores of a probe fitted on every training row (and its control), and its cross-validated accuracy on the split's folds. */
export function fitLayerRow(w: LayerRowWork, signal?: AbortSignal): LayerScore {
  const t = w.split.task;
  const r = runProbe({ trainX: w.trainX, trainY: t.trainY, testX: w.testX, testY: t.testY, dim: w.dim, numClasses: t.labels.length }, { c: w.split.c, seed: w.seed, signal });
  const cv = validationScore(w.split, w.trainX, w.dim, w.seed, signal);
  return { ...layerScore(w.layer, r), cvAccuracy: cv.accuracy };
}

/**
 * A unit of a candidate's measurement on one task (src/core/pipeline/measure.ts): fold `fold` of
 * its cross-validated scoring, or, with `fold` −1, the probe fitted on every training row.
 */
export interface MeasureFitWork {
  split: FoldedSplit;
  /** The candidate's pooled training features for the task, row-major, `dim` wide. */
  X: Float32Array;
  dim: number;
  seed: number;
  fold: number;
}

/** A fold's outcomes, or the probe on every row. */
export type MeasureFit = { fold: FoldOutcomes | null } | { probe: TrainedProbe };

export function fitMeasureUnit(w: MeasureFitWork, signal?: AbortSignal): MeasureFit {
  const t = w.split.task;
  if (w.fold < 0) return { probe: trainProbe(w.X, t.trainY, w.dim, t.labels.length, { c: w.split.c, seed: w.seed, control: false, signal }) };
  return { fold: validationFold(w.split, w.X, w.dim, w.seed, w.fold, signal) };
}

/** A probe fitted on every training row of one layer's features and scored on its test rows (the unpruned model's reference, src/core/pipeline/probe.ts). */
export interface TestFitWork {
  split: FoldedSplit;
  trainX: Float32Array;
  testX: Float32Array;
  dim: number;
  seed: number;
}

export function fitTestScore(w: TestFitWork, signal?: AbortSignal): Score {
  const t = w.split.task;
  const probe = trainProbe(w.trainX, t.trainY, w.dim, t.labels.length, { c: w.split.c, seed: w.seed, control: false, signal });
  const r = scoreRows(probe, w.testX, t.testY);
  return scoreOf(t.testY, r.pred, t.labels.length);
}
