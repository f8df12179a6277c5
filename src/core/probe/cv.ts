import { BadInputError } from '../errors';
import { Rng } from '../util/rng';
import { fitLogReg, predict, type LogRegModel } from './logreg';
import { accuracy } from './metrics';
import { applyStandardizer, fitStandardizer } from './standardize';
import { FitPool } from './fitPool';

/** Folds of every cross-validation the pipeline runs (the choice of C, and the scores of layers and subsets). */
export const CV_FOLDS = 5;

/** Log-spaced default grid of C values, 1e-3 … 1e2. */
export const DEFAULT_C_GRID: readonly number[] = [0.001, 0.01, 0.1, 1, 10, 100];

/**
 * Assigns each row a fold id in 0..k−1 so that every fold holds each class's share (counts differ by
 * at most one). Each class's rows are shuffled with Rng(seed), then all classes, in label order, are
 * dealt round-robin with one running position, so small classes do not all land in fold 0.
 * Throws BadInputError when a class has a single row (it could never be both trained and tested).
 */
export function stratifiedKFold(y: Int32Array, k: number, seed: number): Int32Array {
  const n = y.length;
  if (!Number.isInteger(k) || k < 2) throw new BadInputError(`the number of folds must be an integer >= 2, got ${k}`);
  if (n < k) throw new BadInputError(`${k}-fold cross-validation needs at least ${k} rows, got ${n}`);
  let maxLabel = -1;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v < 0) throw new BadInputError(`label ${v} at row ${i} is negative`);
    if (v > maxLabel) maxLabel = v;
  }
  const members: number[][] = Array.from({ length: maxLabel + 1 }, () => []);
  for (let i = 0; i < n; i++) members[y[i]].push(i);
  for (let label = 0; label <= maxLabel; label++) {
    if (members[label].length === 1) {
      throw new BadInputError(
        `class ${label} has only 1 training example; cross-validation needs at least 2 per class (add examples or drop the class)`,
      );
    }
  }
  const rng = new Rng(seed);
  const fold = new Int32Array(n);
  let pos = 0;
  for (const rows of members) {
    rng.shuffle(rows);
    for (const i of rows) {
      fold[i] = pos % k;
      pos++;
    }
  }
  return fold;
}

export interface SelectCOptions {
  /** Candidate C values (any order); default {@link DEFAULT_C_GRID}. */
  grid?: number[];
  /** Default 5. */
  folds?: number;
  /** Seeds the fold assignment; default 0. */
  seed?: number;
  /** Passed to every fit; see fitLogReg. */
  maxIter?: number;
  signal?: AbortSignal;
  /** Called after each fit with (fits done, fits in all). */
  onProgress?: (done: number, total: number) => void;
  /** Fits the folds on several threads (same results as without). */
  pool?: FitPool;
}

export interface SelectCResult {
  c: number;
  /** Mean validation accuracy of the chosen C. */
  cvAccuracy: number;
  /** Per C, ascending: mean and population std of the fold accuracies. */
  scores: { c: number; mean: number; std: number }[];
}

/**
 * Picks C by stratified k-fold cross-validation accuracy on (X, y), standardising each fold on its
 * own training part. Within a fold the fits run from the smallest C up, each warm-started from the
 * previous one. Ties go to the smaller C (the more regularised probe).
 */
export function selectC(
  X: Float32Array,
  y: Int32Array,
  dim: number,
  numClasses: number,
  opts: SelectCOptions = {},
): SelectCResult {
  const grid = checkGrid(opts.grid ?? [...DEFAULT_C_GRID]);
  const k = opts.folds ?? CV_FOLDS;
  const n = y.length;
  if (X.length !== n * dim) {
    throw new BadInputError(`X has ${X.length} values but ${n} labels × ${dim} features = ${n * dim} were expected`);
  }
  const fold = stratifiedKFold(y, k, opts.seed ?? 0);
  const acc = foldAccuracies({ X, y, dim, numClasses, fold, grid, maxIter: opts.maxIter }, k, opts);
  const scores = grid.map((c, g) => ({ c, ...meanAndStd(acc[g]) }));
  let best = 0;
  for (let g = 1; g < scores.length; g++) if (scores[g].mean > scores[best].mean) best = g;
  return { c: scores[best].c, cvAccuracy: scores[best].mean, scores };
}

