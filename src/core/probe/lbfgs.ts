/**
 * Limited-memory BFGS for smooth unconstrained objectives, with the More–Thuente line search.
 *
 * Written by hand rather than taken from npm: none of the pure-JS L-BFGS packages is both kept up
 * and built around Float64Array objectives with a caller-owned gradient buffer, and we need
 * bit-for-bit determinism and an abort check between iterations. The stopping rules and line-search
 * settings mirror scipy's L-BFGS-B (which scikit-learn's `lbfgs` solver calls), so tolerances mean
 * the same thing as there.
 */
import { BadInputError, throwIfAborted } from '../errors';

/** Writes ∇f(x) into `grad` and returns f(x). Must not keep references to `x` or `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface MinimizeOptions {
  /** Most iterations (accepted steps); default 1000. */
  maxIter?: number;
  /** Stop when max_i |∂f/∂x_i| ≤ gtol (scipy's `pgtol`, unconstrained); default 1e-5. */
  gtol?: number;
  /** Stop when (f_prev − f) / max(|f_prev|, |f|, 1) ≤ ftol (scipy's `factr · eps`); default 1e7 · eps ≈ 2.2e-9. */
  ftol?: number;
  /** Number of correction pairs kept; default 10. */
  m?: number;
  /** Most function evaluations per line search; default 20 (scikit-learn passes 50). */
  maxLineSearch?: number;
  signal?: AbortSignal;
}

export interface MinimizeResult {
  x: Float64Array;
  f: number;
  /** Accepted steps taken. */
  iterations: number;
  /** True when the gradient or relative-decrease test stopped the run (not the iteration cap or a line-search failure). */
  converged: boolean;
  /** Objective evaluations, line searches included. */
  evaluations: number;
  /** Why the run stopped, in words. */
  message: string;
}

const EPS = 2.220446049250313e-16;
// scipy L-BFGS-B's line-search constants (lnsrlb): sufficient decrease, curvature, interval width.
const LS_FTOL = 1e-3;
const LS_GTOL = 0.9;
const LS_XTOL = 0.1;
const STEP_MAX = 1e10;

/**
 * Minimises `f` from `x0` (which is not modified). Deterministic: the same objective and start give
 * bit-identical results. Throws CancelledError when `signal` fires (checked before every evaluation).
 */
export function minimize(f: Objective, x0: Float64Array, opts: MinimizeOptions = {}): MinimizeResult {
  const { maxIter, gtol, ftol, m, maxLs, signal } = checkOptions(opts);
  const n = x0.length;
  const b = iterateBuffers(x0);
  const pairs = new CorrectionPairs(n, m);
  let fx = evaluateStart(f, b, signal);
  let evaluations = 1;
  const done = (converged: boolean, iterations: number, message: string): MinimizeResult =>
    ({ x: b.x, f: fx, iterations, converged, evaluations, message });
  if (infNorm(b.g) <= gtol) return done(true, 0, 'projected gradient below gtol');

  let iter = 0;
  for (;;) {
    throwIfAborted(signal);
    if (iter >= maxIter) return done(false, iter, 'iteration limit reached');
    pairs.direction(b.g, b.d);
    const gd = dot(b.g, b.d, n);
    if (!(gd < 0)) {
      // Not a descent direction (round-off in the curvature pairs): restart from steepest descent.
      if (pairs.count === 0) return done(false, iter, 'no descent direction');
      pairs.reset();
      continue;
    }
    const fPrev = fx;
    const ls = stepAlong(f, b, fPrev, gd, pairs.count === 0, maxLs, signal);
    evaluations += ls.evaluations;
    if (!ls.ok) {
      // stepAlong put x and g back: restart from steepest descent, or stop if already there.
      fx = fPrev;
      if (pairs.count === 0) return done(false, iter, 'line search failed');
      pairs.reset();
      continue;
    }
    fx = ls.f;
    iter++;
    pairs.store(b, gd, ls.stp);
    const stop = stopReason(b.g, fPrev, fx, gtol, ftol);
    if (stop) return done(true, iter, stop);
  }
}

