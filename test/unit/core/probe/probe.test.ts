import { test } from 'node:test';
import assert from 'node:assert/strict';
import { predictProbe, runProbe, trainProbe, type ProbeData } from '../../../../src/core/probe/probe';
import { DEFAULT_C_GRID, selectC, stratifiedKFold, takeRows } from '../../../../src/core/probe/cv';
import { fitLogReg, predict } from '../../../../src/core/probe/logreg';
import { applyStandardizer, fitStandardizer } from '../../../../src/core/probe/standardize';
import { accuracy } from '../../../../src/core/probe/metrics';
import { BadInputError, CancelledError } from '../../../../src/core/errors';
import { Rng } from '../../../../src/core/util/rng';

function gauss(r: Rng): number {
  let u = 0;
  while (u === 0) u = r.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
}

/**
 * Train/test Gaussian blobs sharing class means; features are offset and scaled unevenly so that the
 * probe depends on standardisation.
 */
function task(nTrain: number, nTest: number, dim: number, k: number, sep: number, seed: number): ProbeData {
  const r = new Rng(seed);
  const mu = Array.from({ length: k }, () => Float64Array.from({ length: dim }, () => gauss(r) * sep));
  const scale = Float64Array.from({ length: dim }, (_, j) => 10 ** ((j % 5) - 2));
  const make = (n: number) => {
    const X = new Float32Array(n * dim);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = r.int(k);
      for (let j = 0; j < dim; j++) X[i * dim + j] = (mu[y[i]][j] + gauss(r)) * scale[j] + 3;
    }
    return { X, y };
  };
  const tr = make(nTrain);
  const te = make(nTest);
  return { trainX: tr.X, trainY: tr.y, testX: te.X, testY: te.y, dim, numClasses: k };
}

test('a probe finds real structure while the shuffled-label control stays near chance', () => {
  const data = task(600, 400, 16, 3, 1, 1);
  const r = runProbe(data);
  assert.ok(r.accuracy > 0.9, `accuracy ${r.accuracy}`);
  assert.ok(r.macroF1 > 0.9, `macroF1 ${r.macroF1}`);
  assert.ok(r.controlAccuracy !== null && r.controlAccuracy < 0.45, `control ${r.controlAccuracy}`);
  assert.ok(r.majority > 0.25 && r.majority < 0.42, `majority ${r.majority}`);
  assert.ok(DEFAULT_C_GRID.includes(r.c));
  assert.ok(r.cvAccuracy !== null && r.cvAccuracy > 0.85);
  assert.ok(r.converged && r.iterations > 0);
});

test('on pure noise the probe scores near chance', () => {
  const data = task(400, 400, 10, 2, 0, 2);
  const r = runProbe(data, { control: false });
  assert.ok(Math.abs(r.accuracy - 0.5) < 0.1, `accuracy ${r.accuracy}`);
  assert.equal(r.controlAccuracy, null);
});

test('runProbe is bit-identical under the same seed', () => {
  const data = task(300, 200, 12, 4, 0.4, 3);
  const a = runProbe(data, { seed: 7 });
  const b = runProbe(data, { seed: 7 });
  assert.deepEqual(a, b);
  const p1 = trainProbe(data.trainX, data.trainY, data.dim, data.numClasses, { c: 0.1 });
  const p2 = trainProbe(data.trainX, data.trainY, data.dim, data.numClasses, { c: 0.1 });
  assert.deepEqual(Array.from(p1.model.weights), Array.from(p2.model.weights));
});

test('a fixed C skips cross-validation; trainProbe + predictProbe reproduce runProbe', () => {
  const data = task(300, 200, 8, 3, 0.6, 4);
  const r = runProbe(data, { c: 0.05 });
  assert.equal(r.c, 0.05);
  assert.equal(r.cvAccuracy, null);
  const p = trainProbe(data.trainX, data.trainY, data.dim, data.numClasses, { c: 0.05 });
  assert.equal(p.c, 0.05);
  const pred = predictProbe(p, data.testX, data.testY.length);
  assert.equal(accuracy(data.testY, pred), r.accuracy);
  assert.equal(p.model.iterations, r.iterations);
});

