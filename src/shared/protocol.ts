/**
 * The one message contract between the ProbeScale webview (webview/) and the extension host
 * (src/extension/). Both sides import these types; neither writes a method name or message
 * shape by hand.
 *
 * This file imports only its neighbours in src/shared: it compiles under the webview's DOM
 * tsconfig and under the extension's Node tsconfig alike. The report shapes below are the subset of the core's
 * `ProbeReport` that the view needs; the host passes core reports where these types are
 * expected, so the compiler checks that the core still satisfies them.
 *
 * Conversation:
 * 1. The webview sets up its message listener, then posts `ready`. The host queues everything
 *    it wants to post until then (a webview that is not listening yet drops messages).
 * 2. The host answers `ready` with `report/show` (the last report, if any) and, while a job
 *    runs, `job/progress`.
 * 3. The webview asks for work with `request` messages; each gets exactly one `reply` with the
 *    same `id`.
 */

import type { ParamCounts } from './params';

export interface ModelData {
  /** Absolute path of the model folder the report was made from. */
  dir: string;
  architecture: string;
  numLayers: number;
  hiddenSize: number;
  params: ParamCounts;
  /** Outputs of the task head the source graph ends in (a fine-tuned classifier's logits), left out of every pruned graph; absent for an encoder export. */
  taskHead?: string[];
}

/** Probe scores of one hidden state (layer 0 = embedding output, layer L = last block's output). */
export interface LayerRow {
  layer: number;
  accuracy: number;
  /** Cross-validated accuracy on the training rows (what "best layer" is chosen on); null when not measured. */
  cvAccuracy?: number | null;
  macroF1: number;
  controlAccuracy: number | null;
  selectivity: number | null;
}

export interface TaskData {
  labels: string[];
  /** Accuracy of always answering the most frequent test label. */
  majority: number;
  weight: number;
  nTrain: number;
  nTest: number;
  /** Probe scores per hidden state; empty in the eval report of a committed folder. */
  layers: LayerRow[];
  bestLayer: number;
  /** Eval reports: the test scores of the model as shipped (its classifier, or a probe on its last layer). */
  final?: ScoreData;
  /** How each hidden state's tokens were pooled into the probe's features (mean, first, last …). */
  pooling?: string;
  /** The task's rows are text pairs, encoded together as the tokenizer pairs them. */
  textPairs?: true;
}

/** How every text of a report was prepared before the model read it (the report's settings). */
export interface PreparationData {
  /** Tokens a text was cut at, special tokens included. */
  maxLength?: number;
  /** Text put before every input text (sentence-transformers' prompt). */
  prompt?: string;
  lowercase?: true;
}

export interface ScoreData {
  accuracy: number;
  macroF1: number;
}

/**
 * How much of the unpruned model's test accuracy a pruned one keeps. A ratio is null where it
 * is undefined (JSON has no Infinity: a chance-normalised ratio over a final layer at chance).
 */
export interface RetentionData {
  /** Accuracy ÷ the unpruned model's final layer. */
  vsFinal: number | null;
  /** Accuracy ÷ the unpruned model's best layer (chosen on validation): the oracle. */
  vsBestLayer: number | null;
  /** (accuracy − majority) ÷ (final − majority). */
  chanceNormalized: number | null;
}

/** A published layer-dropping heuristic measured under the same budget. */
/** --compensate: what a candidate adds to dropping blocks (core: CompensationRecord). */
export interface CompensationData {
  /** e.g. "least-squares bridge into block 2; 4 of 4 heads and 688 of 1024 FFN neurons per block (refitted)". */
  description: string;
  /** Least-squares bridges over the gaps between kept blocks. */
  bridges: boolean;
  /** Tokens a bridge reads: 1, or 3 (with its neighbours). */
  window?: 1 | 3;
  /** Attention heads kept per block (absent: all). */
  heads?: number;
  /** FFN neurons kept per block (absent: all). */
  ffnWidth?: number;
  /** How heads and neurons were ranked (absent: FLAP's score). */
  score?: 'flap' | 'task' | 'mixed';
  /** Rank of the factorised word-embedding table (absent: the table as it is). */
  embeddingRank?: number;
  /** The committed pick's: what its folder holds for PyTorch, in words (model.safetensors, or why none). */
  safetensors?: string;
}

