/**
 * Ridge least squares from streamed sufficient statistics: G = XᵀX and C = XᵀY (X with a
 * trailing column of ones for the bias), accumulated in Float64 over token rows, then
 * (G + λD)T = C solved by Cholesky. Only G, C and per-column sums of Y are kept, so the
 * memory is (p+1)² + (p+1)·q whatever the number of tokens.
 */
import { BadInputError, throwIfAborted } from '../errors';

export class GramAccumulator {
  /** (p+1)×(p+1), row-major; the last row/column belongs to the bias column of ones. */
  readonly g: Float64Array;
  /** (p+1)×q. */
  readonly c: Float64Array;
  /** Σ y and Σ y² per output column (for R²). */
  readonly ySum: Float64Array;
  readonly ySq: Float64Array;
  rows = 0;

  constructor(
    readonly p: number,
    readonly q: number,
  ) {
    this.g = new Float64Array((p + 1) * (p + 1));
    this.c = new Float64Array((p + 1) * q);
    this.ySum = new Float64Array(q);
    this.ySq = new Float64Array(q);
  }

  /** Adds rows `rows` of X (n×p) and Y (n×q), both row-major. */
  add(x: ArrayLike<number>, y: ArrayLike<number>, rows: Iterable<number>): void {
    const { p, q, g, c } = this;
    const p1 = p + 1;
    const xr = new Float64Array(p1);
    for (const r of rows) {
      for (let i = 0; i < p; i++) xr[i] = x[r * p + i];
      xr[p] = 1;
      // Upper triangle only; mirrored in solve().
      for (let i = 0; i < p1; i++) {
        const xi = xr[i];
        if (xi === 0) continue;
        const gi = i * p1;
        for (let j = i; j < p1; j++) g[gi + j] += xi * xr[j];
        const ci = i * q;
        for (let k = 0; k < q; k++) c[ci + k] += xi * y[r * q + k];
      }
      for (let k = 0; k < q; k++) {
        const v = y[r * q + k];
        this.ySum[k] += v;
        this.ySq[k] += v * v;
      }
      this.rows++;
    }
  }

  /** Sum of two accumulators (e.g. fit rows + held-out rows). */
  plus(o: GramAccumulator): GramAccumulator {
    const s = new GramAccumulator(this.p, this.q);
    for (const k of ['g', 'c', 'ySum', 'ySq'] as const) for (let i = 0; i < s[k].length; i++) s[k][i] = this[k][i] + o[k][i];
    s.rows = this.rows + o.rows;
    return s;
  }

  /** The full symmetric G. */
  gram(): Float64Array {
    const p1 = this.p + 1;
    const g = Float64Array.from(this.g);
    for (let i = 0; i < p1; i++) for (let j = 0; j < i; j++) g[i * p1 + j] = g[j * p1 + i];
    return g;
  }
}

/** A fitted affine map y = xW + b: W is p×q row-major, b has q entries. */
export interface RidgeFit {
  w: Float64Array;
  b: Float64Array;
  p: number;
  q: number;
  lambda: number;
}

/**
 * Cholesky factorisation and solve, written here because the tree has no linear-algebra
 * dependency and the systems are small (p ≤ a few thousand), symmetric positive definite and
 * needed in Float64. Solves A·X = B in place of B (A n×n, B n×m), A is overwritten by L.
 * `signal` is looked at once per column (milliseconds each at n ≈ 1500).
 */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number, m: number, signal?: AbortSignal): void {
  for (let j = 0; j < n; j++) {
    throwIfAborted(signal);
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) throw new BadInputError(`ridge solve: the Gram matrix is not positive definite at column ${j} (pivot ${d}); use more calibration rows or a larger λ.`);
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
  }
  for (let col = 0; col < m; col++) {
    throwIfAborted(signal);
    for (let i = 0; i < n; i++) {
      let s = b[i * m + col];
      for (let k = 0; k < i; k++) s -= a[i * n + k] * b[k * m + col];
      b[i * m + col] = s / a[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i * m + col];
      for (let k = i + 1; k < n; k++) s -= a[k * n + i] * b[k * m + col];
      b[i * m + col] = s / a[i * n + i];
    }
  }
}

