/**
 * L2-regularised logistic regression with scikit-learn's `LogisticRegression(penalty='l2',
 * solver='lbfgs')` objective: binary logistic loss for two classes, multinomial (softmax) loss for
 * three or more, intercepts unpenalised.
 */
import { BadInputError } from '../errors';
import { gemmNT, ntMultipliers, type NTMultiplier } from './gemm';
import { minimize, type Objective } from './lbfgs';

/** A fitted linear classifier over `dim` standardised features. */
export interface LogRegModel {
  numClasses: number;
  dim: number;
  /** Row-major rows×dim, rows = 1 when numClasses == 2 (the weight of class 1), numClasses otherwise. */
  weights: Float64Array;
  /** One intercept per row. */
  bias: Float64Array;
  /** L-BFGS iterations used by the fit. */
  iterations: number;
  converged: boolean;
}

export interface LogRegOptions {
  /** Inverse regularisation strength, as scikit-learn's `C`; must be > 0. */
  c: number;
  /** L-BFGS iteration cap; default 1000 (scikit-learn's default of 100 often stops short on embeddings). */
  maxIter?: number;
  /** Gradient tolerance on the per-sample-mean objective, as scikit-learn's `tol`; default 1e-4. */
  tol?: number;
  /** Warm start: a model of the same shape (for example, the fit at the previous C). */
  init?: LogRegModel;
  signal?: AbortSignal;
}

/**
 * Intercept given to classes absent from the training labels, so they are never predicted.
 * Finite on purpose: JSON turns -Infinity into null, which would revive the class after a round trip.
 */
export const ABSENT_CLASS_BIAS = -1e300;

const EPS = 2.220446049250313e-16;

/**
 * Fits the model on n = y.length rows of the row-major n×dim matrix X (standardise it first).
 *
 * Minimises C·Σᵢ logloss(xᵢ, yᵢ) + ½‖W‖², computed divided by C·n exactly as scikit-learn ≥ 1.5
 * does, so `tol` has the same meaning there; the minimiser is the same either way. Classes with no
 * training rows are left out of the fit and get {@link ABSENT_CLASS_BIAS}; with only two classes
 * present the fit is binary, as scikit-learn does after label encoding. Deterministic.
 */
export function fitLogReg(
  X: Float32Array,
  y: Int32Array,
  dim: number,
  numClasses: number,
  opts: LogRegOptions,
): LogRegModel {
  checkProblem(X, y, dim, numClasses);
  const { c, maxIter, tol } = checkFitOptions(opts, dim, numClasses);
  const present = presentClasses(y, numClasses);
  if (present.length === 1) return oneLabelModel(present[0], dim, numClasses);

  const binary = present.length === 2;
  const m = binary ? 1 : present.length;
  const loss = new LossEvaluator(X, relabel(y, present, numClasses), y.length, dim, m, binary, c);
  const x0 = new Float64Array(m * dim + m);
  if (opts.init) warmStart(opts.init, present, binary, x0);

  let res: ReturnType<typeof minimize>;
  try {
    res = minimize(loss.objective, x0, {
      maxIter,
      gtol: tol,
      ftol: 64 * EPS,
      maxLineSearch: 50,
      signal: opts.signal,
    });
  } finally {
    loss.release();
  }
  const { weights, bias } = unpackParameters(res.x, present, dim, numClasses);
  return { numClasses, dim, weights, bias, iterations: res.iterations, converged: res.converged };
}

/** C, maxIter and tol with their defaults; throws BadInputError on a bad value or a warm start of another shape. */
function checkFitOptions(opts: LogRegOptions, dim: number, numClasses: number): { c: number; maxIter: number; tol: number } {
  const c = opts.c;
  if (!(c > 0) || !Number.isFinite(c)) throw new BadInputError(`C must be a positive finite number, got ${c}`);
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-4;
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new BadInputError(`maxIter must be a positive integer, got ${maxIter}`);
  if (!(tol > 0)) throw new BadInputError(`tol must be > 0, got ${tol}`);
  const init = opts.init;
  if (init && (init.numClasses !== numClasses || init.dim !== dim)) {
    throw new BadInputError(
      `warm-start model is ${init.numClasses} classes × ${init.dim} features but the fit is ${numClasses} × ${dim}`,
    );
  }
  return { c, maxIter, tol };
}

/** The classes with at least one training row, in increasing order. */
function presentClasses(y: Int32Array, numClasses: number): number[] {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < y.length; i++) counts[y[i]]++;
  const present: number[] = [];
  for (let k = 0; k < numClasses; k++) if (counts[k] > 0) present.push(k);
  return present;
}

/** One label only: nothing to fit; the model always predicts it. */
function oneLabelModel(only: number, dim: number, numClasses: number): LogRegModel {
  const rows = numClasses === 2 ? 1 : numClasses;
  const weights = new Float64Array(rows * dim);
  const bias = new Float64Array(rows);
  if (numClasses === 2) bias[0] = only === 1 ? -ABSENT_CLASS_BIAS : ABSENT_CLASS_BIAS;
  else for (let k = 0; k < numClasses; k++) bias[k] = k === only ? 0 : ABSENT_CLASS_BIAS;
  return { numClasses, dim, weights, bias, iterations: 0, converged: true };
}

