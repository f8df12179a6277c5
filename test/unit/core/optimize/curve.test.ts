import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BadInputError } from '../../../../src/core/errors';
import { curveBand, evalCurve, fitSaturating, recommendBudget } from '../../../../src/core/optimize/curve';

const near = (got: number, want: number, rel: number, what: string) =>
  assert.ok(Math.abs(got - want) <= rel * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);

test('fitSaturating recovers known parameters from noiseless data (block counts)', () => {
  const n = Array.from({ length: 12 }, (_, i) => i + 1);
  const p = n.map((x) => 0.9 - 0.5 * Math.pow(x, -0.73));
  const fit = fitSaturating(n, p);
  near(fit.pInf, 0.9, 1e-6, 'pInf');
  near(fit.a, 0.5, 1e-6, 'a');
  near(fit.alpha, 0.73, 1e-6, 'alpha');
  assert.ok(fit.rss < 1e-14);
});

test('fitSaturating recovers known parameters at parameter-count scale', () => {
  const n = Array.from({ length: 10 }, (_, i) => (i + 1) * 1e6);
  const p = n.map((x) => 0.85 - 200 * Math.pow(x, -0.537));
  const fit = fitSaturating(n, p);
  near(fit.pInf, 0.85, 1e-6, 'pInf');
  assert.ok(Math.abs(fit.a - 200) / 200 < 1e-4, `a = ${fit.a}`);
  near(fit.alpha, 0.537, 1e-6, 'alpha');
  for (const x of n) near(evalCurve(fit, x), 0.85 - 200 * Math.pow(x, -0.537), 1e-9, `P(${x})`);
});

test('fitSaturating keeps a ≥ 0 and rejects bad input', () => {
  const fit = fitSaturating([1, 2, 3, 4], [0.9, 0.8, 0.7, 0.6]);
  assert.equal(fit.a, 0);
  near(fit.pInf, 0.75, 1e-12, 'flat fit is the mean');
  assert.throws(() => fitSaturating([1, 2], [0.5]), BadInputError);
  assert.throws(() => fitSaturating([0, 2], [0.5, 0.6]), BadInputError);
  assert.throws(() => fitSaturating([], []), BadInputError);
});

const points = Array.from({ length: 12 }, (_, i) => ({ n: i + 1, p: 0.9 - 0.5 * Math.pow(i + 1, -0.73) }));

test('recommendBudget finds the smallest whole n reaching target × reference', () => {
  const r = recommendBudget(points, 0.95, 0.9, { nMin: 1, nMax: 100, seed: 1 });
  const nStar = Math.pow(0.5 / (0.9 - 0.95 * 0.9), 1 / 0.73);
  assert.equal(r.n, Math.ceil(nStar));
  assert.ok(evalCurve(r.fit, r.n!) >= 0.95 * 0.9);
  assert.ok(evalCurve(r.fit, r.n! - 1) < 0.95 * 0.9);
  assert.ok(r.interval);
  const [lo, hi] = r.interval!;
  assert.ok(1 <= lo && lo <= hi && hi <= 100, `interval ${lo}..${hi}`);
  assert.ok(lo <= r.n! && r.n! <= hi, `noiseless data: ${r.n} inside ${lo}..${hi}`);
  assert.deepEqual(recommendBudget(points, 0.95, 0.9, { nMin: 1, nMax: 100, seed: 1 }), r, 'seeded');
  assert.equal(recommendBudget(points, 0.5, 0.9, { nMin: 3, nMax: 100 }).n, 3, 'already reached at nMin');
});

test('recommendBudget returns null when the target is unreachable', () => {
  const above = recommendBudget(points, 1.0, 0.95, { nMin: 1, nMax: 1e9 });
  assert.equal(above.n, null, 'P∞ = 0.9 < 0.95');
  assert.equal(above.interval, null);
  const tooFar = recommendBudget(points, 0.95, 0.9, { nMin: 1, nMax: 20 });
  assert.equal(tooFar.n, null, 'the crossing (≈ 27) is beyond nMax');
  assert.throws(() => recommendBudget(points, 0.95, 0.9, { nMin: 10, nMax: 5 }), BadInputError);
});

test('curveBand brackets the fit on noisy data, collapses on exact data, and rejects B < 1', () => {
  const n = Array.from({ length: 14 }, (_, i) => (i + 1) * 1e6);
  const exactP = n.map((x) => 0.9 - 2 * Math.pow(x, -0.1));
  const exactBand = curveBand(n.map((x, i) => ({ n: x, p: exactP[i] })), [2e6, 8e6], { bootstrap: 50 });
  exactBand.lo.forEach((lo, i) => near(lo, exactBand.hi[i], 1e-6, `exact band width at ${i}`));
  const noisy = n.map((x, i) => ({ n: x, p: exactP[i] + (i % 2 ? 0.02 : -0.02) }));
  const grid = [1e6, 5e6, 14e6];
  const band = curveBand(noisy, grid, { bootstrap: 100, seed: 3 });
  const fit = fitSaturating(noisy.map((q) => q.n), noisy.map((q) => q.p));
  grid.forEach((g, i) => {
    assert.ok(band.lo[i] < band.hi[i], `band at ${g} has width`);
    assert.ok(band.lo[i] <= evalCurve(fit, g) + 1e-9 && evalCurve(fit, g) <= band.hi[i] + 1e-9, `fit inside the band at ${g}`);
  });
  assert.deepEqual(curveBand(noisy, grid, { bootstrap: 100, seed: 3 }), band);
  assert.throws(() => curveBand(noisy, grid, { bootstrap: 0 }), BadInputError);
});