/**
 * Ridge solution for relative strength `lambda`: the penalty on weight i is
 * lambda · mean(diag G) (scale-free across layers); the bias is not penalised.
 */
export function solveRidge(acc: GramAccumulator, lambda: number, signal?: AbortSignal): RidgeFit {
  const { p, q } = acc;
  const p1 = p + 1;
  const a = acc.gram();
  let tr = 0;
  for (let i = 0; i < p; i++) tr += a[i * p1 + i];
  const pen = (lambda * tr) / Math.max(1, p) + 1e-12;
  for (let i = 0; i < p; i++) a[i * p1 + i] += pen;
  const t = Float64Array.from(acc.c);
  choleskySolve(a, t, p1, q, signal);
  return { w: t.subarray(0, p * q), b: t.subarray(p * q), p, q, lambda };
}

/** Sum of squared residuals of `fit` on the rows summarised by `acc` (exact, from G, C, Σy²). */
export function residualSS(fit: RidgeFit, acc: GramAccumulator, signal?: AbortSignal): number {
  const { p, q } = acc;
  const p1 = p + 1;
  const g = acc.gram();
  const t = (i: number, k: number) => (i < p ? fit.w[i * q + k] : fit.b[k]);
  let sse = 0;
  const gt = new Float64Array(p1);
  for (let k = 0; k < q; k++) {
    throwIfAborted(signal);
    let tc = 0;
    for (let i = 0; i < p1; i++) tc += t(i, k) * acc.c[i * q + k];
    gt.fill(0);
    for (let i = 0; i < p1; i++) {
      const ti = t(i, k);
      if (ti === 0) continue;
      for (let j = 0; j < p1; j++) gt[j] += g[i * p1 + j] * ti;
    }
    let tgt = 0;
    for (let j = 0; j < p1; j++) tgt += gt[j] * t(j, k);
    sse += acc.ySq[k] - 2 * tc + tgt;
  }
  return sse;
}

/** Coefficient of determination over all output columns pooled (1 − SSE / SST). */
export function rSquared(fit: RidgeFit, acc: GramAccumulator, signal?: AbortSignal): number {
  let sst = 0;
  for (let k = 0; k < acc.q; k++) sst += acc.ySq[k] - (acc.ySum[k] * acc.ySum[k]) / Math.max(1, acc.rows);
  return 1 - residualSS(fit, acc, signal) / Math.max(sst, 1e-30);
}

export const LAMBDAS = [1e-6, 1e-4, 1e-3, 1e-2, 1e-1];

export interface ChosenFit {
  fit: RidgeFit;
  /** Held-out R² per λ tried, in LAMBDAS order. */
  heldR2: number[];
  /** R² of the final fit on every row it was fitted on. */
  trainR2: number;
}

/**
 * Chooses λ by R² on held-out training rows (`held`), then refits on fit + held rows with it.
 * Test rows never enter either accumulator. `signal`: a cancel is seen inside the solves (a
 * 768-wide bridge is seconds of them).
 */
export function fitRidgeChoosingLambda(fitRows: GramAccumulator, held: GramAccumulator, lambdas = LAMBDAS, signal?: AbortSignal): ChosenFit {
  if (fitRows.rows === 0 || held.rows === 0) throw new BadInputError(`ridge fit: ${fitRows.rows} fit rows and ${held.rows} held-out rows; both must be non-empty (give more training texts).`);
  const heldR2 = lambdas.map((l) => rSquared(solveRidge(fitRows, l, signal), held, signal));
  let best = 0;
  heldR2.forEach((r, i) => r > heldR2[best] && (best = i));
  const all = fitRows.plus(held);
  const fit = solveRidge(all, lambdas[best], signal);
  return { fit, heldR2, trainR2: rSquared(fit, all, signal) };
}