test('selectC scores every C, reports progress, and breaks ties toward the smaller C', () => {
  // Two far-apart clusters: every C classifies the folds perfectly, so the smallest must win.
  const data = task(100, 10, 4, 2, 20, 5);
  const seen: [number, number][] = [];
  const s = selectC(data.trainX, data.trainY, data.dim, 2, {
    grid: [10, 0.1, 1],
    folds: 4,
    onProgress: (d, t) => seen.push([d, t]),
  });
  assert.deepEqual(
    s.scores.map((x) => x.c),
    [0.1, 1, 10],
  );
  assert.ok(s.scores.every((x) => x.mean === 1 && x.std === 0));
  assert.equal(s.c, 0.1);
  assert.equal(s.cvAccuracy, 1);
  assert.deepEqual(
    seen,
    Array.from({ length: 12 }, (_, i) => [i + 1, 12]),
  );
});

test('selectC scores equal an independent per-fold recomputation (standardised on each fold\'s train part)', () => {
  const data = task(150, 10, 6, 3, 0.5, 6);
  const { trainX: X, trainY: y, dim } = data;
  const s = selectC(X, y, dim, 3, { grid: [0.05, 1], folds: 3, seed: 9 });
  const folds = stratifiedKFold(y, 3, 9);
  const accs: number[] = [];
  for (let f = 0; f < 3; f++) {
    const tr: number[] = [];
    const va: number[] = [];
    for (let i = 0; i < y.length; i++) (folds[i] === f ? va : tr).push(i);
    const st = fitStandardizer(takeRows(X, dim, tr), tr.length, dim);
    const m = fitLogReg(applyStandardizer(st, takeRows(X, dim, tr), tr.length, dim), Int32Array.from(tr, (i) => y[i]), dim, 3, {
      c: 0.05,
    });
    const pred = predict(m, applyStandardizer(st, takeRows(X, dim, va), va.length, dim), va.length);
    accs.push(accuracy(Int32Array.from(va, (i) => y[i]), pred));
  }
  const mean = (accs[0] + accs[1] + accs[2]) / 3;
  assert.equal(s.scores[0].mean, mean);
  assert.ok(Math.abs(s.scores[0].std - Math.sqrt(accs.reduce((a, v) => a + (v - mean) ** 2, 0) / 3)) < 1e-15);
  const best = s.scores[1].mean > s.scores[0].mean ? 1 : 0;
  assert.equal(s.c, s.scores[best].c);
  assert.equal(s.cvAccuracy, s.scores[best].mean);
});

test('cancellation raises CancelledError, before the run or between CV fits', () => {
  const data = task(200, 50, 6, 2, 1, 7);
  const ac = new AbortController();
  ac.abort();
  assert.throws(() => runProbe(data, { signal: ac.signal }), CancelledError);
  const mid = new AbortController();
  assert.throws(
    () =>
      selectC(data.trainX, data.trainY, data.dim, 2, {
        signal: mid.signal,
        onProgress: (d) => {
          if (d === 2) mid.abort();
        },
      }),
    CancelledError,
  );
});

test('runProbe rejects malformed data with BadInputError', () => {
  const data = task(50, 20, 4, 2, 1, 8);
  assert.throws(() => runProbe({ ...data, dim: 5 }), BadInputError);
  assert.throws(() => runProbe({ ...data, numClasses: 1 }), BadInputError);
  assert.throws(() => runProbe({ ...data, testY: data.testY.map(() => 2) }), /test label 2/);
  const lonely = Int32Array.from(data.trainY);
  lonely[0] = 2;
  assert.throws(() => runProbe({ ...data, trainY: lonely, numClasses: 3 }), /class 2 has only 1/);
  // With a fixed C there is no cross-validation, so a singleton class is allowed.
  assert.doesNotThrow(() => runProbe({ ...data, trainY: lonely, numClasses: 3 }, { c: 1 }));
});
