/**
 * Ridge least squares from streamed sufficient statistics: G = XᵀX and C = XᵀY (X with a
 * trailing column of ones for the bias), accumulated in Float64 over token rows, then
 * (G + λD)T = C solved by Cholesky. Only G, C and per-column sums of Y are kept, so the
 * memory is (p+1)² + (p+1)·q whatever the number of tokens.
 */
import * as os from 'node:os';
import { BadInputError, throwIfAborted } from '../errors';
import type { FitPool } from '../probe/fitPool';
import { f64Workspace, type F64Workspace, type GemmKernel } from '../probe/gemm';

/** The sums a ridge fit reads: what a GramAccumulator holds, also as plain arrays in shared memory for a fit worker. */
export interface GramStats {
  readonly p: number;
  readonly q: number;
  /** (p+1)×(p+1), row-major, upper triangle (the lower one is not read). */
  readonly g: Float64Array;
  readonly c: Float64Array;
  readonly ySum: Float64Array;
  readonly ySq: Float64Array;
  readonly rows: number;
}

export class GramAccumulator implements GramStats {
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
    return fullGram(this);
  }
}

/** The full symmetric G of `s` (a copy). */
export function fullGram(s: GramStats): Float64Array {
  const p1 = s.p + 1;
  const g = Float64Array.from(s.g);
  for (let i = 0; i < p1; i++) for (let j = 0; j < i; j++) g[i * p1 + j] = g[j * p1 + i];
  return g;
}

/** A fitted affine map y = xW + b: W is p×q row-major, b has q entries. */
export interface RidgeFit {
  w: Float64Array;
  b: Float64Array;
  p: number;
  q: number;
  lambda: number;
}

/** Columns per block of the blocked Cholesky (its products are this wide; its scalar parts this deep). */
const BLOCK = 64;
/** Multiply-adds per product call between two looks at the signal (a few milliseconds). */
const MACS_PER_CHECK = 1 << 22;

/**
 * Cholesky factorisation and solve, written here because the tree has no linear-algebra
 * dependency; the systems are symmetric positive definite, up to a few thousand wide, and needed
 * in Float64. Solves A·X = B in place of B (A n×n, B n×m, row-major); A's lower triangle (with
 * the diagonal) is read and overwritten by L, its upper triangle neither read nor written.
 *
 * Blocked and left-looking, all but BLOCK-wide diagonal blocks in products (F64Workspace.subNT,
 * WebAssembly SIMD where it runs): per block of BLOCK columns, the update by the columns before
 * it; then the diagonal block is factored column by column and inverted, and the rows below it
 * are multiplied by that inverse's transpose. The two triangular solves, on Bᵀ (one row per
 * right-hand side), go by the same blocks: the part before (after) the block as one product,
 * then the block's inverse. Throws BadInputError naming the first column whose pivot is not
 * positive. `signal` is looked at once per column of a diagonal block and before each product
 * piece (at most MACS_PER_CHECK multiply-adds). `kernel`: as PROBESCALE_GEMM (tests).
 */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number, m: number, signal?: AbortSignal, kernel?: GemmKernel): void {
  const at = solveLayout(n, m);
  const ws = f64Workspace(at.end, kernel);
  try {
    const f = ws.f64;
    for (let i = 0; i < n; i++) {
      if (i % BLOCK === 0) throwIfAborted(signal);
      f.set(a.subarray(i * n, (i + 1) * n), i * n);
      for (let c = 0; c < m; c++) f[at.bt + c * n + i] = b[i * m + c];
    }
    factor(ws, at, signal);
    for (let i = 0; i < n; i++) {
      if (i % BLOCK === 0) throwIfAborted(signal);
      a.set(f.subarray(i * n, i * n + i + 1), i * n);
    }
    lowerToUpper(f, n, signal);
    solveLower(ws, at, signal);
    solveUpper(ws, at, signal);
    for (let i = 0; i < n; i++) {
      if (i % BLOCK === 0) throwIfAborted(signal);
      for (let c = 0; c < m; c++) b[i * m + c] = f[at.bt + c * n + i];
    }
  } finally {
    ws.release();
  }
}