interface Settings {
  maxIter: number;
  gtol: number;
  ftol: number;
  m: number;
  maxLs: number;
  signal: AbortSignal | undefined;
}

/** The options with their defaults filled in; throws BadInputError on a value out of range. */
function checkOptions(opts: MinimizeOptions): Settings {
  const maxIter = opts.maxIter ?? 1000;
  const gtol = opts.gtol ?? 1e-5;
  const ftol = opts.ftol ?? 1e7 * EPS;
  const m = opts.m ?? 10;
  const maxLs = opts.maxLineSearch ?? 20;
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new BadInputError(`maxIter must be a non-negative integer, got ${maxIter}`);
  if (!(gtol >= 0)) throw new BadInputError(`gtol must be >= 0, got ${gtol}`);
  if (!(ftol >= 0)) throw new BadInputError(`ftol must be >= 0, got ${ftol}`);
  if (!Number.isInteger(m) || m < 1) throw new BadInputError(`m (history size) must be a positive integer, got ${m}`);
  if (!Number.isInteger(maxLs) || maxLs < 1) throw new BadInputError(`maxLineSearch must be a positive integer, got ${maxLs}`);
  return { maxIter, gtol, ftol, m, maxLs, signal: opts.signal };
}

/** The current point and gradient, the search direction, and the point and gradient before the step. */
interface IterateBuffers {
  x: Float64Array;
  g: Float64Array;
  d: Float64Array;
  xPrev: Float64Array;
  gPrev: Float64Array;
}

function iterateBuffers(x0: Float64Array): IterateBuffers {
  const n = x0.length;
  const x = Float64Array.from(x0);
  return { x, g: new Float64Array(n), d: new Float64Array(n), xPrev: new Float64Array(n), gPrev: new Float64Array(n) };
}

/** f(x₀), with ∇f(x₀) written into `b.g`; throws BadInputError when either is not finite. */
function evaluateStart(f: Objective, b: IterateBuffers, signal: AbortSignal | undefined): number {
  throwIfAborted(signal);
  const fx = f(b.x, b.g);
  if (!Number.isFinite(fx) || !allFinite(b.g)) {
    throw new BadInputError('the objective or its gradient is not finite at the starting point');
  }
  return fx;
}

/**
 * Line search from `b.x` along `b.d` (φ'(0) = gd < 0), keeping the old point in `b.xPrev`/`b.gPrev`.
 * On failure `b.x` and `b.g` are put back as they were.
 */
function stepAlong(
  f: Objective,
  b: IterateBuffers,
  fPrev: number,
  gd: number,
  noCurvature: boolean,
  maxLs: number,
  signal: AbortSignal | undefined,
): LineSearchResult {
  const { x, g, d, xPrev, gPrev } = b;
  xPrev.set(x);
  gPrev.set(g);
  // With no curvature yet, scale the first step to unit length, as L-BFGS-B does.
  const stp0 = noCurvature ? Math.min(1 / Math.sqrt(dot(d, d, x.length)), STEP_MAX) : 1;
  const ls = lineSearch(f, x, g, xPrev, d, fPrev, gd, stp0, maxLs, signal);
  if (!ls.ok) {
    x.set(xPrev);
    g.set(gPrev);
  }
  return ls;
}

/** Why to stop after an accepted step, or undefined to go on. */
function stopReason(g: Float64Array, fPrev: number, fx: number, gtol: number, ftol: number): string | undefined {
  if (infNorm(g) <= gtol) return 'projected gradient below gtol';
  if (fPrev - fx <= ftol * Math.max(Math.abs(fPrev), Math.abs(fx), 1)) return 'relative reduction of f below ftol';
  return undefined;
}

