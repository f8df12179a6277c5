/**
 * Every report shape ProbeScale writes (`--out report.json`, `probescale-report.json`) and every
 * job result, in one module that imports no pipeline or commit code: the pipeline builds these,
 * the commit layer, the CLI, the extension and the webview protocol read them.
 * The CLI contract in DESIGN.md fixes the minimum; fields are only ever added.
 */
import type { ModelInfo } from './model/modelInfo';
import type { SelectionRule, SimulationResult } from './optimize/select';
import type { ProbeSettings } from './settings';
import type { Pooling } from './onnx/edit';

export const TOOL_VERSION = '0.1.0';

export type ModelSummary = Pick<ModelInfo, 'dir' | 'onnxFile' | 'graphFrom' | 'architecture' | 'numLayers' | 'hiddenSize' | 'quantized' | 'params'> & {
  /** Outputs of the task head the source graph ends in (a fine-tuned classifier's logits), which every pruned graph leaves out; absent for an encoder export. */
  taskHead?: string[];
  /** The weights the graph was built from where they are not safetensors: "pytorch_model.bin". Absent otherwise. */
  weights?: string;
  /** Outputs computed inside one block (an export with output_hidden_states or output_attentions: hidden_states.1…, attentions.0…); a pruned graph keeps those of the kept blocks only. Absent when there are none. */
  blockOutputs?: string[];
};

export interface Score {
  accuracy: number;
  macroF1: number;
}

export interface LayerScore {
  /** Hidden-state index: 0 = embedding output, L = final hidden state. */
  layer: number;
  accuracy: number;
  macroF1: number;
  /** Accuracy of the same probe trained on permuted labels (Hewitt & Liang control). */
  controlAccuracy: number | null;
  selectivity: number | null;
  c: number;
  cvAccuracy: number | null;
  converged: boolean;
}

export interface TaskReport {
  labels: string[];
  majority: number;
  pooling: Pooling;
  weight: number;
  source: string;
  nTrain: number;
  nTest: number;
  layers: LayerScore[];
  bestLayer: number;
  final?: Score;
  /** The task's rows are text pairs (text, text_pair); absent for single texts. */
  textPairs?: true;
}

/**
 * A probe, eval or optimize report. Its paths (model.dir, model.onnxFile, tasks.*.source,
 * verify.loadedFrom) are absolute in memory; a report file holds them relative to itself, with
 * a `paths` section (see reportPaths.ts).
 */
export interface ProbeReport {
  tool: { name: 'probescale'; version: string };
  kind: 'probe' | 'eval' | 'optimize';
  createdAt: string;
  model: ModelSummary;
  settings: Partial<ProbeSettings>;
  provider: string;
  tasks: Record<string, TaskReport>;
  signals?: { blockInfluence: number[]; angularDistance: number[][] };
  timings: { extractSeconds: number; probeSeconds: number };
  /** Eval of a committed folder: its files against the checksums its report recorded (absent in other reports). */
  integrity?: IntegrityReport;
}

/**
 * SHA-256 of every file a commit wrote, by path relative to the folder (posix), except the model
 * card and the report themselves (commit/checksums.ts says why).
 */
export interface ChecksumsReport {
  algorithm: 'sha256';
  files: Record<string, { bytes: number; sha256: string }>;
}

/** A committed folder's files checked against its report's checksums (commit/checksums.ts). */
export interface IntegrityReport {
  /** Files the report lists with a checksum; 0 when nothing was checked. */
  checked: number;
  /** Why nothing was checked (no report, or one written before checksums); absent when files were checked. */
  unchecked?: string;
  /** Set when the file that records the checksums is there but cannot be read: the check was impossible, not skipped. */
  damaged?: true;
  /** Listed files whose content is not what was committed (actual null: the file is missing), in path order. */
  differing: { path: string; expected: string; actual: string | null }[];
}

export interface Retention {
  /** score / unpruned final-layer score (the research claim's definition). */
  vsFinal: number;
  /** score / unpruned best-layer score (layer chosen on validation): the oracle. */
  vsBestLayer: number;
  /**
   * (score − chance) / (final − chance), chance = majority-class accuracy; null where the
   * unpruned final layer is not above chance (no above-chance accuracy to keep).
   */
  chanceNormalized: number | null;
}

