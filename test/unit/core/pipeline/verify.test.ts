import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { TIMING_PRECISION, timePairs } from '../../../../src/core/pipeline/verify';

test('timing stops once the speedup is known to the stated precision, and not before', async () => {
  const steady = await timePairs(async () => 20, async () => 10, 30);
  assert.deepEqual([steady.runs, steady.speedup, steady.relativeError], [3, 2, 0], 'noise-free: the minimum of 3 pairs');
  // ±30 % noise on the pruned side: the standard error shrinks like 1/√n until it reaches 2 %.
  const noise = [1.3, 0.7, 1.2, 0.8, 1.25, 0.75];
  const noisy = await timePairs(async () => 20, async (i) => 10 * noise[i % noise.length], 200);
  assert.ok(noisy.runs > 10 && noisy.runs < 200, `${noisy.runs} pairs`);
  assert.ok(noisy.relativeError <= TIMING_PRECISION);
  const capped = await timePairs(async () => 20, async (i) => 10 * noise[i % noise.length], 5);
  assert.equal(capped.runs, 5, 'never more than maxRuns');
  assert.ok(capped.relativeError > TIMING_PRECISION);
});