/** The labels renumbered 0..present.length − 1 over the present classes, as the fit sees them. */
function relabel(y: Int32Array, present: number[], numClasses: number): Int32Array {
  const local = new Int32Array(numClasses).fill(-1);
  present.forEach((k, i) => (local[k] = i));
  const yl = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) yl[i] = local[y[i]];
  return yl;
}

/** The minimiser's vector (fitted layout, present classes only) as full-shape weights and bias. */
function unpackParameters(
  p: Float64Array,
  present: number[],
  dim: number,
  numClasses: number,
): { weights: Float64Array; bias: Float64Array } {
  const rows = numClasses === 2 ? 1 : numClasses;
  const weights = new Float64Array(rows * dim);
  const bias = new Float64Array(rows);
  if (present.length === 2) {
    const [neg, pos] = present;
    if (numClasses === 2) {
      weights.set(p.subarray(0, dim));
      bias[0] = p[dim];
    } else {
      // Logit difference pos − neg carries all the information; the other present class sits at 0.
      weights.set(p.subarray(0, dim), pos * dim);
      bias[pos] = p[dim];
      for (let k = 0; k < numClasses; k++) if (k !== pos && k !== neg) bias[k] = ABSENT_CLASS_BIAS;
    }
  } else {
    const m = present.length;
    bias.fill(ABSENT_CLASS_BIAS);
    present.forEach((k, i) => {
      weights.set(p.subarray(i * dim, (i + 1) * dim), k * dim);
      bias[k] = p[m * dim + i];
    });
  }
  return { weights, bias };
}

/**
 * Logits for n rows of X: n×numClasses row-major. A binary model gives the columns [0, z] with
 * z = w·x + b, so that argmax picks class 1 exactly when z > 0.
 */
export function decision(model: LogRegModel, X: Float32Array, n: number): Float64Array {
  const dim = model.dim | 0;
  const K = model.numClasses | 0;
  const { weights: W, bias } = model;
  if (!Number.isInteger(n) || X.length !== n * dim) {
    throw new BadInputError(`matrix has ${X.length} values but ${n}×${dim} were expected`);
  }
  n |= 0;
  const rows = K === 2 ? 1 : K;
  const z = new Float64Array(n * rows);
  gemmNT(X, n, W, rows, dim, z);
  if (K !== 2) {
    for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) z[i * K + k] += bias[k];
    return z;
  }
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) out[i * 2 + 1] = z[i] + bias[0];
  return out;
}

