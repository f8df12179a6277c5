/**
 * Choosing one subset among measured candidates, and judging the choice without the test split.
 *
 * Every candidate has an out-of-fold outcome for every training row (correct or not, and the
 * log-probability of the true class). With ~25 candidates whose cross-validated accuracies differ
 * by a point on 1000 rows, the highest score is partly luck (winner's curse). Three rules are
 * offered; `auto` picks the one that did best in a split-half simulation on the training rows:
 * choose on a random half, score the choice on the other half, many times. The test split is
 * never read here.
 */
import { badValue } from '../errors';
import { Rng } from '../util/rng';
import { Verdict, verdict } from '../../shared/verdict';

export interface CandidateRows {
  params: number;
  /** Out-of-fold outcomes per task, aligned with the task's training rows. */
  rows: Record<string, { correct: Uint8Array; logp: Float64Array }>;
}

export interface WeightedTask {
  name: string;
  weight: number;
}

/**
 * - `max-accuracy`: the highest cross-validated accuracy (ties: fewer parameters).
 * - `one-se`: the fewest parameters among candidates within one paired standard error of the
 *   highest accuracy (Breiman's one-standard-error rule); ties: higher accuracy.
 * - `max-loglik`: the highest mean log-probability of the true class, a proper score whose
 *   row-level differences are less noisy than 0/1 accuracy; ties: fewer parameters.
 * - `heuristic`: the published heuristic (a baseline, not a random one) with the highest
 *   cross-validated accuracy; ties: fewer parameters. Choosing among a few published subsets
 *   suffers less winner's curse than choosing among all; when the simulation finds that no
 *   searched subset is expected to beat them on held-out rows, `auto` ships the heuristic.
 */
export const SELECTION_RULES = ['max-accuracy', 'one-se', 'max-loglik', 'heuristic'] as const;
export type SelectionRule = (typeof SELECTION_RULES)[number];

/** Rows of each task a statistic is computed on (all rows when absent). */
export type RowSubset = Record<string, Int32Array>;

function totalWeight(tasks: WeightedTask[]): number {
  return tasks.reduce((a, t) => a + t.weight, 0);
}

/** Weighted mean over tasks of the per-row mean of `value`. */
function weightedMean(c: CandidateRows, tasks: WeightedTask[], value: (r: CandidateRows['rows'][string], i: number) => number, subset?: RowSubset): number {
  let s = 0;
  for (const t of tasks) {
    const r = c.rows[t.name];
    const idx = subset?.[t.name];
    const n = idx ? idx.length : r.correct.length;
    let acc = 0;
    for (let j = 0; j < n; j++) acc += value(r, idx ? idx[j] : j);
    s += (t.weight * acc) / Math.max(1, n);
  }
  return s / totalWeight(tasks);
}

export function accuracyOn(c: CandidateRows, tasks: WeightedTask[], subset?: RowSubset): number {
  return weightedMean(c, tasks, (r, i) => r.correct[i], subset);
}

export function logLikOn(c: CandidateRows, tasks: WeightedTask[], subset?: RowSubset): number {
  return weightedMean(c, tasks, (r, i) => r.logp[i], subset);
}

/**
 * Task-weighted accuracy of a minus that of b on the same rows, with its paired standard error:
 * Var = Σ_t (w_t/W)² · Var(d_t)/n_t, d_t the per-row difference of correctness.
 */
export function pairedDifference(a: CandidateRows, b: CandidateRows, tasks: WeightedTask[], subset?: RowSubset, which: 'correct' | 'logp' = 'correct'): { diff: number; se: number } {
  const W = totalWeight(tasks);
  let diff = 0;
  let variance = 0;
  for (const t of tasks) {
    const ra = a.rows[t.name][which];
    const rb = b.rows[t.name][which];
    const idx = subset?.[t.name];
    const n = idx ? idx.length : ra.length;
    if (n === 0) continue;
    let s = 0;
    let s2 = 0;
    for (let j = 0; j < n; j++) {
      const i = idx ? idx[j] : j;
      const d = ra[i] - rb[i];
      s += d;
      s2 += d * d;
    }
    const mean = s / n;
    const v = n > 1 ? (s2 - n * mean * mean) / (n - 1) : 0;
    const w = t.weight / W;
    diff += w * mean;
    variance += (w * w * Math.max(0, v)) / n;
  }
  return { diff, se: Math.sqrt(variance) };
}

