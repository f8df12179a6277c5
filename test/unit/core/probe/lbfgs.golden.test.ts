import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { minimize, type MinimizeOptions, type MinimizeResult, type Objective } from '../../../../src/core/probe/lbfgs';
import { BadInputError, CancelledError } from '../../../../src/core/errors';
import { Rng } from '../../../../src/core/util/rng';
import { rosenbrock, shiftedQuadratic } from './objectives';

// minimize's results pinned bit for bit when it was split into stages (twelfth session): x as the
// SHA-256 of its bytes (first 16 hex digits), f as the hex of its IEEE-754 bits, and the counts.

/** Mean logistic loss plus a small ridge on 60 seeded rows × 4 features (weights then bias). */
function logistic(): Objective {
  const r = new Rng(7);
  const n = 60;
  const dim = 4;
  const X = Float64Array.from({ length: n * dim }, () => r.next() * 4 - 2);
  const y = Float64Array.from({ length: n }, (_, i) => (X[i * dim] - X[i * dim + 1] + (r.next() - 0.5) > 0 ? 1 : 0));
  return (p, g) => {
    g.fill(0);
    let f = 0;
    for (let i = 0; i < n; i++) {
      let z = p[dim];
      for (let j = 0; j < dim; j++) z += p[j] * X[i * dim + j];
      f += Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0) - y[i] * z;
      const res = 1 / (1 + Math.exp(-z)) - y[i];
      for (let j = 0; j < dim; j++) g[j] += res * X[i * dim + j] / n;
      g[dim] += res / n;
    }
    f /= n;
    for (let j = 0; j < dim; j++) {
      f += 0.5e-3 * p[j] * p[j];
      g[j] += 1e-3 * p[j];
    }
    return f;
  };
}

/** Σ e^{x_i} − (i+1)·x_i: overflows on long trial steps from far away. */
const exponential: Objective = (x, g) => {
  let f = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.exp(x[i]);
    f += e - (i + 1) * x[i];
    g[i] = e - (i + 1);
  }
  return f;
};

/** A quadratic near 0 whose gradient products underflow: d = −H·g stops being a descent direction. */
const tiny: Objective = (x, g) => {
  g[0] = x[0];
  g[1] = 10 * x[1];
  g[2] = 3 * x[2];
  return 0.5 * (x[0] * x[0] + 10 * x[1] * x[1] + 3 * x[2] * x[2]);
};

function hex(v: number): string {
  return Buffer.from(Float64Array.of(v).buffer).toString('hex');
}

function summary(r: MinimizeResult): string {
  const xs = createHash('sha256').update(Buffer.from(r.x.buffer, r.x.byteOffset, r.x.byteLength)).digest('hex').slice(0, 16);
  return `x ${xs} f ${hex(r.f)} it ${r.iterations} ev ${r.evaluations} ${r.converged ? 'converged' : 'not converged'}: ${r.message}`;
}

const cases: [string, Objective, Float64Array, MinimizeOptions][] = [
  ['rosenbrock 2', rosenbrock, Float64Array.from([-1.2, 1]), { gtol: 1e-8, ftol: 0 }],
  ['rosenbrock 10', rosenbrock, new Float64Array(10).map((_, i) => (i % 2 === 0 ? -1.2 : 1)), {}],
  ['rosenbrock 6, m 3', rosenbrock, new Float64Array(6).map((_, i) => (i % 3) - 1.5), { m: 3, gtol: 1e-10, ftol: 0 }],
  ['quadratic 30', shiftedQuadratic(30, 1e6), new Float64Array(30), { gtol: 1e-7, ftol: 0 }],
  ['logistic', logistic(), new Float64Array(5), { gtol: 1e-9, ftol: 1e-15, maxLineSearch: 50 }],
  ['maxIter 3', rosenbrock, Float64Array.from([-1.2, 1]), { maxIter: 3 }],
  ['maxIter 0', rosenbrock, Float64Array.from([-1.2, 1]), { maxIter: 0 }],
  ['short line searches', rosenbrock, new Float64Array(8).map((_, i) => (i % 2 === 0 ? -1.2 : 1)), { maxLineSearch: 2 }],
  ['one-step line searches', rosenbrock, Float64Array.from([-1.2, 1]), { maxLineSearch: 1, gtol: 1e-8, ftol: 0 }],
  // A failed line search with pairs stored restarts from steepest descent (then converges, or fails again).
  ['line-search restart', rosenbrock, Float64Array.from([-1.2, 1]), { maxLineSearch: 2, gtol: 1e-8, ftol: 0 }],
  ['line-search restart, then failure', rosenbrock, Float64Array.from([-1.2, 1, -1.2, 1]), { maxLineSearch: 1, gtol: 1e-8, ftol: 0 }],
  // Not a descent direction with pairs stored: restarts (many of them, here).
  ['descent restarts', tiny, Float64Array.from([1e-158, 1e-158, -1e-158]), { gtol: 0, ftol: 0 }],
  ['overflowing steps', exponential, Float64Array.from([-30, -20, -10]), { gtol: 1e-9 }],
  ['stationary start', rosenbrock, Float64Array.from([1, 1]), {}],
];