/** What a compensated candidate adds to dropping blocks (absent: whole blocks only). */
export interface CompensationRecord {
  /** e.g. "least-squares bridge into block 2"; "3 of 4 heads and 352 of 1024 FFN neurons per block (refitted)". */
  description: string;
  bridges: boolean;
  window?: 1 | 3;
  heads?: number;
  ffnWidth?: number;
  /** How heads and neurons were ranked (absent: FLAP's score). */
  score?: 'flap' | 'task' | 'mixed';
  /** Rank of the factorised word-embedding table (absent: the table as it is). */
  embeddingRank?: number;
  /** The committed pick's: what its folder holds for PyTorch (model.safetensors, or why none); absent before the commit said it. */
  safetensors?: string;
}

export interface CandidateRecord {
  kept: number[];
  compensation?: CompensationRecord;
  params: number;
  fraction: number;
  origin: string;
  predicted: number | null;
  validation: number;
  test: number | null;
  /** Cross-validated accuracy per task. */
  perTask: Record<string, number>;
}

export interface PairedGap {
  diff: number;
  se: number;
}

export interface BaselineRecord {
  name: string;
  kept: number[];
  compensation?: CompensationRecord;
  note?: string;
  params: number;
  fraction: number;
  validation: number;
  test: Record<string, Score>;
  testObjective: number;
  retention: Record<string, Retention>;
  /** Task-weighted mean of `retention`, the same summary as the selection's. */
  meanRetention: Retention;
  /**
   * The selected subset minus this baseline on the same test rows: accuracy difference (fraction)
   * and its paired standard error, per task and task-weighted.
   */
  vsSelected: { objective: PairedGap; perTask: Record<string, PairedGap> };
}

/** The unpruned model's own scores on a task: what retention is measured against. */
export interface TaskReference {
  final: Score;
  bestLayer: { layer: number; test: Score };
  majority: number;
}

export interface TaskSelection {
  validation: Score;
  test: Score;
  reference: Omit<TaskReference, 'majority'>;
  majority: number;
  retention: Retention;
}

export interface TaskBudgetAdvice {
  recommendedParams: number | null;
  recommendedFraction: number | null;
  interval: [number, number] | null;
  fit: { pInf: number; a: number; alpha: number };
  /** 5–95 % bootstrap band of the fitted curve at sizes `n` (what the report editor shades). */
  band: { n: number[]; lo: number[]; hi: number[] };
  predictedAtChosen: number;
  measuredAtChosen: number;
}

export interface EmbeddingOnlyReport {
  validation: number;
  test: Record<string, Score>;
  retention: Retention;
  reachesTarget: boolean;
  message: string;
}

export interface VocabTrimReport {
  sourceVocab: number;
  keptTokens: number;
  unkId: number;
  /** Word-embedding parameters before and after. */
  wordEmbeddingParams: { before: number; after: number };
  /** Share of test tokens not seen in training, per task. */
  unseenTestTokens: Record<string, number>;
  /** Where those read: the nearest kept token's row or the unknown token's (absent in older reports: the unknown token's). */
  unseen?: 'nearest' | 'unknown';
  /** The unpruned model's final layer on test with the trimmed vocabulary: the cost of trimming alone. */
  unprunedFinalTrimmed: Record<string, Score>;
}

/** A baseline that was not measured because no version of it fits the budget. */
export interface UnfitBaseline {
  name: string;
  /** Why it does not fit, e.g. "it keeps the whole word table, with which the model without blocks already has …". */
  reason: string;
}

export interface SelectionReport {
  budget: { spec: string; params: number; fraction: number };
  targetRetention: number;
  kept: number[];
  /** Bridges and narrowed widths of the winner (absent: whole blocks only). */
  compensation?: CompensationRecord;
  /** Whole blocks: where the committed model.safetensors would run otherwise in transformers (a ModernBERT's layer kinds), in words. */
  pytorchNote?: string;
  params: number;
  fraction: number;
  origin: string;
  /** The rule that chose the winner among measured candidates, and why. */
  rule: { name: SelectionRule; requested: SelectionRule | 'auto'; simulation: SimulationResult; candidatesInBudget: number };
  objective: { predicted: number | null; validation: number; test: number };
  perTask: Record<string, TaskSelection>;
  retention: Retention;
  baselines: BaselineRecord[];
  /** Baselines asked for that cannot fit the budget (with --embedding-rank below the whole-table floor); absent when every one fits. */
  unfitBaselines?: UnfitBaseline[];
  candidates: CandidateRecord[];
  budgetAdvice: { perTask: Record<string, TaskBudgetAdvice>; note: string };
  embeddingOnly: EmbeddingOnlyReport;
  cPerTask: Record<string, number>;
  /** The unpruned model's cross-validated accuracy per task (final and best layer): the reference of the trade-off chart's retention axes. */
  validationReference: Record<string, { final: number; bestLayer: number }>;
  /** --vocab-trim: what was kept and what it cost (absent without the flag). */
  vocabTrim?: VocabTrimReport;
  /** How candidates were measured (absent in reports written before successive halving). */
  search?: SearchReport;
}

