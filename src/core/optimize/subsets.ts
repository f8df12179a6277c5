import { BadInputError } from '../errors';
import { keptParams, type ParamCounts } from '../../shared/params';

/** Parameters of the pruned model that keeps `kept` (see keptParams); every block must exist. */
export function subsetParams(acc: ParamCounts, kept: number[]): number {
  const missing = kept.find((b) => acc.perBlock[b] === undefined);
  if (missing !== undefined) throw new BadInputError(`block ${missing} does not exist: the model has ${acc.perBlock.length} blocks`);
  return keptParams(acc, kept);
}

/** The smallest model any subset can give: embeddings + other, no blocks. */
export function minimumParams(acc: ParamCounts): number {
  return acc.embeddings + acc.other;
}

/** A floor below the block-less model's, where an option shrinks the embeddings (--embedding-rank): its size and what it holds. */
export interface BudgetFloor {
  params: number;
  /** What the floor model holds, e.g. "word table factorised to rank 32 + position/type embeddings …, no blocks". */
  what: string;
  /** What to do instead, said after the floor (e.g. a smaller rank). */
  advice: string;
}

/**
 * Parses a budget as the CLI takes it: a fraction 0 < f ≤ 1 of `acc.total` ("0.3" → 30 %, "1" → everything),
 * or an integer > 1 as an absolute parameter count. Returns a parameter count (fractions rounded down).
 * Throws BadInputError naming the value when it is neither, or when not even the smallest model fits: the
 * block-less model, or `floor` where an option makes a smaller one.
 */
export function parseBudget(spec: string, acc: ParamCounts, floor?: BudgetFloor): number {
  const text = spec.trim();
  const v = /^[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?$/.test(text) ? Number(text) : NaN;
  let budget: number;
  // Quoted: the value may be empty or padded.
  const bad = (what: string) => new BadInputError(`{{budget}} '${spec}' ${what}`, { param: 'budget', value: spec });
  if (!Number.isFinite(v) || v <= 0) {
    throw bad('is not a fraction in (0, 1] nor an integer parameter count > 1');
  } else if (v <= 1) {
    // The epsilon keeps 0.29 × 100 from landing on 28.999999999999996 and rounding down to 28.
    budget = Math.floor(v * acc.total + 1e-6);
  } else if (Number.isInteger(v)) {
    budget = v;
  } else {
    throw bad('is above 1 but not an integer: give a fraction in (0, 1] or a whole parameter count');
  }
  const min = floor?.params ?? minimumParams(acc);
  if (budget < min) {
    const what = floor?.what ?? `embeddings ${acc.embeddings} + final norm/head ${acc.other}, no blocks`;
    throw bad(`(${budget} parameters) is below the smallest possible model: ${min} parameters (${what}; ${((100 * min) / acc.total).toFixed(1)} % of ${acc.total}); ${floor ? floor.advice : `give {{budget}} ${min} or more, or make the word table smaller: {{vocabTrim}} keeps the tokens the training texts use, and {{embeddingRank}} (with {{compensate}}) factorises it.`}`);
  }
  return budget;
}

/** Canonical key of a subset: "0,2,5"; "" for the empty subset. */
export function subsetKey(kept: number[]): string {
  return kept.join(',');
}

/** Largest supported L for exhaustive enumeration (2^20 ≈ 1 M subsets). */
export const MAX_ENUMERATE_BLOCKS = 20;

/**
 * Every subset of blocks 0..L−1 (the empty one included) for which `fits` holds, each sorted ascending,
 * in increasing order of their bit masks. Exponential: only for L ≤ 20.
 */
export function enumerateSubsets(L: number, fits: (kept: number[]) => boolean): number[][] {
  if (!Number.isInteger(L) || L < 0 || L > MAX_ENUMERATE_BLOCKS) {
    throw new BadInputError(`cannot enumerate the subsets of ${L} blocks: exhaustive enumeration is for 0..${MAX_ENUMERATE_BLOCKS} blocks`);
  }
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << L; mask++) {
    const kept = maskToBlocks(mask, L);
    if (fits(kept)) out.push(kept);
  }
  return out;
}

/** Blocks set in `mask`, ascending. */
export function maskToBlocks(mask: number, L: number): number[] {
  const kept: number[] = [];
  for (let b = 0; b < L; b++) if (mask & (1 << b)) kept.push(b);
  return kept;
}

/** Lexicographic order of sorted block lists ([0,2] < [0,2,5] < [1]). */
export function compareSubsets(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Throws BadInputError unless `kept` is a strictly increasing list of block indices in 0..L−1. */
export function checkKept(kept: number[], L: number): void {
  for (let i = 0; i < kept.length; i++) {
    const b = kept[i];
    if (!Number.isInteger(b) || b < 0 || b >= L) throw new BadInputError(`block ${b} does not exist: the model has blocks 0..${L - 1}`);
    if (i > 0 && b <= kept[i - 1]) throw new BadInputError(`kept blocks '${kept.join(',')}' must be strictly increasing`);
  }
}

/**
 * Subsets one move away from `kept` that fit `budget`: drop one kept block, add one dropped block,
 * or swap one kept block for one dropped block. Deduplicated, without `kept` itself, sorted lexicographically.
 */
export function localSearchNeighbours(kept: number[], L: number, acc: ParamCounts, budget: number): number[][] {
  checkKept(kept, L);
  const keptSet = new Set(kept);
  const dropped: number[] = [];
  for (let b = 0; b < L; b++) if (!keptSet.has(b)) dropped.push(b);
  const seen = new Set<string>([subsetKey(kept)]);
  const out: number[][] = [];
  const consider = (s: number[]): void => {
    s.sort((a, b) => a - b);
    const key = subsetKey(s);
    if (seen.has(key)) return;
    seen.add(key);
    if (subsetParams(acc, s) <= budget) out.push(s);
  };
  for (const b of kept) consider(kept.filter((x) => x !== b));
  for (const d of dropped) consider([...kept, d]);
  for (const b of kept) for (const d of dropped) consider([...kept.filter((x) => x !== b), d]);
  return out.sort(compareSubsets);
}
