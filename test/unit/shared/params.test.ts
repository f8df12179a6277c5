import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { bestPrefix, keptParams } from '../../../src/shared/params';
import { subsetParams } from '../../../src/core/optimize/subsets';
import { BadInputError } from '../../../src/core/errors';

const p = { total: 1000 + 7 + 4 * 100, embeddings: 1000, other: 7, perBlock: [100, 110, 120, 130] };

test('kept parameters: embeddings + other + the kept blocks; the core refuses a block that does not exist', () => {
  assert.equal(keptParams(p, []), 1007);
  assert.equal(keptParams(p, [1, 3]), 1007 + 110 + 130);
  assert.equal(subsetParams(p, [1, 3]), keptParams(p, [1, 3]));
  assert.equal(keptParams(p, [9]), 1007, 'the view counts an unknown block as 0');
  assert.throws(() => subsetParams(p, [0, 9]), (e: Error) => e instanceof BadInputError && /block 9 does not exist: the model has 4 blocks/.test(e.message));
});

test('best prefix: blocks below the highest best layer, capped at the model', () => {
  assert.deepEqual(bestPrefix([2, 3], 4), [0, 1, 2]);
  assert.deepEqual(bestPrefix([0], 4), []);
  assert.deepEqual(bestPrefix([], 4), []);
  assert.deepEqual(bestPrefix([6], 4), [0, 1, 2, 3]);
});
