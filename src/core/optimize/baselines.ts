import { BadInputError } from '../errors';
import { BaselineChoice } from './baselineNames';
import type { CompSpec } from '../compensate/search';
import { Rng } from '../util/rng';
import { LayerScores } from './predict';
import { minimumParams, subsetParams } from './subsets';
import type { ParamCounts } from '../../shared/params';

/** A baseline's choice of blocks; `note` says where it could not follow its rule as published. */
export interface Baseline {
  name: string;
  kept: number[];
  note?: string;
  /** Compensated baselines (ReplaceMe, FLAP) fit bridges or widths on top of their blocks. */
  compensation?: CompSpec;
}

/** The baselines of `all` that `choice` keeps (random-1..R go together as "random", drop-top-factorised-rR as "drop-top-factorised"). */
export function chosenBaselines(all: Baseline[], choice: BaselineChoice): Baseline[] {
  if (choice === 'all') return all;
  return all.filter((b) => (choice as string[]).includes(b.name.replace(/^random-\d+$/, 'random').replace(/^drop-top-factorised-r\d+$/, 'drop-top-factorised')));
}

/** Signals that some baselines need; a baseline whose signal is missing is left out, never approximated. */
export interface BaselineSignals {
  /** Per-layer probe scores (Dalvi's LayerSelector). */
  scores?: LayerScores;
  /** Task weights for combining `scores` (a task missing here weighs 0); without it every task weighs 1. */
  weights?: { [task: string]: number };
  /** Fraction of the best layer's score the Dalvi prefix must reach; default 0.99. */
  targetFraction?: number;
  /** ShortGPT Block Influence per block (length L): 1 − mean cos(h_l, h_{l+1}). */
  blockInfluence?: number[];
  /** Gromov et al.: `angularDistance[l][n]` = angular distance between h_l and h_{l+n}. */
  angularDistance?: number[][];
  /** Seed of the random baselines; default 0. */
  seed?: number;
  /** Number of random subsets; default 3. */
  randomCount?: number;
}

/*
 * Dalvi et al. (2020) keep the lowest layer whose oracle score is within 1 % of the best layer's, hence a default
 * targetFraction of 0.99, applied to the task-weighted mean score per layer.
 */
const DEFAULT_TARGET_FRACTION = 0.99;

/**
 * The published layer-dropping baselines, each keeping k blocks, k the most blocks any subset can keep under
 * `budget` (where a baseline's own k-block choice does not fit, it keeps fewer and says so in `note`):
 * drop-top, drop-bottom, alternate, symmetric (Sajjad et al., "Poor Man's BERT"), dalvi-prefix (Dalvi et al. 2020,
 * needs `scores`), shortgpt (Men et al. 2024, needs `blockInfluence`), gromov (Gromov et al. 2024, needs
 * `angularDistance`), random-1..R. Throws BadInputError when not even the block-less model fits.
 */
export function baselineSubsets(L: number, acc: ParamCounts, budget: number, signals: BaselineSignals): Baseline[] {
  const { k, fits } = blocksThatFit(L, acc, budget);
  const out: Baseline[] = [];
  /** Applies `rule` at k blocks, then fewer, until the result fits. */
  const add = (name: string, rule: Rule): void => {
    for (let kk = k; kk >= 0; kk--) {
      const kept = rule(kk);
      if (kept && fits(kept)) {
        out.push(kk === k ? { name, kept } : { name, kept, note: `keeps ${kk} blocks: its ${k}-block choice exceeds the budget` });
        return;
      }
    }
  };

  add('drop-top', (kk) => range(0, kk));
  add('drop-bottom', (kk) => range(L - kk, L));
  add('alternate', (kk) => alternate(L, kk));
  add('symmetric', (kk) => [...range(0, Math.ceil(kk / 2)), ...range(L - Math.floor(kk / 2), L)]);
  if (signals.scores) out.push(dalviPrefix(L, fits, signals.scores, signals.weights, signals.targetFraction ?? DEFAULT_TARGET_FRACTION));
  if (signals.blockInfluence) add('shortgpt', shortgptRule(L, signals.blockInfluence));
  if (signals.angularDistance) {
    add('gromov', gromovRule(L, signals.angularDistance));
    if (out[out.length - 1].name !== 'gromov') {
      throw new BadInputError(`angular distances have no finite value for any run of blocks that fits the budget`);
    }
  }
  const rng = new Rng(signals.seed ?? 0);
  const count = signals.randomCount ?? 3;
  if (!Number.isInteger(count) || count < 0) throw new BadInputError(`random baseline count ${count} must be an integer ≥ 0`);
  for (let r = 1; r <= count; r++) add(`random-${r}`, randomRule(L, rng, fits));
  return out;
}

/** A baseline's rule: the blocks it keeps when it may keep `k`, or null when it has no such choice. */
type Rule = (k: number) => number[] | null;