/**
 * Where things are in the solver's workspace (element offsets): A at 0 (n×n: L in its lower
 * triangle, then Lᵀ in its upper), Bᵀ at `bt` (m×n), per diagonal block J at inv + 2·J·BLOCK²
 * −L_JJ⁻¹ and then −L_JJ⁻ᵀ (BLOCK×BLOCK each), scratch rows at `tmp` (max(n, m)×BLOCK).
 */
interface SolveLayout {
  n: number;
  m: number;
  bt: number;
  inv: number;
  tmp: number;
  end: number;
}

function solveLayout(n: number, m: number): SolveLayout {
  const bt = n * n;
  const inv = bt + m * n;
  const tmp = inv + Math.ceil(n / BLOCK) * 2 * BLOCK * BLOCK;
  return { n, m, bt, inv, tmp, end: tmp + Math.max(n, m) * BLOCK };
}

/** ws.subNT in pieces of at most BLOCK B rows and MACS_PER_CHECK multiply-adds, the signal looked at before each. */
function subNTChecked(ws: F64Workspace, a: number, lda: number, ra: number, b: number, ldb: number, rb: number, len: number, out: number, ldo: number, signal?: AbortSignal): void {
  if (ra === 0 || rb === 0 || len === 0) return;
  for (let j = 0; j < rb; j += BLOCK) {
    const cb = Math.min(BLOCK, rb - j);
    const rows = Math.max(4, Math.floor(MACS_PER_CHECK / (cb * len)) & ~3);
    for (let i = 0; i < ra; i += rows) {
      throwIfAborted(signal);
      ws.subNT(a + i * lda, lda, Math.min(rows, ra - i), b + j * ldb, ldb, cb, len, out + i * ldo + j, ldo);
    }
  }
}

/** X (rows×w at `x`, row stride ldx) becomes X·Mᵀ for the w×w M whose negative is at `neg` (row stride BLOCK). */
function timesBlock(ws: F64Workspace, at: SolveLayout, x: number, ldx: number, rows: number, neg: number, w: number, signal?: AbortSignal): void {
  const f = ws.f64;
  for (let i = 0; i < rows; i++) {
    const xi = x + i * ldx;
    f.copyWithin(at.tmp + i * BLOCK, xi, xi + w);
    f.fill(0, xi, xi + w);
  }
  subNTChecked(ws, at.tmp, BLOCK, rows, neg, BLOCK, w, w, x, ldx, signal);
}

/** −L⁻¹ and −L⁻ᵀ of the w×w lower-triangular block of A at column j0, at `neg` and neg + BLOCK². */
function invertBlock(f: Float64Array, n: number, j0: number, w: number, neg: number): void {
  const negT = neg + BLOCK * BLOCK;
  f.fill(0, neg, neg + 2 * BLOCK * BLOCK);
  for (let c = 0; c < w; c++) {
    // Column c of −L⁻¹: y_c = −1/L_cc, y_i = −(Σ_{c≤k<i} L_ik·y_k)/L_ii.
    f[neg + c * BLOCK + c] = -1 / f[(j0 + c) * n + j0 + c];
    for (let i = c + 1; i < w; i++) {
      const ri = (j0 + i) * n + j0;
      let s = 0;
      for (let k = c; k < i; k++) s += f[ri + k] * f[neg + k * BLOCK + c];
      f[neg + i * BLOCK + c] = -s / f[ri + i];
    }
    for (let i = c; i < w; i++) f[negT + c * BLOCK + i] = f[neg + i * BLOCK + c];
  }
}

