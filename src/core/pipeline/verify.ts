/**
 * Verify a committed folder the way a user would load it: fresh ORT sessions on the written
 * files, the tokenizer read from the written folder, test accuracy re-measured, and latency of
 * the original vs the pruned encoder timed side by side.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { JobContext } from '../jobs';
import { QuantizedVerify, TimingReport, VerifyReport } from '../report';
import { Q8_DESCRIPTION, Q8_FILE } from '../compensate/quantize';
import { DEFAULT_SETTINGS, ProbeSettings } from '../settings';
import { throwIfAborted } from '../errors';
import { encodeInput, InputText, loadTokenizer, TextTokenizer } from '../data/tokenize';
import { TaskData } from '../data/dataset';
import { ModelInfo, readConfig } from '../model/modelInfo';
import { committedPreprocessing } from '../commit/committed';
import { committedGraphName } from '../commit/outputSize';
import { widthShape } from '../compensate/commit';
import { openSession } from '../runtime/session';
import { Measured, TaskSplit, scoreOf } from './measure';

/**
 * Runs a classifier folder (its `onnx/<graph>`) on a task's test split; returns predictions. Texts
 * are cut and prepared as its config.json records (`probescale.maxLength`, `.prompt`, `.lowercase`); a folder
 * committed before classifiers recorded them takes `settings`' (evalJob passes the folder's own).
 */
export async function classify(dir: string, task: TaskData, settings: Pick<ProbeSettings, 'provider' | 'threads' | 'batchSize'> & Partial<Pick<ProbeSettings, 'maxLength' | 'prompt' | 'lowercase'>>, tokenizer?: TextTokenizer, ctx: JobContext = {}, graph = 'model.onnx'): Promise<Int32Array> {
  const given = { pooling: DEFAULT_SETTINGS.pooling, maxLength: settings.maxLength ?? DEFAULT_SETTINGS.maxLength, prompt: settings.prompt, lowercase: settings.lowercase };
  const p = committedPreprocessing(readConfig(dir), given);
  const tok = tokenizer ?? (await loadTokenizer(dir, { maxLength: p.maxLength, prompt: p.prompt, lowercase: p.lowercase }));
  const { session } = await openSession(path.join(dir, 'onnx', graph), { provider: settings.provider, threads: settings.threads, log: ctx.log });
  const pred = new Int32Array(task.test.length);
  const bs = settings.batchSize;
  try {
    for (let s = 0; s < task.test.length; s += bs) {
      throwIfAborted(ctx.signal);
      const rows = task.test.slice(s, s + bs).map((e) => tok.encodeWithTypes(e.text, e.textPair));
      const b = tok.batch(
        rows.map((r) => r.ids),
        rows.map((r) => r.typeIds),
      );
      const feeds = inputsFor(session, b.inputIds, b.attentionMask, b.tokenTypeIds, [b.batchSize, b.seqLen]);
      const out = await session.run(feeds, ['logits']);
      const logits = out.logits.data as Float32Array;
      const K = out.logits.dims[1];
      for (let r = 0; r < rows.length; r++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (logits[r * K + k] > logits[r * K + best]) best = k;
        pred[s + r] = best;
      }
    }
  } finally {
    await session.release();
  }
  return pred;
}

