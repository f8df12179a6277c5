import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BadInputError } from '../../../../src/core/errors';
import { Rng } from '../../../../src/core/util/rng';
import {
  bestPredictedSubsets,
  Objective,
  predictedObjective,
  predictSubsetScore,
} from '../../../../src/core/optimize/predict';
import { compareSubsets, enumerateSubsets, localSearchNeighbours, parseBudget, subsetKey, subsetParams } from '../../../../src/core/optimize/subsets';
import type { ParamCounts } from '../../../../src/shared/params';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function randomScores(rng: Rng, L: number, monotone = false): number[] {
  const s = [0.3 + 0.2 * rng.next()];
  for (let l = 1; l <= L; l++) s.push(monotone ? s[l - 1] + 0.05 * rng.next() : 0.2 + 0.8 * rng.next());
  return s;
}

function randomProblem(rng: Rng, L: number, monotone = false): { obj: Objective; acc: ParamCounts } {
  const tasks = ['a', 'b', 'c'].slice(0, 1 + rng.int(3));
  const obj: Objective = { weights: {}, scores: {} };
  for (const t of tasks) {
    obj.weights[t] = 0.1 + rng.next();
    obj.scores[t] = randomScores(rng, L, monotone);
  }
  const perBlock = range(L).map(() => 100 + rng.int(100));
  const acc: ParamCounts = { embeddings: 500, other: 50, perBlock, total: 550 + perBlock.reduce((a, b) => a + b, 0) };
  return { obj, acc };
}

/** The definition, computed the slow way. */
function bruteForce(obj: Objective, acc: ParamCounts, budget: number, topN: number) {
  return enumerateSubsets(acc.perBlock.length, (k) => subsetParams(acc, k) <= budget)
    .map((kept) => ({ kept, predicted: predictedObjective(obj, kept), params: subsetParams(acc, kept) }))
    .sort((x, y) => y.predicted - x.predicted || x.params - y.params || compareSubsets(x.kept, y.kept))
    .slice(0, topN);
}

test('prefixes predict exactly s(t,k)', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 20; trial++) {
    const L = 1 + rng.int(14);
    const s = randomScores(rng, L);
    for (let k = 0; k <= L; k++) assert.equal(predictSubsetScore(s, range(k)), s[k], `L=${L} k=${k}`);
  }
});

test('non-prefix subsets add the gains of their blocks, clipped to the observed range', () => {
  const s = [0.5, 0.6, 0.8, 0.7, 0.9];
  assert.ok(Math.abs(predictSubsetScore(s, [1, 3]) - (0.5 + 0.2 + 0.2)) < 1e-12);
  assert.ok(Math.abs(predictSubsetScore(s, [2]) - (0.5 - 0.1)) > 0.05, 'below the minimum is clipped');
  assert.equal(predictSubsetScore(s, [2]), 0.5);
  const up = [0.5, 0.8, 0.6, 0.9];
  assert.equal(predictSubsetScore(up, [0, 2]), 0.9, '0.5 + 0.3 + 0.3 = 1.1 clips to the best layer');
  assert.equal(predictSubsetScore(up, [1]), 0.5, '0.5 − 0.2 clips to the worst layer');
});

test('predictedObjective is the weighted mean over tasks', () => {
  const obj: Objective = { weights: { a: 3, b: 1 }, scores: { a: [0.2, 0.4, 0.6], b: [0.5, 0.5, 0.9] } };
  assert.ok(Math.abs(predictedObjective(obj, [0, 1]) - (3 * 0.6 + 0.9) / 4) < 1e-12);
  assert.ok(Math.abs(predictedObjective(obj, [1]) - (3 * 0.4 + 0.9) / 4) < 1e-12);
  assert.throws(() => predictedObjective({ weights: { c: 1 }, scores: obj.scores }, [0]), BadInputError);
  assert.throws(() => predictedObjective({ weights: { a: 0 }, scores: obj.scores }, [0]), BadInputError);
  assert.throws(() => predictedObjective({ weights: { a: 1, b: 1 }, scores: { a: [0.1, 0.2], b: [0.1, 0.2, 0.3] } }, [0]), BadInputError);
});

test('bestPredictedSubsets equals brute force (enumeration) on random problems', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 40; trial++) {
    const L = 1 + rng.int(10);
    const { obj, acc } = randomProblem(rng, L);
    const budget = 550 + Math.floor(rng.next() * (acc.total - 550 + 50));
    const topN = 1 + rng.int(6);
    const got = bestPredictedSubsets(obj, acc, budget, topN);
    const want = bruteForce(obj, acc, budget, topN);
    assert.deepEqual(got, want, `trial ${trial}`);
    for (const g of got) assert.ok(g.params <= budget);
  }
});

test('the knapsack DP equals brute force when the predictor is additive (no clipping active)', () => {
  const rng = new Rng(12);
  for (let trial = 0; trial < 30; trial++) {
    const L = 1 + rng.int(11);
    // Non-decreasing scores keep every prediction inside [s(0), s(L)], so clipping never acts.
    const { obj, acc } = randomProblem(rng, L, true);
    const budget = 550 + Math.floor(rng.next() * (acc.total - 550 + 50));
    const topN = 1 + rng.int(5);
    const got = bestPredictedSubsets(obj, acc, budget, topN, { method: 'dp' });
    const want = bruteForce(obj, acc, budget, topN);
    assert.deepEqual(
      got.map((g) => g.kept),
      want.map((w) => w.kept),
      `trial ${trial}`,
    );
    for (let i = 0; i < got.length; i++) assert.equal(got[i].predicted, want[i].predicted);
  }
});

