import { BadInputError } from '../errors';
import { Rng } from '../util/rng';

/** Fitted saturating curve P(n) = pInf − a·n^(−alpha), with its residual sum of squares. */
export interface CurveFit {
  pInf: number;
  a: number;
  alpha: number;
  rss: number;
}

const ALPHA_MAX = 5;
const GRID = 250;

/** P(n) under a fit. */
export function evalCurve(fit: CurveFit, n: number): number {
  return fit.pInf - fit.a * Math.pow(n, -fit.alpha);
}

/**
 * Least-squares fit of P(n) = P∞ − a·n^(−α) with a ≥ 0 and α ∈ (0, 5]. For fixed α the model is linear in
 * (P∞, a), solved in closed form (a clamped to 0 when the data do not rise); α is found by a grid over (0, 5]
 * refined by golden-section search around the best grid point, which copes with the flat and multi-modal RSS
 * that a handful of Pareto points give. n must be positive (parameters, or kept blocks + 1).
 */
export function fitSaturating(n: number[], p: number[]): CurveFit {
  if (n.length !== p.length) throw new BadInputError(`curve fit got ${n.length} sizes but ${p.length} scores`);
  if (n.length === 0) throw new BadInputError('curve fit needs at least one point');
  for (let i = 0; i < n.length; i++) {
    if (!(Number.isFinite(n[i]) && n[i] > 0)) throw new BadInputError(`curve fit size ${n[i]} must be a positive number`);
    if (!Number.isFinite(p[i])) throw new BadInputError(`curve fit score ${p[i]} must be a finite number`);
  }
  // Working with n / max(n) keeps n^(−α) near 1 for parameter counts in the millions; a is scaled back at the end.
  const nRef = Math.max(...n);
  const u = n.map((x) => x / nRef);
  const at = (alpha: number) => solveLinear(u, p, alpha);
  let bestI = 1;
  let best = at(ALPHA_MAX / GRID);
  for (let i = 2; i <= GRID; i++) {
    const f = at((ALPHA_MAX * i) / GRID);
    if (f.rss < best.rss) {
      best = f;
      bestI = i;
    }
  }
  let lo = (ALPHA_MAX * (bestI - 1)) / GRID;
  let hi = (ALPHA_MAX * Math.min(bestI + 1, GRID)) / GRID;
  if (lo === 0) lo = 1e-9;
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = at(x1);
  let f2 = at(x2);
  for (let it = 0; it < 200 && hi - lo > 1e-12; it++) {
    if (f1.rss <= f2.rss) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = at(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = at(x2);
    }
  }
  for (const f of [f1, f2]) if (f.rss < best.rss) best = f;
  return { pInf: best.pInf, a: best.a * Math.pow(nRef, best.alpha), alpha: best.alpha, rss: best.rss };
}

function solveLinear(u: number[], p: number[], alpha: number): CurveFit {
  const m = u.length;
  const x = u.map((v) => Math.pow(v, -alpha));
  let mx = 0;
  let mp = 0;
  for (let i = 0; i < m; i++) {
    mx += x[i] / m;
    mp += p[i] / m;
  }
  let sxx = 0;
  let sxp = 0;
  for (let i = 0; i < m; i++) {
    sxx += (x[i] - mx) ** 2;
    sxp += (x[i] - mx) * (p[i] - mp);
  }
  const a = sxx > 1e-300 ? Math.max(0, -sxp / sxx) : 0;
  const pInf = mp + a * mx;
  let rss = 0;
  for (let i = 0; i < m; i++) rss += (p[i] - (pInf - a * x[i])) ** 2;
  return { pInf, a, alpha, rss };
}

/**
 * Smallest n in [nMin, nMax] whose fitted P(n) reaches target·reference, rounded up to a whole count
 * (null when the fit stays below it up to nMax).
 */
function smallestReaching(fit: CurveFit, threshold: number, nMin: number, nMax: number): number | null {
  if (evalCurve(fit, nMin) >= threshold) return nMin;
  if (evalCurve(fit, nMax) < threshold) return null;
  // P is increasing here (a > 0, else P(nMin) = P(nMax)), so the crossing is unique.
  const nStar = Math.pow(fit.a / (fit.pInf - threshold), 1 / fit.alpha);
  let r = Math.max(nMin, Math.ceil(nStar));
  if (r - 1 >= nMin && evalCurve(fit, r - 1) >= threshold) r -= 1;
  if (evalCurve(fit, r) < threshold) r += 1;
  return Math.min(r, nMax);
}

