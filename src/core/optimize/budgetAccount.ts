/**
 * Which budgets an optimize job accepts, one fact for the job and the extension's budget picker:
 * the parameter account with the word table the job builds (after --vocab-trim, only the rows
 * the training texts use), the floor (the model without blocks; with --embedding-rank, with its
 * table factorised), and the check of a budget against them.
 */
import { badValue } from '../errors';
import type { OptimizeJob } from '../jobs';
import type { ParamCounts } from '../../shared/params';
import { BudgetFloor, minimumParams, parseBudget } from './subsets';
import { formatEmbeddingRank, ranksFor } from '../compensate/embeddingRank';
import { factorisableTable, factorisedFloor, savingRanks } from '../compensate/embedding';
import { checkCompensable } from '../compensate/structure';
import { findWordEmbedding } from '../onnx/vocab';
import { ModelInfo, openModel, openOptionsOf } from '../model/modelInfo';

/** The options of an optimize job that decide which budgets it accepts. */
export type BudgetOptions = Pick<OptimizeJob, 'vocabTrim' | 'compensate' | 'embeddingRank' | 'select' | 'baselines'>;

export interface BudgetAccount {
  /** Parameters with the word table the job uses (after --vocab-trim); `total` stays the source model's: fractions are of it. */
  acc: ParamCounts;
  /** The smallest model where an option changes the word table (--vocab-trim, --embedding-rank); else the block-less model of `acc`. */
  floor?: BudgetFloor;
  /** --vocab-trim: the word-table rows kept; null without. */
  keptTokens: number | null;
  /** --embedding-rank resolved for this model ([] = no factorised table). */
  ranks: number[];
}

/** The account of an opened model, `keptTokens` rows kept by --vocab-trim (null: the whole table). Throws where the job refuses its rank options. */
export function budgetAccount(job: BudgetOptions, info: ModelInfo, keptTokens: number | null): BudgetAccount {
  const ranks = embeddingRanks(job, info, keptTokens);
  // Only where an option needs the word table: a model whose table is not found is otherwise fine.
  const table = keptTokens !== null || ranks.length ? findWordEmbedding(info.model) : null;
  const saved = table && keptTokens !== null ? (table.vocab - keptTokens) * table.hidden : 0;
  const acc: ParamCounts = { total: info.params.total, embeddings: info.params.embeddings - saved, perBlock: info.params.perBlock, other: info.params.other };
  let floor: BudgetFloor | undefined;
  if (table && ranks.length) floor = factorisedFloor(acc, { rows: keptTokens ?? table.vocab, hidden: info.hiddenSize, trimmed: keptTokens !== null }, ranks, formatEmbeddingRank(job.embeddingRank!));
  else if (keptTokens !== null) floor = trimmedFloor(acc, keptTokens);
  return { acc, floor, keptTokens, ranks };
}

/** The block-less model with the word table trimmed to `kept` rows. */
function trimmedFloor(acc: ParamCounts, kept: number): BudgetFloor {
  const params = minimumParams(acc);
  return {
    params,
    what: `embeddings ${acc.embeddings} with the word table trimmed to the ${kept} tokens the training texts use + final norm/head ${acc.other}, no blocks`,
    advice: `give {{budget}} ${params} or more.`,
  };
}

/** The account without --vocab-trim, the model opened as the job opens it (tens of milliseconds for a 50 MB model). */
export function wholeTableAccount(job: BudgetOptions & Pick<OptimizeJob, 'modelDir' | 'settings'>): BudgetAccount {
  const info = openModel(job.modelDir, openOptionsOf(job.settings));
  try {
    return budgetAccount(job, info, null);
  } finally {
    info.model.close();
  }
}

/** The budget in parameters, or BadInputError naming it where the job would refuse it. */
export function acceptBudget(job: BudgetOptions & { budget: string }, account: BudgetAccount): number {
  const budget = parseBudget(job.budget, account.acc, account.floor);
  checkHeuristicFits(job, account.acc, budget);
  return budget;
}

/** The smallest budget in parameters the job accepts. */
export function smallestBudget(job: BudgetOptions, account: BudgetAccount): number {
  const floor = account.floor?.params ?? minimumParams(account.acc);
  try {
    return acceptBudget({ ...job, budget: String(floor) }, account);
  } catch {
    // --select heuristic without drop-top-factorised: nothing below the whole word table.
    return minimumParams(account.acc);
  }
}

/** --embedding-rank: the ranks to try, each a whole number below the hidden size that makes the table smaller, with compensation on and a table to factorise (checked before any pass). */
function embeddingRanks(job: BudgetOptions, info: ModelInfo, keptTokens: number | null): number[] {
  if (job.embeddingRank === undefined) return [];
  const ranks = ranksFor(job.embeddingRank, info.hiddenSize);
  // A model the factorisation cannot rewrite (a quantized graph) is refused as such first: advice to set --compensate would lead there.
  checkCompensable(info.quantized);
  if ((job.compensate ?? 'none') === 'none') throw badValue('embeddingRank', formatEmbeddingRank(job.embeddingRank), 'factorising the word embeddings is a compensation; set {{compensate}} to all (or bridge, width).');
  const table = factorisableTable(info.model, formatEmbeddingRank(job.embeddingRank));
  return savingRanks(ranks, { rows: keptTokens ?? table.vocab, hidden: table.hidden, trimmed: keptTokens !== null }, job.embeddingRank === 'auto');
}

/** Below the whole-table floor only factorised baselines fit: --select heuristic needs drop-top-factorised (checked before any pass). */
function checkHeuristicFits(job: BudgetOptions & { budget: string }, acc: ParamCounts, budget: number): void {
  const choice = job.baselines ?? 'all';
  if (job.select !== 'heuristic' || budget >= minimumParams(acc) || choice === 'all' || choice.includes('drop-top-factorised')) return;
  throw badValue('select', 'heuristic', `at {{budget}} ${job.budget} no published heuristic with the whole word table fits (the model without blocks has ${minimumParams(acc)} parameters), and {{baselines}} ${choice.length ? choice.join(',') : 'none'} leaves out drop-top-factorised; add it or give another rule.`);
}