export interface BaselineData {
  name: string;
  kept: number[];
  /** The compensated baselines (replaceme-bridge, flap-uniform): their bridges and widths. */
  compensation?: CompensationData;
  note?: string;
  params: number;
  fraction: number;
  /** Task-weighted validation accuracy. */
  validation: number;
  /** Task-weighted test accuracy. */
  testObjective: number;
  meanRetention: RetentionData;
  /** ProbeScale minus this baseline, task-weighted, on the same test rows, with its paired SE. */
  gap?: { diff: number; se: number };
}

export interface BudgetAdviceData {
  /** Parameters at which the fitted curve reaches the target retention; null when it never does. */
  recommendedParams: number | null;
  recommendedFraction: number | null;
  /** 5–95 % bootstrap interval of `recommendedParams`. */
  interval: [number, number] | null;
  /** The fitted curve P(n) = pInf − a·n^(−alpha) over validation accuracy (absent in hand-made reports). */
  fit?: { pInf: number; a: number; alpha: number };
  /** 5–95 % bootstrap band of the fitted curve at parameter counts `n` (absent in reports made before it existed). */
  band?: { n: number[]; lo: number[]; hi: number[] };
}

/** One block subset optimize measured by cross-validation on the training rows. */
export interface CandidateData {
  kept: number[];
  params: number;
  fraction: number;
  /** predicted, local-search, baseline:NAME, embeddings-only. */
  origin: string;
  /** Task-weighted cross-validated accuracy (training rows). */
  validation: number;
  /** Task-weighted test accuracy; null for subsets never measured on test. */
  test: number | null;
  /** Cross-validated accuracy per task (absent in reports made before it existed). */
  perTask?: Record<string, number>;
  /** --compensate: the candidate's bridges and widths in words (absent: whole blocks). */
  compensation?: CompensationData;
}

/** What "optimize" chose under a parameter budget and how it compares (core: SelectionReport). */
export interface SelectionData {
  budget: { spec: string; params: number; fraction: number };
  targetRetention: number;
  kept: number[];
  params: number;
  fraction: number;
  /** Where the winner came from: predicted, local-search, baseline:NAME, embeddings-only. */
  origin: string;
  /** The selection rule and its split-half simulation on training rows (absent in older reports). */
  rule?: { name: string; requested: string; simulation: { repeats: number; heuristics?: number; rules: { rule: string; heldOutAccuracy: number; atLeastBestHeuristic: number }[] } };
  /** Task-weighted accuracy: predicted from per-layer probes, measured on validation and test. */
  objective: { predicted: number | null; validation: number; test: number };
  /** Task-weighted mean of the per-task retention. */
  retention: RetentionData;
  perTask: Record<string, { test: ScoreData; reference: { final: ScoreData; bestLayer: { layer: number; test: ScoreData } }; majority: number; retention: RetentionData }>;
  baselines: BaselineData[];
  /** Baselines that do not fit the budget, with why (absent when every one fits). */
  unfitBaselines?: { name: string; reason: string }[];
  budgetAdvice: { perTask: Record<string, BudgetAdviceData>; note: string };
  embeddingOnly: { reachesTarget: boolean; message: string; retention: RetentionData };
  /** --vocab-trim: kept tokens and the share of test tokens that were unseen, per task. */
  vocabTrim?: { sourceVocab: number; keptTokens: number; unseenTestTokens: Record<string, number>; unseen?: 'nearest' | 'unknown' };
  /** Every subset measured, best validation first (absent in older reports). */
  candidates?: CandidateData[];
  /** The unpruned model's cross-validated accuracy per task: final layer and best layer (absent in older reports). */
  validationReference?: Record<string, { final: number; bestLayer: number }>;
  /** --compensate: the winner's bridges and narrowed widths, in words (absent: whole blocks). */
  compensation?: CompensationData;
  /** Whole blocks: where the committed model.safetensors would run otherwise in transformers (a ModernBERT's layer kinds), in words. */
  pytorchNote?: string;
}

export interface SpeedData {
  originalMs: number;
  prunedMs: number;
  speedup: number;
}