/**
 * Successive halving (pipeline/halving.ts): predicted and local-search candidates are scored on
 * growing shares of the training rows first and dropped when `loserSes` paired SEs behind the
 * incumbent in both accuracy and log-probability; `exhaustive` (--exhaustive) measures every
 * candidate on every row. Baselines are always measured on every row.
 */
export interface SearchReport {
  mode: 'halving' | 'exhaustive';
  /** Screening stages: share of the training rows and rows (summed over tasks); empty when too few rows. */
  stages: { share: number; rows: number }[];
  loserSes: number;
  dropped: { kept: number[]; origin: string; share: number; rows: number; incumbent: number[]; accuracy: { diff: number; se: number }; logLik: { diff: number; se: number } }[];
}

export interface TimingReport {
  /**
   * Median milliseconds per forward pass; `runs` alternating pairs were timed, stopping once the
   * speedup's relative standard error `relativeError` ≤ 2 % (verify.ts TIMING_PRECISION), at the
   * cap, or when the runs took `budgetMs`. Batch 1 repeats one text of median length (`seqLen1`
   * tokens; earlier reports cycled through the texts).
   */
  batch1: { originalMs: number; prunedMs: number; speedup: number; runs: number; relativeError: number };
  batch32: { originalMs: number; prunedMs: number; speedup: number; runs: number; relativeError: number };
  /**
   * FLOP ratio original / pruned at the timed sequence length: the speedup if only FLOPs mattered.
   * null when no block is kept (GLOSSARY.noIdeal); earlier reports wrote a ratio in the thousands.
   */
  idealSpeedup: number | null;
  /** batch-32 speedup / ideal speedup; null with the ideal. */
  efficiency: number | null;
  seqLen: number;
  /** Tokens of the batch-1 text (absent in older reports). */
  seqLen1?: number;
  /** Most milliseconds of timed runs per batch size and encoder after the first 3 (absent: no limit). */
  budgetMs?: number;
  provider: string;
  threads: number;
  /**
   * paired: original and pruned alternate run by run (`runs` pairs); sequential: all the
   * original's runs, its session released, then the pruned encoder's (models over
   * PAIRED_TIMING_MAX_PARAMS, to hold one set of weights at a time). Absent in older reports.
   */
  design?: 'paired' | 'sequential';
}

export interface VerifyReport {
  loadedFrom: string;
  perTask: Record<string, { claimed: Score; measured: Score; equal: boolean }>;
  allEqual: boolean;
  /** The classifiers' quantized variant re-measured, where the commit wrote one (compensated winners of a source with one). */
  quantized?: QuantizedVerify;
  timing: TimingReport;
}

/** A quantized variant's test scores beside the float classifier's; difference = quantized − float accuracy. */
export interface QuantizedVerify {
  /** The encoder's variant, relative to the committed folder; each classifier has one of the same name. */
  file: string;
  method: string;
  perTask: Record<string, { float: Score; measured: Score; difference: number }>;
}

export interface OptimizeReport extends ProbeReport {
  selection: SelectionReport;
  verify?: VerifyReport;
  command?: string;
  /** The committed files' checksums (absent in reports written before them). */
  checksums?: ChecksumsReport;
}

/** What `probescale prune` returns. */
export interface PruneResult {
  out: string;
  kept: number[];
  params: { before: number; after: number };
  files: string[];
}

/** What `probescale optimize` returns: the committed folder and its report. */
export interface OptimizeResult {
  out: string;
  report: OptimizeReport;
}

export function reportHeader(kind: ProbeReport['kind']): Pick<ProbeReport, 'tool' | 'kind' | 'createdAt'> {
  return { tool: { name: 'probescale', version: TOOL_VERSION }, kind, createdAt: new Date().toISOString() };
}
