/**
 * Cross-fitted calibration: a run's calibration texts (variant.ts calibrationTexts) without those
 * of one cross-validation fold, so that a compensated candidate scored on fold k was fitted on no
 * text and no label of fold k. Calibration text j is training row r of task t; it belongs to fold
 * k when that task's fold of row r is k (the folds optimize scores candidates on).
 */
import { BadInputError } from '../errors';
import { TaskData } from '../data/dataset';
import { TextTokenizer } from '../data/tokenize';
import { CalibrationOptions, CalibrationSet, calibrationSet } from './calibrate';
import { CALIBRATION_TEXTS, calibrationLabels, calibrationTexts } from './variant';

/** Task and training row of each text calibrationTexts returns, in its order. */
export function calibrationRows(tasks: TaskData[], limit = CALIBRATION_TEXTS): { task: number; row: number }[] {
  const share = Math.max(1, Math.floor(limit / Math.max(1, tasks.length)));
  return tasks.flatMap((t, task) => t.train.slice(0, share).map((_, row) => ({ task, row })));
}

/** Indices into calibrationTexts(tasks) of the texts whose training row is not in fold `k` of its task (`folds[t]`: fold of each row of task t). */
export function textsOutsideFold(tasks: TaskData[], folds: Int32Array[], k: number, limit = CALIBRATION_TEXTS): number[] {
  if (folds.length !== tasks.length) throw new BadInputError(`textsOutsideFold: ${folds.length} fold assignments for ${tasks.length} tasks; give one per task, in the same order.`);
  tasks.forEach((t, i) => {
    if (folds[i].length !== t.train.length) throw new BadInputError(`textsOutsideFold: task ${t.name} has ${t.train.length} training rows but ${folds[i].length} folds; give the folds of its training rows.`);
  });
  const out: number[] = [];
  calibrationRows(tasks, limit).forEach(({ task, row }, j) => folds[task][row] !== k && out.push(j));
  return out;
}

/**
 * The calibration set of variantCalibration without fold `k`'s texts (and their labels). The
 * held-out fifth that chooses λ is redrawn from the texts left by calibrationSet's own rule: a
 * shuffle seeded by `opts.seed` of the remaining texts, its first round(0.2·n) held out.
 */
export function foldCalibration(tokenizer: TextTokenizer, tasks: TaskData[], folds: Int32Array[], k: number, opts: CalibrationOptions): CalibrationSet {
  const keep = textsOutsideFold(tasks, folds, k);
  const texts = calibrationTexts(tasks);
  const labels = calibrationLabels(tasks);
  const take = (a: Int32Array) => Int32Array.from(keep, (j) => a[j]);
  return calibrationSet(
    tokenizer,
    keep.map((j) => texts[j]),
    opts,
    { task: take(labels.task), label: take(labels.label) },
  );
}
