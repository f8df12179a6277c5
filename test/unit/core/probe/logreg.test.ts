import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  ABSENT_CLASS_BIAS,
  decision,
  fitLogReg,
  logRegObjective,
  predict,
  type LogRegModel,
  type LogRegOptions,
} from '../../../../src/core/probe/logreg';
import { BadInputError, CancelledError } from '../../../../src/core/errors';
import { Rng } from '../../../../src/core/util/rng';

function gauss(r: Rng): number {
  let u = 0;
  while (u === 0) u = r.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
}

/** Gaussian blobs: class k centred at sep·μ_k (μ_k standard normal), unit noise. */
function blobs(n: number, dim: number, k: number, sep: number, seed: number): { X: Float32Array; y: Int32Array } {
  const r = new Rng(seed);
  const mu = Array.from({ length: k }, () => Float64Array.from({ length: dim }, () => gauss(r) * sep));
  const X = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < dim; j++) X[i * dim + j] = mu[y[i]][j] + gauss(r);
  }
  return { X, y };
}

function trainAccuracy(m: LogRegModel, X: Float32Array, y: Int32Array): number {
  const p = predict(m, X, y.length);
  let hit = 0;
  for (let i = 0; i < y.length; i++) if (p[i] === y[i]) hit++;
  return hit / y.length;
}

/** Class-k logits computed naively (independent of the engine's kernels). */
function logits(m: LogRegModel, X: Float32Array, i: number): number[] {
  const { dim, numClasses: K } = m;
  const rows = K === 2 ? 1 : K;
  const z: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = m.bias[r];
    for (let j = 0; j < dim; j++) s += X[i * dim + j] * m.weights[r * dim + j];
    z.push(s);
  }
  return z;
}

/**
 * Largest |component| of the gradient of the unscaled objective C·Σ logloss + ½‖W‖², divided by C·n
 * so that it is comparable with `tol`.
 */
function kktResidual(m: LogRegModel, X: Float32Array, y: Int32Array, c: number): number {
  const { dim, numClasses: K } = m;
  const n = y.length;
  const rows = K === 2 ? 1 : K;
  const gW = new Float64Array(rows * dim);
  const gb = new Float64Array(rows);
  for (let i = 0; i < n; i++) {
    const z = logits(m, X, i);
    let res: number[];
    if (K === 2) {
      res = [1 / (1 + Math.exp(-z[0])) - (y[i] === 1 ? 1 : 0)];
    } else {
      const mx = Math.max(...z);
      const e = z.map((v) => Math.exp(v - mx));
      const s = e.reduce((a, b) => a + b, 0);
      res = e.map((v, k) => v / s - (k === y[i] ? 1 : 0));
    }
    for (let r = 0; r < rows; r++) {
      gb[r] += c * res[r];
      for (let j = 0; j < dim; j++) gW[r * dim + j] += c * res[r] * X[i * dim + j];
    }
  }
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    worst = Math.max(worst, Math.abs(gb[r]));
    for (let j = 0; j < dim; j++) worst = Math.max(worst, Math.abs(gW[r * dim + j] + m.weights[r * dim + j]));
  }
  return worst / (c * n);
}

function gradientCheck(numClasses: number): void {
  const dim = 5;
  const { X, y } = blobs(40, dim, numClasses, 1, 11);
  const { size, objective } = logRegObjective(X, y, dim, numClasses, 0.3);
  assert.equal(size, numClasses === 2 ? dim + 1 : numClasses * (dim + 1));
  const r = new Rng(5);
  const p = Float64Array.from({ length: size }, () => gauss(r) * 0.5);
  const g = new Float64Array(size);
  objective(p, g);
  const scratch = new Float64Array(size);
  const h = 1e-6;
  for (let i = 0; i < size; i++) {
    const q = Float64Array.from(p);
    q[i] = p[i] + h;
    const fp = objective(q, scratch);
    q[i] = p[i] - h;
    const fm = objective(q, scratch);
    const fd = (fp - fm) / (2 * h);
    assert.ok(Math.abs(fd - g[i]) <= 1e-7 + 1e-6 * Math.abs(fd), `param ${i}: analytic ${g[i]} vs finite difference ${fd}`);
  }
}

test('binary loss gradient matches central finite differences', () => gradientCheck(2));
test('multinomial loss gradient matches central finite differences', () => gradientCheck(4));