/**
 * The last m correction pairs s = x − x_prev, y = g − g_prev (a ring buffer, newest at head − 1)
 * and the inverse-Hessian approximation H they define.
 */
class CorrectionPairs {
  private readonly S: Float64Array[] = [];
  private readonly Y: Float64Array[] = [];
  private readonly rho: Float64Array;
  private readonly alpha: Float64Array;
  private head = 0; // slot for the next pair
  count = 0; // pairs stored

  constructor(
    private readonly n: number,
    private readonly m: number,
  ) {
    for (let k = 0; k < m; k++) {
      this.S.push(new Float64Array(n));
      this.Y.push(new Float64Array(n));
    }
    this.rho = new Float64Array(m);
    this.alpha = new Float64Array(m);
  }

  /** Two-loop recursion: d = −H·g with H₀ = (sᵀy / yᵀy)·I. */
  direction(g: Float64Array, d: Float64Array): void {
    const { n, m, S, Y, rho, alpha, head, count } = this;
    for (let i = 0; i < n; i++) d[i] = -g[i];
    for (let j = 0; j < count; j++) {
      const k = (head - 1 - j + m) % m;
      const a = rho[k] * dot(S[k], d, n);
      alpha[k] = a;
      axpy(-a, Y[k], d, n);
    }
    if (count > 0) {
      const k = (head - 1 + m) % m;
      const yk = Y[k];
      const gamma = 1 / (rho[k] * dot(yk, yk, n));
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let j = count - 1; j >= 0; j--) {
      const k = (head - 1 - j + m) % m;
      const b = rho[k] * dot(Y[k], d, n);
      axpy(alpha[k] - b, S[k], d, n);
    }
  }

  /** Stores the step's pair unless the curvature condition fails numerically (L-BFGS-B's test). */
  store(b: IterateBuffers, gd: number, stp: number): void {
    const { n, m } = this;
    const s = this.S[this.head];
    const yv = this.Y[this.head];
    for (let i = 0; i < n; i++) {
      s[i] = b.x[i] - b.xPrev[i];
      yv[i] = b.g[i] - b.gPrev[i];
    }
    const sy = dot(s, yv, n);
    if (sy > EPS * -gd * stp) {
      this.rho[this.head] = 1 / sy;
      this.head = (this.head + 1) % m;
      if (this.count < m) this.count++;
    }
  }

  /** Forgets every pair: the next direction is steepest descent. */
  reset(): void {
    this.head = 0;
    this.count = 0;
  }
}

interface LineSearchResult {
  ok: boolean;
  f: number;
  stp: number;
  evaluations: number;
}

/**
 * Searches φ(t) = f(x₀ + t·d) for a step meeting the strong Wolfe conditions; on success `x` and `g`
 * hold the new point and its gradient. A warning exit of More–Thuente (rounding, xtol, step bound) is
 * accepted as L-BFGS-B does; running out of evaluations is a failure.
 */
function lineSearch(
  f: Objective,
  x: Float64Array,
  g: Float64Array,
  x0: Float64Array,
  d: Float64Array,
  f0: number,
  g0: number,
  stp0: number,
  maxLs: number,
  signal: AbortSignal | undefined,
): LineSearchResult {
  const n = x.length;
  const mt = new MoreThuente(LS_FTOL, LS_GTOL, LS_XTOL, 0, STEP_MAX);
  let stp = mt.start(stp0, f0, g0);
  for (let evals = 1; evals <= maxLs; evals++) {
    throwIfAborted(signal);
    for (let i = 0; i < n; i++) x[i] = x0[i] + stp * d[i];
    const fv = f(x, g);
    if (!Number.isFinite(fv) || !allFinite(g)) {
      // Overshot into overflow: pull back toward the best step so far without consulting the model.
      stp = mt.stx + 0.25 * (stp - mt.stx);
      continue;
    }
    const dg = dot(g, d, n);
    const r = mt.step(stp, fv, dg);
    if (r.task !== Task.FG) return { ok: true, f: fv, stp, evaluations: evals };
    stp = r.stp;
  }
  return { ok: false, f: f0, stp: 0, evaluations: maxLs };
}

