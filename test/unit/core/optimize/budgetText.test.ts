import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeBudget, maxBlocksWithin, pctLabel } from '../../../../src/core/optimize/budgetText';
import { formatCount } from '../../../../src/shared/params';

test('budgets in words: the most blocks that fit, parameters and share', () => {
  const acc = { total: 1000, embeddings: 300, other: 20, perBlock: [170, 170, 170, 170] };
  assert.equal(maxBlocksWithin(acc, 319), 0);
  assert.equal(maxBlocksWithin(acc, 500), 1);
  assert.equal(maxBlocksWithin(acc, 1000), 4);
  assert.equal(maxBlocksWithin({ ...acc, perBlock: [400, 100, 100, 100] }, 700), 3, 'the smallest blocks first');
  assert.equal(describeBudget(acc, 700), '700 parameters (70.0 %) · up to 2 of 4 blocks');
  assert.equal(describeBudget(acc, 200), '200 parameters (20.0 %) · below the whole word table: factorised word embeddings only');
  assert.equal(formatCount(11_712_512), '11.7 M');
  assert.equal(formatCount(2_500_000_000), '2.50 B');
  assert.equal(formatCount(1500), '1.5 k');
  assert.equal(pctLabel(0.355), '35.5');
  assert.equal(pctLabel(0.5), '50');
});