test('objective equals the mean log-loss plus ‖W‖²/(2Cn), computed by hand', () => {
  const X = Float32Array.from([1, 2, -1, 0.5, 0, -2]);
  const y = Int32Array.from([0, 1, 2]);
  const c = 0.5;
  const { objective } = logRegObjective(X, y, 2, 3, c);
  const p = Float64Array.from([0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.01, 0.02, -0.03]);
  let loss = 0;
  for (let i = 0; i < 3; i++) {
    const z = [0, 1, 2].map((k) => p[k * 2] * X[i * 2] + p[k * 2 + 1] * X[i * 2 + 1] + p[6 + k]);
    loss += Math.log(z.reduce((a, v) => a + Math.exp(v), 0)) - z[y[i]];
  }
  let sq = 0;
  for (let k = 0; k < 6; k++) sq += p[k] * p[k];
  const expected = loss / 3 + sq / (2 * c * 3);
  assert.ok(Math.abs(objective(p, new Float64Array(9)) - expected) < 1e-14);
});

test('loss stays finite when the true class has vanishing probability', () => {
  const dim = 3;
  const { X, y } = blobs(30, dim, 3, 1, 15);
  for (const K of [2, 3]) {
    const yk = K === 2 ? y.map((v) => v % 2) : y;
    const { size, objective } = logRegObjective(X, yk, dim, K, 1);
    // Logits of order ±1e4: exp() of the gaps under- and overflows.
    const p = Float64Array.from({ length: size }, (_, i) => (i % 2 ? 1e4 : -1e4));
    const g = new Float64Array(size);
    const f = objective(p, g);
    assert.ok(Number.isFinite(f) && f > 100, `K=${K}: f = ${f}`);
    assert.ok(g.every(Number.isFinite), `K=${K}: gradient not finite`);
  }
});

test('binary fit satisfies C·Xᵀ(p − y) + w = 0 and Σ(p − y) = 0 at the optimum', () => {
  const dim = 8;
  const { X, y } = blobs(300, dim, 2, 0.4, 3);
  for (const c of [0.01, 1, 100]) {
    const m = fitLogReg(X, y, dim, 2, { c, tol: 1e-10 });
    assert.ok(m.converged);
    assert.equal(m.weights.length, dim);
    assert.equal(m.bias.length, 1);
    // Relative-decrease stopping (ftol = 64·eps, as scikit-learn) ends the run near 1e-8; a wrong gradient gives ≫ 1e-3.
    const r = kktResidual(m, X, y, c);
    assert.ok(r < 1e-6, `C=${c}: KKT residual ${r}`);
  }
});

test('multinomial fit satisfies the KKT conditions, and the weights sum to zero over classes', () => {
  const dim = 6;
  const K = 5;
  const { X, y } = blobs(400, dim, K, 0.5, 4);
  const c = 2;
  const m = fitLogReg(X, y, dim, K, { c, tol: 1e-10 });
  assert.ok(m.converged);
  assert.equal(m.weights.length, K * dim);
  const r = kktResidual(m, X, y, c);
  assert.ok(r < 1e-6, `KKT residual ${r}`);
  // Summing the stationarity conditions over k gives Σ_k w_k = 0 (the penalty picks the symmetric solution).
  for (let j = 0; j < dim; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += m.weights[k * dim + j];
    assert.ok(Math.abs(s) < 1e-6, `feature ${j}: Σ_k w = ${s}`);
  }
});

