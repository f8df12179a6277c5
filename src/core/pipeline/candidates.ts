/**
 * Stages 4 and 5, plan and measure candidates: the embeddings alone, the published baselines and
 * the subsets the per-layer probes predict best are measured for real, then a few rounds of local
 * search around the best measured one.
 */
import { JobContext, stage } from '../jobs';
import { throwIfAborted } from '../errors';
import { Baseline, baselineSubsets, chosenBaselines } from '../optimize/baselines';
import { BASELINE_NAMES, BaselineChoice } from '../optimize/baselineNames';
import { bestPredictedSubsets, Objective, predictedObjective } from '../optimize/predict';
import { localSearchNeighbours, minimumParams, subsetKey } from '../optimize/subsets';
import type { ParamCounts } from '../../shared/params';
import { ProbeReport, SearchReport, UnfitBaseline } from '../report';
import { CompSpec, candidateKey, isCompensated } from '../compensate/search';
import { Measured, SubsetEvaluator } from './measure';
import { exhaustiveSearch, Halving, screeningStages } from './halving';
import { weightedTasks } from './select';
import { halvingChunks } from './together';

const LOCAL_SEARCH_ROUNDS = 3;

/** Where the search looks: the model's blocks, their parameters, the budget and what it maximises. */
export interface SearchSpace {
  numBlocks: number;
  acc: ParamCounts;
  budget: number;
  /** Task weights and cross-validated per-layer scores: the predicted objective. */
  objective: Objective;
  /** Subsets predicted best, and neighbours per local-search round. */
  candidates: number;
  seed: number;
}

export interface PlannedCandidate {
  kept: number[];
  compensation?: CompSpec;
  /** Also score the test split (reported for the embeddings alone and the baselines). */
  test: boolean;
  origin: string;
}

export interface CandidatePlan {
  baselines: Baseline[];
  /** Baselines asked for that cannot fit the budget (below the whole-table floor), with why. */
  unfit: UnfitBaseline[];
  plan: PlannedCandidate[];
}

/**
 * `extra`: baselines measured beside the published ones (the compensated ones under --compensate);
 * `choice` (--baselines) keeps some or none of them. Below the block-less model with the whole word
 * table (possible with --embedding-rank), no plain subset fits: `emptySpec` is then the factorised
 * table the embeddings-only candidate uses, and the baselines that keep the whole table are listed
 * as not fitting rather than measured.
 */
export function planCandidates(space: SearchSpace, signals: NonNullable<ProbeReport['signals']>, ctx: JobContext, extra: Baseline[] = [], choice: BaselineChoice = 'all', emptySpec?: CompSpec): CandidatePlan {
  const { numBlocks: L, acc, budget, objective } = space;
  const belowFloor = minimumParams(acc) > budget;
  const plain = belowFloor ? [] : baselineSubsets(L, acc, budget, { ...objective, blockInfluence: signals.blockInfluence, angularDistance: signals.angularDistance, seed: space.seed });
  const all = [...plain, ...extra];
  const baselines = chosenBaselines(all, choice);
  const unfit = belowFloor ? wholeTableBaselines(choice, acc) : [];
  stage(ctx, 'candidates', `budget ${budget.toLocaleString('en-US')} parameters (${((100 * budget) / acc.total).toFixed(1)} %): measuring candidates and ${baselines.length === all.length ? 'baselines' : `${baselines.length} of ${all.length} baselines (--baselines)`}${unfit.length ? `; ${unfit.length} baselines keep the whole word table and do not fit` : ''}`);
  const predicted = bestPredictedSubsets(objective, acc, budget, space.candidates);
  const plan: PlannedCandidate[] = [
    { kept: [], ...(belowFloor && emptySpec ? { compensation: emptySpec } : {}), test: true, origin: 'embeddings-only' },
    ...baselines.map((b) => ({ kept: b.kept, compensation: b.compensation, test: true, origin: `baseline:${b.name}` })),
    ...predicted.map((p) => ({ kept: p.kept, test: false, origin: 'predicted' })),
  ];
  return { baselines, unfit, plan };
}

/** The baselines `choice` asks for that keep the whole word table (all but drop-top-factorised), with why none of them fits. */
function wholeTableBaselines(choice: BaselineChoice, acc: ParamCounts): UnfitBaseline[] {
  const min = minimumParams(acc);
  const reason = `it keeps the whole word table, with which the model without blocks already has ${min.toLocaleString('en-US')} parameters (${((100 * min) / acc.total).toFixed(1)} %)`;
  return BASELINE_NAMES.filter((n) => n !== 'drop-top-factorised' && (choice === 'all' || choice.includes(n))).map((name) => ({ name, reason }));
}