/** L in the lower triangle of A (the upper triangle of each diagonal block gets scratch), and the blocks' inverses. */
function factor(ws: F64Workspace, at: SolveLayout, signal?: AbortSignal): void {
  const f = ws.f64;
  const { n } = at;
  for (let j0 = 0; j0 < n; j0 += BLOCK) {
    const j1 = Math.min(n, j0 + BLOCK);
    // Columns j0..j1 of rows j0..n, less what the columns before j0 account for.
    subNTChecked(ws, j0 * n, n, n - j0, j0 * n, n, j1 - j0, j0, j0 * n + j0, n, signal);
    for (let j = j0; j < j1; j++) {
      throwIfAborted(signal);
      const rj = j * n;
      let d = f[rj + j];
      for (let k = j0; k < j; k++) d -= f[rj + k] * f[rj + k];
      if (Number.isNaN(d)) throw new BadInputError(`ridge solve: the pivot at column ${j} is NaN: the matrix holds NaN or Infinity (activations that are not finite); more rows or a larger λ do not help.`);
      if (!(d > 0)) throw new BadInputError(`ridge solve: the Gram matrix is not positive definite at column ${j} (pivot ${d}); use more calibration rows or a larger λ.`);
      const ljj = Math.sqrt(d);
      f[rj + j] = ljj;
      for (let i = j + 1; i < j1; i++) {
        const ri = i * n;
        let s = f[ri + j];
        for (let k = j0; k < j; k++) s -= f[ri + k] * f[rj + k];
        f[ri + j] = s / ljj;
      }
    }
    const neg = at.inv + (j0 / BLOCK) * 2 * BLOCK * BLOCK;
    invertBlock(f, n, j0, j1 - j0, neg);
    // The rows below the block: row ← row · L_blockᵀ⁻¹.
    timesBlock(ws, at, j1 * n + j0, n, n - j1, neg, j1 - j0, signal);
  }
}

/** Copies L (lower triangle) transposed into the upper triangle, in tiles. */
function lowerToUpper(f: Float64Array, n: number, signal?: AbortSignal): void {
  const T = 32;
  for (let i0 = 0; i0 < n; i0 += T) {
    throwIfAborted(signal);
    for (let k0 = i0; k0 < n; k0 += T) {
      const i1 = Math.min(n, i0 + T);
      const k1 = Math.min(n, k0 + T);
      for (let k = k0; k < k1; k++) for (let i = i0; i < Math.min(i1, k); i++) f[i * n + k] = f[k * n + i];
    }
  }
}

/** Each row y of Bᵀ becomes L⁻¹y: by blocks, the part before the block as one product, then the block's inverse. */
function solveLower(ws: F64Workspace, at: SolveLayout, signal?: AbortSignal): void {
  const { n, m, bt } = at;
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const i1 = Math.min(n, i0 + BLOCK);
    subNTChecked(ws, bt, n, m, i0 * n, n, i1 - i0, i0, bt + i0, n, signal);
    timesBlock(ws, at, bt + i0, n, m, at.inv + (i0 / BLOCK) * 2 * BLOCK * BLOCK, i1 - i0, signal);
  }
}

/** Each row y of Bᵀ becomes L⁻ᵀy (Lᵀ in the upper triangle), blocks from the last. */
function solveUpper(ws: F64Workspace, at: SolveLayout, signal?: AbortSignal): void {
  const { n, m, bt } = at;
  for (let i0 = Math.floor((n - 1) / BLOCK) * BLOCK; i0 >= 0; i0 -= BLOCK) {
    const i1 = Math.min(n, i0 + BLOCK);
    subNTChecked(ws, bt + i1, n, m, i0 * n + i1, n, i1 - i0, n - i1, bt + i0, n, signal);
    timesBlock(ws, at, bt + i0, n, m, at.inv + (i0 / BLOCK) * 2 * BLOCK * BLOCK + BLOCK * BLOCK, i1 - i0, signal);
  }
}

/**
 * Ridge solution for relative strength `lambda`: the penalty on weight i is
 * lambda · mean(diag G) (scale-free across layers); the bias is not penalised.
 */
export function solveRidge(acc: GramStats, lambda: number, signal?: AbortSignal): RidgeFit {
  return ridgeSolution(acc, lambda, (a, t) => choleskySolve(a, t, acc.p + 1, acc.q, signal));
}