test('fits reach the exact optimum (Newton reference) on small fixed data', () => {
  // References: Newton's method to machine precision on the float32-rounded data, from
  // scripts/ref/logreg_crosscheck.py. scikit-learn 1.2.1 (lbfgs, tol=1e-12) lands within 3e-6 / 1.5e-5 of them.
  const Xb = Float32Array.from([
    0.07, 1.91, -0.86, -1.64, 0.13, -0.56, 0.13, -0.82, -0.31, -0.06, -2.07, -1.54, -2.28, -1.25, -2.48, -1.17, -1.98,
    -0.67, 0.19, 0.07, -3.29, -1.54, -0.51, -0.86, -1.83, -0.27, -1.45, -1.86, 0.82, -1.96, -0.04, 1.36, -0.97, -1.02,
    -0.32, -0.92, -1.47, 0.39, 1.36, -2.75, 0.58, -0.85, -0.77, 2.7, 0.64, -2.33, -0.37, -0.3,
  ]);
  const yb = Int32Array.from({ length: 16 }, (_, i) => i % 2);
  const mb = fitLogReg(Xb, yb, 3, 2, { c: 0.7, tol: 1e-12 });
  const wb = [-0.6390115375343367, -0.550500130544293, 0.06519615125637587];
  wb.forEach((w, j) => assert.ok(Math.abs(mb.weights[j] - w) < 1e-6, `w[${j}] = ${mb.weights[j]}, reference ${w}`));
  assert.ok(Math.abs(mb.bias[0] - -0.6995742978601747) < 1e-6, `b = ${mb.bias[0]}`);

  const Xm = Float32Array.from([
    -1.61, -0.01, -0.3, 1.75, 2.81, -2.26, -0.75, 0.31, -2.26, -0.74, 0.57, 1.44, 1.49, 1.05, -1.12, -0.1, 1.36, -0.39,
    -0.55, 1.11, -0.21, 0.43, 0.1, -0.69, -0.33, 0.94, 0.91, -0.22, 1.48, -0.47, 1.93, 1.43, 0.02, -1.35, -0.05, -1.9,
    -2.63, 0.32, -1.15, 0.86, 4.13, -1.67, -0.55, -0.22, 0.72, -0.4, 0.44, 0.78, 1.29, 0.2, -0.77, 0.25, -1.73, 0.44,
  ]);
  const ym = Int32Array.from({ length: 18 }, (_, i) => i % 3);
  const mm = fitLogReg(Xm, ym, 3, 3, { c: 2, tol: 1e-12 });
  const wm = [
    -1.5475627688522307, 0.5271494717952445, 0.6306361758905826, 1.8142012824202662, 0.030137032628212025,
    -0.5666942731980833, -0.2666385135680373, -0.5572865044234571, -0.06394190269249787,
  ];
  const bm = [-0.37659650939930095, -0.4821176055441222, 0.8587141149434233];
  wm.forEach((w, j) => assert.ok(Math.abs(mm.weights[j] - w) < 1e-6, `W[${j}] = ${mm.weights[j]}, reference ${w}`));
  bm.forEach((b, k) => assert.ok(Math.abs(mm.bias[k] - b) < 1e-6, `b[${k}] = ${mm.bias[k]}, reference ${b}`));
});

test('separable data is classified (nearly) perfectly; binary and multinomial', () => {
  const dim = 20;
  for (const K of [2, 6]) {
    const { X, y } = blobs(600, dim, K, 2, 8);
    const m = fitLogReg(X, y, dim, K, { c: 1 });
    assert.ok(m.converged);
    const acc = trainAccuracy(m, X, y);
    assert.ok(acc > 0.98, `K=${K}: train accuracy ${acc}`);
  }
});

test('decision gives [0, z] columns for binary models and argmax agrees with predict', () => {
  const dim = 4;
  const { X, y } = blobs(50, dim, 2, 1, 9);
  const m = fitLogReg(X, y, dim, 2, { c: 1 });
  const z = decision(m, X, 50);
  const p = predict(m, X, 50);
  assert.equal(z.length, 100);
  for (let i = 0; i < 50; i++) {
    assert.equal(z[2 * i], 0);
    assert.ok(Math.abs(z[2 * i + 1] - logits(m, X, i)[0]) < 1e-9);
    assert.equal(p[i], z[2 * i + 1] > 0 ? 1 : 0);
  }
});

test('classes absent from training are never predicted; two present classes fit as binary', () => {
  const dim = 5;
  const { X, y } = blobs(200, dim, 3, 1.5, 10);
  // Relabel 0,1,2 → 0,1,3 inside K = 4.
  const y4 = y.map((v) => (v === 2 ? 3 : v));
  const m = fitLogReg(X, y4, dim, 4, { c: 1 });
  assert.equal(m.bias[2], ABSENT_CLASS_BIAS);
  assert.ok(predict(m, X, 200).every((v) => v !== 2));
  assert.ok(trainAccuracy(m, X, y4) > 0.9);

  // Only classes 1 and 3 of 5: the logit difference must equal a plain binary fit's.
  const keep: number[] = [];
  for (let i = 0; i < 200; i++) if (y[i] !== 2) keep.push(i);
  const Xs = new Float32Array(keep.length * dim);
  keep.forEach((i, r) => Xs.set(X.subarray(i * dim, (i + 1) * dim), r * dim));
  const y01 = Int32Array.from(keep, (i) => y[i]);
  const y13 = y01.map((v) => (v === 0 ? 1 : 3));
  const bin = fitLogReg(Xs, y01, dim, 2, { c: 0.5 });
  const emb = fitLogReg(Xs, y13, dim, 5, { c: 0.5 });
  for (let j = 0; j < dim; j++) assert.equal(emb.weights[3 * dim + j] - emb.weights[dim + j], bin.weights[j]);
  assert.equal(emb.bias[3] - emb.bias[1], bin.bias[0]);
  assert.deepEqual(Array.from(predict(emb, Xs, keep.length)), Array.from(predict(bin, Xs, keep.length), (v) => (v === 0 ? 1 : 3)));

  // A single present class is predicted everywhere.
  const one = fitLogReg(X, new Int32Array(200).fill(1), dim, 2, { c: 1 });
  assert.ok(predict(one, X, 200).every((v) => v === 1));
  assert.ok(JSON.parse(JSON.stringify(Array.from(one.bias))).every(Number.isFinite), 'model must survive JSON');
});