/** The committed folder re-loaded and re-measured (core: VerifyReport). */
export interface VerifyData {
  /** The committed folder. */
  loadedFrom: string;
  allEqual: boolean;
  perTask: Record<string, { claimed: ScoreData; measured: ScoreData; equal: boolean }>;
  /** idealSpeedup null: no block kept, no FLOP ideal (GLOSSARY.noIdeal). */
  timing: { batch1: SpeedData; batch32: SpeedData; idealSpeedup: number | null; seqLen: number; provider: string };
  /** The classifiers' quantized variant re-measured beside the float one (difference = quantized − float accuracy). */
  quantized?: { file: string; method: string; perTask: Record<string, { float: ScoreData; measured: ScoreData; difference: number }> };
}

/** What the relevance view shows: a probe, eval or optimize report. */
export interface ReportData {
  kind: string;
  createdAt: string;
  provider: string;
  model: ModelData;
  tasks: Record<string, TaskData>;
  /** What the texts went through before the model (absent in reports that do not say). */
  preparation?: PreparationData;
  /** Per-block redundancy signals; absent in reports that did not compute them. */
  signals?: { blockInfluence: number[]; angularDistance: number[][] };
  /** Optimize reports: the chosen blocks, baselines, advice. */
  selection?: SelectionData;
  /** Optimize reports: the written folder re-measured. */
  verify?: VerifyData;
  /**
   * Eval reports of a committed folder: the test accuracy per task that its own report claims,
   * where the eval used the same number of test rows (else the task is absent).
   */
  claimed?: Record<string, number>;
}

/**
 * What a running job does: the core's `Job['type']` (kept in step with it), or `count`, the
 * budget picker's count of the training texts' tokens, which runs in the extension host.
 */
export type JobKind = 'probe' | 'prune' | 'eval' | 'optimize' | 'count';

/** Reports the report editor overlays on its own (one colour each with it: the charts' six). */
export const COMPARE_REPORTS = 5;

/** What "Compare with…" read: the reports, the picks refused (file and why) and those past the editor's room. */
export interface ComparePicks {
  reports: { report: ReportData; source: string }[];
  refused: { source: string; reason: string }[];
  /** Picks not read because the editor had no room for them: how many, and the first NAMES_LISTED files. */
  leftOut: { count: number; sources: string[] };
}

/** The most blocks a report may have (the reader refuses more): far above any encoder, and bounds every block list the host expands. */
export const MAX_BLOCKS = 1_000_000;

/**
 * Blocks as they travel between the webview and the host: ascending, disjoint, non-adjacent
 * inclusive ranges `[first, last]`, so "All" of any model is one pair and no block list is
 * longer than the model is wide (at most MAX_BLOCKS / 2 ranges). `[[0, 3], [7, 7]]` = 0–3, 7.
 */
export type BlockRanges = [number, number][];

/** Blocks (any order, repeats allowed) → BlockRanges. */
export function toBlockRanges(blocks: readonly number[]): BlockRanges {
  const sorted = [...new Set(blocks)].sort((a, b) => a - b);
  const out: BlockRanges = [];
  for (const b of sorted) {
    const last = out[out.length - 1];
    if (last && b === last[1] + 1) last[1] = b;
    else out.push([b, b]);
  }
  return out;
}

/** BlockRanges (as the validator admits them) → the ascending blocks. */
export function fromBlockRanges(ranges: BlockRanges): number[] {
  const out: number[] = [];
  for (const [first, last] of ranges) for (let b = first; b <= last; b++) out.push(b);
  return out;
}

/** What a commit of a pruned model produced. */
export type PruneOutcome =
  | { status: 'written'; out: string; kept: number[]; params: { before: number; after: number }; files: string[] }
  /** The user pressed Cancel on the progress notification, or the view's Cancel button. */
  | { status: 'cancelled' }
  /** The output folder existed and the user chose not to replace it. */
  | { status: 'declined' };

/**
 * Requests the webview sends to the host, keyed by method, with their parameters and results.
 * Adding a method here makes both dispatchers fail to compile until they handle it.
 */
