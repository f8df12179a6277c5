import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseUnitScore } from '../../../../src/core/compensate/scores';
import { appliedSpec, candidateKey, compensatedCandidates, compensatedParams, describeSpec, modeAllows, replaceMeSubset, uniformWidth } from '../../../../src/core/compensate/search';
import { parseCompensation } from '../../../../src/core/compensate/mode';
import { compensatedBaselines } from '../../../../src/core/pipeline/compensation';
import { BadInputError } from '../../../../src/core/errors';
import { ParamCounts } from '../../../../src/shared/params';

// roberta-mini: d 256, 4 heads, FFN 1024, 12 blocks of 789,760, embeddings 2,131,200.
const shape = { hidden: 256, heads: 4, ffn: 1024 };
const acc: ParamCounts = { total: 11_608_320, embeddings: 2_131_200, perBlock: new Array(12).fill(789_760), other: 0 };
const budget35 = Math.floor(0.35 * acc.total);

test('compensated parameter counts: a bridge adds d² + d, a head 64·(3·257 + 256), a neuron 2·256 + 1', () => {
  assert.equal(compensatedParams(acc, [2, 3], { bridges: true }, shape), 3_776_512); // measured on the written graph (RESULTS §5)
  assert.equal(compensatedParams(acc, [0, 1, 2, 3], { bridges: true }, shape), 2_131_200 + 4 * 789_760, 'a prefix has no gap');
  assert.equal(compensatedParams(acc, [0], { bridges: false, heads: 3, ffnWidth: 1000 }, shape), 2_131_200 + 789_760 - 65_728 - 24 * 513);
});

test('uniform width: as many heads as possible with at least a quarter of the FFN, fitting the budget', () => {
  const s = uniformWidth(acc, [0, 1, 2, 3, 4], budget35, shape, false)!;
  assert.ok(compensatedParams(acc, [0, 1, 2, 3, 4], s, shape) <= budget35);
  assert.equal(s.heads, 3);
  assert.ok(s.ffnWidth! >= 256 && s.ffnWidth! % 16 === 0);
  // One more FFN step would not fit.
  assert.ok(compensatedParams(acc, [0, 1, 2, 3, 4], { ...s, ffnWidth: s.ffnWidth! + 16 }, shape) > budget35);
  assert.equal(uniformWidth(acc, [0, 1], budget35, shape, false), null, 'fits already: nothing to narrow');
  const all = uniformWidth(acc, Array.from({ length: 12 }, (_, i) => i), budget35, shape, false)!;
  assert.ok(all.heads! >= 1 && compensatedParams(acc, Array.from({ length: 12 }, (_, i) => i), all, shape) <= budget35);
});

test('ReplaceMe baseline: the shortest contiguous run that fits with its bridge, closest ends in angular distance', () => {
  const L = 12;
  const d = Array.from({ length: L + 1 }, (_, l) => Array.from({ length: L + 1 - l }, (_, n) => (l === 3 ? 0.1 : 0.5) + n * 0.01));
  const half = Math.floor(0.5 * acc.total);
  const kept = replaceMeSubset(L, acc, half, shape, d)!;
  // 50 %: 5,804,160 − 2,131,200 leaves 4.65 blocks; with a bridge 4 blocks: drop 8, starting at 3 (lowest distance).
  assert.deepEqual(kept, [0, 1, 2, 11]);
  assert.ok(compensatedParams(acc, kept, { bridges: true }, shape) <= half);
});

test('a ReplaceMe span that ends the model has no gap: the baseline is the plain prefix, and its note says why (was "+bridge" with an empty description)', () => {
  const L = 12;
  // The last span is the closest: dropping blocks 4–11 costs the least angular distance.
  const d = Array.from({ length: L + 1 }, (_, l) => Array.from({ length: L + 1 - l }, (_, n) => (l + n === L ? 0.05 : 0.5) + n * 0.01));
  const half = Math.floor(0.5 * acc.total);
  const signals = { blockInfluence: new Array(L).fill(0), angularDistance: d };
  const space = { numBlocks: L, acc, budget: half, objective: { weights: {}, scores: {} }, candidates: 4, seed: 0 };
  const rm = compensatedBaselines('bridge', space, shape, signals).find((b) => b.name === 'replaceme-bridge')!;
  assert.deepEqual(rm.kept, [0, 1, 2, 3]);
  assert.equal(rm.compensation, undefined);
  assert.match(rm.note!, /^the span it drops \(blocks 4–11\) ends the model: no gap to bridge/);
  // A span inside the model keeps its bridge.
  const inner = compensatedBaselines('bridge', { ...space }, shape, { ...signals, angularDistance: d.map((row, l) => row.map((x, n) => (l === 3 && n === 8 ? 0.01 : x))) }).find((b) => b.name === 'replaceme-bridge')!;
  assert.deepEqual([inner.kept, inner.compensation, inner.note], [[0, 1, 2, 11], { bridges: true }, undefined]);
  // appliedSpec: what is left of a spec on a subset.
  assert.equal(appliedSpec([0, 1], { bridges: true, window: 3 }), undefined);
  assert.deepEqual(appliedSpec([0, 1], { bridges: true, embeddingRank: 32 }), { bridges: false, embeddingRank: 32 });
  assert.deepEqual(appliedSpec([0, 2], { bridges: true, window: 3 }), { bridges: true, window: 3 });
  assert.equal(appliedSpec([0, 2], undefined), undefined);
});

test('compensated candidates follow --compensate and the budget', () => {
  assert.deepEqual(modeAllows(parseCompensation('all')), { bridges: true, width: true });
  assert.throws(() => parseCompensation('some'), (e: BadInputError) => /^compensation some: unknown/.test(e.message) && e.bad?.param === 'compensate');
  const ranked = [[2, 3], [0, 1]];
  const wider = [[0, 1, 2, 3, 4]];
  assert.deepEqual(compensatedCandidates('none', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2 }), []);
  const b = compensatedCandidates('bridge', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2 });
  assert.deepEqual(b.map((c) => candidateKey(c.kept, c.spec)), ['2,3+bridge']);
  const w = compensatedCandidates('width', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2 });
  assert.equal(w.length, 1);
  assert.match(candidateKey(w[0].kept, w[0].spec), /^0,1,2,3,4\+h3\/f\d+$/);
  assert.match(describeSpec(w[0].kept, w[0].spec, shape), /3 of 4 heads and \d+ of 1024 FFN neurons/);
  // --width-score: the narrowed candidates carry it (in their key and description); FLAP's is the unmarked default.
  const t = compensatedCandidates('width', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2 }, 'task');
  assert.match(candidateKey(t[0].kept, t[0].spec), /^0,1,2,3,4\+h3\/f\d+\/task$/);
  assert.match(describeSpec(t[0].kept, t[0].spec, shape), /refitted; ranked by the task-weighted score/);
  assert.equal(candidateKey(w[0].kept, { ...w[0].spec, score: 'flap' }), candidateKey(w[0].kept, w[0].spec));
  assert.throws(() => parseUnitScore('fisher'), (e: BadInputError) => /^width score fisher: unknown; use one of flap, task, mixed/.test(e.message) && e.bad?.param === 'widthScore');
  for (const c of compensatedCandidates('all', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2 })) assert.ok(compensatedParams(acc, c.kept, c.spec, shape) <= budget35);
});
