import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { factorisedNeighbours, FactorisedSpace, unfitFactorisedBaselines } from '../../../../src/core/pipeline/compensation';
import { candidateKey, compensatedParams, uniformWidth, WidthShape } from '../../../../src/core/compensate/search';
import { DEFAULT_UNIT_SCORE } from '../../../../src/core/compensate/scores';

// Six blocks of a hidden-32 encoder with a 1000-row word table; rank 4 frees 27,872 of its 32,000
// parameters, after which the budget holds two whole blocks and a half.
const shape: WidthShape = { hidden: 32, heads: 4, ffn: 128, wordRows: 1000 };
const block = 4 * 32 * 32 + 4 * 32 + 2 * 32 * 128 + 128 + 32 + 4 * 32;
const acc = { total: 34_000 + 6 * block, embeddings: 34_000, other: 0, perBlock: new Array(6).fill(block) };
const budget = 34_000 - 27_872 + 2.5 * block;
const f: FactorisedSpace = {
  space: { numBlocks: 6, acc, budget, objective: { weights: { t: 1 }, scores: { t: [0.5, 0.6, 0.7, 0.75, 0.78, 0.8, 0.81] } }, candidates: 20, seed: 0 },
  shape,
  allow: { bridges: true, width: true },
  rank: 4,
  score: DEFAULT_UNIT_SCORE,
};
const narrowedSpec = (c: { spec: { heads?: number; ffnWidth?: number } }) => c.spec.heads !== undefined || c.spec.ffnWidth !== undefined;

test('factorised local search: whole neighbours around a whole candidate, narrowed ones that fit around a narrowed one', () => {
  const around = factorisedNeighbours({ kept: [1, 2], compensation: { bridges: true, embeddingRank: 4 } }, f, new Set());
  assert.ok(around.length > 0);
  for (const c of around) {
    assert.ok(!narrowedSpec(c), `${c.kept}: whole around a whole candidate`);
    assert.ok(c.kept.length <= 2 && compensatedParams(acc, c.kept, c.spec, shape) <= budget);
    assert.equal(c.spec.embeddingRank, 4);
  }
  // Three blocks fit only narrowed: the candidate the width search would build.
  const wider = uniformWidth({ ...acc, embeddings: 34_000 - 27_872 }, [1, 2, 3], budget, shape, true)!;
  assert.ok(wider && wider.ffnWidth! < 128);
  const from = { kept: [1, 2, 3], compensation: { ...wider, embeddingRank: 4 } };
  const near = factorisedNeighbours(from, f, new Set());
  const threes = near.filter((c) => c.kept.length === 3);
  assert.ok(threes.length > 0 && threes.every(narrowedSpec), 'swaps of a narrowed 3-block candidate are narrowed to fit');
  assert.ok(near.some((c) => c.kept.length === 2 && !narrowedSpec(c)), 'a dropped block leaves a subset that fits whole, kept whole');
  for (const c of near) assert.ok(compensatedParams(acc, c.kept, c.spec, shape) <= budget, `${c.kept} fits`);
  // Measured ones are skipped, and at most `candidates` come back, best predicted first.
  const seen = new Set([candidateKey(near[0].kept, near[0].spec)]);
  assert.ok(!factorisedNeighbours(from, f, seen).some((c) => candidateKey(c.kept, c.spec) === candidateKey(near[0].kept, near[0].spec)));
  assert.equal(factorisedNeighbours(from, { ...f, space: { ...f.space, candidates: 2 } }, new Set()).length, 2);
  // A candidate narrowed by more than a block's worth still gets its swaps and additions.
  const deep = { kept: [0, 1, 2, 3], compensation: { ...uniformWidth({ ...acc, embeddings: 34_000 - 27_872 }, [0, 1, 2, 3], budget, shape, false)!, embeddingRank: 4 } };
  const deepNear = factorisedNeighbours(deep, f, new Set());
  assert.ok(deepNear.some((c) => c.kept.length === 4) && deepNear.some((c) => c.kept.length === 5), `swaps and additions: ${deepNear.map((c) => c.kept.join(',')).join(' ')}`);
  // Without width pruning allowed a narrowed start cannot arise; the neighbours stay whole.
  assert.ok(factorisedNeighbours(from, { ...f, allow: { bridges: true, width: false } }, new Set()).every((c) => !narrowedSpec(c)));
});

test('drop-top-factorised at a rank whose model without blocks exceeds the budget is said not to fit, named per rank', () => {
  // Floors: rank 4 → 34,000 − 27,872 = 6,128; rank 16 → 34,000 − (32,000 − 16,512) = 18,512; rank 24 → 34,000 − (32,000 − 24,768) = 26,768.
  const space = { ...f.space, budget: 20_000 };
  assert.deepEqual(unfitFactorisedBaselines(space, shape, [4, 16, 24], 'all'), [{ name: 'drop-top-factorised-r24', reason: 'with its word table at rank 24 the model without blocks has 26,768 parameters (24.3 %)' }]);
  assert.deepEqual(unfitFactorisedBaselines(space, shape, [24], ['drop-top-factorised']).map((u) => u.name), ['drop-top-factorised']);
  assert.deepEqual(unfitFactorisedBaselines(space, shape, [24], ['drop-top']), [], 'not asked for: not listed');
  assert.deepEqual(unfitFactorisedBaselines(space, shape, [4, 16], 'all'), []);
});
