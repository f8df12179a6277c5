import { BadInputError, ProbeScaleError } from '../errors';
import { compareSubsets, MAX_ENUMERATE_BLOCKS, maskToBlocks, subsetParams } from './subsets';
import type { ParamCounts } from '../../shared/params';

/** Per-task probe scores by hidden state: `scores[task][l]` = s(t,l), l = 0..L (0 = embedding output). */
export interface LayerScores {
  [task: string]: number[];
}

/*
 * Predictor: additive gains. Block b is credited with Δ_b = s(t,b+1) − s(t,b), the change in probe score it made
 * in the unpruned model, and a subset is predicted as s(t,0) + Σ_{b∈S} Δ_b, clipped to the range of observed scores.
 * Equivalently: the score of the deepest kept block's output minus the gains of the blocks skipped below it.
 * Why this one: prefixes telescope to s(t,k) exactly (we return s(t,k) itself for them, so no rounding creeps in),
 * it needs nothing beyond the probe scores we already have, and it is additive, which lets a knapsack DP find the
 * exact optimum for models too deep to enumerate. It is optimistic for subsets with gaps (later blocks see inputs
 * they were not trained on), which is why every candidate that matters is built and measured afterwards.
 * The clip stops a subset that skips every block with a negative gain from being predicted above the best layer.
 */

/** Predicted score of the subset `kept` (sorted block indices) for one task from its per-layer scores s(t,0..L). */
export function predictSubsetScore(scores: number[], kept: number[]): number {
  let prefix = true;
  for (let i = 0; i < kept.length; i++) {
    if (kept[i] !== i) {
      prefix = false;
      break;
    }
  }
  if (prefix) return scores[kept.length];
  // Summed from the deepest kept block down so that bestPredictedSubsets' incremental sums agree to the last bit.
  let v = scores[0];
  for (let i = kept.length - 1; i >= 0; i--) v += scores[kept[i] + 1] - scores[kept[i]];
  return clip(v, scores);
}