const enum Task {
  FG,
  Converged,
  Warning,
}

/**
 * More & Thuente's safeguarded line search (MINPACK-2 `dcsrch`/`dcstep`), transcribed from the
 * published algorithm; state is kept between calls exactly as the Fortran reverse-communication
 * interface does.
 */
class MoreThuente {
  private brackt = false;
  private stage = 1;
  private finit = 0;
  private ginit = 0;
  private gtest = 0;
  private width = 0;
  private width1 = 0;
  stx = 0;
  private fx = 0;
  private gx = 0;
  private sty = 0;
  private fy = 0;
  private gy = 0;
  private stmin = 0;
  private stmax = 0;

  constructor(
    private readonly ftol: number,
    private readonly gtol: number,
    private readonly xtol: number,
    private readonly stpmin: number,
    private readonly stpmax: number,
  ) {}

  /** Initialises with φ(0), φ'(0) < 0 and the first trial step; returns that step (clipped). */
  start(stp: number, f: number, g: number): number {
    const s = Math.min(Math.max(stp, this.stpmin), this.stpmax);
    this.brackt = false;
    this.stage = 1;
    this.finit = f;
    this.ginit = g;
    this.gtest = this.ftol * g;
    this.width = this.stpmax - this.stpmin;
    this.width1 = this.width / 0.5;
    this.stx = 0;
    this.fx = f;
    this.gx = g;
    this.sty = 0;
    this.fy = f;
    this.gy = g;
    this.stmin = 0;
    this.stmax = s + 4 * s;
    return s;
  }

  /**
   * Takes φ(stp), φ'(stp); returns either a stop (Converged/Warning) or the next step to evaluate.
   * A port of MINPACK-2 `dcsrch`, kept line-for-line comparable to the reference: not split into stages on purpose.
   */
  step(stp: number, f: number, g: number): { task: Task; stp: number } {
    const ftest = this.finit + stp * this.gtest;
    if (this.stage === 1 && f <= ftest && g >= 0) this.stage = 2;

    let task = Task.FG;
    if (this.brackt && (stp <= this.stmin || stp >= this.stmax)) task = Task.Warning;
    if (this.brackt && this.stmax - this.stmin <= this.xtol * this.stmax) task = Task.Warning;
    if (stp === this.stpmax && f <= ftest && g <= this.gtest) task = Task.Warning;
    if (stp === this.stpmin && (f > ftest || g >= this.gtest)) task = Task.Warning;
    if (f <= ftest && Math.abs(g) <= this.gtol * -this.ginit) task = Task.Converged;
    if (task !== Task.FG) return { task, stp };

    let next: number;
    if (this.stage === 1 && f <= this.fx && f > ftest) {
      // A lower value without sufficient decrease: step on the modified function ψ.
      const gt = this.gtest;
      const r = dcstep(
        this.stx, this.fx - this.stx * gt, this.gx - gt,
        this.sty, this.fy - this.sty * gt, this.gy - gt,
        stp, f - stp * gt, g - gt,
        this.brackt, this.stmin, this.stmax,
      );
      this.stx = r.stx;
      this.sty = r.sty;
      this.fx = r.fx + r.stx * gt;
      this.fy = r.fy + r.sty * gt;
      this.gx = r.dx + gt;
      this.gy = r.dy + gt;
      this.brackt = r.brackt;
      next = r.stp;
    } else {
      const r = dcstep(this.stx, this.fx, this.gx, this.sty, this.fy, this.gy, stp, f, g, this.brackt, this.stmin, this.stmax);
      this.stx = r.stx;
      this.fx = r.fx;
      this.gx = r.dx;
      this.sty = r.sty;
      this.fy = r.fy;
      this.gy = r.dy;
      this.brackt = r.brackt;
      next = r.stp;
    }

    if (this.brackt) {
      // Force sufficient shrinkage of the bracket by bisecting when it shrinks too slowly.
      if (Math.abs(this.sty - this.stx) >= 0.66 * this.width1) next = this.stx + 0.5 * (this.sty - this.stx);
      this.width1 = this.width;
      this.width = Math.abs(this.sty - this.stx);
      this.stmin = Math.min(this.stx, this.sty);
      this.stmax = Math.max(this.stx, this.sty);
    } else {
      this.stmin = next + 1.1 * (next - this.stx);
      this.stmax = next + 4 * (next - this.stx);
    }
    next = Math.min(Math.max(next, this.stpmin), this.stpmax);
    if (
      (this.brackt && (next <= this.stmin || next >= this.stmax)) ||
      (this.brackt && this.stmax - this.stmin <= this.xtol * this.stmax) ||
      !Number.isFinite(next)
    ) {
      next = this.stx;
    }
    return { task: Task.FG, stp: next };
  }
}

