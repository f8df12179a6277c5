/**
 * The contract between hosts (CLI, VS Code extension, tests) and the engine: typed jobs,
 * typed progress events, cancellation through AbortSignal.
 */
import type { GivenColumns } from './data/columns';
import type { SelectionRule } from './optimize/select';
import type { BaselineChoice } from './optimize/baselineNames';
import type { OptimizeResult, ProbeReport, PruneResult } from './report';
import type { ProbeSettings } from './settings';
import type { Compensation } from './compensate/mode';
import type { UnitScore } from './compensate/scores';
import type { EmbeddingRankChoice } from './compensate/embeddingRank';
import type { UnseenTokens } from './optimize/unseenTokens';
import type { FitPool } from './probe/fitPool';

export type LogLevel = 'info' | 'warn' | 'error';

/** Progress of a long job; a union keyed on `kind` so hosts can render each stage. */
export type ProgressEvent =
  | { kind: 'stage'; stage: string; message: string }
  | { kind: 'extract'; label: string; done: number; total: number }
  | { kind: 'probe'; task: string; done: number; total: number }
  /** Fits of `task`'s C search done (folds × C values), before its layers are probed. */
  | { kind: 'cSearch'; task: string; done: number; total: number }
  | { kind: 'candidate'; done: number; total: number; subset: string }
  /** Rows of `label` whose tokens are counted (the budget picker's count with vocabTrim). */
  | { kind: 'count'; label: string; done: number; total: number }
  | { kind: 'log'; level: LogLevel; message: string };

/** What every core job receives from its host. */
export interface JobContext {
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** A message names parameters as `{{budget}}` tokens, as errors do (core/errors.ts): each host words them (wordMessage). */
  log?: (level: LogLevel, message: string) => void;
  /** The job's probe fit threads (src/core/probe/fitPool.ts); runAnyJob makes one per job when absent. Without one, fits run inline. */
  fits?: FitPool;
}

export function stage(ctx: JobContext, stage: string, message: string): void {
  ctx.onProgress?.({ kind: 'stage', stage, message });
}

export interface TaskSpec {
  name: string;
  path: string;
  weight: number;
  /** The columns its text, text_pair and label are read from, where the files name them otherwise (data/columns.ts). */
  columns?: GivenColumns;
  /** The split of its folder tested on, where it is not `test` (data/dataset.ts LoadTaskOptions). */
  testSplit?: string;
}

export interface ProbeJob {
  type: 'probe';
  modelDir: string;
  tasks: TaskSpec[];
  settings: ProbeSettings;
}

export interface EvalJob {
  type: 'eval';
  modelDir: string;
  tasks: TaskSpec[];
  settings: ProbeSettings;
}

export interface PruneJob {
  type: 'prune';
  modelDir: string;
  layers: number[];
  out: string;
  overwrite?: boolean;
  settings: Pick<ProbeSettings, 'onnx' | 'quantized' | 'dtype' | 'from'>;
}

/** The training texts' token ids counted before an optimize job, and the key of what they were counted from (pipeline/countedTokens.ts). */
export interface CountedTokens {
  /** The source ids a trimmed table keeps, ascending (pipeline/vocabTrim.ts keptTokenIds). */
  ids: number[];
  /** What they were counted from (countKey). */
  key: string;
}

export interface OptimizeJob {
  type: 'optimize';
  modelDir: string;
  tasks: TaskSpec[];
  budget: string;
  out: string;
  overwrite?: boolean;
  targetRetention: number;
  candidates: number;
  /** How the winner is chosen among measured candidates; default auto (split-half simulation). */
  select?: SelectionRule | 'auto';
  /** Trim the word-embedding table to the tokens of the training texts. */
  vocabTrim?: boolean;
  /** With vocabTrim: where dropped ids read, their nearest kept token's row (default) or the unknown token's. */
  vocabUnseen?: UnseenTokens;
  /** With vocabTrim: the training texts' token ids the extension's budget picker counted, reused when they match (pipeline/countedTokens.ts). */
  countedTokens?: CountedTokens;
  /** Least-squares compensation the search may add: bridges over gaps, narrowed widths, both; default none. */
  compensate?: Compensation;
  /** Measure every candidate on every training row (no successive halving); default false. */
  exhaustive?: boolean;
  /** How narrowed candidates rank heads and neurons (default DEFAULT_UNIT_SCORE). */
  widthScore?: UnitScore;
  /** Also try the word-embedding table factorised to these ranks (with compensation on); default: never. */
  embeddingRank?: EmbeddingRankChoice;
  /** Which baselines are measured beside the pick (each costs passes over every row); default all. */
  baselines?: BaselineChoice;
  settings: ProbeSettings;
  /** The command line that asked for it, recorded in the model card. */
  command?: string;
}

export type Job = ProbeJob | EvalJob | PruneJob | OptimizeJob;
export type JobType = Job['type'];

/** What each job type resolves with. */
export interface JobResults {
  probe: ProbeReport;
  eval: ProbeReport;
  prune: PruneResult;
  optimize: OptimizeResult;
}

export type JobResult<J extends Job> = JobResults[J['type']];
export type AnyJobResult = JobResults[JobType];

/**
 * Pairs a result with the job that produced it. TypeScript cannot relate a generic job's `type`
 * to its result type (microsoft/TypeScript#30581), so the pairing is asserted here, once:
 * `runJob` dispatches on `job.type` to a runner typed per job type, and the worker hands that
 * runner's result back under the job's id.
 */
export function resultOf<J extends Job>(_job: J, result: AnyJobResult): JobResult<J> {
  return result as JobResult<J>;
}

/** Runs jobs somewhere (a worker thread, this thread); hosts depend only on this. */
export interface JobRunner {
  run<J extends Job>(job: J, ctx: JobContext): Promise<JobResult<J>>;
  dispose(): Promise<void>;
}