function clip(v: number, scores: number[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  return v < lo ? lo : v > hi ? hi : v;
}

/** What selection maximises: Σ_t w_t · predicted score / Σ_t w_t over the tasks named in `weights`. */
export interface Objective {
  /** Task weights w_t ≥ 0 (not all 0); every task named here must have scores. */
  weights: { [task: string]: number };
  scores: LayerScores;
}

interface Task {
  w: number;
  scores: number[];
}

/** Validated tasks of an objective and the block count L they imply. */
function objectiveTasks(obj: Objective): { tasks: Task[]; wSum: number; L: number } {
  const names = Object.keys(obj.weights);
  if (names.length === 0) throw new BadInputError('the objective has no tasks: give at least one task with a weight');
  let L = -1;
  let wSum = 0;
  const tasks: Task[] = [];
  for (const name of names) {
    const w = obj.weights[name];
    if (!Number.isFinite(w) || w < 0) throw new BadInputError(`weight of task '${name}' is ${w}: weights must be finite and ≥ 0`);
    const scores = obj.scores[name];
    if (!scores) throw new BadInputError(`task '${name}' has a weight but no probe scores`);
    if (scores.length < 1 || scores.some((s) => !Number.isFinite(s))) throw new BadInputError(`probe scores of task '${name}' must be finite numbers, one per hidden state`);
    if (L === -1) L = scores.length - 1;
    else if (scores.length - 1 !== L) throw new BadInputError(`task '${name}' has scores for ${scores.length} hidden states, other tasks for ${L + 1}`);
    wSum += w;
    tasks.push({ w, scores });
  }
  if (!(wSum > 0)) throw new BadInputError('task weights sum to 0: give at least one task a positive weight');
  return { tasks, wSum, L };
}

/** Predicted objective of `kept`: Σ_t w_t · predictSubsetScore(s_t, kept) / Σ_t w_t. */
export function predictedObjective(obj: Objective, kept: number[]): number {
  const { tasks, wSum } = objectiveTasks(obj);
  let num = 0;
  for (const t of tasks) num += t.w * predictSubsetScore(t.scores, kept);
  return num / wSum;
}

/** One subset proposed by the optimiser. */
export interface PredictedSubset {
  kept: number[];
  predicted: number;
  params: number;
}

/** Ranking used everywhere: higher predicted first, then fewer parameters, then lexicographically smaller. */
function better(a: PredictedSubset, b: PredictedSubset): number {
  if (a.predicted !== b.predicted) return b.predicted - a.predicted;
  if (a.params !== b.params) return a.params - b.params;
  return compareSubsets(a.kept, b.kept);
}

/**
 * The `topN` distinct subsets with the highest predicted objective whose parameters fit `budget`, best first
 * (ties: fewer parameters, then lexicographically smaller). [] when not even the block-less model fits.
 *
 * L ≤ 20: every subset is scored (incrementally over bit masks), so the result is exact for the predictor
 * including its clipping. L > 20 (or `opts.method = 'dp'`): a knapsack DP over blocks keyed by exact parameter
 * sums, keeping the top candidates per sum and dropping candidates that enough cheaper ones beat. The DP is exact
 * only for an additive predictor, i.e. for the unclipped sum of gains; its top max(8·topN, 64) subsets are then
 * re-ranked with the clipped predictor, which is exact whenever clipping changes none of the candidates' order.
 */
export function bestPredictedSubsets(
  obj: Objective,
  acc: ParamCounts,
  budget: number,
  topN: number,
  opts: { method?: 'auto' | 'enumerate' | 'dp' } = {},
): PredictedSubset[] {
  const { tasks, wSum, L } = objectiveTasks(obj);
  if (L !== acc.perBlock.length) throw new BadInputError(`probe scores cover ${L} blocks but the model has ${acc.perBlock.length}`);
  if (!Number.isInteger(topN) || topN < 1) throw new BadInputError(`number of subsets ${topN} must be an integer ≥ 1`);
  if (acc.embeddings + acc.other > budget) return [];
  const method = opts.method ?? 'auto';
  if (method === 'enumerate' || (method === 'auto' && L <= MAX_ENUMERATE_BLOCKS)) return enumerateBest(tasks, wSum, L, acc, budget, topN);
  const pool = knapsackBest(tasks, wSum, L, acc, budget, Math.max(8 * topN, 64));
  const rescored = pool.map((kept) => ({ kept, predicted: predictedObjective(obj, kept), params: subsetParams(acc, kept) }));
  return rescored.sort(better).slice(0, topN);
}

function enumerateBest(tasks: Task[], wSum: number, L: number, acc: ParamCounts, budget: number, topN: number): PredictedSubset[] {
  if (L > MAX_ENUMERATE_BLOCKS) throw new BadInputError(`cannot enumerate the subsets of ${L} blocks: at most ${MAX_ENUMERATE_BLOCKS}`);
  const size = 1 << L;
  const params = new Float64Array(size);
  const total = new Float64Array(size);
  const raw = new Float64Array(size);
  const popcount = new Uint8Array(size);
  params[0] = acc.embeddings + acc.other;
  for (let m = 1; m < size; m++) {
    const low = 31 - Math.clz32(m & -m);
    params[m] = params[m & (m - 1)] + acc.perBlock[low];
    popcount[m] = popcount[m & (m - 1)] + 1;
  }
  for (const t of tasks) {
    const s = t.scores;
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of s) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    raw[0] = s[0];
    total[0] += t.w * s[0];
    for (let m = 1; m < size; m++) {
      const low = 31 - Math.clz32(m & -m);
      // m & (m−1) drops the lowest block, so blocks are added deepest first, as predictSubsetScore does.
      const v = (raw[m] = raw[m & (m - 1)] + (s[low + 1] - s[low]));
      const pred = (m & (m + 1)) === 0 ? s[popcount[m]] : v < lo ? lo : v > hi ? hi : v;
      total[m] += t.w * pred;
    }
  }
  const best: PredictedSubset[] = [];
  for (let m = 0; m < size; m++) {
    if (params[m] > budget) continue;
    const predicted = total[m] / wSum;
    if (best.length === topN && predicted < best[topN - 1].predicted) continue;
    const cand = { kept: maskToBlocks(m, L), predicted, params: params[m] };
    if (best.length === topN && better(cand, best[topN - 1]) >= 0) continue;
    let i = best.length;
    while (i > 0 && better(cand, best[i - 1]) < 0) i--;
    best.splice(i, 0, cand);
    if (best.length > topN) best.pop();
  }
  return best;
}

