/**
 * The least-squares code of compensated builds as it was before the sixteenth session (scalar
 * JavaScript, one column at a time), kept as the reference the tests and scripts/ridgeBench.ts
 * compare the blocked solver, the product-form residuals and the batched column moments with.
 * Not used by the engine.
 */
import { BadInputError, throwIfAborted } from '../src/core/errors';
import { GramAccumulator, LAMBDAS, ridgeSolution, type ChosenFit, type RidgeFit } from '../src/core/compensate/ridge';

/** Unblocked Cholesky factorisation and solve, one column at a time (A overwritten by L, B by X). */
export function refCholeskySolve(a: Float64Array, b: Float64Array, n: number, m: number, signal?: AbortSignal): void {
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

export function refSolveRidge(acc: GramAccumulator, lambda: number, signal?: AbortSignal): RidgeFit {
  return ridgeSolution(acc, lambda, (a, t) => refCholeskySolve(a, t, acc.p + 1, acc.q, signal));
}

/** The scalar triple loop: per output column, G·t accumulated row by row. */
export function refResidualSS(fit: RidgeFit, acc: GramAccumulator, signal?: AbortSignal): number {
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

export function refRSquared(fit: RidgeFit, acc: GramAccumulator, signal?: AbortSignal): number {
  let sst = 0;
  for (let k = 0; k < acc.q; k++) sst += acc.ySq[k] - (acc.ySum[k] * acc.ySum[k]) / Math.max(1, acc.rows);
  return 1 - refResidualSS(fit, acc, signal) / Math.max(sst, 1e-30);
}

export function refFitRidgeChoosingLambda(fitRows: GramAccumulator, held: GramAccumulator, lambdas = LAMBDAS, signal?: AbortSignal): ChosenFit {
  const heldR2 = lambdas.map((l) => refRSquared(refSolveRidge(fitRows, l, signal), held, signal));
  let best = 0;
  heldR2.forEach((r, i) => r > heldR2[best] && (best = i));
  const all = fitRows.plus(held);
  const fit = refSolveRidge(all, lambdas[best], signal);
  return { fit, heldR2, trainR2: refRSquared(fit, all, signal) };
}

/** Welford's per-element update (a division per element): the column moments before. */
export function refColumnMoments(a: Float32Array, width: number, batches: Int32Array[]): { mean: Float64Array; m2: Float64Array; n: number } {
  const mean = new Float64Array(width);
  const m2 = new Float64Array(width);
  let n = 0;
  for (const rows of batches) {
    for (const r of rows) {
      n++;
      for (let j = 0; j < width; j++) {
        const v = a[r * width + j];
        const dlt = v - mean[j];
        mean[j] += dlt / n;
        m2[j] += dlt * (v - mean[j]);
      }
    }
  }
  return { mean, m2, n };
}

/** max |a − b| / max |b|: how far a result is from the reference's. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths ${a.length} and ${b.length} differ`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / Math.max(s, 1e-300);
}