const expected: Record<string, string> = {
  'rosenbrock 2':
    'x d81826d896ea0dda f 000034f7d4f8763b it 38 ev 46 converged: projected gradient below gtol',
  'rosenbrock 10':
    'x fa5e6d6b0483be99 f 54579ff831f8a63d it 71 ev 88 converged: relative reduction of f below ftol',
  'rosenbrock 6, m 3':
    'x 6566405c030588b6 f 00008057a20c393b it 94 ev 116 converged: projected gradient below gtol',
  'quadratic 30':
    'x 4cef4aca506b8b12 f abf06d7b95dad03f it 1000 ev 1071 not converged: iteration limit reached',
  'logistic':
    'x 23b4962f80cf96ea f bc289702ffbcb13f it 18 ev 19 converged: projected gradient below gtol',
  'maxIter 3':
    'x 73517865794a3e52 f 069f79d5687b1040 it 3 ev 5 not converged: iteration limit reached',
  'maxIter 0':
    'x 44bd4e4bac186dcf f 3233333333333840 it 0 ev 1 not converged: iteration limit reached',
  'short line searches':
    'x 344f11a8e38b08af f aabcf0a1807d833d it 62 ev 78 converged: relative reduction of f below ftol',
  'one-step line searches':
    'x 44bd4e4bac186dcf f 3233333333333840 it 0 ev 2 not converged: line search failed',
  'line-search restart':
    'x dedd469b2802098b f 00008056c7a0213b it 40 ev 51 converged: projected gradient below gtol',
  'line-search restart, then failure':
    'x 95ec0cea0556853a f 04522c24f98ffd3f it 16 ev 19 not converged: line search failed',
  'descent restarts':
    'x 5fbb66714856194c f 0000000000000000 it 30 ev 61 converged: relative reduction of f below ftol',
  'overflowing steps':
    'x 7f479440d8ccf23f f ebc3fe90fd15f53f it 17 ev 38 converged: relative reduction of f below ftol',
  'stationary start':
    'x 5f07eef034c5a21f f 0000000000000000 it 0 ev 1 converged: projected gradient below gtol',
};

test('minimize gives bit-identical results to before on fixed objectives', () => {
  const got: Record<string, string> = {};
  for (const [name, f, x0, opts] of cases) got[name] = summary(minimize(f, x0, opts));
  if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, expected);
});

test('minimize keeps its option and start-point messages word for word', () => {
  const x0 = Float64Array.from([0, 0]);
  const messages: string[] = [];
  const bad: [Objective, MinimizeOptions][] = [
    [rosenbrock, { maxIter: -1 }],
    [rosenbrock, { maxIter: 1.5 }],
    [rosenbrock, { gtol: -1 }],
    [rosenbrock, { gtol: NaN }],
    [rosenbrock, { ftol: -1e-9 }],
    [rosenbrock, { m: 0 }],
    [rosenbrock, { maxLineSearch: 0 }],
    [() => NaN, {}],
    [(_x, g) => ((g[0] = Infinity), 1), {}],
  ];
  for (const [f, opts] of bad) {
    assert.throws(() => minimize(f, x0, opts), (e: Error) => (messages.push(e.message), e instanceof BadInputError));
  }
  assert.deepEqual(messages, [
    'maxIter must be a non-negative integer, got -1',
    'maxIter must be a non-negative integer, got 1.5',
    'gtol must be >= 0, got -1',
    'gtol must be >= 0, got NaN',
    'ftol must be >= 0, got -1e-9',
    'm (history size) must be a positive integer, got 0',
    'maxLineSearch must be a positive integer, got 0',
    'the objective or its gradient is not finite at the starting point',
    'the objective or its gradient is not finite at the starting point',
  ]);
});

test('minimize checks the abort signal before every evaluation', () => {
  // Aborting during evaluation k must stop the run before evaluation k + 1, wherever k falls.
  for (const k of [1, 2, 3, 5, 8, 13, 21, 34]) {
    const ac = new AbortController();
    let calls = 0;
    const f: Objective = (x, g) => {
      if (++calls === k) ac.abort();
      return rosenbrock(x, g);
    };
    assert.throws(() => minimize(f, Float64Array.from([-1.2, 1, 0.5]), { signal: ac.signal }), CancelledError);
    assert.equal(calls, k);
  }
});