interface DpItem {
  kept: number[];
  value: number;
  params: number;
}

/** States beyond this mean wildly different block sizes; real encoders have a handful of distinct sums. */
const MAX_DP_ITEMS = 2_000_000;

/** Top-`pool` subsets under the unclipped additive objective, exactly, by a knapsack DP over parameter sums. */
function knapsackBest(tasks: Task[], wSum: number, L: number, acc: ParamCounts, budget: number, pool: number): number[][] {
  const gain: number[] = [];
  for (let b = 0; b < L; b++) {
    let g = 0;
    for (const t of tasks) g += t.w * (t.scores[b + 1] - t.scores[b]);
    gain.push(g / wSum);
  }
  const order = (a: DpItem, b: DpItem): number => (a.value !== b.value ? b.value - a.value : a.params !== b.params ? a.params - b.params : compareSubsets(a.kept, b.kept));
  let items: DpItem[] = [{ kept: [], value: 0, params: acc.embeddings + acc.other }];
  for (let b = 0; b < L; b++) {
    const next = items.slice();
    for (const it of items) {
      const params = it.params + acc.perBlock[b];
      if (params <= budget) next.push({ kept: [...it.kept, b], value: it.value + gain[b], params });
    }
    items = prune(next, pool, order);
    if (items.length > MAX_DP_ITEMS) {
      throw new ProbeScaleError('optimizer-limit', `the blocks' parameter counts take too many distinct sums (${items.length} candidates) for the exact optimiser`);
    }
  }
  return items.sort(order).slice(0, pool).map((it) => it.kept);
}

/**
 * Keeps an item unless `pool` items with fewer parameters have at least its value: any completion of it is then
 * beaten by `pool` distinct completions of those (ties go to fewer parameters). Within one parameter sum, keeps
 * the best `pool`.
 */
function prune(items: DpItem[], pool: number, order: (a: DpItem, b: DpItem) => number): DpItem[] {
  items.sort((a, b) => (a.params !== b.params ? a.params - b.params : order(a, b)));
  const kept: DpItem[] = [];
  const heap = new MinHeap();
  let i = 0;
  while (i < items.length) {
    let j = i;
    while (j < items.length && items[j].params === items[i].params) j++;
    // Compare against cheaper items only, then add this parameter sum's survivors to the heap.
    const survivors: DpItem[] = [];
    for (let k = i; k < j && survivors.length < pool; k++) {
      if (heap.size === pool && heap.min() >= items[k].value) break;
      survivors.push(items[k]);
    }
    for (const s of survivors) {
      kept.push(s);
      heap.pushBounded(s.value, pool);
    }
    i = j;
  }
  return kept;
}

/** Min-heap of the largest `bound` values seen. */
class MinHeap {
  private a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  min(): number {
    return this.a[0];
  }
  pushBounded(v: number, bound: number): void {
    if (this.a.length < bound) {
      this.a.push(v);
      let i = this.a.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (this.a[p] <= this.a[i]) break;
        [this.a[p], this.a[i]] = [this.a[i], this.a[p]];
        i = p;
      }
    } else if (v > this.a[0]) {
      this.a[0] = v;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.a.length && this.a[l] < this.a[m]) m = l;
        if (r < this.a.length && this.a[r] < this.a[m]) m = r;
        if (m === i) break;
        [this.a[m], this.a[i]] = [this.a[i], this.a[m]];
        i = m;
      }
    }
  }
}