/** The ridge system (G + λD)·T = C of solveRidge, solved by `solve` (in place of its arguments), as a fit. */
export function ridgeSolution(acc: GramStats, lambda: number, solve: (a: Float64Array, t: Float64Array) => void): RidgeFit {
  const { p, q } = acc;
  const p1 = p + 1;
  checkFinite(acc);
  const a = fullGram(acc);
  let tr = 0;
  for (let i = 0; i < p; i++) tr += a[i * p1 + i];
  const pen = (lambda * tr) / Math.max(1, p) + 1e-12;
  for (let i = 0; i < p; i++) a[i * p1 + i] += pen;
  const t = Float64Array.from(acc.c);
  solve(a, t);
  return { w: t.subarray(0, p * q), b: t.subarray(p * q), p, q, lambda };
}

/**
 * Refuses statistics of activations that hold NaN or Infinity: a NaN feature made every pivot NaN
 * (refused as "not positive definite", with advice that cannot help), a NaN target a fit of NaN
 * weights that nothing refused. Σx² on G's diagonal and Σy² are not finite exactly when some x or
 * y is not (or overflows, which float32 activations cannot); C as well, for the cross terms.
 */
function checkFinite(acc: GramStats): void {
  const p1 = acc.p + 1;
  let ok = true;
  for (let i = 0; i < p1 && ok; i++) ok = Number.isFinite(acc.g[i * p1 + i]);
  for (let k = 0; k < acc.q && ok; k++) ok = Number.isFinite(acc.ySq[k]);
  for (let i = 0; i < acc.c.length && ok; i++) ok = Number.isFinite(acc.c[i]);
  if (!ok) throw new BadInputError(`ridge fit: the calibration activations (${acc.rows} token rows, ${acc.p} inputs, ${acc.q} outputs) hold NaN or Infinity, so no least-squares fit exists: the model gives numbers that are not finite on the calibration texts (damaged weights, or an overflow). Check the model's files, or run without compensation ({{compensate}} none).`);
}

/**
 * Sum of squared residuals of `fit` on the rows summarised by `acc` (exact, from G, C, Σy²):
 * Σ_k (Σy_k² − 2·t_kᵀc_k + t_kᵀG·t_k), the G·t_k of all k as products (Tᵀ by blocks of rows times G).
 */
export function residualSS(fit: RidgeFit, acc: GramStats, signal?: AbortSignal, kernel?: GemmKernel): number {
  const { p, q } = acc;
  const p1 = p + 1;
  const rowsPer = Math.min(q, BLOCK);
  // The workspace: G (p1×p1), Tᵀ (q×p1), H = −Tᵀ·G for rowsPer rows of Tᵀ at a time.
  const ws = f64Workspace(p1 * p1 + q * p1 + rowsPer * p1, kernel);
  try {
    const f = ws.f64;
    const tt = p1 * p1;
    const h = tt + q * p1;
    for (let i = 0; i < p1; i++) {
      if (i % BLOCK === 0) throwIfAborted(signal);
      f.set(acc.g.subarray(i * p1, (i + 1) * p1), i * p1);
      for (let j = 0; j < i; j++) f[i * p1 + j] = f[j * p1 + i];
      for (let k = 0; k < q; k++) f[tt + k * p1 + i] = i < p ? fit.w[i * q + k] : fit.b[k];
    }
    let sse = 0;
    for (let k0 = 0; k0 < q; k0 += rowsPer) {
      const rows = Math.min(rowsPer, q - k0);
      f.fill(0, h, h + rows * p1);
      // G is symmetric: its rows are its columns.
      subNTChecked(ws, tt + k0 * p1, p1, rows, 0, p1, p1, p1, h, p1, signal);
      for (let k = k0; k < k0 + rows; k++) {
        const t = tt + k * p1;
        const hk = h + (k - k0) * p1;
        let tc = 0;
        for (let i = 0; i < p1; i++) tc += f[t + i] * acc.c[i * q + k];
        let tgt = 0;
        for (let j = 0; j < p1; j++) tgt -= f[hk + j] * f[t + j];
        sse += acc.ySq[k] - 2 * tc + tgt;
      }
    }
    return sse;
  } finally {
    ws.release();
  }
}