/**
 * Index of the candidate `rule` picks (candidates must be non-empty); `heuristics` are the indices
 * of the published heuristics, which the `heuristic` rule needs (at least one).
 */
export function selectBy(rule: SelectionRule, candidates: CandidateRows[], tasks: WeightedTask[], subset?: RowSubset, heuristics: number[] = []): number {
  if (candidates.length === 0) throw new Error('selectBy: no candidates');
  const accs = candidates.map((c) => accuracyOn(c, tasks, subset));
  const better = (i: number, b: number, score: number[]) => score[i] > score[b] || (score[i] === score[b] && candidates[i].params < candidates[b].params);
  const argBest = (score: number[]) => score.reduce((b, _, i) => (better(i, b, score) ? i : b), 0);
  if (rule === 'heuristic') {
    if (heuristics.length === 0) throw new Error('selectBy: the heuristic rule needs at least one heuristic');
    return heuristics.reduce((b, i) => (better(i, b, accs) ? i : b));
  }
  if (rule === 'max-accuracy') return argBest(accs);
  if (rule === 'max-loglik') return argBest(candidates.map((c) => logLikOn(c, tasks, subset)));
  const best = argBest(accs);
  let pick = best;
  candidates.forEach((c, i) => {
    if (i === best) return;
    const { diff, se } = pairedDifference(candidates[best], c, tasks, subset);
    if (diff > se) return;
    const p = candidates[pick];
    if (c.params < p.params || (c.params === p.params && accs[i] > accs[pick])) pick = i;
  });
  return pick;
}

export interface RuleSimulation {
  rule: SelectionRule;
  /** Mean task-weighted accuracy, on the other half, of the subset chosen on one half. */
  heldOutAccuracy: number;
  /** Mean of (chosen − best heuristic on the other half), accuracy points as a fraction. */
  vsBestHeuristic: number;
  /** Share of repeats where the choice was at least as good as every heuristic on the other half. */
  atLeastBestHeuristic: number;
  /** Mean parameters of the choice. */
  meanParams: number;
}

export interface SimulationResult {
  repeats: number;
  /** How many heuristics set the bar (absent in reports before --baselines; 0 = no bar, the "≥ best heuristic" shares mean nothing). */
  heuristics?: number;
  rules: RuleSimulation[];
  /** The rule with the highest held-out accuracy (ties: the order of SELECTION_RULES). */
  best: SelectionRule;
}

/**
 * Split-half simulation on the training rows: `repeats` times, split each task's rows at random
 * into halves A and B, let every rule choose on A, score the choice on B; the heuristics
 * (indices into `candidates`) are scored on B as the bar to meet. The `heuristic` rule takes part
 * only when there are heuristics.
 */
export function simulateRules(candidates: CandidateRows[], tasks: WeightedTask[], heuristics: number[], opts: { repeats?: number; seed?: number } = {}): SimulationResult {
  const repeats = opts.repeats ?? 200;
  const rng = new Rng(opts.seed ?? 0);
  const sums = SELECTION_RULES.filter((rule) => rule !== 'heuristic' || heuristics.length > 0).map((rule) => ({ rule, acc: 0, vs: 0, wins: 0, params: 0 }));
  for (let r = 0; r < repeats; r++) {
    const A: RowSubset = {};
    const B: RowSubset = {};
    for (const t of tasks) {
      const n = candidates[0].rows[t.name].correct.length;
      const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      A[t.name] = Int32Array.from(perm.slice(0, n >> 1));
      B[t.name] = Int32Array.from(perm.slice(n >> 1));
    }
    const heldOut = candidates.map((c) => accuracyOn(c, tasks, B));
    const bar = heuristics.length ? Math.max(...heuristics.map((h) => heldOut[h])) : -Infinity;
    for (const s of sums) {
      const i = selectBy(s.rule, candidates, tasks, A, heuristics);
      s.acc += heldOut[i];
      s.vs += heldOut[i] - bar;
      s.wins += heldOut[i] >= bar - 1e-12 ? 1 : 0;
      s.params += candidates[i].params;
    }
  }
  const rules = sums.map((s) => ({ rule: s.rule, heldOutAccuracy: s.acc / repeats, vsBestHeuristic: heuristics.length ? s.vs / repeats : 0, atLeastBestHeuristic: s.wins / repeats, meanParams: s.params / repeats }));
  const best = rules.reduce((b, x) => (x.heldOutAccuracy > b.heldOutAccuracy + 1e-12 ? x : b)).rule;
  return { repeats, heuristics: heuristics.length, rules, best };
}