test('the optimiser reports a prefix at exactly s(t,k), in both methods', () => {
  const rng = new Rng(21);
  for (let trial = 0; trial < 20; trial++) {
    const L = 2 + rng.int(12);
    const s = randomScores(rng, L, true);
    const acc: ParamCounts = { embeddings: 10, other: 0, perBlock: new Array(L).fill(1), total: 10 + L };
    for (const method of ['enumerate', 'dp'] as const) {
      const [best] = bestPredictedSubsets({ weights: { t: 1 }, scores: { t: s } }, acc, acc.total, 1, { method });
      assert.deepEqual(best.kept, range(L));
      assert.equal(best.predicted, s[L], `${method} L=${L}`);
    }
  }
});

test('more than 20 blocks go through the DP and still find the optimum', () => {
  const rng = new Rng(5);
  const L = 24;
  const s = randomScores(rng, L, true);
  const acc: ParamCounts = { embeddings: 1000, other: 10, perBlock: new Array(L).fill(100), total: 1010 + 100 * L };
  const budget = 1010 + 100 * 9 + 50;
  const [best] = bestPredictedSubsets({ weights: { t: 1 }, scores: { t: s } }, acc, budget, 3);
  const gains = range(L).map((b) => s[b + 1] - s[b]);
  const want = range(L)
    .sort((a, b) => gains[b] - gains[a])
    .slice(0, 9)
    .sort((a, b) => a - b);
  assert.deepEqual(best.kept, want);
  assert.equal(best.params, 1010 + 900);
});

test('ties go to fewer parameters, then the lexicographically smaller subset; results are distinct', () => {
  const acc: ParamCounts = { embeddings: 10, other: 0, perBlock: [5, 5, 5, 5], total: 30 };
  const obj: Objective = { weights: { t: 1 }, scores: { t: [0.5, 0.5, 0.5, 0.5, 0.5] } };
  for (const method of ['enumerate', 'dp'] as const) {
    const got = bestPredictedSubsets(obj, acc, 30, 4, { method });
    assert.deepEqual(
      got.map((g) => g.kept),
      [[], [0], [1], [2]],
      method,
    );
    assert.equal(new Set(got.map((g) => subsetKey(g.kept))).size, got.length);
  }
  assert.deepEqual(bestPredictedSubsets(obj, acc, 9, 3), [], 'nothing fits below embeddings + other');
});

test('parseBudget: fractions, absolute counts and errors that name the value', () => {
  const acc: ParamCounts = { total: 1_000_000, embeddings: 200_000, other: 1_000, perBlock: new Array(8).fill(99_875) };
  assert.equal(parseBudget('0.3', acc), 300_000);
  assert.equal(parseBudget(' 0.29 ', acc), 290_000);
  assert.equal(parseBudget('1', acc), 1_000_000);
  assert.equal(parseBudget('500000', acc), 500_000);
  assert.equal(parseBudget('5e5', acc), 500_000);
  for (const bad of ['abc', '', '0', '-0.3', '1.5', '0.3x', 'NaN', 'Infinity']) {
    assert.throws(
      () => parseBudget(bad, acc),
      (e: unknown) => e instanceof BadInputError && e.message.includes(`'${bad}'`),
      bad,
    );
  }
  assert.throws(
    () => parseBudget('0.1', acc),
    (e: unknown) => e instanceof BadInputError && e.message.includes('201000') && e.message.includes("'0.1'"),
  );
  assert.equal(parseBudget('201000', acc), 201_000);
  const small: ParamCounts = { total: 100, embeddings: 10, other: 0, perBlock: [45, 45] };
  assert.equal(parseBudget('0.29', small), 29, '0.29 × 100 is 28.999999999999996 in floating point');
});

test('subsetParams, subsetKey and enumerateSubsets', () => {
  const acc: ParamCounts = { total: 0, embeddings: 1000, other: 7, perBlock: [100, 110, 120, 130] };
  assert.equal(subsetParams(acc, []), 1007);
  assert.equal(subsetParams(acc, [1, 3]), 1007 + 240);
  assert.throws(() => subsetParams(acc, [4]), BadInputError);
  assert.equal(subsetKey([0, 2, 5]), '0,2,5');
  assert.equal(subsetKey([]), '');
  assert.equal(enumerateSubsets(4, () => true).length, 16);
  const small = enumerateSubsets(4, (k) => k.length <= 2);
  assert.equal(small.length, 11);
  assert.deepEqual(small[0], []);
  assert.ok(small.every((k) => k.every((b, i) => i === 0 || b > k[i - 1])));
  assert.throws(() => enumerateSubsets(21, () => true), BadInputError);
});

test('localSearchNeighbours: drop one, add one, swap one, within budget, sorted', () => {
  const acc: ParamCounts = { total: 1400, embeddings: 1000, other: 0, perBlock: [100, 100, 100, 100] };
  assert.deepEqual(localSearchNeighbours([0, 2], 4, acc, 1200), [[0], [0, 1], [0, 3], [1, 2], [2], [2, 3]]);
  const roomy = localSearchNeighbours([0, 2], 4, acc, 1300);
  assert.ok(roomy.some((k) => subsetKey(k) === '0,1,2'));
  assert.ok(roomy.some((k) => subsetKey(k) === '0,2,3'));
  assert.equal(roomy.length, 8);
  assert.deepEqual(localSearchNeighbours([], 2, acc, 1100), [[0], [1]]);
});
