/**
 * Stage 8, report: the selection section of an optimize report from the measured subsets.
 */
import { OptimizeJob } from '../jobs';
import { Baseline } from '../optimize/baselines';
import { predictedObjective } from '../optimize/predict';
import { pairedDifference } from '../optimize/select';
import { WidthShape, candidateKey, compensationRecord } from '../compensate/search';
import { BaselineRecord, CandidateRecord, CompensationRecord, Score, SelectionReport, TaskSelection, UnfitBaseline, VocabTrimReport } from '../report';
import { budgetAdvice, BUDGET_ADVICE_NOTE, embeddingOnly, RetentionMeter } from './advise';
import { SearchSpace } from './candidates';
import { Measured, SubsetEvaluator } from './measure';
import { Selection, weightedTasks } from './select';
import { VocabPlan } from './vocabTrim';

/** Everything the selection section is made from. */
export interface SelectionInputs {
  job: Pick<OptimizeJob, 'budget' | 'targetRetention'>;
  space: SearchSpace;
  evaluator: SubsetEvaluator;
  baselines: Baseline[];
  /** Baselines that do not fit the budget (none measured for them). */
  unfit?: UnfitBaseline[];
  origin: Map<string, string>;
  selection: Selection;
  meter: RetentionMeter;
  cPerTask: Record<string, number>;
  vocab: VocabTrimReport | undefined;
  /** Sizes for describing compensated candidates (under --compensate). */
  shape?: WidthShape;
}

export function selectionReport(x: SelectionInputs): SelectionReport {
  const { job, space, evaluator, selection, meter } = x;
  const { winner } = selection;
  const fraction = (p: number) => p / space.acc.total;
  const empty = evaluator.measured.find((m) => m.kept.length === 0)!;
  return {
    budget: { spec: job.budget, params: space.budget, fraction: fraction(space.budget) },
    targetRetention: job.targetRetention,
    kept: winner.kept,
    ...withCompensation(winner, x.shape),
    params: winner.params,
    fraction: fraction(winner.params),
    origin: x.origin.get(winner.key) ?? 'predicted',
    rule: { name: selection.rule, requested: selection.requested, simulation: selection.simulation, candidatesInBudget: selection.candidatesInBudget },
    objective: { predicted: predictedObjective(space.objective, winner.kept), validation: winner.objective, test: winner.testObjective! },
    perTask: perTaskSelection(x),
    retention: meter.mean(winner.test!),
    baselines: baselineRecords(x),
    ...(x.unfit?.length ? { unfitBaselines: x.unfit } : {}),
    candidates: candidateRecords(x),
    budgetAdvice: { perTask: budgetAdvice(evaluator.splits, evaluator.measured, space.objective.scores, space.acc, job.targetRetention, winner, space.seed), note: BUDGET_ADVICE_NOTE },
    embeddingOnly: embeddingOnly(empty, meter, job.targetRetention),
    cPerTask: x.cPerTask,
    validationReference: validationReference(space),
    ...(x.vocab ? { vocabTrim: x.vocab } : {}),
  };
}

/** The unpruned model's cross-validated accuracy per task, final and best layer: the trade-off chart's retention reference. */
function validationReference(space: SearchSpace): SelectionReport['validationReference'] {
  return Object.fromEntries(Object.entries(space.objective.scores).map(([name, vs]) => [name, { final: vs[vs.length - 1], bestLayer: Math.max(...vs) }]));
}

function withCompensation(m: Measured, shape: WidthShape | undefined): { compensation?: CompensationRecord } {
  const c = compensationRecord(m.kept, m.compensation, shape);
  return c ? { compensation: c } : {};
}

function perTaskSelection(x: SelectionInputs): Record<string, TaskSelection> {
  const { winner } = x.selection;
  const perTask: Record<string, TaskSelection> = {};
  for (const sp of x.evaluator.splits) {
    const name = sp.task.name;
    const ref = x.meter.reference[name];
    perTask[name] = { validation: winner.val[name], test: winner.test![name], reference: { final: ref.final, bestLayer: ref.bestLayer }, majority: ref.majority, retention: x.meter.of(name, winner.test![name]) };
  }
  return perTask;
}

function baselineRecords(x: SelectionInputs): BaselineRecord[] {
  const { winner } = x.selection;
  const wTasks = weightedTasks(x.evaluator.splits);
  const testRows = (m: Measured) => ({ params: m.params, rows: m.testRows! });
  return x.baselines.map((b) => {
    const m = x.evaluator.measured.find((y) => y.key === candidateKey(b.kept, b.compensation))!;
    const gap = (t: typeof wTasks) => pairedDifference(testRows(winner), testRows(m), t);
    const vsSelected = { objective: gap(wTasks), perTask: Object.fromEntries(wTasks.map((t) => [t.name, gap([t])])) };
    return { name: b.name, kept: b.kept, ...withCompensation(m, x.shape), note: b.note, params: m.params, fraction: m.params / x.space.acc.total, validation: m.objective, test: m.test!, testObjective: m.testObjective!, retention: x.meter.perTask(m.test!), meanRetention: x.meter.mean(m.test!), vsSelected };
  });
}

function candidateRecords(x: SelectionInputs): CandidateRecord[] {
  return x.evaluator.measured
    .map((m) => ({ kept: m.kept, ...withCompensation(m, x.shape), params: m.params, fraction: m.params / x.space.acc.total, origin: x.origin.get(m.key) ?? '', predicted: predictedObjective(x.space.objective, m.kept), validation: m.objective, test: m.testObjective ?? null, perTask: Object.fromEntries(x.evaluator.splits.map((sp) => [sp.task.name, m.val[sp.task.name].accuracy])) }))
    .sort((a, b) => b.validation - a.validation);
}

/** The --vocab-trim section: what was kept and what trimming alone cost the unpruned model. */
export function vocabTrimReport(vocab: VocabPlan, unprunedFinalTrimmed: Record<string, Score>): VocabTrimReport {
  return {
    sourceVocab: vocab.sourceVocab,
    keptTokens: vocab.kept.length,
    unkId: vocab.unkId,
    wordEmbeddingParams: { before: vocab.sourceVocab * vocab.hidden, after: vocab.kept.length * vocab.hidden },
    unseenTestTokens: vocab.unseenTestTokens,
    unseen: vocab.unseen,
    unprunedFinalTrimmed,
  };
}