interface StepState {
  stx: number;
  fx: number;
  dx: number;
  sty: number;
  fy: number;
  dy: number;
  stp: number;
  brackt: boolean;
}

/**
 * MINPACK-2 `dcstep`: safeguarded cubic/quadratic trial step and bracket update.
 * A port of MINPACK's More–Thuente step, kept line-for-line comparable to the reference: not split into stages on purpose.
 */
function dcstep(
  stx: number, fx: number, dx: number,
  sty: number, fy: number, dy: number,
  stp: number, fp: number, dp: number,
  brackt: boolean, stpmin: number, stpmax: number,
): StepState {
  const sgnd = Math.sign(dp) * Math.sign(dx);
  let stpf: number;
  if (fp > fx) {
    // Higher value: the minimum is bracketed; take the cubic step, or halfway to the quadratic one.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp < stx) gamma = -gamma;
    const p = gamma - dx + theta;
    const q = gamma - dx + gamma + dp;
    const stpc = stx + (p / q) * (stp - stx);
    const stpq = stx + (dx / ((fx - fp) / (stp - stx) + dx) / 2) * (stp - stx);
    stpf = Math.abs(stpc - stx) <= Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
    brackt = true;
  } else if (sgnd < 0) {
    // Derivatives of opposite sign: bracketed; take whichever of cubic and secant steps is farther.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dx;
    const stpc = stp + (p / q) * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
    brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    // Same sign, derivative decreasing in magnitude: the cubic may not have a minimiser beyond stp.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma + (dx - dp) + gamma;
    const r = p / q;
    let stpc: number;
    if (r < 0 && gamma !== 0) stpc = stp + r * (stx - stp);
    else if (stp > stx) stpc = stpmax;
    else stpc = stpmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (brackt) {
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      if (stp > stx) stpf = Math.min(stp + 0.66 * (sty - stp), stpf);
      else stpf = Math.max(stp + 0.66 * (sty - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.min(Math.max(stpf, stpmin), stpmax);
    }
  } else if (brackt) {
    // Same sign, derivative not decreasing: cubic step toward sty.
    const theta = (3 * (fp - fy)) / (sty - stp) + dy + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dy), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s));
    if (stp > sty) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dy;
    stpf = stp + (p / q) * (sty - stp);
  } else {
    stpf = stp > stx ? stpmax : stpmin;
  }

  if (fp > fx) {
    sty = stp;
    fy = fp;
    dy = dp;
  } else {
    if (sgnd < 0) {
      sty = stx;
      fy = fx;
      dy = dx;
    }
    stx = stp;
    fx = fp;
    dx = dp;
  }
  return { stx, fx, dx, sty, fy, dy, stp: stpf, brackt };
}

function dot(a: Float64Array, b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

function axpy(a: number, xv: Float64Array, y: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) y[i] += a * xv[i];
}

function infNorm(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > m) m = a;
  }
  return m;
}

function allFinite(v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}
