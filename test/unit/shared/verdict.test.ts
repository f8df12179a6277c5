import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { inReportOrder, verdict } from '../../../src/shared/verdict';

const g = (diff: number, se: number) => ({ diff, se });
const fine = { spam: { test: 0.95, majority: 0.7, final: 0.95 } };

test('verdict: gaps within one paired SE are ties, and are said as ties', () => {
  // The issue's case: +0.2 to +3.3 points with ±1.8–2.1 SE (one over its SE).
  const v = verdict({ baselines: [{ name: 'a', gap: g(0.002, 0.018) }, { name: 'b', gap: g(0.033, 0.021) }, { name: 'c', gap: g(0.01, 0.02) }], perTask: fine });
  assert.equal(v.headline, 'Ahead of 1 of 3 baselines by more than one paired SE, tied with 2, behind none.');
  assert.equal(v.ok, true);
  const ties = verdict({ baselines: [{ name: 'a', gap: g(0.002, 0.018) }], perTask: fine });
  assert.equal(ties.headline, 'Tied with all 1 baselines: every gap is within one paired SE.');
  const behind = verdict({ baselines: [{ name: 'a', gap: g(-0.05, 0.01) }, { name: 'b', gap: g(0, 0) }], perTask: fine });
  assert.match(behind.headline, /^Behind 1 of 2 baselines \(a\) by more than one paired SE; tied with 1, ahead of 0\.$/);
  assert.equal(behind.ok, false);
});

test('verdict: a task near chance is called out in the headline', () => {
  // bshift kept 23 % of its above-chance accuracy: 55.5 % vs majority 52.5 %, unpruned 65.5 %.
  const v = verdict({ baselines: [{ name: 'a', gap: g(0.01, 0.02) }], perTask: { ...fine, bshift: { test: 0.555, majority: 0.525, final: 0.655 } } });
  assert.match(v.headline, /; bshift falls near chance: 55\.5 % vs majority 52\.5 % \(unpruned 65\.5 %, 23 % of its above-chance accuracy kept\)\.$/);
  assert.equal(v.ok, false);
  assert.match(v.detail, /under 50 %/);
  const below = verdict({ baselines: [], perTask: { sentlen: { test: 0.167, majority: 0.267, final: 0.4 } } });
  assert.match(below.headline, /sentlen falls to chance: 16\.7 %, at or below the majority class's 26\.7 % \(unpruned 40\.0 %\)\.$/);
});

test('baselines in one order everywhere: test accuracy down, then fewer parameters', () => {
  const bs = [{ name: 'a', testObjective: 0.8, params: 10 }, { name: 'b', testObjective: 0.9, params: 20 }, { name: 'c', testObjective: 0.8, params: 5 }];
  assert.deepEqual(inReportOrder(bs).map((b) => b.name), ['b', 'c', 'a']);
  assert.deepEqual(bs.map((b) => b.name), ['a', 'b', 'c'], 'the input is left as it was');
});

test('verdict: with no baselines measured it claims no comparison, and still calls out a task near chance', () => {
  const v = verdict({ baselines: [], perTask: { t: { test: 0.9, majority: 0.5, final: 0.92 } } });
  assert.equal(v.ok, false, 'nothing was compared, so nothing is ✓');
  assert.match(v.headline, /^No baselines were measured/);
  assert.doesNotMatch(v.detail, /ahead|tied|behind/);
  const near = verdict({ baselines: [], perTask: { t: { test: 0.52, majority: 0.5, final: 0.92 } } });
  assert.match(near.headline, /t falls near chance/);
  // Old reports with baselines but no paired gaps keep their own wording.
  assert.match(verdict({ baselines: [{ name: 'drop-top' }], perTask: {} }).headline, /^No paired comparison/);
});

test('verdict: baselines that do not fit the budget are named as such, never as measured or as "baselines: none"', () => {
  const why = 'it keeps the whole word table, with which the model without blocks already has 1,000 parameters (18.4 %)';
  const unfit = [{ name: 'drop-top', reason: why }, { name: 'gromov', reason: why }];
  const some = verdict({ baselines: [{ name: 'drop-top-factorised', gap: g(0.002, 0.018) }], perTask: fine, unfit });
  assert.equal(some.headline, 'Tied with all 1 baselines: every gap is within one paired SE; 2 more baselines do not fit the budget.');
  assert.equal(some.ok, true);
  assert.match(some.detail, /drop-top, gromov do not fit the budget: each keeps the whole word table, with which the model without blocks already has 1,000 parameters \(18\.4 %\)\.$/);
  const none = verdict({ baselines: [], perTask: fine, unfit: unfit.slice(0, 1) });
  assert.equal(none.headline, 'No baseline fits the budget (drop-top: not measured), so it cannot say how the pick compares with the published heuristics.');
  assert.equal(none.ok, false);
  assert.doesNotMatch(none.headline + none.detail, /baselines: none|ahead|tied|behind/);
  assert.match(none.detail, /drop-top does not fit the budget: it keeps the whole word table/);
});

test('verdict: a task the unpruned model does not learn is said, and is not ✓', () => {
  // A pair task whose labels are 86.5 % one class: every layer, pruned or not, answers the majority.
  const pair = { test: 0.865, majority: 0.865, final: 0.865 };
  const v = verdict({ baselines: [{ name: 'a', gap: g(0, 0) }], perTask: { ...fine, pair } });
  assert.match(v.headline, /^Tied with all 1 baselines: every gap is within one paired SE; the unpruned model is not above chance on pair: 86\.5 % vs the majority class's 86\.5 %, so there is no accuracy there to keep \(check its labels, or give it more training rows\)\.$/);
  assert.equal(v.ok, false);
  const two = verdict({ baselines: [{ name: 'a', gap: g(0, 0) }], perTask: { pair, other: { test: 0.3, majority: 0.4, final: 0.35 } } });
  assert.match(two.headline, /on pair \(and 1 more task\):/);
  assert.equal(verdict({ baselines: [{ name: 'a', gap: g(0, 0) }], perTask: fine }).ok, true);
});