/** Takes the model's parameter account and the budget; returns the most blocks any subset can keep and a test of whether a subset fits, or throws when none does. */
function blocksThatFit(L: number, acc: ParamCounts, budget: number): { k: number; fits: (kept: number[]) => boolean } {
  if (acc.perBlock.length !== L) throw new BadInputError(`the parameter account has ${acc.perBlock.length} blocks, the model ${L}`);
  if (minimumParams(acc) > budget) {
    throw new BadInputError(`budget ${budget} is below the smallest possible model (${minimumParams(acc)} parameters, no blocks)`);
  }
  const cheapest = [...acc.perBlock].sort((a, b) => a - b);
  let k = 0;
  let p = minimumParams(acc);
  while (k < L && p + cheapest[k] <= budget) p += cheapest[k++];
  return { k, fits: (kept) => subsetParams(acc, kept) <= budget };
}

/** Takes ShortGPT's Block Influence per block; returns its rule (keep the k most influential blocks), or throws when the list is damaged. */
function shortgptRule(L: number, bi: number[]): Rule {
  if (bi.length !== L || bi.some((x) => !Number.isFinite(x))) throw new BadInputError(`block influence has ${bi.length} values, expected ${L} finite numbers`);
  // Lowest influence dropped first; on ties the deeper block goes, deeper blocks being the usual redundant ones.
  const byInfluence = range(0, L).sort((a, b) => bi[a] - bi[b] || b - a);
  return (kk) => byInfluence.slice(L - kk).sort((a, b) => a - b);
}

/** Takes Gromov's angular distances; returns its rule (drop the run of L−k blocks whose ends are closest), or throws when too few. */
function gromovRule(L: number, d: number[][]): Rule {
  if (d.length < L) throw new BadInputError(`angular distances cover ${d.length} hidden states, expected ${L + 1}`);
  return (kk) => {
    const n = L - kk;
    if (n === 0) return range(0, L);
    let start = -1;
    for (let l = 0; l + n <= L; l++) {
      const v = d[l]?.[n];
      // Ties go to the deeper run, as for ShortGPT.
      if (v !== undefined && Number.isFinite(v) && (start < 0 || v <= d[start][n])) start = l;
    }
    if (start < 0) return null;
    return [...range(0, start), ...range(start + n, L)];
  };
}

/** Takes the shared random source and the budget test; returns a rule that draws a k-subset that fits (null after 100 draws). */
function randomRule(L: number, rng: Rng, fits: (kept: number[]) => boolean): Rule {
  return (kk) => {
    // Blocks may differ in size, so a few draws may be needed before a k-subset fits.
    for (let attempt = 0; attempt < 100; attempt++) {
      const kept = rng.shuffle(range(0, L)).slice(0, kk).sort((a, b) => a - b);
      if (fits(kept)) return kept;
    }
    return null;
  };
}

function range(from: number, to: number): number[] {
  const r: number[] = [];
  for (let i = from; i < to; i++) r.push(i);
  return r;
}

/**
 * Sajjad et al.'s "odd alternate dropping": drop blocks L−2, L−4, …, L−2n (0-based; for L = 12 the odd-numbered
 * layers 11, 9, … of their 1-based numbering), which keeps the last block. When more than ⌊L/2⌋ must go, keep k blocks
 * evenly spaced counting down from the last one: L−1−⌊i·L/k⌋, i = 0..k−1. Both rules agree at k = L/2.
 */
export function alternate(L: number, k: number): number[] {
  const n = L - k;
  if (n <= Math.floor(L / 2)) {
    const drop = new Set(range(1, n + 1).map((i) => L - 2 * i));
    return range(0, L).filter((b) => !drop.has(b));
  }
  return range(0, k)
    .map((i) => L - 1 - Math.floor((i * L) / k))
    .sort((a, b) => a - b);
}

function dalviPrefix(L: number, fits: (kept: number[]) => boolean, scores: LayerScores, weights: { [task: string]: number } | undefined, fraction: number): Baseline {
  if (!(fraction > 0 && fraction <= 1)) throw new BadInputError(`Dalvi target fraction ${fraction} must be in (0, 1]`);
  const names = Object.keys(scores);
  if (names.length === 0) throw new BadInputError('probe scores for the Dalvi baseline name no task');
  const mean = new Array<number>(L + 1).fill(0);
  let wSum = 0;
  for (const name of names) {
    const s = scores[name];
    if (s.length !== L + 1) throw new BadInputError(`task '${name}' has scores for ${s.length} hidden states, expected ${L + 1}`);
    const w = weights ? (weights[name] ?? 0) : 1;
    wSum += w;
    for (let l = 0; l <= L; l++) mean[l] += w * s[l];
  }
  if (!(wSum > 0)) throw new BadInputError('task weights for the Dalvi baseline sum to 0');
  for (let l = 0; l <= L; l++) mean[l] /= wSum;
  const best = Math.max(...mean);
  const target = fraction * best;
  let depth = mean.findIndex((v) => v >= target);
  if (depth < 0) depth = mean.indexOf(best);
  const kept = range(0, depth);
  if (fits(kept)) return { name: 'dalvi-prefix', kept };
  const wanted = depth;
  while (depth > 0 && !fits(range(0, depth))) depth--;
  return {
    name: 'dalvi-prefix',
    kept: range(0, depth),
    note: `the shortest prefix reaching ${fraction} of the best layer's score has ${wanted} blocks and exceeds the budget; kept the longest prefix that fits`,
  };
}
