import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { baselineSubsets, BaselineSignals } from '../../../../src/core/optimize/baselines';
import { Rng } from '../../../../src/core/util/rng';
import type { ParamCounts } from '../../../../src/shared/params';

/** Every baseline (or the refusal) for one model shape, budget and set of signals, as text. */
function outcome(L: number, acc: ParamCounts, budget: number, signals: BaselineSignals): string {
  try {
    return JSON.stringify(baselineSubsets(L, acc, budget, signals));
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
}

/** Random blocks of unequal size, budgets from below the block-less model to the whole, every signal (with ties and gaps). */
function cases(): string[] {
  const rng = new Rng(11);
  const out: string[] = [];
  for (const L of [1, 2, 3, 6, 12]) {
    const perBlock = Array.from({ length: L }, () => 50 + rng.int(100));
    const acc: ParamCounts = { total: 1010 + perBlock.reduce((a, b) => a + b, 0), embeddings: 1000, other: 10, perBlock };
    const round = (x: number) => Math.round(x * 4) / 4;
    const scores = { a: Array.from({ length: L + 1 }, () => rng.next()), b: Array.from({ length: L + 1 }, () => round(rng.next())) };
    const blockInfluence = Array.from({ length: L }, () => round(rng.next()));
    const angularDistance = Array.from({ length: L + 1 }, () => Array.from({ length: L + 1 }, () => (rng.int(7) === 0 ? NaN : round(rng.next()))));
    const all: BaselineSignals = { scores, weights: { a: 2, b: 1 }, targetFraction: 0.9, blockInfluence, angularDistance, seed: 3, randomCount: 2 };
    for (const share of [-0.1, 0, 0.2, 0.5, 0.8, 1]) {
      const budget = 1010 + Math.round(share * (acc.total - 1010));
      out.push(outcome(L, acc, budget, {}), outcome(L, acc, budget, all), outcome(L, acc, budget, { scores, blockInfluence }));
    }
  }
  return out;
}

test('baselines over random block sizes, budgets and signals are the same as before', () => {
  // Pinned when baselineSubsets was split into stages (eleventh session).
  const got = cases();
  assert.equal(got.length, 90);
  assert.equal(createHash('sha256').update(got.join('\n')).digest('hex').slice(0, 16), 'c987529380ec3936');
});