test('warm start reaches the same optimum in fewer iterations', () => {
  const dim = 10;
  const { X, y } = blobs(400, dim, 3, 0.5, 12);
  const cold = fitLogReg(X, y, dim, 3, { c: 10, tol: 1e-8 });
  const prev = fitLogReg(X, y, dim, 3, { c: 1, tol: 1e-8 });
  const warm = fitLogReg(X, y, dim, 3, { c: 10, tol: 1e-8, init: prev });
  assert.ok(warm.iterations < cold.iterations, `warm ${warm.iterations} vs cold ${cold.iterations}`);
  for (let i = 0; i < cold.weights.length; i++) assert.ok(Math.abs(warm.weights[i] - cold.weights[i]) < 1e-5);
  assert.throws(() => fitLogReg(X, y, dim, 4, { c: 1, init: prev }), BadInputError);
});

test('fits are bit-identical across runs', () => {
  const dim = 16;
  const { X, y } = blobs(300, dim, 4, 0.3, 13);
  const a = fitLogReg(X, y, dim, 4, { c: 0.1 });
  const b = fitLogReg(X, y, dim, 4, { c: 0.1 });
  assert.deepEqual(Array.from(a.weights), Array.from(b.weights));
  assert.deepEqual(Array.from(a.bias), Array.from(b.bias));
});

test('fitLogReg validates its input and honours the abort signal', () => {
  const { X, y } = blobs(20, 3, 2, 1, 14);
  assert.throws(() => fitLogReg(X, y, 3, 2, { c: 0 }), BadInputError);
  assert.throws(() => fitLogReg(X, y, 4, 2, { c: 1 }), BadInputError);
  assert.throws(() => fitLogReg(X, Int32Array.from(y, (v) => v + 1), 3, 2, { c: 1 }), /label 2/);
  const ac = new AbortController();
  ac.abort();
  assert.throws(() => fitLogReg(X, y, 3, 2, { c: 1, signal: ac.signal }), CancelledError);
});

// fitLogReg's models pinned bit for bit when it was split into stages (twelfth session): weights and
// bias as the SHA-256 of their bytes (first 16 hex digits), with the iterations and convergence.
function fitSummary(m: LogRegModel): string {
  const sha = (a: Float64Array): string => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);
  return `${m.numClasses}×${m.dim} W ${sha(m.weights)} b ${sha(m.bias)} it ${m.iterations} ${m.converged ? 'converged' : 'not converged'}`;
}

const fitGolden: Record<string, string> = {
  'binary': '2×5 W a1d9ad76fcdf925a b c583dbb212f72b21 it 8 converged',
  'binary, C 0.01, tol 1e-9': '2×5 W b8ad54e73b10b8fd b f8509f0a9b8a0eb5 it 11 converged',
  'binary, C 10': '2×5 W c5f0cc6ac997e281 b 76a3ed6005cb7d04 it 7 converged',
  'multinomial': '4×5 W bed86afabd01eaac b 406975f1279aaba4 it 13 converged',
  'multinomial, maxIter 2': '4×5 W 920ee03ed484c94d b 4729488d68f54e4d it 2 not converged',
  'multinomial, stopped by the relative decrease': '4×5 W 552fd21a6a5ea194 b 4d8847a0fd421fff it 29 converged',
  'a class absent': '4×5 W 6409c31c3e711dad b 9539515fc25b942f it 12 converged',
  'two classes of five': '5×5 W 25a7f3518fa60dee b ec081220f9efde72 it 8 converged',
  'one label, binary 1': '2×5 W 2c34ce1df23b838c b c5c3fe1a74954476 it 0 converged',
  'one label, binary 0': '2×5 W 2c34ce1df23b838c b c4d79e2998d4fd95 it 0 converged',
  'one label of three': '3×5 W 6edd9f6f9cc92cde b 9e85e5b84b179525 it 0 converged',
  'warm, multinomial': '4×5 W a905aaf285bc70c3 b 0e2c6521bff3ca85 it 10 converged',
  'warm, binary': '2×5 W 825c13a0a72a1eef b 74853e841789d9bc it 5 converged',
  'warm, two of five from a multinomial fit': '5×5 W 25fb15c91106fca8 b 42aca7540e19a9ec it 11 converged',
  'warm, two of five from a pair fit': '5×5 W 85d07a6c65b588e7 b dab5c0b989da6728 it 5 converged',
  'warm, all present from a fit with one absent': '4×5 W 9b1c5bbe41cfbf58 b 9c756e9610063d67 it 13 converged',
  'warm, binary from a one-label fit': '2×5 W c5f0cc6ac997e281 b 76a3ed6005cb7d04 it 7 converged',
};

