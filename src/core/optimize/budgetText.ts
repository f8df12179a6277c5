/**
 * Budgets in words, as the extension's pickers and prompts show them.
 */
import { formatCount, type ParamCounts } from '../../shared/params';
import { minimumParams } from './subsets';

/** 0.5 → "50", 0.355 → "35.5". */
export function pctLabel(f: number): string {
  return String(Number((100 * f).toFixed(1)));
}

/** The most blocks a budget can hold: the smallest blocks first. */
export function maxBlocksWithin(acc: ParamCounts, budget: number): number {
  let left = budget - minimumParams(acc);
  let n = 0;
  for (const p of [...acc.perBlock].sort((a, b) => a - b)) {
    if (p > left) break;
    left -= p;
    n++;
  }
  return n;
}

/** "5.8 M parameters (50.0 %) · up to 4 of 12 blocks" for a budget in parameters (below the whole word table: says only factorised models fit). */
export function describeBudget(acc: ParamCounts, budget: number): string {
  const head = `${formatCount(budget)} parameters (${((100 * budget) / acc.total).toFixed(1)} %)`;
  // Below the whole word table (possible with --embedding-rank) only factorised models fit.
  if (budget < minimumParams(acc)) return `${head} · below the whole word table: factorised word embeddings only`;
  return `${head} · up to ${maxBlocksWithin(acc, budget)} of ${acc.perBlock.length} blocks`;
}
