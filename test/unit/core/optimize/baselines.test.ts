import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BadInputError } from '../../../../src/core/errors';
import { alternate, Baseline, baselineSubsets, chosenBaselines } from '../../../../src/core/optimize/baselines';
import { BASELINE_NAMES, parseBaselines } from '../../../../src/core/optimize/baselineNames';
import { subsetParams } from '../../../../src/core/optimize/subsets';
import type { ParamCounts } from '../../../../src/shared/params';

const L = 12;
const acc: ParamCounts = { total: 1010 + 12 * 100, embeddings: 1000, other: 10, perBlock: new Array(L).fill(100) };
/** Room for 8 blocks and a bit, not 9. */
const budget = 1010 + 8 * 100 + 50;

const byName = (bs: Baseline[]) => Object.fromEntries(bs.map((b) => [b.name, b]));

test('structural baselines on 12 blocks keeping 8', () => {
  const b = byName(baselineSubsets(L, acc, budget, {}));
  assert.deepEqual(b['drop-top'].kept, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(b['drop-bottom'].kept, [4, 5, 6, 7, 8, 9, 10, 11]);
  // Sajjad's odd alternate dropping of 4 layers: 1-based 11, 9, 7, 5 = 0-based 10, 8, 6, 4.
  assert.deepEqual(b['alternate'].kept, [0, 1, 2, 3, 5, 7, 9, 11]);
  assert.deepEqual(b['symmetric'].kept, [0, 1, 2, 3, 8, 9, 10, 11]);
  for (const x of Object.values(b)) assert.equal(x.note, undefined, x.name);
});

test('signal-based baselines are skipped without their signal', () => {
  const names = baselineSubsets(L, acc, budget, {}).map((x) => x.name);
  assert.deepEqual(names, ['drop-top', 'drop-bottom', 'alternate', 'symmetric', 'random-1', 'random-2', 'random-3']);
});

test('alternate: odd alternate dropping, then evenly spaced down from the last block', () => {
  assert.deepEqual(alternate(12, 10), [0, 1, 2, 3, 4, 5, 6, 7, 9, 11]);
  assert.deepEqual(alternate(12, 6), [1, 3, 5, 7, 9, 11]);
  assert.deepEqual(alternate(12, 5), [2, 4, 7, 9, 11]);
  assert.deepEqual(alternate(12, 1), [11]);
  assert.deepEqual(alternate(12, 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(alternate(12, 0), []);
  assert.deepEqual(alternate(5, 3), [0, 2, 4]);
  for (let LL = 1; LL <= 16; LL++) {
    for (let k = 1; k <= LL; k++) {
      const kept = alternate(LL, k);
      assert.equal(new Set(kept).size, k, `L=${LL} k=${k}`);
      assert.equal(kept[kept.length - 1], LL - 1, `L=${LL} k=${k} keeps the last block`);
    }
  }
});

test('dalvi-prefix: shortest prefix reaching the target fraction of the best layer', () => {
  const scores = { a: [0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.9, 0.91, 0.92, 0.915, 0.91, 0.9] };
  // 0.97 × 0.92 = 0.8924 → first reached at h_6 → keep blocks 0..5.
  const loose = byName(baselineSubsets(L, acc, budget, { scores, targetFraction: 0.97 }));
  assert.deepEqual(loose['dalvi-prefix'].kept, [0, 1, 2, 3, 4, 5]);
  assert.equal(loose['dalvi-prefix'].note, undefined);
  // 0.99 × 0.92 = 0.9108 → h_9 → 9 blocks, over the budget → the longest prefix that fits, with a note.
  const strict = byName(baselineSubsets(L, acc, budget, { scores }));
  assert.deepEqual(strict['dalvi-prefix'].kept, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.match(strict['dalvi-prefix'].note ?? '', /9 blocks/);
  // Weighted over tasks: task b alone would stop at h_1.
  const two = { a: scores.a, b: [0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9] };
  assert.deepEqual(byName(baselineSubsets(L, acc, budget, { scores: two, weights: { b: 1 } }))['dalvi-prefix'].kept, [0]);
});

test('shortgpt drops the blocks with the lowest Block Influence', () => {
  const blockInfluence = [0.9, 0.5, 0.4, 0.3, 0.35, 0.2, 0.1, 0.15, 0.05, 0.08, 0.12, 0.6];
  const b = byName(baselineSubsets(L, acc, budget, { blockInfluence }));
  assert.deepEqual(b['shortgpt'].kept, [0, 1, 2, 3, 4, 5, 7, 11]);
  assert.throws(() => baselineSubsets(L, acc, budget, { blockInfluence: [0.1, 0.2] }), BadInputError);
  const ties = [0.9, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1, 0.9];
  assert.deepEqual(byName(baselineSubsets(L, acc, budget, { blockInfluence: ties }))['shortgpt'].kept, [0, 1, 3, 4, 5, 6, 7, 11], 'ties drop the deeper block');
});

test('gromov drops the contiguous run with the least angular distance', () => {
  const d = Array.from({ length: L + 1 }, (_, l) => Array.from({ length: L + 1 - l }, () => 0.9));
  for (let l = 0; l + 4 <= L; l++) d[l][4] = 0.5;
  d[6][4] = 0.1;
  assert.deepEqual(byName(baselineSubsets(L, acc, budget, { angularDistance: d }))['gromov'].kept, [0, 1, 2, 3, 4, 5, 10, 11]);
  d[2][4] = 0.1;
  assert.deepEqual(byName(baselineSubsets(L, acc, budget, { angularDistance: d }))['gromov'].kept, [0, 1, 2, 3, 4, 5, 10, 11], 'ties go deeper');
  d[1][4] = 0.05;
  assert.deepEqual(byName(baselineSubsets(L, acc, budget, { angularDistance: d }))['gromov'].kept, [0, 5, 6, 7, 8, 9, 10, 11]);
});

test('random baselines: k distinct blocks, seeded, R of them', () => {
  const a = baselineSubsets(L, acc, budget, { seed: 3, randomCount: 5 }).filter((x) => x.name.startsWith('random-'));
  assert.deepEqual(
    a.map((x) => x.name),
    ['random-1', 'random-2', 'random-3', 'random-4', 'random-5'],
  );
  for (const x of a) {
    assert.equal(x.kept.length, 8);
    assert.equal(new Set(x.kept).size, 8);
    assert.ok(x.kept.every((v, i) => v >= 0 && v < L && (i === 0 || v > x.kept[i - 1])));
  }
  const again = baselineSubsets(L, acc, budget, { seed: 3, randomCount: 5 }).filter((x) => x.name.startsWith('random-'));
  assert.deepEqual(again, a);
  const other = baselineSubsets(L, acc, budget, { seed: 4, randomCount: 5 }).filter((x) => x.name.startsWith('random-'));
  assert.notDeepEqual(other, a);
});

test('unequal blocks: a baseline whose k-block choice does not fit keeps fewer and says so', () => {
  const t5ish: ParamCounts = { ...acc, perBlock: [150, ...new Array(L - 1).fill(100)] };
  const b = byName(baselineSubsets(L, t5ish, 1010 + 800 + 10, {}));
  assert.deepEqual(b['drop-top'].kept, [0, 1, 2, 3, 4, 5, 6]);
  assert.match(b['drop-top'].note ?? '', /7 blocks/);
  assert.deepEqual(b['drop-bottom'].kept, [4, 5, 6, 7, 8, 9, 10, 11]);
  for (const x of Object.values(b)) assert.ok(subsetParams(t5ish, x.kept) <= 1010 + 800 + 10, x.name);
});

test('budgets at the extremes', () => {
  const none = baselineSubsets(L, acc, 1010, { blockInfluence: new Array(L).fill(0.5) });
  for (const x of none) assert.deepEqual(x.kept, [], x.name);
  const all = byName(baselineSubsets(L, acc, acc.total, {}));
  assert.equal(all['alternate'].kept.length, L);
  assert.throws(() => baselineSubsets(L, acc, 1009, {}), BadInputError);
});

test('--baselines: all, none or named ones; random stands for every random subset; unknown names are refused', () => {
  const all = baselineSubsets(L, acc, budget, {});
  assert.equal(parseBaselines('all'), 'all');
  assert.deepEqual(parseBaselines('none'), []);
  assert.deepEqual(parseBaselines(' drop-top, random,drop-top'), ['drop-top', 'random']);
  assert.equal(chosenBaselines(all, 'all'), all);
  assert.deepEqual(chosenBaselines(all, []), []);
  assert.deepEqual(chosenBaselines(all, parseBaselines('random,symmetric')).map((b) => b.name), ['symmetric', 'random-1', 'random-2', 'random-3']);
  for (const bad of ['drop_top', 'drop-top,,alternate', '']) {
    assert.throws(() => parseBaselines(bad), (e: unknown) => e instanceof BadInputError && e.bad?.param === 'baselines' && e.message.includes(BASELINE_NAMES.join(', ')), bad);
  }
});