export interface Requests {
  /**
   * Runs "Probe Model Folder" (its pickers run in the host; the shown report's model is offered
   * first). `modelDir` skips the model picker.
   */
  'probe/start': { params: { modelDir?: string }; result: { started: boolean } };
  /** Lets the user pick a saved report (workspace reports or a file) and shows it. */
  'report/open': { params: Record<string, never>; result: { opened: boolean } };
  /** Writes `<model>-pruned-<blocks>` into the workspace with the given blocks kept. */
  'prune/commit': { params: { modelDir: string; layers: BlockRanges }; result: PruneOutcome };
  /** Reveals a file or folder in the Explorer. */
  'explorer/reveal': { params: { path: string }; result: { revealed: boolean } };
  /**
   * Runs "Optimize for a Parameter Budget" (its pickers run in the host); `modelDir` is offered
   * first in the model picker.
   */
  'optimize/start': { params: { modelDir?: string }; result: { started: boolean } };
  /** Opens the model card (README.md) of a committed folder. */
  'modelCard/open': { params: { dir: string }; result: { opened: boolean } };
  /** Opens a report file in the full-width report editor. */
  'report/openEditor': { params: { path: string }; result: { opened: boolean } };
  /**
   * Lets the user pick more reports (saved ones and committed folders' probescale-report.json)
   * to compare with; reads at most `room` of them (the editor overlays at most COMPARE_REPORTS)
   * and returns them as read, with the picks it refused and those left out. `exclude`: the report
   * open in the editor, then those overlaid already. The webview overlays those of the same
   * source model.
   */
  'report/compare': { params: { exclude: string[]; room: number }; result: ComparePicks };
  /**
   * Saves an exported chart or table under the workspace's `.probescale/exports/` (else asks
   * where). `data` is base64 for png, text for svg and md. Returns the file written, null when
   * the user declined.
   */
  'export/save': { params: { fileName: string; format: ExportFormat; data: string }; result: { saved: string | null } };
}

export type ExportFormat = 'png' | 'svg' | 'md';

export type Method = keyof Requests;
export type Params<M extends Method> = Requests[M]['params'];
export type Result<M extends Method> = Requests[M]['result'];

/** A request as it travels; a union over methods, so a `switch (msg.method)` narrows `params`. */
export type RequestMessage = { [M in Method]: { type: 'request'; id: number; method: M; params: Params<M> } }[Method];

/** Messages from the webview to the host. */
export type FromWebview =
  /** The webview's listener is set up; the host may post from now on. */
  | { type: 'ready' }
  /** Stop the job with this id (no reply; the job ends with `job/done` outcome `cancelled`). */
  | { type: 'cancel'; jobId: string }
  /** The blocks ticked in the prune form changed; the palette's "Prune Model" offers them. */
  | { type: 'selection'; modelDir: string; kept: BlockRanges }
  /** A report was drawn; `sections` are the ids of the sections shown (for tests and the log). */
  | { type: 'rendered'; modelDir: string; createdAt: string; kind: string; sections: string[] }
  | RequestMessage;

/** Messages from the host to the webview. */
export type ToWebview =
  /** The answer to `request` `id`: `result` on success, `error` (a one-line message) on failure. */
  | { type: 'reply'; id: number; result?: unknown; error?: string }
  /** Show this report; `source` is the file it was read from or saved to. */
  | { type: 'report/show'; report: ReportData; source: string | null }
  /** The report could not be read; `message` says why and what to do. */
  | { type: 'report/error'; message: string }
  /**
   * A running job moved on: `message` is the current step; `overall` is the whole job's share done,
   * its stage in words and place, and the estimated time left (src/core/progress.ts).
   */
  | { type: 'job/progress'; jobId: string; job: JobKind; message: string; fraction: number | null; overall: string }
  /** A job ended. `message` says what happened in one line. */
  | { type: 'job/done'; jobId: string; job: JobKind; outcome: 'done' | 'cancelled' | 'failed'; message: string };

/** Throws at compile time when a switch over a union misses a member. */
export function assertNever(value: never, what: string): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/**
 * `[0,1,2,3,7]` → `0–3, 7` (or with other separators); `none` for no blocks. Here rather than
 * in a module of its own because the webview may import this file only.
 */
export function formatBlockRanges(kept: readonly number[], rangeSep = '–', listSep = ', '): string {
  if (kept.length === 0) return 'none';
  const parts: string[] = [];
  let start = kept[0];
  let prev = kept[0];
  for (const k of [...kept.slice(1), Number.NaN]) {
    if (k === prev + 1) {
      prev = k;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}${rangeSep}${prev}`);
    start = prev = k;
  }
  return parts.join(listSep);
}
