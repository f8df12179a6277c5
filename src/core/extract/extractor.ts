/**
 * Feature extraction: tokenise, bucket by length, one ORT pass per batch through the probe
 * graph, pooled [n, hidden] features per layer back in the examples' order.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { JobContext, stage } from '../jobs';
import { cleanStaleTemporaries, writeFileAtomic } from '../commit/atomicDir';
import { CacheEntryError, LayerFeatures, decodeFeatures, encodeFeatures } from './featureCache';

export type { LayerFeatures };
import { BadInputError, throwIfAborted, UnsupportedModelError } from '../errors';
import { Pooling, ProbeOutputs, probeEdit } from '../onnx/edit';
import { referencingGraph } from '../onnx/reference';
import { subsetsProbeEdit } from '../onnx/subsetsEdit';
import { ModelInfo } from '../model/modelInfo';
import { OpenedSession, openSession } from '../runtime/session';
import { invalidModelGraph, refuseFixedShapes } from '../model/invalidGraph';
import { SLOW_TOKENIZER_FILES } from '../data/slowTokenizer';
import { DEFAULT_SETTINGS, Provider } from '../settings';
import { preview, TOKENIZATION_REVISION, type TextTokenizer } from '../data/tokenize';
import { makeFolders } from '../util/mkdirs';
import { diskErrno, diskReason } from '../util/diskErrors';

export interface TextExample {
  text: string;
  textPair?: string;
}


export interface ExtractorOptions {
  poolings: Pooling[];
  /** Build the graph of this pruned subset and pool its final hidden state only. */
  kept?: number[];
  /** One graph for all these subsets (subsetsEdit.ts): feature entry j is subset j's pooled final hidden state. */
  subsets?: number[][];
  cosine?: boolean;
  provider?: Provider;
  strictProvider?: boolean;
  batchSize?: number;
  /** Most padded tokens per pass (default batchTokenLimit(hidden size)). */
  maxBatchTokens?: number;
  threads?: number;
  /** Feature cache folder (null/undefined: no cache). */
  cacheDir?: string | null;
  /**
   * Vocabulary trimming seen from the tokenizer's side: each id is fed as `readsAs[id]`, which is
   * what a graph with a trimmed word-embedding table does. `tag` names the map in the cache key;
   * examples whose ids are all kept share the untrimmed features.
   */
  idRemap?: IdRemap;
}

export interface IdRemap {
  /** The source id each source id reads after the trim (its own when kept). */
  readsAs: Int32Array;
  tag: string;
}

/**
 * Most padded tokens per ORT pass: ORT's activation memory grows with batch × length × width.
 * 2^21 / hidden (2048 tokens at width 1024) took a probe on a RoBERTa-large-sized model from
 * 2067 to 1730 MiB peak (RESULTS.md §8); its speed cost there was not measured. It never binds
 * below width 512 at the default 32 × 128.
 */
export function batchTokenLimit(hidden: number): number {
  return Math.max(1, Math.floor(2 ** 21 / Math.max(1, hidden)));
}

/** Keeps one session open over a probe graph; `extract` can be called for many datasets. */
export class Extractor {
  /** ORT forward passes made so far (one per batch, asserted by tests). */
  forwardPasses = 0;
  /** Set when an entry could not be written: the cache is not tried again in this run (one warning). */
  private cacheUnwritable = false;
  batches = 0;
  private constructor(
    private readonly info: ModelInfo,
    private readonly tokenizer: TextTokenizer,
    private readonly opened: OpenedSession,
    readonly outputs: ProbeOutputs,
    private readonly opts: ExtractorOptions,
    private readonly graphKey: string,
  ) {}

  get provider(): string {
    return this.opened.provider;
  }