/**
 * Budget advice: fits the saturating curve to measured (n, score) points and returns the smallest n in
 * [nMin, nMax] (rounded up to a whole count) whose predicted score reaches `target`·`reference`, or null.
 * `interval` is the 5–95 % percentile interval (nearest rank) of that n over `bootstrap` resamples of the points
 * with replacement (seeded); a resample whose curve never reaches the target counts as beyond nMax, and a bound
 * beyond nMax is reported as nMax. null when n is null or `bootstrap` is 0.
 */
export function recommendBudget(
  points: { n: number; p: number }[],
  target: number,
  reference: number,
  opts: { bootstrap?: number; seed?: number; nMin: number; nMax: number },
): { n: number | null; interval: [number, number] | null; fit: CurveFit } {
  if (!(target > 0)) throw new BadInputError(`target retention ${target} must be > 0`);
  if (!Number.isFinite(reference)) throw new BadInputError(`reference score ${reference} must be a finite number`);
  const { nMin, nMax } = opts;
  if (!(nMin > 0 && nMax >= nMin && Number.isFinite(nMax))) throw new BadInputError(`budget range [${nMin}, ${nMax}] must satisfy 0 < nMin ≤ nMax`);
  const B = opts.bootstrap ?? 200;
  if (!Number.isInteger(B) || B < 0) throw new BadInputError(`bootstrap count ${B} must be an integer ≥ 0`);
  const threshold = target * reference;
  const fit = fitSaturating(
    points.map((q) => q.n),
    points.map((q) => q.p),
  );
  const n = smallestReaching(fit, threshold, nMin, nMax);
  if (n === null || B === 0) return { n, interval: null, fit };
  const rng = new Rng(opts.seed ?? 0);
  const draws: number[] = [];
  for (let b = 0; b < B; b++) {
    const sample = points.map(() => points[rng.int(points.length)]);
    const f = fitSaturating(
      sample.map((q) => q.n),
      sample.map((q) => q.p),
    );
    draws.push(smallestReaching(f, threshold, nMin, nMax) ?? Infinity);
  }
  draws.sort((x, y) => x - y);
  const rank = (q: number) => Math.min(nMax, draws[Math.min(B - 1, Math.max(0, Math.ceil(q * B) - 1))]);
  return { n, interval: [rank(0.05), rank(0.95)], fit };
}

/**
 * The 5–95 % bootstrap band of the fitted curve at each size in `nGrid`: the points are resampled
 * with replacement `bootstrap` times (seeded), refitted, and each grid size's predictions ranked
 * (nearest rank). What the report's trade-off chart shades around the fitted curve.
 */
export function curveBand(points: { n: number; p: number }[], nGrid: number[], opts: { bootstrap?: number; seed?: number } = {}): { lo: number[]; hi: number[] } {
  const B = opts.bootstrap ?? 200;
  if (!Number.isInteger(B) || B < 1) throw new BadInputError(`bootstrap count ${B} must be an integer ≥ 1`);
  if (points.length === 0) throw new BadInputError('curve band needs at least one point');
  const rng = new Rng(opts.seed ?? 0);
  const preds = nGrid.map(() => new Array<number>(B));
  for (let b = 0; b < B; b++) {
    const sample = points.map(() => points[rng.int(points.length)]);
    const f = fitSaturating(
      sample.map((q) => q.n),
      sample.map((q) => q.p),
    );
    nGrid.forEach((n, i) => (preds[i][b] = evalCurve(f, n)));
  }
  const rank = (xs: number[], q: number) => xs[Math.min(B - 1, Math.max(0, Math.ceil(q * B) - 1))];
  const sorted = preds.map((xs) => xs.sort((x, y) => x - y));
  return { lo: sorted.map((xs) => rank(xs, 0.05)), hi: sorted.map((xs) => rank(xs, 0.95)) };
}
