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
import { loadTokenizer, TextTokenizer } from '../data/tokenize';
import { TaskData } from '../data/dataset';
import { ModelInfo } from '../model/modelInfo';
import { openSession } from '../runtime/session';
import { Measured, TaskSplit, scoreOf } from './measure';

/** Runs a classifier folder (its `onnx/<graph>`) on a task's test split; returns predictions. */
export async function classify(dir: string, task: TaskData, settings: Pick<ProbeSettings, 'provider' | 'threads' | 'batchSize'>, tokenizer?: TextTokenizer, ctx: JobContext = {}, graph = 'model.onnx'): Promise<Int32Array> {
  const config = (await import('node:fs')).readFileSync(path.join(dir, 'config.json'), 'utf8');
  const maxLength = (JSON.parse(config) as { probescale?: { maxLength?: number } }).probescale?.maxLength ?? DEFAULT_SETTINGS.maxLength;
  const tok = tokenizer ?? (await loadTokenizer(dir, { maxLength }));
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

/** FLOPs per token of one block: dense layers (2 per weight) plus attention scores and mixing (4·S·H). */
function blockFlops(params: number, seqLen: number, hidden: number): number {
  return 2 * params + 4 * seqLen * hidden;
}

export function idealSpeedup(info: ModelInfo, kept: number[], seqLen: number, compensated?: CompensatedFlops): number {
  const all = info.params.perBlock.reduce((a, p) => a + blockFlops(p, seqLen, info.hiddenSize), 0);
  const some = compensated
    ? compensated.variant.params.perBlock.reduce((a, p) => a + blockFlops(p, seqLen, info.hiddenSize * compensated.attentionShare), 0) + 2 * (compensated.variant.params.other - info.params.other)
    : kept.reduce((a, k) => a + blockFlops(info.params.perBlock[k], seqLen, info.hiddenSize), 0);
  // Embedding lookups and the final norm cost next to nothing; an empty subset is bounded by them.
  const floor = 2 * info.params.other + 10 * info.hiddenSize;
  return (all + floor) / (some + floor);
}

/** Timing stops once the speedup's relative standard error is at most this (or at `maxRuns`). */
export const TIMING_PRECISION = 0.02;
const MIN_TIMED_PAIRS = 3;

/**
 * Alternating runs of the original and the pruned encoder until the speedup is known to
 * TIMING_PRECISION (standard error of the mean log ratio of the pairs) or `maxRuns` pairs ran.
 */
export async function timePairs(original: (i: number) => Promise<number>, pruned: (i: number) => Promise<number>, maxRuns: number, signal?: AbortSignal) {
  const ta: number[] = [];
  const tb: number[] = [];
  let relativeError = Infinity;
  for (let i = 0; i < maxRuns && relativeError > TIMING_PRECISION; i++) {
    if (signal?.aborted) break;
    ta.push(await original(i));
    tb.push(await pruned(i));
    if (ta.length < MIN_TIMED_PAIRS) continue;
    const logs = ta.map((x, j) => Math.log(x / tb[j]));
    const mean = logs.reduce((p, q) => p + q, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((p, q) => p + (q - mean) ** 2, 0) / (logs.length - 1));
    relativeError = Math.expm1(sd / Math.sqrt(logs.length));
  }
  return { originalMs: median(ta), prunedMs: median(tb), speedup: median(ta) / median(tb), runs: ta.length, relativeError };
}

/**
 * Times two encoder files on the same texts, alternating runs so that machine noise hits both;
 * medians at batch 1 and batch 32.
 */
export async function timeEncoders(originalFile: string, prunedFile: string, texts: string[], tokenizer: TextTokenizer, opts: { provider: ProbeSettings['provider']; threads?: number; runs1?: number; runs32?: number; signal?: AbortSignal; log?: JobContext['log'] }): Promise<Omit<TimingReport, 'idealSpeedup' | 'efficiency'>> {
  const a = await openSession(originalFile, { provider: opts.provider, threads: opts.threads, log: opts.log });
  const b = await openSession(prunedFile, { provider: opts.provider, threads: opts.threads, log: opts.log });
  try {
    const enc = texts.map((t) => tokenizer.encodeWithTypes(t));
    const batchOf = (rows: typeof enc) => {
      const x = tokenizer.batch(
        rows.map((r) => r.ids),
        rows.map((r) => r.typeIds),
      );
      return { x, dims: [x.batchSize, x.seqLen] };
    };
    const time = async (s: ort.InferenceSession, rows: typeof enc) => {
      const { x, dims } = batchOf(rows);
      const feeds = inputsFor(s, x.inputIds, x.attentionMask, x.tokenTypeIds, dims);
      const t0 = process.hrtime.bigint();
      await s.run(feeds);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const big = enc.slice(0, 32);
    // Warm-up: first runs allocate and pick kernels.
    for (let i = 0; i < 2; i++) {
      await time(a.session, big);
      await time(b.session, big);
    }
    const single = (i: number) => [enc[i % enc.length]];
    const t1 = await timePairs((i) => time(a.session, single(i)), (i) => time(b.session, single(i)), opts.runs1 ?? 30, opts.signal);
    const t32 = await timePairs(() => time(a.session, big), () => time(b.session, big), opts.runs32 ?? 10, opts.signal);
    throwIfAborted(opts.signal);
    const seqLen = batchOf(big).x.seqLen;
    return {
      batch1: t1,
      batch32: t32,
      seqLen,
      provider: a.provider,
      threads: opts.threads ?? 0,
    };
  } finally {
    await a.session.release();
    await b.session.release();
  }
}

/** A compensated winner's own graph (narrowed blocks, bridges outside them) and its share of attention heads. */
export interface CompensatedFlops {
  variant: ModelInfo;
  attentionShare: number;
}

export async function verifyCommitted(out: string, info: ModelInfo, splits: TaskSplit[], winner: Measured, settings: ProbeSettings, tokenizer: TextTokenizer, ctx: JobContext, compensated?: CompensatedFlops): Promise<VerifyReport> {
  const perTask: VerifyReport['perTask'] = {};
  for (const sp of splits) {
    const dir = path.join(out, 'classifiers', sp.task.name);
    const pred = await classify(dir, sp.task, settings, undefined, ctx);
    const measured = scoreOf(sp.task.testY, pred, sp.task.labels.length);
    const claimed = winner.test![sp.task.name];
    perTask[sp.task.name] = { claimed, measured, equal: measured.accuracy === claimed.accuracy };
  }
  const quantized = await verifyQuantized(out, splits, perTask, settings, ctx);
  const texts = splits.flatMap((s) => s.task.test.map((e) => e.text)).slice(0, 64);
  const t = await timeEncoders(info.onnxFile, path.join(out, 'onnx', path.basename(info.onnxFile)), texts, tokenizer, { provider: settings.provider, threads: settings.threads, signal: ctx.signal, log: ctx.log });
  const ideal = idealSpeedup(info, winner.kept, t.seqLen, compensated);
  return {
    loadedFrom: out,
    perTask,
    allEqual: Object.values(perTask).every((p) => p.equal),
    ...(quantized ? { quantized } : {}),
    timing: { ...t, idealSpeedup: ideal, efficiency: t.batch32.speedup / ideal },
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