  static async create(info: ModelInfo, tokenizer: TextTokenizer, opts: ExtractorOptions, ctx: JobContext = {}): Promise<Extractor> {
    refuseFixedShapes(info);
    const { edit, outputs } = opts.subsets ? subsetsProbeEdit(info.model, info.blocks, opts.subsets, opts.poolings) : probeEdit(info.model, info.blocks, { poolings: opts.poolings, kept: opts.kept, cosine: opts.cosine ?? !opts.kept });
    // Weights stay in the source files (referenced, not copied) and the serialised graph is
    // dropped once ORT has parsed it: one copy of the weights in memory, ORT's own.
    let opened: OpenedSession;
    try {
      opened = await openSession(referencingGraph(info.model, edit), { provider: opts.provider, strictProvider: opts.strictProvider, threads: opts.threads, log: ctx.log });
    } catch (e) {
      throw (await invalidModelGraph(info, 'load')) ?? e;
    }
    const st = fs.statSync(info.onnxFile);
    const graphKey = JSON.stringify({ f: info.onnxFile, size: st.size, mtime: st.mtimeMs, kept: opts.kept ?? null, ...(opts.subsets ? { subsets: opts.subsets } : {}), poolings: opts.poolings, cos: !opts.subsets && (opts.cosine ?? !opts.kept), v: 1 });
    return new Extractor(info, tokenizer, opened, outputs, opts, graphKey);
  }

  async release(): Promise<void> {
    await this.opened.session.release();
  }

  /** Pooled features for `examples`, in their order; served from the cache when the same inputs were seen. */
  async extract(examples: TextExample[], label: string, ctx: JobContext = {}): Promise<LayerFeatures> {
    stage(ctx, 'tokenise', `tokenising ${label}: ${examples.length} texts`);
    const { encoded, remapped } = this.encode(examples, ctx.signal);
    const key = this.cacheKey(examples, remapped ? this.opts.idRemap!.tag : null);
    const cached = this.readCache(key, examples.length, label, ctx);
    if (cached) {
      ctx.log?.('info', `${label}: ${examples.length} examples from the feature cache`);
      ctx.onProgress?.({ kind: 'extract', label, done: examples.length, total: examples.length });
      this.checkFinite(cached, examples, label);
      return cached;
    }
    const feats = await this.compute(encoded, label, ctx);
    this.checkFinite(feats, examples, label);
    this.writeCache(key, feats, label, ctx);
    return feats;
  }

  /**
   * Refuses features that hold NaN or Infinity, naming the first layer (or subset) that does, how
   * many texts and the first of them: a model whose weights hold them, or whose numbers overflow,
   * gives them, and without this the job failed only at the first probe fit, with "the objective
   * or its gradient is not finite", after every feature was extracted and cached.
   */
  private checkFinite(f: LayerFeatures, examples: TextExample[], label: string): void {
    const { n, dim } = f;
    for (const p of this.opts.poolings) {
      const entries = f.pooled[p] ?? [];
      for (let j = 0; j < entries.length; j++) {
        const x = entries[j];
        let bad = 0;
        let first = -1;
        for (let i = 0; i < n; i++) {
          for (let k = i * dim, end = k + dim; k < end; k++) {
            if (Number.isFinite(x[k])) continue;
            if (bad++ === 0) first = i;
            break;
          }
        }
        if (bad === 0) continue;
        const where = this.opts.subsets ? `the output of the graph keeping blocks ${this.opts.subsets[j].join(',') || 'none'}` : this.opts.kept ? `the output of the graph keeping blocks ${this.opts.kept.join(',') || 'none'}` : `layer ${f.layers[j]}`;
        const which = bad === n ? 'every text' : `${bad} of the ${n} texts (the first: ${JSON.stringify(preview(examples[first].text))})`;
        throw new BadInputError(
          `${this.info.dir} gives NaN (not a number) or Infinity in ${where} of ${which} of ${label} (layer 0 is the embedding output): its weights hold NaN or Infinity, or its numbers overflow (as a float16 export can). No probe can be fitted on such features. Check the model's files (download or export it again) and run again.`,
        );
      }
    }
  }

  /** Token ids of every example, with the vocabulary remap applied; `remapped` when any id changed. */
  private encode(examples: TextExample[], signal?: AbortSignal): { encoded: { ids: number[]; typeIds: number[] }[]; remapped: boolean } {
    const encoded = examples.map((e, i) => {
      if (i % 64 === 0) throwIfAborted(signal);
      return this.tokenizer.encodeWithTypes(e.text, e.textPair);
    });
    const r = this.opts.idRemap;
    let remapped = false;
    if (r) {
      for (const e of encoded) {
        for (let i = 0; i < e.ids.length; i++) {
          const to = r.readsAs[e.ids[i]];
          if (to === e.ids[i]) continue;
          e.ids[i] = to;
          remapped = true;
        }
      }
    }
    return { encoded, remapped };
  }

