import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { blocksSlug, parseBlockList } from '../../../../src/core/prune/blockList';

test('block lists as typed: numbers and ranges, sorted and deduplicated; messages for the rest', () => {
  assert.deepEqual(parseBlockList('0-3, 7, 2', 8), [0, 1, 2, 3, 7]);
  assert.deepEqual(parseBlockList('', 8), []);
  assert.match(String(parseBlockList('a', 8)), /"a" is not a block number or range/);
  assert.match(String(parseBlockList('3-1', 8)), /a range goes up/);
  assert.match(String(parseBlockList('9', 8)), /block 9 does not exist; the model has blocks 0–7/);
});

test('folder-name slugs join ranges with _', () => {
  assert.equal(blocksSlug([0, 1, 2, 3, 7]), '0-3_7');
  assert.equal(blocksSlug([]), 'none');
});