test('fitLogReg gives bit-identical models to before', () => {
  const dim = 5;
  const { X, y } = blobs(150, dim, 4, 0.7, 22);
  const y2 = y.map((v) => v % 2);
  const y4absent = y.map((v) => (v === 2 ? 3 : v)); // classes 0, 1, 3 of 4
  const y5pair = y.map((v) => (v % 2 === 0 ? 1 : 3)); // classes 1 and 3 of 5
  const multi = fitLogReg(X, y, dim, 4, { c: 1 });
  const pair = fitLogReg(X, y5pair, dim, 5, { c: 1 });
  const one = fitLogReg(X, new Int32Array(150).fill(1), dim, 2, { c: 1 });
  const got: Record<string, string> = {};
  const fits: [string, Int32Array, number, LogRegOptions][] = [
    ['binary', y2, 2, { c: 1 }],
    ['binary, C 0.01, tol 1e-9', y2, 2, { c: 0.01, tol: 1e-9 }],
    ['binary, C 10', y2, 2, { c: 10 }],
    ['multinomial', y, 4, { c: 0.3 }],
    ['multinomial, maxIter 2', y, 4, { c: 0.3, maxIter: 2 }],
    ['multinomial, stopped by the relative decrease', y, 4, { c: 100, tol: 1e-14 }],
    ['a class absent', y4absent, 4, { c: 1 }],
    ['two classes of five', y5pair, 5, { c: 1 }],
    ['one label, binary 1', new Int32Array(150).fill(1), 2, { c: 1 }],
    ['one label, binary 0', new Int32Array(150), 2, { c: 1 }],
    ['one label of three', new Int32Array(150).fill(2), 3, { c: 1 }],
    ['warm, multinomial', y, 4, { c: 10, init: multi }],
    ['warm, binary', y2, 2, { c: 10, init: fitLogReg(X, y2, dim, 2, { c: 1 }) }],
    ['warm, two of five from a multinomial fit', y5pair, 5, { c: 10, init: fitLogReg(X, y, dim, 5, { c: 1 }) }],
    ['warm, two of five from a pair fit', y5pair, 5, { c: 10, init: pair }],
    ['warm, all present from a fit with one absent', y, 4, { c: 10, init: fitLogReg(X, y4absent, dim, 4, { c: 1 }) }],
    ['warm, binary from a one-label fit', y2, 2, { c: 10, init: one }],
  ];
  for (const [name, labels, K, opts] of fits) got[name] = fitSummary(fitLogReg(X, labels, dim, K, opts));
  if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, fitGolden);
});

test('fitLogReg keeps its option messages word for word', () => {
  const { X, y } = blobs(20, 3, 2, 1, 14);
  const prev = fitLogReg(X, y, 3, 2, { c: 1 });
  const messages: string[] = [];
  const bad: LogRegOptions[] = [{ c: 0 }, { c: NaN }, { c: Infinity }, { c: 1, maxIter: 0 }, { c: 1, maxIter: 2.5 }, { c: 1, tol: 0 }];
  for (const opts of bad) assert.throws(() => fitLogReg(X, y, 3, 2, opts), (e: Error) => (messages.push(e.message), e instanceof BadInputError));
  assert.throws(() => fitLogReg(X, y, 3, 3, { c: 1, init: prev }), (e: Error) => (messages.push(e.message), e instanceof BadInputError));
  assert.deepEqual(messages, [
    'C must be a positive finite number, got 0',
    'C must be a positive finite number, got NaN',
    'C must be a positive finite number, got Infinity',
    'maxIter must be a positive integer, got 0',
    'maxIter must be a positive integer, got 2.5',
    'tol must be > 0, got 0',
    'warm-start model is 2 classes × 3 features but the fit is 3 × 3',
  ]);
});