/** The C search's data, the same for every fold; `f` picks the fold (the unit a fit worker runs). */
export interface FoldWork {
  X: Float32Array;
  y: Int32Array;
  dim: number;
  numClasses: number;
  fold: Int32Array;
  grid: number[];
  maxIter?: number;
  f: number;
}

/** acc[g][f]: validation accuracy of grid[g] on fold f; each fold is one unit of `opts.pool` (without one, all run here one after another). */
function foldAccuracies(w: Omit<FoldWork, 'f'>, k: number, opts: SelectCOptions): Float64Array[] {
  const acc = w.grid.map(() => new Float64Array(k));
  const total = k * w.grid.length;
  let done = 0;
  const pool = opts.pool ?? new FitPool(1);
  // With fit threads, X goes into shared memory once and every fold's worker reads that copy.
  const X = pool.size > 1 ? pool.shared('cFold', w.X) : w.X;
  const unitAt = (f: number): FoldWork => ({ ...w, X, f });
  const fitted = pool.map('cFold', k, unitAt, fitFold, { signal: opts.signal, onStep: () => opts.onProgress?.(++done, total) });
  fitted.forEach((a, f) => a.forEach((v, g) => (acc[g][f] = v)));
  return acc;
}

/** Fold `w.f` of the C search: the validation accuracy at each C of the ascending grid. */
export function fitFold(w: FoldWork, signal?: AbortSignal, onFit: () => void = () => {}): number[] {
  return fitAlongGrid(foldData(w.X, w.y, w.dim, w.fold, w.f), w.dim, w.numClasses, w.grid, { maxIter: w.maxIter, signal }, onFit);
}

/** One fold's training and validation rows, both standardised on the training part. */
interface FoldData {
  trZ: Float32Array;
  trY: Int32Array;
  vaZ: Float32Array;
  vaY: Int32Array;
}

/** Splits (X, y) into fold `f`'s validation rows and the rest, standardised on the rest. */
function foldData(X: Float32Array, y: Int32Array, dim: number, fold: Int32Array, f: number): FoldData {
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let i = 0; i < y.length; i++) (fold[i] === f ? valIdx : trainIdx).push(i);
  const trX = takeRows(X, dim, trainIdx);
  const st = fitStandardizer(trX, trainIdx.length, dim);
  return {
    trZ: applyStandardizer(st, trX, trainIdx.length, dim),
    trY: Int32Array.from(trainIdx, (i) => y[i]),
    vaZ: applyStandardizer(st, takeRows(X, dim, valIdx), valIdx.length, dim),
    vaY: Int32Array.from(valIdx, (i) => y[i]),
  };
}

/** Fits the fold at each C of the ascending `grid`, each fit warm-started from the previous; returns the validation accuracy of each. */
function fitAlongGrid(d: FoldData, dim: number, numClasses: number, grid: number[], opts: Pick<SelectCOptions, 'maxIter' | 'signal'>, onFit: () => void): number[] {
  const out: number[] = [];
  let prev: LogRegModel | undefined;
  for (const c of grid) {
    prev = fitLogReg(d.trZ, d.trY, dim, numClasses, { c, maxIter: opts.maxIter, init: prev, signal: opts.signal });
    out.push(accuracy(d.vaY, predict(prev, d.vaZ, d.vaY.length)));
    onFit();
  }
  return out;
}

/** Mean and population standard deviation of the fold accuracies. */
function meanAndStd(a: Float64Array): { mean: number; std: number } {
  let mean = 0;
  for (const v of a) mean += v;
  mean /= a.length;
  let v = 0;
  for (const x of a) v += (x - mean) ** 2;
  return { mean, std: Math.sqrt(v / a.length) };
}

function checkGrid(grid: number[]): number[] {
  if (grid.length === 0) throw new BadInputError('the C grid is empty');
  for (const c of grid) {
    if (!(c > 0) || !Number.isFinite(c)) throw new BadInputError(`C values must be positive and finite, got ${c}`);
  }
  return [...new Set(grid)].sort((a, b) => a - b);
}

/** Copies the listed rows of a row-major matrix into a new one. */
export function takeRows(X: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) out.set(X.subarray(rows[r] * dim, (rows[r] + 1) * dim), r * dim);
  return out;
}
