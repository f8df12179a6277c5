/**
 * selectC (src/core/probe/cv.ts) pinned when it was split into stages (thirteenth session): on
 * overlapping classes, where C matters and each fold's fits warm-start from the previous C, every
 * C's mean and spread, the pick, the progress calls and where cancellation lands stay the same.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { selectC } from '../../../../src/core/probe/cv';
import { CancelledError } from '../../../../src/core/errors';
import { Rng } from '../../../../src/core/util/rng';

/** `n` rows of `dim` unevenly scaled features, `k` classes whose means are `sep` apart. */
function blobs(n: number, dim: number, k: number, sep: number, seed: number) {
  const r = new Rng(seed);
  const mu = Array.from({ length: k * dim }, () => (r.next() - 0.5) * sep);
  const X = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < dim; j++) X[i * dim + j] = (mu[y[i] * dim + j] + r.next() + r.next() - 1) * 10 ** ((j % 3) - 1) + 2;
  }
  return { X, y };
}

const round = (v: number) => Number(v.toPrecision(12));

test('selectC gives the same scores, pick and progress as before on overlapping classes', () => {
  const { X, y } = blobs(150, 6, 3, 1.2, 11);
  const progress: number[][] = [];
  const s = selectC(X, y, 6, 3, { folds: 5, seed: 3, onProgress: (d, t) => progress.push([d, t]) });
  const got = { c: s.c, cv: round(s.cvAccuracy), scores: s.scores.map((x) => [x.c, round(x.mean), round(x.std)]), calls: progress.length, last: progress.at(-1) };
  const custom = selectC(X, y, 6, 3, { grid: [3, 0.01, 0.3], folds: 3, seed: 1, maxIter: 5 });
  assert.deepEqual(got, {
    c: 100,
    cv: 0.8,
    scores: [
      [0.001, 0.793333333333, 0.0442216638714],
      [0.01, 0.793333333333, 0.0388730126323],
      [0.1, 0.786666666667, 0.0452155332208],
      [1, 0.793333333333, 0.0489897948557],
      [10, 0.793333333333, 0.0326598632371],
      [100, 0.8, 0.0210818510678],
    ],
    calls: 30,
    last: [30, 30],
  });
  assert.deepEqual(
    { c: custom.c, cv: round(custom.cvAccuracy), scores: custom.scores.map((x) => [x.c, round(x.mean), round(x.std)]) },
    { c: 3, cv: 0.82, scores: [[0.01, 0.8, 0.0326598632371], [0.3, 0.813333333333, 0.0249443825785], [3, 0.82, 0.0163299316186]] },
  );
  const ac = new AbortController();
  let at = 0;
  assert.throws(() => selectC(X, y, 6, 3, { signal: ac.signal, onProgress: (d) => ((at = d), d === 7 && ac.abort()) }), CancelledError);
  assert.equal(at, 7, 'no fit after the abort');
});
