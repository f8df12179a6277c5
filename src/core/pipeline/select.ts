/**
 * Stage 6, select: a rule picks the winner among every measured subset in the budget, using
 * training rows only (the rule itself is chosen by a split-half simulation unless asked for).
 */
import { JobContext, stage } from '../jobs';
import { badValue } from '../errors';
import { Baseline } from '../optimize/baselines';
import { SelectionRule, SimulationResult, WeightedTask, selectBy, simulateRules } from '../optimize/select';
import { candidateKey } from '../compensate/search';
import { Measured, SubsetEvaluator, TaskSplit } from './measure';

export interface Selection {
  /** The chosen subset, measured on the test split too. */
  winner: Measured;
  rule: SelectionRule;
  requested: SelectionRule | 'auto';
  simulation: SimulationResult;
  /** How many measured subsets were in the budget. */
  candidatesInBudget: number;
}

export function weightedTasks(splits: TaskSplit[]): WeightedTask[] {
  return splits.map((sp) => ({ name: sp.task.name, weight: sp.weight }));
}

export async function selectWinner(evaluator: SubsetEvaluator, budget: number, baselines: Baseline[], requested: SelectionRule | 'auto', seed: number, ctx: JobContext): Promise<Selection> {
  const pool = evaluator.measured.filter((m) => m.params <= budget);
  const wTasks = weightedTasks(evaluator.splits);
  const asRows = (m: Measured) => ({ params: m.params, rows: m.valRows });
  const baselineKeys = new Set(baselines.filter((b) => !b.name.startsWith('random')).map((b) => candidateKey(b.kept, b.compensation)));
  const heuristicIdx = pool.flatMap((m, i) => (baselineKeys.has(m.key) ? [i] : []));
  stage(ctx, 'candidates', `choosing among ${pool.length} measured subsets (split-half simulation on the training rows)`);
  const simulation = simulateRules(pool.map(asRows), wTasks, heuristicIdx, { seed });
  const rule: SelectionRule = requested === 'auto' ? simulation.best : requested;
  if (rule === 'heuristic' && heuristicIdx.length === 0) throw badValue('select', rule, 'no published heuristic was measured in the budget; give auto, max-accuracy, one-se or max-loglik.');
  const chosen = pool[selectBy(rule, pool.map(asRows), wTasks, undefined, heuristicIdx)];
  const winner = await evaluator.measure(chosen.kept, true, ctx, chosen.compensation);
  return { winner, rule, requested, simulation, candidatesInBudget: pool.length };
}
