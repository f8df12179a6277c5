import { test } from 'node:test';
import assert from 'node:assert/strict';
import { minimize, type Objective } from '../../../../src/core/probe/lbfgs';
import { BadInputError, CancelledError } from '../../../../src/core/errors';
import { rosenbrock, shiftedQuadratic } from './objectives';

test('L-BFGS solves 2-D Rosenbrock from the classic start (-1.2, 1)', () => {
  const r = minimize(rosenbrock, Float64Array.from([-1.2, 1]), { gtol: 1e-8, ftol: 0 });
  assert.ok(r.converged, r.message);
  assert.ok(Math.abs(r.x[0] - 1) < 1e-6 && Math.abs(r.x[1] - 1) < 1e-6, `x = ${Array.from(r.x)}`);
  assert.ok(r.f < 1e-12, `f = ${r.f}`);
  // Rosenbrock takes scipy's L-BFGS-B about 35 iterations; a broken line search or update takes hundreds.
  assert.ok(r.iterations < 100, `iterations = ${r.iterations}`);
});

test('L-BFGS solves 20-D Rosenbrock with default tolerances', () => {
  const x0 = new Float64Array(20).map((_, i) => (i % 2 === 0 ? -1.2 : 1));
  const r = minimize(rosenbrock, x0);
  assert.ok(r.converged, r.message);
  for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-3, `x = ${Array.from(r.x)}`);
  assert.equal(x0[0], -1.2, 'x0 must not be modified');
});

test('L-BFGS minimises an ill-conditioned quadratic to the exact solution', () => {
  // f = ½ Σ d_i (x_i − i)², condition number 1e4.
  const n = 50;
  const f = shiftedQuadratic(n, 1e4);
  const r = minimize(f, new Float64Array(n), { gtol: 1e-7, ftol: 0 });
  assert.ok(r.converged, r.message);
  // |g_i| = d_i·|x_i − i| ≤ gtol with every d_i ≥ 1.
  for (let i = 0; i < n; i++) assert.ok(Math.abs(r.x[i] - i) <= 1e-7, `x[${i}] = ${r.x[i]}`);
});

test('L-BFGS stops at maxIter and reports not converged', () => {
  const r = minimize(rosenbrock, Float64Array.from([-1.2, 1]), { maxIter: 3 });
  assert.equal(r.iterations, 3);
  assert.equal(r.converged, false);
});

test('L-BFGS returns at once when the start is already stationary', () => {
  const r = minimize(rosenbrock, Float64Array.from([1, 1]));
  assert.equal(r.iterations, 0);
  assert.ok(r.converged);
  assert.equal(r.evaluations, 1);
});

test('L-BFGS is deterministic', () => {
  const a = minimize(rosenbrock, Float64Array.from([-1.2, 1, 0.5, -0.3]));
  const b = minimize(rosenbrock, Float64Array.from([-1.2, 1, 0.5, -0.3]));
  assert.deepEqual(Array.from(a.x), Array.from(b.x));
  assert.equal(a.f, b.f);
  assert.equal(a.evaluations, b.evaluations);
});

test('L-BFGS throws CancelledError when the signal fires, before or during the run', () => {
  const before = new AbortController();
  before.abort();
  assert.throws(() => minimize(rosenbrock, Float64Array.from([-1.2, 1]), { signal: before.signal }), CancelledError);

  const during = new AbortController();
  let calls = 0;
  const f: Objective = (x, g) => {
    if (++calls === 5) during.abort();
    return rosenbrock(x, g);
  };
  assert.throws(() => minimize(f, Float64Array.from([-1.2, 1]), { signal: during.signal }), CancelledError);
  assert.ok(calls <= 6, `objective called ${calls} times after abort`);
});

test('L-BFGS rejects bad options and a non-finite start', () => {
  const x0 = Float64Array.from([0, 0]);
  assert.throws(() => minimize(rosenbrock, x0, { m: 0 }), BadInputError);
  assert.throws(() => minimize(rosenbrock, x0, { maxIter: -1 }), BadInputError);
  assert.throws(() => minimize(() => NaN, x0), BadInputError);
});

test('L-BFGS backs off from trial steps where the objective is not finite', () => {
  // 10(x − 0.5)² − log(1 − x²) is NaN outside (−1, 1); from 0 the first unit-length step lands on x = 1.
  let nonFinite = 0;
  const grad = new Float64Array(1);
  const f: Objective = (x, g) => {
    const u = 1 - x[0] * x[0];
    g[0] = 20 * (x[0] - 0.5) + (2 * x[0]) / u;
    const v = 10 * (x[0] - 0.5) ** 2 - Math.log(u);
    if (!Number.isFinite(v)) nonFinite++;
    return v;
  };
  const r = minimize(f, Float64Array.from([0]), { gtol: 1e-9 });
  assert.ok(nonFinite >= 1, 'the test should exercise a non-finite trial step');
  assert.ok(r.converged, r.message);
  f(r.x, grad);
  assert.ok(Math.abs(grad[0]) < 1e-6, `gradient ${grad[0]} at x = ${r.x[0]}`);
});