/** Coefficient of determination over all output columns pooled (1 − SSE / SST). */
export function rSquared(fit: RidgeFit, acc: GramStats, signal?: AbortSignal): number {
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

/** One λ of the search, as a fit worker takes it: the fit rows' and held-out rows' sums (in shared memory when pooled). */
export interface LambdaWork {
  fit: GramStats;
  held: GramStats;
  lambda: number;
}

/** Held-out R² of the ridge fit on the fit rows with `w.lambda`: a unit of the fit pool (src/worker/fit.ts). */
export function lambdaHeldR2(w: LambdaWork, signal?: AbortSignal): number {
  return rSquared(solveRidge(w.fit, w.lambda, signal), w.held, signal);
}

/**
 * Bytes one λ solve holds at its peak, n = p+1 unknowns, q right-hand sides: the system's copy
 * (n²), the solver's workspace (n² + n·q + about 192·n of blocks and scratch) and the solution (n·q),
 * in f64, with n·q more for the held-out residuals' copy of it. 3074×768: 212 MB; 4098×1024: 376 MB.
 */
export function solveBytes(n: number, q: number): number {
  return 8 * (2 * n * n + 3 * n * q + 192 * n);
}

/**
 * The memory rule of the pooled λ search: no more solves at once than the threads, the λ, and
 * `budget` bytes allow at {@link solveBytes} each, and at least one. The default budget is half the
 * memory free when the search starts (os.freemem(): without the page cache, so on the low side).
 */
export function concurrentSolves(threads: number, lambdas: number, n: number, q: number, budget: number): number {
  return Math.max(1, Math.min(threads, lambdas, Math.floor(budget / solveBytes(n, q))));
}

/** `s` with its arrays in `pool`'s shared memory under keys `key`:…, reused by the next fit's search. */
function sharedStats(pool: FitPool, key: string, s: GramStats): GramStats {
  const { p, q, rows } = s;
  return { p, q, rows, g: pool.shared(`${key}:g`, s.g), c: pool.shared(`${key}:c`, s.c), ySum: pool.shared(`${key}:ySum`, s.ySum), ySq: pool.shared(`${key}:ySq`, s.ySq) };
}

/** Held-out R² of every λ: inline one after another, or on `pool`, at most {@link concurrentSolves} at once (the same numbers either way). */
function heldR2s(fitRows: GramStats, held: GramStats, lambdas: number[], signal: AbortSignal | undefined, pool: FitPool | undefined, budget: number): number[] {
  const most = pool ? concurrentSolves(pool.size, lambdas.length, fitRows.p + 1, fitRows.q, budget) : 1;
  if (!pool || most <= 1) return lambdas.map((lambda) => lambdaHeldR2({ fit: fitRows, held, lambda }, signal));
  const at = { fit: sharedStats(pool, 'ridge:fit', fitRows), held: sharedStats(pool, 'ridge:held', held) };
  return pool.map('ridgeLambda', lambdas.length, (i) => ({ ...at, lambda: lambdas[i] }), lambdaHeldR2, { signal, most });
}

/**
 * Chooses λ by R² on held-out training rows (`held`), then refits on fit + held rows with it.
 * Test rows never enter either accumulator. `signal`: a cancel is seen inside the solves (a
 * 768-wide bridge is seconds of them). With `pool` (the job's fit pool), the λ solves are its
 * units (see {@link concurrentSolves} for `budget`); the refit runs here.
 */
export function fitRidgeChoosingLambda(fitRows: GramAccumulator, held: GramAccumulator, lambdas = LAMBDAS, signal?: AbortSignal, pool?: FitPool, budget = os.freemem() / 2): ChosenFit {
  if (fitRows.rows === 0 || held.rows === 0) throw new BadInputError(`ridge fit: ${fitRows.rows} fit rows and ${held.rows} held-out rows; both must be non-empty (give more training texts).`);
  const heldR2 = heldR2s(fitRows, held, lambdas, signal, pool, budget);
  let best = 0;
  heldR2.forEach((r, i) => r > heldR2[best] && (best = i));
  const all = fitRows.plus(held);
  const fit = solveRidge(all, lambdas[best], signal);
  return { fit, heldR2, trainR2: rSquared(fit, all, signal) };
}