  private async compute(encoded: { ids: number[]; typeIds: number[] }[], label: string, ctx: JobContext): Promise<LayerFeatures> {
    const n = encoded.length;
    const dim = this.info.hiddenSize;
    const { layers } = this.outputs;
    const pooled: Partial<Record<Pooling, Float32Array[]>> = {};
    for (const p of this.opts.poolings) pooled[p] = layers.map(() => new Float32Array(n * dim));
    const cosine = this.outputs.cosine.map(() => new Float32Array(n));
    let done = 0;
    let lastReport = 0;
    for (const idx of this.batchPlan(encoded)) {
      throwIfAborted(ctx.signal);
      const out = await this.runBatch(encoded, idx);
      this.scatter(out, idx, dim, pooled, cosine);
      done += idx.length;
      const now = Date.now();
      if (now - lastReport > 100 || done === n) {
        lastReport = now;
        ctx.onProgress?.({ kind: 'extract', label, done, total: n });
      }
    }
    return { n, dim, layers, pooled, cosine };
  }

  /** The examples of each pass, by index: at most batchSize of them and maxBatchTokens padded tokens. */
  private batchPlan(encoded: { ids: number[] }[]): number[][] {
    const n = encoded.length;
    // Length bucketing: sort by length so each batch pads to little more than its own longest.
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a].ids.length - encoded[b].ids.length || a - b);
    const batchSize = this.opts.batchSize ?? DEFAULT_SETTINGS.batchSize;
    const maxTokens = this.opts.maxBatchTokens ?? batchTokenLimit(this.info.hiddenSize);
    const plan: number[][] = [];
    for (let s = 0; s < n; ) {
      let end = s + 1;
      // Rows are sorted by length, so the row just added is the longest: the batch pads to it.
      while (end < n && end - s < batchSize && (end - s + 1) * encoded[order[end]].ids.length <= maxTokens) end++;
      plan.push(order.slice(s, end));
      s = end;
    }
    return plan;
  }

  /** One forward pass over the examples `idx`, padded to their longest; the outputs the features need. */
  private async runBatch(encoded: { ids: number[]; typeIds: number[] }[], idx: number[]): Promise<ort.InferenceSession.ReturnType> {
    const inputNames = this.opened.session.inputNames;
    const batch = this.tokenizer.batch(
      idx.map((i) => encoded[i].ids),
      idx.map((i) => encoded[i].typeIds),
    );
    const shape = [batch.batchSize, batch.seqLen];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.inputIds, shape),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, shape),
    };
    if (inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', batch.tokenTypeIds, shape);
    for (const name of inputNames) {
      if (!feeds[name]) throw new UnsupportedModelError(`${this.info.onnxFile} needs the input '${name}', which ProbeScale does not know how to fill (it feeds input_ids, attention_mask, token_type_ids). Export the encoder with those inputs only (optimum-cli export onnx).`);
    }
    const wanted = [...Object.values(this.outputs.pooled).flat(), ...this.outputs.cosine];
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.opened.session.run(feeds, wanted);
    } catch (e) {
      throw (await invalidModelGraph(this.info, 'run', feeds)) ?? e;
    }
    this.forwardPasses++;
    this.batches++;
    return out;
  }

  /** Copies a pass's output rows to the rows `idx` of the features, then frees the outputs. */
  private scatter(out: ort.InferenceSession.ReturnType, idx: number[], dim: number, pooled: Partial<Record<Pooling, Float32Array[]>>, cosine: Float32Array[]): void {
    for (const p of this.opts.poolings) {
      this.outputs.pooled[p].forEach((name, l) => {
        const data = out[name].data as Float32Array;
        const dst = pooled[p]![l];
        idx.forEach((ex, r) => dst.set(data.subarray(r * dim, (r + 1) * dim), ex * dim));
      });
    }
    this.outputs.cosine.forEach((name, l) => {
      const data = out[name].data as Float32Array;
      idx.forEach((ex, r) => (cosine[l][ex] = data[r]));
    });
    for (const t of Object.values(out)) t.dispose?.();
  }

  private cacheKey(examples: TextExample[], remapTag: string | null): string {
    const h = crypto.createHash('sha256');
    h.update(this.graphKey);
    h.update(JSON.stringify({ maxLength: this.tokenizer.maxLength, tok: this.tokenizerStamp(), rev: TOKENIZATION_REVISION, ...this.tokenizer.preparation }));
    if (remapTag !== null) h.update(`vocab:${remapTag}`);
    for (const e of examples) {
      h.update(e.text);
      h.update('\u0000');
      h.update(e.textPair ?? '');
      h.update('\u0001');
    }
    return h.digest('hex').slice(0, 32);
  }

  /** Size and time of each tokenizer file there is (a folder without tokenizer.json is read through its slow tokenizer's files). */
  private tokenizerStamp(): string {
    return ['tokenizer.json', ...SLOW_TOKENIZER_FILES]
      .map((name) => {
        const f = path.join(this.info.dir, name);
        if (!fs.existsSync(f)) return '';
        const st = fs.statSync(f);
        return `${st.size}:${st.mtimeMs}`;
      })
      .join('|')
      .replace(/\|+$/, '');
  }

  /** A cached entry, or null when absent or damaged (a damaged one is logged, removed and re-extracted). */
  private readCache(key: string, n: number, label: string, ctx: JobContext): LayerFeatures | null {
    const dir = this.opts.cacheDir;
    if (!dir) return null;
    const file = path.join(dir, `${key}.feat`);
    // Not a file (absent, or a folder someone put there): nothing to read; writeCache says why it cannot write.
    if (!isFile(file)) return null;
    try {
      const f = decodeFeatures(fs.readFileSync(file));
      if (f.n !== n || f.dim !== this.info.hiddenSize) throw new CacheEntryError(`it holds ${f.n}×${f.dim} features, ${n}×${this.info.hiddenSize} were asked for`);
      return f;
    } catch (e) {
      ctx.log?.('warn', `${label}: feature cache entry ${file} is damaged (${(e as Error).message}); removing it and extracting again.`);
      try {
        fs.rmSync(file, { force: true });
      } catch {
        // A folder that cannot be written: writeCache warns about it once.
      }
      return null;
    }
  }

  /** Stores an entry. The cache only saves time: a folder that cannot be written is warned about once, and the run goes on without it. */
  private writeCache(key: string, f: LayerFeatures, label: string, ctx: JobContext): void {
    const dir = this.opts.cacheDir;
    if (!dir || this.cacheUnwritable) return;
    let bytes: number | undefined;
    const store = (entry: Buffer) => {
      makeFolders(dir);
      const file = path.join(dir, `${key}.feat`);
      cleanStaleTemporaries(file);
      writeFileAtomic(file, entry);
    };
    try {
      const entry = encodeFeatures(f);
      bytes = entry.length;
      try {
        store(entry);
      } catch (e) {
        // The folder was removed while the entry was written (a user clearing caches): make it again, once.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        store(entry);
      }
    } catch (e) {
      this.cacheUnwritable = true;
      // Keyed on the job's log: the contexts candidates extract with are copies sharing it.
      const job = ctx.log ?? ctx;
      if (warnedCache.has(job)) return;
      warnedCache.add(job);
      const errno = diskErrno(e);
      if (errno === undefined) return ctx.log?.('warn', `${label}: cannot write the feature cache in ${dir} (${(e as Error).message}); going on without it. Point {{cacheDir}} elsewhere, or turn the cache off ({{noCache}}).`);
      const { reason, advice } = diskReason(errno, dir, { needed: bytes }, (where) => `point {{cacheDir}} to a folder ${where}`, (e as NodeJS.ErrnoException).path);
      ctx.log?.('warn', `${label}: cannot write the feature cache in ${dir}: ${reason}; going on without it (no entry was left there). To cache features, ${advice}; or turn the cache off ({{noCache}}).`);
    }
  }
}

/** Jobs already warned that their cache cannot be written: optimize opens an extractor per candidate. */
const warnedCache = new WeakSet<object>();

/** True for a regular file; false when absent, a folder, or under a path that is not a folder (ENOTDIR). */
function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