export function parseSelectionRule(s: string): SelectionRule | 'auto' {
  if (s === 'auto' || (SELECTION_RULES as readonly string[]).includes(s)) return s as SelectionRule | 'auto';
  throw badValue('select', s, `give auto, ${SELECTION_RULES.join(', ')}.`);
}

/** One sentence saying how the winner was chosen, for the CLI summary and the model card. */
export function describeRule(rule: SelectionRule, requested: SelectionRule | 'auto', sim: SimulationResult, poolSize: number): string {
  const pts = (x: number) => `${(100 * x).toFixed(1)}`;
  const how = requested === 'auto' ? `rule ${rule}, chosen by a split-half simulation on the training rows (${sim.repeats} repeats)` : `rule ${rule} (asked for)`;
  const bar = sim.heuristics !== 0;
  const sims = sim.rules.map((r) => `${r.rule} ${pts(r.heldOutAccuracy)} %${bar ? `, ≥ best heuristic in ${(100 * r.atLeastBestHeuristic).toFixed(0)} % of repeats` : ''}`).join('; ');
  const why = rule === 'heuristic' ? ' No searched subset was expected to beat the published heuristics on held-out rows, so the heuristic best in cross-validation is kept.' : '';
  return `Chosen among ${poolSize} measured subsets by 5-fold cross-validation on the training split, ${how}: held-out accuracy ${sims}.${why} The test split was never used to choose.`;
}

/** A paired gap in accuracy points with its standard error: "+1.2 ± 0.8". */
export function formatGap(g: { diff: number; se: number }): string {
  return `${g.diff >= 0 ? '+' : '−'}${Math.abs(100 * g.diff).toFixed(1)} ± ${(100 * g.se).toFixed(1)}`;
}

/** The verdict (src/shared/verdict.ts) of a selection as the core records it, for the CLI summary and the model card. */
export function selectionVerdict(s: {
  baselines: { name: string; vsSelected: { objective: { diff: number; se: number } } }[];
  perTask: Record<string, { test: { accuracy: number }; majority: number; reference: { final: { accuracy: number } } }>;
  unfitBaselines?: { name: string; reason: string }[];
}): Verdict {
  return verdict({
    baselines: s.baselines.map((b) => ({ name: b.name, gap: b.vsSelected.objective })),
    ...(s.unfitBaselines ? { unfit: s.unfitBaselines } : {}),
    perTask: Object.fromEntries(Object.entries(s.perTask).map(([k, t]) => [k, { test: t.test.accuracy, majority: t.majority, final: t.reference.final.accuracy }])),
  });
}

/** One sentence on a --vocab-trim, for the CLI summary and the model card. */
export function describeVocabTrim(v: { sourceVocab: number; keptTokens: number; unseen?: 'nearest' | 'unknown'; wordEmbeddingParams: { before: number; after: number }; unseenTestTokens: Record<string, number>; unprunedFinalTrimmed: Record<string, { accuracy: number }> }, unprunedFinal: Record<string, number>): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const per = Object.keys(v.unseenTestTokens)
    .map((t) => `${t}: ${(100 * v.unseenTestTokens[t]).toFixed(2)} % of test tokens unseen, unpruned final layer ${(100 * unprunedFinal[t]).toFixed(1)} → ${(100 * v.unprunedFinalTrimmed[t].accuracy).toFixed(1)} %`)
    .join('; ');
  return `Vocabulary trimmed to the ${n(v.keptTokens)} of ${n(v.sourceVocab)} tokens the training texts use (word embeddings ${n(v.wordEmbeddingParams.before)} → ${n(v.wordEmbeddingParams.after)} parameters); ${unseenWords(v.unseen)}. ${per}.`;
}

/** Where a trimmed vocabulary's dropped ids read, in words (report, card, CLI, panel). */
export function unseenWords(unseen: 'nearest' | 'unknown' | undefined): string {
  return unseen === 'nearest' ? "other ids read the row of their nearest kept token (cosine of the source word embeddings; special tokens read the unknown token's)" : "other ids read the unknown token's row";
}