function inputsFor(session: ort.InferenceSession, ids: BigInt64Array, mask: BigInt64Array, types: BigInt64Array, dims: number[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', types, dims);
  return feeds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * FLOPs per token of one block: dense layers (2 per weight) plus attention scores and mixing
 * (4·S per column of the heads: `attentionWidth`, heads × head size, which T5 sets apart from d_model).
 */
function blockFlops(params: number, seqLen: number, attentionWidth: number): number {
  return 2 * params + 4 * seqLen * attentionWidth;
}

/** The columns of a block's attention heads (heads × head size; d_model except where T5's d_kv says otherwise). */
export function attentionWidthOf(info: ModelInfo): number {
  const shape = widthShape(info);
  return shape.headSize === undefined ? info.hiddenSize : shape.heads * shape.headSize;
}

/** The FLOP ratio original ÷ pruned, or null when no block is kept (GLOSSARY.noIdeal: lookups are not arithmetic). */
export function idealSpeedup(info: ModelInfo, kept: number[], seqLen: number, compensated?: CompensatedFlops, attentionWidth = attentionWidthOf(info)): number | null {
  if (kept.length === 0) return null;
  const all = info.params.perBlock.reduce((a, p) => a + blockFlops(p, seqLen, attentionWidth), 0);
  const some = compensated
    ? compensated.variant.params.perBlock.reduce((a, p) => a + blockFlops(p, seqLen, attentionWidth * compensated.attentionShare), 0) + 2 * (compensated.variant.params.other - info.params.other)
    : kept.reduce((a, k) => a + blockFlops(info.params.perBlock[k], seqLen, attentionWidth), 0);
  // Embedding lookups and the final norm cost next to nothing beside a block's dense layers.
  const floor = 2 * info.params.other + 10 * info.hiddenSize;
  return (all + floor) / (some + floor);
}

/** Timing stops once the speedup's relative standard error is at most this (or at `maxRuns`). */
export const TIMING_PRECISION = 0.02;
const MIN_TIMED_PAIRS = 3;

/**
 * Alternating runs of the original and the pruned encoder until the speedup is known to
 * TIMING_PRECISION (standard error of the mean log ratio of the pairs), `maxRuns` pairs ran, or
 * (after MIN_TIMED_PAIRS) the pairs took `budgetMs` (the report gives the error reached).
 */
export async function timePairs(original: (i: number) => Promise<number>, pruned: (i: number) => Promise<number>, maxRuns: number, signal?: AbortSignal, budgetMs = Infinity) {
  const ta: number[] = [];
  const tb: number[] = [];
  let relativeError = Infinity;
  const t0 = performance.now();
  for (let i = 0; i < maxRuns && relativeError > TIMING_PRECISION && !spent(ta.length, t0, budgetMs); i++) {
    if (signal?.aborted) break;
    ta.push(await original(i));
    tb.push(await pruned(i));
    if (ta.length >= MIN_TIMED_PAIRS) relativeError = logRelativeError(ta.map((x, j) => x / tb[j]));
  }
  return { originalMs: median(ta), prunedMs: median(tb), speedup: median(ta) / median(tb), runs: ta.length, relativeError };
}

/** Whether timing used its budget (never before MIN_TIMED_PAIRS runs). */
function spent(runs: number, t0: number, budgetMs: number): boolean {
  return runs >= MIN_TIMED_PAIRS && performance.now() - t0 >= budgetMs;
}

/**
 * Above this many parameters the original and the pruned encoder are timed one after the other,
 * each session released before the next opens: holding both at once put optimize on a 311 M
 * model 5 % over its memory budget (RESULTS.md §8). Below it they alternate run by run, so
 * machine noise hits both alike.
 */
export const PAIRED_TIMING_MAX_PARAMS = 64_000_000;

type Encoded = { ids: number[]; typeIds: number[] }[];

export interface TimingOptions {
  provider: ProbeSettings['provider'];
  threads?: number;
  runs1?: number;
  runs32?: number;
  /** Most milliseconds of timed runs per batch size and encoder, once MIN_TIMED_PAIRS ran (default: no limit). */
  budgetMs?: number;
  /** Time one encoder after the other (one session open at a time) instead of alternating. */
  sequential?: boolean;
  signal?: AbortSignal;
  log?: JobContext['log'];
}

/**
 * Runs of one encoder: at batch 1 (`single`) and batch 32 (`big`), after a warm-up. Batch 1
 * repeats one text: with a different text per run, the pairs' ratios varied with the texts'
 * lengths, not only with noise, and the precision rule never stopped before the cap.
 */
class Timer {
  constructor(
    readonly session: ort.InferenceSession,
    private readonly tokenizer: TextTokenizer,
    private readonly single: Encoded,
    private readonly big: Encoded,
  ) {}

  /** Warm-up: the first run of each shape allocates and picks kernels. */
  async warm(): Promise<void> {
    await this.run(this.big);
    await this.run(this.single);
  }

  batch1 = () => this.run(this.single);
  batch32 = () => this.run(this.big);

  /** One forward pass of `rows` (padded to the longest), in milliseconds. */
  private async run(rows: Encoded): Promise<number> {
    const x = this.tokenizer.batch(
      rows.map((r) => r.ids),
      rows.map((r) => r.typeIds),
    );
    const feeds = inputsFor(this.session, x.inputIds, x.attentionMask, x.tokenTypeIds, [x.batchSize, x.seqLen]);
    const t0 = process.hrtime.bigint();
    await this.session.run(feeds);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }
}

/**
 * Times two encoder files on the same texts at batch 1 and batch 32 (medians): alternating runs
 * so that machine noise hits both, or with `sequential` one encoder after the other.
 */
export async function timeEncoders(originalFile: string, prunedFile: string, texts: readonly InputText[], tokenizer: TextTokenizer, opts: TimingOptions): Promise<Omit<TimingReport, 'idealSpeedup' | 'efficiency'>> {
  const enc = texts.map((t) => encodeInput(tokenizer, t));
  const big = enc.slice(0, 32);
  // Batch 1: the text of median length (a typical single call).
  const single = [[...enc].sort((a, b) => a.ids.length - b.ids.length)[enc.length >> 1]];
  const open = async (f: string) => {
    const o = await openSession(f, { provider: opts.provider, threads: opts.threads, parkThreadsAfterRun: true, log: opts.log });
    return { timer: new Timer(o.session, tokenizer, single, big), provider: o.provider };
  };
  const r = opts.sequential ? await timeSequential(open, originalFile, prunedFile, opts) : await timePaired(open, originalFile, prunedFile, opts);
  throwIfAborted(opts.signal);
  const seqLen = tokenizer.batch(
    big.map((e) => e.ids),
    big.map((e) => e.typeIds),
  ).seqLen;
  return { ...r, seqLen, seqLen1: single[0].ids.length, threads: opts.threads ?? 0, design: opts.sequential ? 'sequential' : 'paired', ...(opts.budgetMs !== undefined ? { budgetMs: opts.budgetMs } : {}) };
}

type Opener = (file: string) => Promise<{ timer: Timer; provider: string }>;

async function timePaired(open: Opener, originalFile: string, prunedFile: string, opts: TimingOptions) {
  const a = await open(originalFile);
  const b = await open(prunedFile);
  try {
    for (const t of [a, b]) await t.timer.warm();
    const batch1 = await timePairs(a.timer.batch1, b.timer.batch1, opts.runs1 ?? 30, opts.signal, opts.budgetMs);
    const batch32 = await timePairs(a.timer.batch32, b.timer.batch32, opts.runs32 ?? 10, opts.signal, opts.budgetMs);
    return { batch1, batch32, provider: a.provider };
  } finally {
    await a.timer.session.release();
    await b.timer.session.release();
  }
}

/** The original's runs, its session released, then the pruned encoder's: one set of weights in memory at a time. */
async function timeSequential(open: Opener, originalFile: string, prunedFile: string, opts: TimingOptions) {
  const alone = async (file: string) => {
    const o = await open(file);
    try {
      await o.timer.warm();
      return { provider: o.provider, batch1: await timeRuns(o.timer.batch1, opts.runs1 ?? 30, opts.signal, opts.budgetMs), batch32: await timeRuns(o.timer.batch32, opts.runs32 ?? 10, opts.signal, opts.budgetMs) };
    } finally {
      await o.timer.session.release();
    }
  };
  const a = await alone(originalFile);
  const b = await alone(prunedFile);
  return { batch1: ratioOf(a.batch1, b.batch1), batch32: ratioOf(a.batch32, b.batch32), provider: a.provider };
}

/** Relative standard error of the geometric mean of `xs` (the SE of their mean log). */
function logRelativeError(xs: number[]): number {
  if (xs.length < 2) return Infinity;
  const logs = xs.map(Math.log);
  const mean = logs.reduce((p, q) => p + q, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((p, q) => p + (q - mean) ** 2, 0) / (logs.length - 1));
  return Math.expm1(sd / Math.sqrt(logs.length));
}

/** Runs of one encoder until its time is known to TIMING_PRECISION / √2 (the ratio of two such, to about TIMING_PRECISION). */
async function timeRuns(run: (i: number) => Promise<number>, maxRuns: number, signal?: AbortSignal, budgetMs = Infinity): Promise<number[]> {
  const ts: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < maxRuns && (ts.length < MIN_TIMED_PAIRS || logRelativeError(ts) > TIMING_PRECISION / Math.SQRT2) && !spent(ts.length, t0, budgetMs); i++) {
    if (signal?.aborted) break;
    ts.push(await run(i));
  }
  return ts;
}

function ratioOf(ta: number[], tb: number[]) {
  const relativeError = Math.hypot(logRelativeError(ta), logRelativeError(tb));
  return { originalMs: median(ta), prunedMs: median(tb), speedup: median(ta) / median(tb), runs: Math.min(ta.length, tb.length), relativeError };
}

/** A compensated winner's own graph (narrowed blocks, bridges outside them) and its share of attention heads. */
export interface CompensatedFlops {
  variant: ModelInfo;
  attentionShare: number;
}

/**
 * Verify's timing may use this share of the full model's extraction time per batch size and
 * encoder, once MIN_TIMED_PAIRS ran. On a few hundred rows, timing to the caps (30 + 10 pairs,
 * a batch of 32 at full length each) cost more than the extraction itself (RESULTS.md §8a); on
 * larger data the precision stops it first. The report gives the error reached and the budget.
 */
export const TIMING_BUDGET_SHARE = 0.1;

/** `extractSeconds`: the full model's extraction (with setup), which sets the timing budget. */
export async function verifyCommitted(out: string, info: ModelInfo, splits: TaskSplit[], winner: Measured, settings: ProbeSettings, tokenizer: TextTokenizer, ctx: JobContext, extractSeconds: number, compensated?: CompensatedFlops): Promise<VerifyReport> {
  const perTask: VerifyReport['perTask'] = {};
  for (const sp of splits) {
    const dir = path.join(out, 'classifiers', sp.task.name);
    const pred = await classify(dir, sp.task, settings, undefined, ctx);
    const measured = scoreOf(sp.task.testY, pred, sp.task.labels.length);
    const claimed = winner.test![sp.task.name];
    perTask[sp.task.name] = { claimed, measured, equal: measured.accuracy === claimed.accuracy };
  }
  const quantized = await verifyQuantized(out, splits, perTask, settings, ctx);
  // Pairs as the classifiers read them: timed on inputs of the length users send.
  const texts: InputText[] = splits.flatMap((s) => s.task.test).slice(0, 64);
  const sequential = info.params.total > PAIRED_TIMING_MAX_PARAMS;
  const t = await timeEncoders(info.onnxFile, path.join(out, 'onnx', committedGraphName(path.basename(info.onnxFile), info.architecture)), texts, tokenizer, { provider: settings.provider, threads: settings.threads, sequential, budgetMs: TIMING_BUDGET_SHARE * extractSeconds * 1000, signal: ctx.signal, log: ctx.log });
  const ideal = idealSpeedup(info, winner.kept, t.seqLen, compensated);
  return {
    loadedFrom: out,
    perTask,
    allEqual: Object.values(perTask).every((p) => p.equal),
    ...(quantized ? { quantized } : {}),
    timing: { ...t, idealSpeedup: ideal, efficiency: ideal === null ? null : t.batch32.speedup / ideal },
  };
}

/**
 * The q8 variant of every classifier, where the commit wrote one, re-measured from disk beside
 * the float one it was quantized from (quantization changes the numbers: no claim to equal).
 * One text per run: dynamic quantization scales each batch by its own range, padding included,
 * so a text's score would depend on its batch; alone it is what a pipeline call computes.
 */
export async function verifyQuantized(out: string, splits: TaskSplit[], float: VerifyReport['perTask'], settings: Pick<ProbeSettings, 'provider' | 'threads' | 'batchSize'>, ctx: JobContext): Promise<QuantizedVerify | undefined> {
  const dirs = splits.map((sp) => path.join(out, 'classifiers', sp.task.name));
  if (!dirs.every((d) => fs.existsSync(path.join(d, 'onnx', Q8_FILE)))) return undefined;
  const perTask: QuantizedVerify['perTask'] = {};
  for (const [i, sp] of splits.entries()) {
    const measured = scoreOf(sp.task.testY, await classify(dirs[i], sp.task, { ...settings, batchSize: 1 }, undefined, ctx, Q8_FILE), sp.task.labels.length);
    const f = float[sp.task.name].measured;
    perTask[sp.task.name] = { float: f, measured, difference: measured.accuracy - f.accuracy };
  }
  return { file: `onnx/${Q8_FILE}`, method: Q8_DESCRIPTION, perTask };
}
