/**
 * Stage 5b, compensated candidates (`--compensate`): after the plain search, the best measured
 * subsets with least-squares bridges over their gaps, and subsets with more blocks narrowed
 * (heads, FFN neurons, refitted) to fit the same budget, each fitted on training texts and
 * measured for real like any candidate; plus the two compensated baselines.
 */
import { JobContext, stage } from '../jobs';
import { throwIfAborted } from '../errors';
import { Baseline } from '../optimize/baselines';
import { bestPredictedSubsets, predictedObjective } from '../optimize/predict';
import { localSearchNeighbours, subsetParams } from '../optimize/subsets';
import { gapsOf } from '../compensate/fit';
import { ProbeReport, UnfitBaseline } from '../report';
import { BaselineChoice } from '../optimize/baselineNames';
import { ProbeSettings } from '../settings';
import { Compensation } from '../compensate/mode';
import { CompSpec, WidthShape, appliedSpec, candidateKey, compensatedCandidates, compensatedParams, embeddingSaving, factorisedSpec, isCompensated, modeAllows, replaceMeSubset, uniformWidth } from '../compensate/search';
import { CalibrationOptions, CalibrationSet } from '../compensate/calibrate';
import { buildVariant, variantCalibration } from '../compensate/variant';
import { DEFAULT_UNIT_SCORE, UnitScore } from '../compensate/scores';
import { SearchSpace } from './candidates';
import { Compensator, Measured, SubsetEvaluator } from './measure';
import { PreparedRun } from './prepare';
import { ModelInfo } from '../model/modelInfo';

/** Narrowed candidates are few: each fits two sub-layers per kept block (minutes on a CPU). */
const NARROWED_CANDIDATES = 2;
/** With --embedding-rank: subsets with the word table factorised (whole blocks where they fit, else narrowed). */
const FACTORISED_CANDIDATES = 4;

/** How compensated candidates calibrate under a run's settings (seed, batch size, threads). */
export function calibrationOptions(settings: ProbeSettings): CalibrationOptions {
  return { seed: settings.seed, batchSize: settings.batchSize, threads: settings.threads };
}

/** Builds compensated candidates from `source` (run.info, or its standalone copy: compensate/source.ts). */
export function compensator(run: PreparedRun, source: ModelInfo, space: SearchSpace, settings: ProbeSettings, shape: WidthShape): Compensator {
  const opts = calibrationOptions(settings);
  let set: CalibrationSet | undefined;
  return {
    build: (kept, spec, ctx) => buildVariant(source, (set ??= variantCalibration(run.tokenizer, run.tasks, opts)), kept, spec, opts, ctx),
    params: (kept, spec) => compensatedParams(space.acc, kept, spec, shape),
  };
}

/**
 * ReplaceMe-style (contiguous run by angular distance, bridged) and FLAP-style (every block,
 * uniformly narrowed and refitted) baselines in the budget, and with --embedding-rank the longest
 * prefix that fits with the factorised table (one per rank tried: `drop-top-factorised-rR` where
 * several are); none without --compensate, and no FLAP one where the blocks cannot be narrowed.
 */