/** Most likely class per row (ties go to the smaller class id). */
export function predict(model: LogRegModel, X: Float32Array, n: number): Int32Array {
  const K = model.numClasses;
  const z = decision(model, X, n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = z[i * K];
    for (let k = 1; k < K; k++) {
      const v = z[i * K + k];
      if (v > bv) {
        bv = v;
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * The objective fitLogReg minimises, over all `numClasses` classes, exposed for checks:
 * (1/n)·Σᵢ logloss + ‖W‖²/(2·C·n). Parameters: binary (numClasses == 2) [w (dim), b];
 * otherwise [W (numClasses×dim row-major), b (numClasses)].
 */
export function logRegObjective(
  X: Float32Array,
  y: Int32Array,
  dim: number,
  numClasses: number,
  c: number,
): { size: number; objective: Objective } {
  checkProblem(X, y, dim, numClasses);
  const binary = numClasses === 2;
  const m = binary ? 1 : numClasses;
  const loss = new LossEvaluator(X, y, y.length, dim, m, binary, c);
  return { size: m * dim + m, objective: loss.objective };
}

function checkProblem(X: Float32Array, y: Int32Array, dim: number, numClasses: number): void {
  const n = y.length;
  if (!Number.isInteger(dim) || dim < 1) throw new BadInputError(`dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new BadInputError(`numClasses must be an integer >= 2, got ${numClasses}`);
  }
  if (n < 1) throw new BadInputError('cannot fit a classifier on 0 rows');
  if (X.length !== n * dim) {
    throw new BadInputError(`X has ${X.length} values but ${n} labels × ${dim} features = ${n * dim} were expected`);
  }
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v < 0 || v >= numClasses) throw new BadInputError(`label ${v} at row ${i} is outside 0..${numClasses - 1}`);
  }
}

function usable(v: number): boolean {
  return Number.isFinite(v) && Math.abs(v) < 1e200;
}

/** Maps a full-shape model onto the fitted parameter layout; leaves zeros when it cannot. */
function warmStart(init: LogRegModel, present: number[], binary: boolean, x0: Float64Array): void {
  const { dim, numClasses: K, weights: W, bias: b } = init;
  if (binary) {
    const [neg, pos] = present;
    let b0: number;
    if (K === 2) {
      b0 = b[0];
      if (!usable(b0)) return;
      x0.set(W.subarray(0, dim));
    } else {
      b0 = b[pos] - b[neg];
      if (!usable(b[pos]) || !usable(b[neg])) return;
      for (let j = 0; j < dim; j++) x0[j] = W[pos * dim + j] - W[neg * dim + j];
    }
    x0[dim] = b0;
    return;
  }
  const m = present.length;
  if (!present.every((k) => usable(b[k]))) return;
  present.forEach((k, i) => {
    x0.set(W.subarray(k * dim, (k + 1) * dim), i * dim);
    x0[m * dim + i] = b[k];
  });
}

/**
 * Loss and gradient. The data is read as X (for Z = X·Wᵀ) and as its transpose (for ∇W = Rᵀ·X),
 * both packed once here (float32, like the input: measured as fast as float64, at half the memory),
 * so both products run over contiguous memory; gemm.ts picks the kernel (WebAssembly SIMD, or
 * JavaScript), which gives the same bits either way.
 */
class LossEvaluator {
  /** Z = X·Wᵀ (n×m logits) and Gt = Xᵀ·Rtᵀ (dim×m), Rt (m×n) the residuals p − onehot(y), written into xtTimes.b. */
  private readonly xTimes: NTMultiplier;
  private readonly xtTimes: NTMultiplier;
  readonly objective: Objective;

  private readonly n: number;
  private readonly dim: number;
  private readonly m: number;

  constructor(
    X32: Float32Array,
    private readonly y: Int32Array,
    n: number,
    dim: number,
    m: number,
    binary: boolean,
    private readonly c: number,
  ) {
    // Stored as int32 so the hot loops never see boxed doubles (see gemmNT).
    this.n = n | 0;
    this.dim = dim | 0;
    this.m = m | 0;
    const rows = this.n;
    const cols = this.dim;
    [this.xTimes, this.xtTimes] = ntMultipliers([{ data: X32, rows, len: cols }, { data: X32, rows: cols, len: rows, transposed: true }], this.m);
    this.objective = binary ? (p, g) => this.binaryLoss(p, g) : (p, g) => this.softmaxLoss(p, g);
  }

  /** The fit is over: the products' memory goes to the next fit on this thread (gemm.ts). */
  release(): void {
    this.xTimes.release();
    this.xtTimes.release();
  }

  private binaryLoss(p: Float64Array, grad: Float64Array): number {
    const { n, dim, y } = this;
    const b = p[dim];
    this.xTimes.b.set(p.subarray(0, dim));
    const Z = this.xTimes.product(1);
    const Rt = this.xtTimes.b;
    let loss = 0;
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const z = Z[i] + b;
      // log(1 + e^z) − y·z and σ(z), both without overflow.
      let sig: number;
      if (z >= 0) {
        const e = Math.exp(-z);
        loss += z + Math.log1p(e);
        sig = 1 / (1 + e);
      } else {
        const e = Math.exp(z);
        loss += Math.log1p(e);
        sig = e / (1 + e);
      }
      let r = sig;
      if (y[i] === 1) {
        loss -= z;
        r -= 1;
      }
      Rt[i] = r;
      gb += r;
    }
    return this.finish(p, grad, loss, Float64Array.of(gb), this.xtTimes.product(1));
  }

  private softmaxLoss(p: Float64Array, grad: Float64Array): number {
    const { n, dim, m, y } = this;
    const bo = m * dim;
    this.xTimes.b.set(p.subarray(0, bo));
    const Z = this.xTimes.product(m);
    const Rt = this.xtTimes.b;
    let loss = 0;
    const gb = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      const zo = i * m;
      let mx = -Infinity;
      for (let k = 0; k < m; k++) {
        const z = Z[zo + k] + p[bo + k];
        Z[zo + k] = z;
        if (z > mx) mx = z;
      }
      const yi = y[i];
      const zy = Z[zo + yi];
      let sum = 0;
      for (let k = 0; k < m; k++) {
        const e = Math.exp(Z[zo + k] - mx);
        Z[zo + k] = e;
        sum += e;
      }
      // log-sum-exp − z_y: finite even when the true class's probability underflows to 0.
      loss += mx + Math.log(sum) - zy;
      const inv = 1 / sum;
      for (let k = 0; k < m; k++) {
        const r = Z[zo + k] * inv - (k === yi ? 1 : 0);
        Rt[k * n + i] = r;
        gb[k] += r;
      }
    }
    return this.finish(p, grad, loss, gb, this.xtTimes.product(m));
  }

  /** Scales the data term by 1/n, adds the penalty, and lays ∇W (from Gt) and ∇b into grad. */
  private finish(p: Float64Array, grad: Float64Array, loss: number, gb: Float64Array, Gt: Float64Array): number {
    const { n, dim, m } = this;
    const invN = 1 / n;
    const lam = 1 / (this.c * n);
    let sq = 0;
    for (let k = 0; k < m; k++) {
      const wo = k * dim;
      for (let j = 0; j < dim; j++) {
        const w = p[wo + j];
        sq += w * w;
        grad[wo + j] = Gt[j * m + k] * invN + lam * w;
      }
      grad[m * dim + k] = gb[k] * invN;
    }
    return loss * invN + 0.5 * lam * sq;
  }
}
