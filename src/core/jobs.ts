/**
 * The contract between hosts (CLI, VS Code extension, tests) and the engine: typed jobs,
 * typed progress events, cancellation through AbortSignal.
 */
import type { SelectionRule } from './optimize/select';
import type { Dtype } from './model/modelInfo';

export type LogLevel = 'info' | 'warn' | 'error';

/** Progress of a long job; a union keyed on `kind` so hosts can render each stage. */
export type ProgressEvent =
  | { kind: 'stage'; stage: string; message: string }
  | { kind: 'extract'; label: string; done: number; total: number }
  | { kind: 'probe'; task: string; done: number; total: number }
  | { kind: 'candidate'; done: number; total: number; subset: string }
  | { kind: 'log'; level: LogLevel; message: string };

/** What every core job receives from its host. */
export interface JobContext {
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  log?: (level: LogLevel, message: string) => void;
}

export function stage(ctx: JobContext, stage: string, message: string): void {
  ctx.onProgress?.({ kind: 'stage', stage, message });
}

/** Options shared by every job that runs the encoder and trains probes (CLI probe options). */
export interface ProbeSettings {
  pooling: 'mean' | 'first';
  maxLength: number;
  limitTrain?: number;
  limitTest?: number;
  /** Fixed inverse regularisation; otherwise chosen by stratified 5-fold CV on train. */
  c?: number;
  provider: 'auto' | 'cpu' | 'webgpu' | 'cuda';
  strictProvider?: boolean;
  onnx?: string;
  quantized?: boolean;
  /** transformers.js dtype of the variant file to load (fp32 → model.onnx, q8 → model_quantized.onnx, …). */
  dtype?: Dtype;
  batchSize: number;
  seed: number;
  /** Feature cache folder; null disables the cache. */
  cacheDir: string | null;
  threads?: number;
}

export const DEFAULT_SETTINGS: ProbeSettings = {
  pooling: 'mean',
  maxLength: 128,
  provider: 'auto',
  batchSize: 32,
  seed: 0,
  cacheDir: null,
};

export interface TaskSpec {
  name: string;
  path: string;
  weight: number;
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
  settings: Pick<ProbeSettings, 'onnx' | 'quantized' | 'dtype'>;
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
  settings: ProbeSettings;
  /** The command line that asked for it, recorded in the model card. */
  command?: string;
}

export type Job = ProbeJob | EvalJob | PruneJob | OptimizeJob;

/** Runs jobs somewhere (a worker thread, this thread); hosts depend only on this. */
export interface JobRunner {
  run<T>(job: Job, ctx: JobContext): Promise<T>;
  dispose(): Promise<void>;
}