export function compensatedBaselines(mode: Compensation, space: SearchSpace, shape: WidthShape, signals: NonNullable<ProbeReport['signals']>, embeddingRanks: number[] = [], narrowable = true): Baseline[] {
  if (mode === 'none') return [];
  const { numBlocks: L, acc, budget } = space;
  const out: Baseline[] = [];
  // With --embedding-rank, the simplest heuristic gets the same factorised table: what the
  // factorisation alone buys, apart from which blocks are kept.
  for (const embeddingRank of embeddingRanks) {
    let k = 0;
    while (k < L && compensatedParams(acc, range(k + 1), { bridges: false, embeddingRank }, shape) <= budget) k++;
    const name = factorisedBaselineName(embeddingRank, embeddingRanks);
    if (compensatedParams(acc, range(k), { bridges: false, embeddingRank }, shape) <= budget) out.push({ name, kept: range(k), compensation: { bridges: false, embeddingRank } });
  }
  const rm = replaceMeSubset(L, acc, budget, shape, signals.angularDistance);
  // Its span may end the model: then there is no gap to bridge, and it is the plain subset (said in its note).
  const rmSpec = rm && appliedSpec(rm, { bridges: true });
  if (rm) out.push({ name: 'replaceme-bridge', kept: rm, ...(rmSpec ? { compensation: rmSpec } : { note: `the span it drops (${rm.length === L - 1 ? `block ${L - 1}` : `blocks ${rm.length}–${L - 1}`}) ends the model: no gap to bridge, so no bridge (a linear map before the linear probe adds nothing)` }) });
  const all = Array.from({ length: L }, (_, i) => i);
  const flap = narrowable && uniformWidth(acc, all, budget, shape, false);
  if (flap) out.push({ name: 'flap-uniform', kept: all, compensation: flap });
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** `drop-top-factorised`, or `drop-top-factorised-rR` where several ranks are tried. */
const factorisedBaselineName = (rank: number, ranks: number[]) => (ranks.length > 1 ? `drop-top-factorised-r${rank}` : 'drop-top-factorised');

/**
 * The drop-top-factorised baselines (when `choice` keeps them) whose rank leaves not even the
 * model without blocks in the budget: with several ranks, a budget between their floors.
 */
export function unfitFactorisedBaselines(space: SearchSpace, shape: WidthShape, embeddingRanks: number[], choice: BaselineChoice): UnfitBaseline[] {
  if (choice !== 'all' && !choice.includes('drop-top-factorised')) return [];
  const floor = (embeddingRank: number) => compensatedParams(space.acc, [], { bridges: false, embeddingRank }, shape);
  return embeddingRanks
    .filter((r) => floor(r) > space.budget)
    .map((r) => ({ name: factorisedBaselineName(r, embeddingRanks), reason: `with its word table at rank ${r} the model without blocks has ${floor(r).toLocaleString('en-US')} parameters (${((100 * floor(r)) / space.acc.total).toFixed(1)} %)` }));
}

/**
 * Subsets up to two blocks larger than the budget allows, best predicted first: the ones width
 * pruning can bring in. Those that already fit are left out (they need no narrowing), so the
 * predictor is asked for several times as many.
 */
function widerSubsets(space: SearchSpace, extra = 0): number[][] {
  const biggest = Math.max(...space.acc.perBlock);
  const wider = bestPredictedSubsets(space.objective, space.acc, Math.min(space.acc.total, space.budget + 2 * biggest + extra), 8 * space.candidates);
  return wider.filter((p) => p.params > space.budget).map((p) => p.kept);
}

/** Measures the compensated variants of the best plain candidates; records where each came from. */
export async function measureCompensated(evaluator: SubsetEvaluator, mode: Compensation, space: SearchSpace, shape: WidthShape, origin: Map<string, string>, ctx: JobContext, score: UnitScore = DEFAULT_UNIT_SCORE, embeddingRanks: number[] = []): Promise<void> {
  if (mode === 'none') return;
  const ranked = evaluator.measured
    .filter((m) => !isCompensated(m.compensation) && m.params <= space.budget)
    .sort((a, b) => b.objective - a.objective)
    .map((m) => m.kept);
  // A factorised word table frees parameters for more blocks: look further above the budget
  // (as far as the smallest rank tried frees).
  const saving = Math.max(0, ...embeddingRanks.map((r) => embeddingSaving(shape, r)));
  const wider = modeAllows(mode).width || embeddingRanks.length ? widerSubsets(space, saving) : [];
  const cands = compensatedCandidates(mode, ranked, wider, space.acc, space.budget, shape, { bridged: space.candidates, narrowed: NARROWED_CANDIDATES, factorised: FACTORISED_CANDIDATES }, score, embeddingRanks);
  stage(ctx, 'compensate', `${cands.length} compensated candidate(s): fitting on training texts and measuring`);
  let done = 0;
  for (const c of cands) {
    const key = candidateKey(c.kept, c.spec);
    if (!origin.has(key)) origin.set(key, c.origin);
    ctx.onProgress?.({ kind: 'candidate', done: done++, total: cands.length, subset: key });
    await evaluator.measure(c.kept, false, ctx, c.spec);
  }
  const rank = bestFactorisedRank(evaluator.measured, space.budget);
  if (rank !== undefined) await factorisedLocalSearch(evaluator, { space, shape, allow: modeAllows(mode), rank, score }, origin, ctx);
}

/**
 * The rank of the best factorised candidate in cross-validation: where several ranks were tried,
 * the local search continues at the one the training rows prefer.
 */
export function bestFactorisedRank(measured: Pick<Measured, 'compensation' | 'params' | 'objective'>[], budget: number): number | undefined {
  let best: Pick<Measured, 'compensation' | 'objective'> | undefined;
  for (const m of measured) if (m.compensation?.embeddingRank !== undefined && m.params <= budget && (!best || m.objective > best.objective)) best = m;
  return best?.compensation?.embeddingRank;
}

/** Rounds of local search around the best factorised candidate (whole blocks, bridged where allowed). */
const FACTORISED_LOCAL_ROUNDS = 2;

/** What the factorised local search needs to know about where it searches. */
export interface FactorisedSpace {
  space: SearchSpace;
  shape: WidthShape;
  allow: { bridges: boolean; width: boolean };
  rank: number;
  score: UnitScore;
}

/**
 * The factorised table changes which subsets fit, so the plain search's neighbourhoods are the
 * wrong ones: swap, add or drop one block of `from` and keep those that fit, not measured yet
 * (`seen` keys), best predicted first, at most `space.candidates`. Around a narrowed candidate
 * (where whole blocks do not fit) the neighbours are narrowed to fit as well: swaps, drops and
 * additions of one block, however far over the budget `from` is whole; around a whole one they
 * stay whole.
 */
export function factorisedNeighbours(from: { kept: number[]; compensation?: CompSpec }, f: FactorisedSpace, seen: Set<string>): { kept: number[]; spec: CompSpec }[] {
  const { space, shape, allow, rank, score } = f;
  const acc = { ...space.acc, embeddings: space.acc.embeddings - embeddingSaving(shape, rank) };
  const narrowed = allow.width && (from.compensation?.heads !== undefined || from.compensation?.ffnWidth !== undefined);
  const reach = narrowed ? Math.max(space.budget, subsetParams(acc, from.kept) + Math.max(...acc.perBlock)) : space.budget;
  const specOf = (kept: number[]): CompSpec => (narrowed ? factorisedSpec(kept, allow, space.acc, space.budget, shape, rank, score) : { bridges: allow.bridges && gapsOf(kept).length > 0, embeddingRank: rank });
  return localSearchNeighbours(from.kept, space.numBlocks, acc, reach)
    .map((kept) => ({ kept, spec: specOf(kept) }))
    .filter((c) => !seen.has(candidateKey(c.kept, c.spec)) && compensatedParams(space.acc, c.kept, c.spec, shape) <= space.budget)
    .sort((a, b) => predictedObjective(space.objective, b.kept) - predictedObjective(space.objective, a.kept))
    .slice(0, space.candidates);
}

/** Rounds of factorisedNeighbours around the best factorised candidate (by cross-validation), while that improves it. */
async function factorisedLocalSearch(evaluator: SubsetEvaluator, f: FactorisedSpace, origin: Map<string, string>, ctx: JobContext): Promise<void> {
  const best = () => evaluator.measured.filter((m) => m.compensation?.embeddingRank === f.rank && m.params <= f.space.budget).reduce<Measured | null>((a, m) => (!a || m.objective > a.objective ? m : a), null);
  for (let round = 0; round < FACTORISED_LOCAL_ROUNDS; round++) {
    throwIfAborted(ctx.signal);
    const from = best();
    if (!from) return;
    const next = factorisedNeighbours(from, f, new Set(evaluator.measured.map((m) => m.key)));
    if (next.length === 0) return;
    stage(ctx, 'compensate', `factorised local search round ${round + 1}: ${next.length} neighbours of ${from.key}`);
    for (const [i, c] of next.entries()) {
      const key = candidateKey(c.kept, c.spec);
      if (!origin.has(key)) origin.set(key, 'factorised-local');
      ctx.onProgress?.({ kind: 'candidate', done: i, total: next.length, subset: key });
      await evaluator.measure(c.kept, false, ctx, c.spec);
    }
    if (best() === from) return;
  }
}