/** The best measured subset in the budget (ties: fewer parameters). */
export function bestInBudget(measured: Measured[], budget: number): Measured {
  return measured.filter((m) => m.params <= budget).reduce((a, b) => (b.objective > a.objective || (b.objective === a.objective && b.params < a.params) ? b : a));
}

/**
 * One entry per distinct candidate (blocks and compensation; heuristics often agree: dalvi-prefix
 * and drop-top, or the embeddings alone), the first origin kept and test scored if any entry asks for it, so every
 * subset is measured and counted once.
 */
export function distinctPlan(plan: PlannedCandidate[]): PlannedCandidate[] {
  const byKey = new Map<string, PlannedCandidate>();
  for (const p of plan) {
    const key = candidateKey(p.kept, p.compensation);
    const seen = byKey.get(key);
    byKey.set(key, seen ? { ...seen, test: seen.test || p.test } : p);
  }
  return [...byKey.values()];
}

/** Where each measured candidate came from (by key), and how the search measured them. */
export interface Searched {
  origin: Map<string, string>;
  search: SearchReport;
}

/**
 * Measures the plan, then local search; returns where each measured subset came from (by subset
 * key). Progress counts distinct subsets: "candidate k of n", n growing by each local-search round.
 * Unless `exhaustive`, predicted and local-search subsets go through successive halving
 * (halving.ts); the embeddings alone and the baselines are measured on every row. Plain subsets
 * known at once (the plan, then each local-search round) are extracted together first
 * (together.ts), their training rows in the chunks halving extracts them in: halving then
 * screens them on the same values and drops the same candidates, but no longer saves a dropped
 * candidate's later chunks (RESULTS.md §8a measures both paths).
 */
export async function measureCandidates(evaluator: SubsetEvaluator, plan: PlannedCandidate[], space: SearchSpace, ctx: JobContext, exhaustive = false): Promise<Searched> {
  const origin = new Map<string, string>();
  const distinct = distinctPlan(plan);
  const halving = exhaustive ? null : new Halving(evaluator, screeningStages(evaluator.splits, space.seed), weightedTasks(evaluator.splits));
  let done = 0;
  let total = distinct.length;
  const measure = async (kept: number[], test: boolean, from: string, spec?: CompSpec) => {
    const key = candidateKey(kept, spec);
    if (!origin.has(key)) origin.set(key, from);
    ctx.onProgress?.({ kind: 'candidate', done, total, subset: key });
    done++;
    const m = test || spec || !halving?.stages.length ? await evaluator.measure(kept, test, ctx, spec) : await halving.measure(kept, from, bestInBudget(evaluator.measured, space.budget), ctx);
    if (!m) origin.delete(key);
  };
  try {
    // Screened candidates' training rows in the chunks halving extracts them in (same batches, same numbers).
    const screened = halving?.stages.length ? halvingChunks(halving.stages, evaluator.splits) : undefined;
    await evaluator.extractTogether(distinct.filter((p) => !isCompensated(p.compensation)), ctx, screened);
    for (const p of distinct) await measure(p.kept, p.test, p.origin, p.compensation);
    for (let round = 0; round < LOCAL_SEARCH_ROUNDS; round++) {
      throwIfAborted(ctx.signal);
      const best = bestInBudget(evaluator.measured, space.budget);
      const neighbours = unmeasuredNeighbours(best.kept, evaluator.measured, space, halving?.droppedKeys ?? []);
      if (neighbours.length === 0) break;
      total += neighbours.length;
      stage(ctx, 'candidates', `local search round ${round + 1}: ${neighbours.length} more subsets, neighbours of ${subsetKey(best.kept) || '(none)'}`);
      await evaluator.extractTogether(neighbours.map((kept) => ({ kept, test: false })), ctx, screened);
      for (const k of neighbours) await measure(k, false, 'local-search');
      if (bestInBudget(evaluator.measured, space.budget) === best) break;
    }
  } finally {
    evaluator.keepFeatures(null);
  }
  return { origin, search: halving?.report() ?? exhaustiveSearch() };
}

/** The neighbours of `kept` in the budget not measured (nor dropped) yet, best predicted first, at most `candidates`. */
function unmeasuredNeighbours(kept: number[], measured: Measured[], space: SearchSpace, dropped: string[]): number[][] {
  const seen = new Set([...measured.map((m) => m.key), ...dropped]);
  const predicted = (k: number[]) => predictedObjective(space.objective, k);
  return localSearchNeighbours(kept, space.numBlocks, space.acc, space.budget)
    .filter((k) => !seen.has(subsetKey(k)))
    .sort((a, b) => predicted(b) - predicted(a))
    .slice(0, space.candidates);
}
