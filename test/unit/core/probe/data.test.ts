import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStandardizer, fitStandardizer } from '../../../../src/core/probe/standardize';
import { accuracy, confusion, macroF1, majorityBaseline } from '../../../../src/core/probe/metrics';
import { stratifiedKFold } from '../../../../src/core/probe/cv';
import { BadInputError } from '../../../../src/core/errors';

test('standardizer centres and scales by the population std; constant features get scale 1', () => {
  // Columns: varying, constant 0, constant large (float32 round-off must not count as variance).
  const X = Float32Array.from([1, 0, 1e6, 2, 0, 1e6, 3, 0, 1e6, 6, 0, 1e6]);
  const s = fitStandardizer(X, 4, 3);
  assert.deepEqual(Array.from(s.mean), [3, 0, 1e6]);
  assert.equal(s.scale[0], Math.sqrt((4 + 1 + 0 + 9) / 4));
  assert.equal(s.scale[1], 1);
  assert.equal(s.scale[2], 1);
  const Z = applyStandardizer(s, X, 4, 3);
  assert.equal(X[0], 1, 'input must not be modified');
  let m = 0;
  let v = 0;
  for (let i = 0; i < 4; i++) m += Z[i * 3];
  for (let i = 0; i < 4; i++) v += Z[i * 3] ** 2;
  assert.ok(Math.abs(m) < 1e-6 && Math.abs(v / 4 - 1) < 1e-6);
  for (let i = 0; i < 4; i++) assert.equal(Z[i * 3 + 1], 0);
  for (let i = 0; i < 4; i++) assert.equal(Z[i * 3 + 2], 0);
  assert.throws(() => applyStandardizer(s, X, 3, 4), BadInputError);
  assert.throws(() => fitStandardizer(X, 5, 3), BadInputError);
});

test('accuracy, confusion and majority baseline', () => {
  const t = Int32Array.from([0, 1, 2, 2]);
  const p = Int32Array.from([0, 2, 2, 1]);
  assert.equal(accuracy(t, p), 0.5);
  assert.deepEqual(Array.from(confusion(t, p, 3)), [1, 0, 0, 0, 0, 1, 0, 1, 1]);
  // Labels 0 and 1 tie in training; the smaller id wins.
  assert.equal(majorityBaseline(Int32Array.from([1, 1, 0, 0, 2]), Int32Array.from([0, 1, 0]), 3), 2 / 3);
  assert.throws(() => accuracy(t, Int32Array.from([0])), BadInputError);
  assert.throws(() => confusion(t, Int32Array.from([0, 1, 2, 3]), 3), /predicted label 3/);
});

test('macro-F1 matches hand-computed values (scikit-learn semantics)', () => {
  // Class 0: P = 1/3, R = 1/2, F1 = 0.4. Class 1: P = 2/3, R = 1, F1 = 0.8. Class 2: no TP, F1 = 0.
  // Class 3 occurs nowhere and is not averaged in.
  const t = Int32Array.from([0, 0, 1, 1, 2, 2]);
  const p = Int32Array.from([0, 1, 1, 1, 0, 0]);
  assert.ok(Math.abs(macroF1(t, p, 4) - 0.4) < 1e-15);
  // A label that occurs only among the predictions counts with F1 = 0: (2/3 + 0) / 2.
  assert.ok(Math.abs(macroF1(Int32Array.from([0, 0]), Int32Array.from([0, 1]), 2) - 1 / 3) < 1e-15);
  assert.equal(macroF1(Int32Array.from([2, 1, 0]), Int32Array.from([2, 1, 0]), 3), 1);
});

test('stratified folds keep class proportions and cover every row once', () => {
  const y = new Int32Array(100);
  for (let i = 0; i < 100; i++) y[i] = i < 50 ? 0 : i < 80 ? 1 : 2;
  const folds = stratifiedKFold(y, 5, 0);
  const per = Array.from({ length: 5 }, () => [0, 0, 0]);
  for (let i = 0; i < 100; i++) {
    assert.ok(folds[i] >= 0 && folds[i] < 5);
    per[folds[i]][y[i]]++;
  }
  for (const f of per) assert.deepEqual(f, [10, 6, 4]);
});

test('stratified folds stay balanced with small classes and are seed-deterministic', () => {
  // Sizes 7, 3, 2 into 4 folds: each class's per-fold counts differ by at most 1, and fold sizes by at most 1.
  const y = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2]);
  const folds = stratifiedKFold(y, 4, 42);
  const size = [0, 0, 0, 0];
  for (const cls of [0, 1, 2]) {
    const c = [0, 0, 0, 0];
    for (let i = 0; i < y.length; i++) if (y[i] === cls) c[folds[i]]++;
    assert.ok(Math.max(...c) - Math.min(...c) <= 1, `class ${cls}: ${c}`);
  }
  for (const f of folds) size[f]++;
  assert.ok(Math.max(...size) - Math.min(...size) <= 1, `fold sizes ${size}`);
  assert.deepEqual(Array.from(stratifiedKFold(y, 4, 42)), Array.from(folds));
  const other = Array.from({ length: 10 }, (_, s) => stratifiedKFold(y, 4, s).join());
  assert.ok(new Set(other).size > 1, 'different seeds should give different folds');
});

test('stratified folds reject a single-member class by name, and too few rows', () => {
  assert.throws(() => stratifiedKFold(Int32Array.from([0, 0, 1, 1, 2, 1, 0]), 3, 0), /class 2 has only 1/);
  // Labels that never occur are fine.
  assert.doesNotThrow(() => stratifiedKFold(Int32Array.from([0, 0, 3, 3]), 2, 0));
  assert.throws(() => stratifiedKFold(Int32Array.from([0, 0, 1, 1]), 5, 0), BadInputError);
  assert.throws(() => stratifiedKFold(Int32Array.from([0, 0, 1, 1]), 1, 0), BadInputError);
});
