/**
 * Linear probe of one layer's features for one task: standardise on train, choose C by
 * cross-validation (or take it as given), fit logistic regression, score on test, and compare with a
 * control probe trained on shuffled labels.
 */
import { BadInputError, throwIfAborted } from '../errors';
import { Rng } from '../util/rng';
import { selectC } from './cv';
import { decision, fitLogReg, predict, type LogRegModel } from './logreg';
import { accuracy, macroF1, majorityBaseline } from './metrics';
import { applyStandardizer, fitStandardizer, type Standardizer } from './standardize';

/** One task's features at one layer, split into train and test. */
export interface ProbeData {
  /** nTrain×dim row-major. */
  trainX: Float32Array;
  /** nTrain labels in 0..numClasses−1. */
  trainY: Int32Array;
  /** nTest×dim row-major. */
  testX: Float32Array;
  testY: Int32Array;
  dim: number;
  numClasses: number;
}

/** Probe settings; every field is optional. */
export interface ProbeOptions {
  /** Fixed C; otherwise chosen by cross-validation on the training split. */
  c?: number;
  /** C candidates for cross-validation; default DEFAULT_C_GRID (1e-3 … 1e2, one per decade). */
  cGrid?: number[];
  /** Cross-validation folds; default 5. */
  folds?: number;
  /** Seeds the folds (seed) and the control permutation (seed + 1); default 0. */
  seed?: number;
  /** Also train the control probe on permuted labels; default true. */
  control?: boolean;
  /** L-BFGS iteration cap per fit; default 1000. */
  maxIter?: number;
  signal?: AbortSignal;
}

/** Scores of one probe; accuracies are fractions in [0, 1]. */
export interface ProbeResult {
  /** Test accuracy. */
  accuracy: number;
  /** Test macro-F1 (scikit-learn semantics). */
  macroF1: number;
  /** Test accuracy (true labels) of the same probe trained on permuted training labels; null when control is off. */
  controlAccuracy: number | null;
  /** C used for the final fit. */
  c: number;
  /** Mean cross-validation accuracy of that C; null when C was fixed. */
  cvAccuracy: number | null;
  /** Test accuracy of always predicting the most frequent training label. */
  majority: number;
  /** L-BFGS iterations of the final (non-control) fit. */
  iterations: number;
  converged: boolean;
}

/** A probe ready to label new rows of raw (unstandardised) features. */
export interface TrainedProbe {
  standardizer: Standardizer;
  model: LogRegModel;
  c: number;
}

/**
 * Trains and scores a probe. Everything is fitted on the training split only. Deterministic: the
 * same data and options give bit-identical results. Throws CancelledError when `signal` fires.
 */
export function runProbe(data: ProbeData, opts: ProbeOptions = {}): ProbeResult {
  const { trainX, trainY, testX, testY, dim, numClasses } = data;
  checkData(data);
  const nTest = testY.length;
  const seed = opts.seed ?? 0;
  const { probe, cvAccuracy, Z } = train(trainX, trainY, dim, numClasses, opts);
  const testZ = applyStandardizer(probe.standardizer, testX, nTest, dim);
  const pred = predict(probe.model, testZ, nTest);

  let controlAccuracy: number | null = null;
  if (opts.control ?? true) {
    throwIfAborted(opts.signal);
    const shuffled = Int32Array.from(new Rng(seed + 1).shuffle(Array.from(trainY)));
    const control = fitLogReg(Z, shuffled, dim, numClasses, { c: probe.c, maxIter: opts.maxIter, signal: opts.signal });
    controlAccuracy = accuracy(testY, predict(control, testZ, nTest));
  }

  return {
    accuracy: accuracy(testY, pred),
    macroF1: macroF1(testY, pred, numClasses),
    controlAccuracy,
    c: probe.c,
    cvAccuracy,
    majority: majorityBaseline(trainY, testY, numClasses),
    iterations: probe.model.iterations,
    converged: probe.model.converged,
  };
}

/** Standardises on X, takes opts.c or picks C by cross-validation on (X, y), and fits. */
export function trainProbe(X: Float32Array, y: Int32Array, dim: number, numClasses: number, opts: ProbeOptions = {}): TrainedProbe {
  return train(X, y, dim, numClasses, opts).probe;
}

/** Labels n rows of raw features with a trained probe. */
export function predictProbe(p: TrainedProbe, X: Float32Array, n: number): Int32Array {
  return predict(p.model, applyStandardizer(p.standardizer, X, n, p.model.dim), n);
}

/**
 * Per-row outcome of a probe on labelled rows: the predicted class and the log-probability of the
 * true class (softmax of the logits). Selection compares candidates row by row with these.
 */
export function scoreRows(p: TrainedProbe, X: Float32Array, y: Int32Array): { pred: Int32Array; logp: Float64Array } {
  const n = y.length;
  const K = p.model.numClasses;
  const z = decision(p.model, applyStandardizer(p.standardizer, X, n, p.model.dim), n);
  const pred = new Int32Array(n);
  const logp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let m = z[i * K];
    for (let k = 1; k < K; k++) {
      if (z[i * K + k] > m) {
        m = z[i * K + k];
        best = k;
      }
    }
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(z[i * K + k] - m);
    pred[i] = best;
    // Clipped as scikit-learn's log_loss clips probabilities: a class absent from a fold's
    // training rows has a logit of −1e300, which would swamp every mean.
    logp[i] = Math.max(MIN_LOGP, z[i * K + y[i]] - m - Math.log(s));
  }
  return { pred, logp };
}

/** log(1e-15): the floor of a per-row log-probability. */
export const MIN_LOGP = Math.log(1e-15);

function train(
  X: Float32Array,
  y: Int32Array,
  dim: number,
  numClasses: number,
  opts: ProbeOptions,
): { probe: TrainedProbe; cvAccuracy: number | null; Z: Float32Array } {
  const n = y.length;
  if (n === 0) throw new BadInputError('the training split is empty');
  if (X.length !== n * dim) {
    throw new BadInputError(`training features have ${X.length} values but ${n} rows × ${dim} = ${n * dim} were expected`);
  }
  let c = opts.c;
  let cvAccuracy: number | null = null;
  if (c === undefined) {
    const sel = selectC(X, y, dim, numClasses, {
      grid: opts.cGrid,
      folds: opts.folds,
      seed: opts.seed ?? 0,
      maxIter: opts.maxIter,
      signal: opts.signal,
    });
    c = sel.c;
    cvAccuracy = sel.cvAccuracy;
  }
  const standardizer = fitStandardizer(X, n, dim);
  const Z = applyStandardizer(standardizer, X, n, dim);
  const model = fitLogReg(Z, y, dim, numClasses, { c, maxIter: opts.maxIter, signal: opts.signal });
  return { probe: { standardizer, model, c }, cvAccuracy, Z };
}

function checkData(d: ProbeData): void {
  const { dim, numClasses } = d;
  if (!Number.isInteger(dim) || dim < 1) throw new BadInputError(`dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new BadInputError(`a probe needs at least 2 classes, got ${numClasses}`);
  }
  if (d.testY.length === 0) throw new BadInputError('the test split is empty');
  if (d.testX.length !== d.testY.length * dim) {
    throw new BadInputError(
      `test features have ${d.testX.length} values but ${d.testY.length} rows × ${dim} = ${d.testY.length * dim} were expected`,
    );
  }
  for (let i = 0; i < d.testY.length; i++) {
    const v = d.testY[i];
    if (v < 0 || v >= numClasses) throw new BadInputError(`test label ${v} at row ${i} is outside 0..${numClasses - 1}`);
  }
}
