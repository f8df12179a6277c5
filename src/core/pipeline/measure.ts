/**
 * Measures block subsets for real: build the pruned graph, extract its pooled final features,
 * train a probe, score it. Selection reads cross-validated scores on the training split only
 * (stratified 5-fold); test scores are computed for reporting and never feed back.
 */
import { JobContext } from '../jobs';
import { Score } from '../report';
import { ProbeSettings } from '../settings';
import { throwIfAborted } from '../errors';
import { TaskData } from '../data/dataset';
import { TextTokenizer } from '../data/tokenize';
import { Extractor, IdRemap, LayerFeatures } from '../extract/extractor';
import { extractorOptions } from './prepare';
import { ModelInfo } from '../model/modelInfo';
import { CV_FOLDS, stratifiedKFold, takeRows } from '../probe/cv';
import { fitMeasureUnit, foldedOutcomes, foldedSplit, MeasureFitWork, outcomes, pick, RowOutcomes, scoreOf, validationRows, validationScore } from '../probe/layerRow';
import { TrainedProbe, scoreRows, trainProbe } from '../probe/probe';
import { FitPool } from '../probe/fitPool';
import { CompSpec, appliedSpec, candidateKey, isCompensated } from '../compensate/search';
import { CompensatedVariant } from '../compensate/variant';
import { extractTogether, RowChunks, TogetherFeatures, Wanted } from './together';

/**
 * Candidates are scored by stratified k-fold cross-validation on the training split: every
 * training row is predicted once by a probe that did not see it. A single held-out fold was
 * too noisy to rank subsets whose scores differ by a point (the best of many noisy scores is
 * biased upwards); k folds use all training rows for validation.
 */
export const VALIDATION_FOLDS = CV_FOLDS;

export { pick, scoreOf, validationRows, validationScore };
export type { RowOutcomes };

export interface Measured {
  /** Candidate key: the subset ("2,3"), plus its compensation when it has one ("2,3+bridge"). */
  key: string;
  kept: number[];
  /** Bridges and widths fitted on top of dropping blocks (absent: whole blocks only). */
  compensation?: CompSpec;
  params: number;
  /** Cross-validated score per task on the training split. */
  val: Record<string, Score>;
  /** Out-of-fold outcome of every training row, per task. */
  valRows: Record<string, RowOutcomes>;
  /** Weighted mean cross-validated accuracy (the selection objective). */
  objective: number;
  /** Test score per task (probe refit on the whole training split), when asked for. */
  test?: Record<string, Score>;
  testRows?: Record<string, RowOutcomes>;
  testObjective?: number;
}

export interface TaskSplit {
  task: TaskData;
  weight: number;
  /** Fold of each training row for cross-validated scoring. */
  folds: Int32Array;
  /** C for this task (fixed by --c, or chosen once by CV on the full model's final layer). */
  c: number;
}

export function foldsForValidation(task: TaskData, seed: number): Int32Array {
  return stratifiedKFold(task.trainY, VALIDATION_FOLDS, seed);
}

/** Fits on the whole training split and scores the test split. */
export function testScore(split: TaskSplit, trainFeatures: Float32Array, testFeatures: Float32Array, dim: number, seed: number, signal?: AbortSignal): { score: Score; rows: RowOutcomes; probe: TrainedProbe } {
  const t = split.task;
  const probe = trainProbe(trainFeatures, t.trainY, dim, t.labels.length, { c: split.c, seed, control: false, signal });
  const r = scoreRows(probe, testFeatures, t.testY);
  return { score: scoreOf(t.testY, r.pred, t.labels.length), rows: outcomes(t.testY, r.pred, r.logp), probe };
}

export function weightedMean(splits: TaskSplit[], scores: Record<string, Score>): number {
  let s = 0;
  let w = 0;
  for (const sp of splits) {
    s += sp.weight * scores[sp.task.name].accuracy;
    w += sp.weight;
  }
  return s / w;
}

/** Builds compensated candidates for the evaluator (see src/core/compensate). */
export interface Compensator {
  build(kept: number[], spec: CompSpec, ctx: JobContext): Promise<CompensatedVariant>;
  params(kept: number[], spec: CompSpec): number;
}

/** Measures candidates, each once (results are memoised by candidate key). */
export class SubsetEvaluator {
  private readonly memo = new Map<string, Measured>();
  /** Probes fitted on the whole training split for subsets measured with test (used to commit). */
  readonly probes = new Map<string, Record<string, TrainedProbe>>();

  constructor(
    private readonly info: ModelInfo,
    private readonly tokenizer: TextTokenizer,
    readonly splits: TaskSplit[],
    private readonly settings: ProbeSettings,
    private readonly params: (kept: number[]) => number,
    /** Full-model features of every hidden state, per task: a prefix's output is one of them. */
    private readonly full?: Map<string, { train: LayerFeatures; test: LayerFeatures }>,
    /** --vocab-trim: the kept id each id reads in the trimmed graph. */
    private readonly idRemap?: IdRemap,
    /** --compensate: builds compensated candidates and counts their parameters. */
    private readonly compensator?: Compensator,
  ) {}

  private readonly variants = new Map<string, CompensatedVariant>();

  /** The fitted graph of a compensated candidate measured so far. */
  variant(key: string): CompensatedVariant | undefined {
    return this.variants.get(key);
  }

  /** Removes the compensated candidates' temporary graphs. */
  dispose(): void {
    for (const v of this.variants.values()) v.dispose();
    this.variants.clear();
    this.trainX.clear();
    this.together.clear();
  }

  /** The extractor of a plain subset, or of a compensated candidate's own graph (built once). */
  private async extractorFor(key: string, kept: number[], spec: CompSpec | undefined, ctx: JobContext): Promise<Extractor> {
    if (!isCompensated(spec)) return Extractor.create(this.info, this.tokenizer, { ...extractorOptions(this.settings), kept, idRemap: this.idRemap }, ctx);
    if (!this.compensator) throw new Error(`compensated candidate ${key} without a compensator`);
    let v = this.variants.get(key);
    if (!v) this.variants.set(key, (v = await this.compensator.build(kept, spec!, ctx)));
    // A variant's graph lives in a temporary folder: its features would never be read from the cache again.
    return Extractor.create(v.info, this.tokenizer, { ...extractorOptions(this.settings), cacheDir: null, kept: kept.map((_, i) => i), idRemap: this.idRemap }, ctx);
  }

  /**
   * Features of a prefix 0..k−1 without running it: when nothing follows the last block (no
   * final norm, as in BERT/RoBERTa), the pruned model's output is exactly h_k of the full model.
   */
  private prefixFeatures(kept: number[]): ((task: string, split: 'train' | 'test') => LayerFeatures) | null {
    const b = this.info.blocks;
    if (!this.full || b.finalOutput !== b.hiddenOut[b.numBlocks - 1] || !kept.every((k, i) => k === i)) return null;
    const k = kept.length;
    return (task, split) => {
      const f = this.full!.get(task)![split];
      const j = f.layers.indexOf(k);
      return { ...f, layers: [k], pooled: { [this.settings.pooling]: [f.pooled[this.settings.pooling]![j]] }, cosine: [] };
    };
  }

  /** Features of candidates extracted together (together.ts), by key, until their measurement reads them. */
  private readonly together = new Map<string, TogetherFeatures>();

  /**
   * Extracts plain candidates known at once in shared graphs (together.ts), so that their
   * measurements read the features instead of running their own graphs. Candidates measured
   * already or read off the full extraction (a prefix) are left out. `screened`: see together.ts.
   */
  async extractTogether(wanted: Wanted[], ctx: JobContext, screened?: RowChunks): Promise<void> {
    const todo = wanted.filter((w) => !this.memo.has(candidateKey(w.kept)) && !this.together.has(candidateKey(w.kept)) && !this.prefixFeatures(w.kept));
    const got = await extractTogether({ info: this.info, tokenizer: this.tokenizer, settings: this.settings, splits: this.splits, idRemap: this.idRemap }, todo, ctx, screened);
    for (const [key, f] of got) this.together.set(key, f);
  }

  /** Features of a candidate that need no pass of its own: a prefix's, or those extracted together with others. */
  private knownFeatures(key: string, kept: number[]): ((task: string, split: 'train' | 'test') => Float32Array | undefined) | null {
    const prefix = this.prefixFeatures(kept);
    if (prefix) return (task, split) => prefix(task, split).pooled[this.settings.pooling]![0];
    const t = this.together.get(key);
    return t ? (task, split) => t[split]?.get(task) : null;
  }

  get measured(): Measured[] {
    return [...this.memo.values()];
  }

  /** Pooled training features of fully measured candidates, kept for screening against them (see keepFeatures). */
  private readonly trainX = new Map<string, Map<string, Float32Array>>();
  /** Probes fitted on every training row, per candidate: a later test score needs no second training pass. */
  private readonly fullProbes = new Map<string, Record<string, TrainedProbe>>();

  /** Drops the kept training features of every candidate but `key` (memory: rows × width per task each). */
  keepFeatures(key: string | null): void {
    for (const k of [...this.trainX.keys()]) if (k !== key) this.trainX.delete(k);
  }

  /** Measures a candidate on every training row (and the test rows when `withTest`); memoised by key. */
  async measure(kept: number[], withTest: boolean, ctx: JobContext, given?: CompSpec): Promise<Measured> {
    const spec = appliedSpec(kept, given);
    const key = candidateKey(kept, spec);
    const prior = this.memo.get(key);
    if (prior && (!withTest || prior.test)) return prior;
    const m = await this.withRows(key, kept, spec, ctx, async (src) => {
      const measured = prior ?? (await this.measureTrain(key, kept, spec, src, ctx));
      if (withTest) await this.measureTest(measured, src, ctx);
      return measured;
    });
    this.memo.set(key, m);
    return m;
  }

  /**
   * Successive halving: `screen` scores the candidate on subsets of the training rows first and
   * says whether to drop it; null when dropped, else the candidate measured on every row as by
   * `measure` (rows already extracted for screening are not extracted again).
   */
  async measureScreened(kept: number[], ctx: JobContext, screen: Screener): Promise<Measured | null> {
    const key = candidateKey(kept);
    const prior = this.memo.get(key);
    if (prior) return prior;
    const m = await this.withRows(key, kept, undefined, ctx, async (src) => {
      const score: StageScorer = async (rows) => this.stageOutcomes((sp) => src.train(sp, rows[sp.task.name]), rows, ctx);
      return (await screen(score)) ? null : this.measureTrain(key, kept, undefined, src, ctx);
    });
    if (m) this.memo.set(key, m);
    return m;
  }

  /** Out-of-fold outcomes of the kept training features of a measured candidate on a subset of rows. */
  async storedOutcomes(key: string, rows: Record<string, Int32Array>, ctx: JobContext): Promise<Record<string, RowOutcomes>> {
    const x = this.trainX.get(key);
    if (!x) throw new Error(`no training features kept for candidate ${key || '(none)'}`);
    return this.stageOutcomes(async (sp) => x.get(sp.task.name)!, rows, ctx);
  }

  /** Cross-validation restricted to `rows` (the global folds restricted to them), per task. */
  private async stageOutcomes(features: (sp: TaskSplit) => Promise<Float32Array>, rows: Record<string, Int32Array>, ctx: JobContext): Promise<Record<string, RowOutcomes>> {
    const items: TaskFeatures[] = [];
    for (const sp of this.splits) {
      const r = rows[sp.task.name];
      items.push({ split: restrictSplit(sp, r), X: takeRows(await features(sp), this.info.hiddenSize, r) });
    }
    const fitted = fitTasks(items, false, this.info.hiddenSize, this.settings.seed, ctx);
    return Object.fromEntries(this.splits.map((sp, i) => [sp.task.name, fitted[i].val.rows]));
  }

  /** One session for every split and stage of a candidate (none when its features are known: see knownFeatures). */
  private async withRows<T>(key: string, kept: number[], spec: CompSpec | undefined, ctx: JobContext, fn: (src: RowSource) => Promise<T>): Promise<T> {
    throwIfAborted(ctx.signal);
    const known = isCompensated(spec) ? null : this.knownFeatures(key, kept);
    let ex: Extractor | null = null;
    const quiet: JobContext = { signal: ctx.signal, log: ctx.log };
    const extract = async (sp: TaskSplit, split: 'train' | 'test', rows?: Int32Array): Promise<Float32Array> => {
      const all = known?.(sp.task.name, split);
      if (all) return rows ? takeRows(all, this.info.hiddenSize, rows) : all;
      ex ??= await this.extractorFor(key, kept, spec, ctx);
      const examples = rows ? Array.from(rows, (i) => sp.task[split][i]) : sp.task[split];
      return (await ex.extract(examples, `[${key}] ${sp.task.name}/${split}`, quiet)).pooled[this.settings.pooling]![0];
    };
    try {
      return await fn(new RowSource(extract, this.info.hiddenSize));
    } finally {
      this.together.delete(key);
      await (ex as Extractor | null)?.release();
    }
  }

  /** Cross-validated scores on every training row, and the probes fitted on all of them. */
  private async measureTrain(key: string, kept: number[], spec: CompSpec | undefined, src: RowSource, ctx: JobContext): Promise<Measured> {
    const compensated = isCompensated(spec) ? { compensation: spec, params: this.compensator!.params(kept, spec!) } : { params: this.params(kept) };
    const m: Measured = { key, kept, ...compensated, val: {}, valRows: {}, objective: 0 };
    const x = new Map<string, Float32Array>();
    const probes: Record<string, TrainedProbe> = {};
    const items: TaskFeatures[] = [];
    for (const sp of this.splits) items.push({ split: sp, X: await src.train(sp) });
    const fitted = fitTasks(items, true, this.info.hiddenSize, this.settings.seed, ctx);
    this.splits.forEach((sp, i) => {
      const name = sp.task.name;
      m.val[name] = fitted[i].val.score;
      m.valRows[name] = fitted[i].val.rows;
      probes[name] = fitted[i].probe!;
      x.set(name, items[i].X);
    });
    m.objective = weightedMean(this.splits, m.val);
    this.fullProbes.set(key, probes);
    this.trainX.set(key, x);
    return m;
  }

  /** Test scores with the probes fitted on every training row (as testScore does). */
  private async measureTest(m: Measured, src: RowSource, ctx: JobContext): Promise<void> {
    throwIfAborted(ctx.signal);
    const probes = this.fullProbes.get(m.key)!;
    m.test = {};
    m.testRows = {};
    for (const sp of this.splits) {
      const t = sp.task;
      const r = scoreRows(probes[t.name], await src.test(sp), t.testY);
      m.test[t.name] = scoreOf(t.testY, r.pred, t.labels.length);
      m.testRows[t.name] = outcomes(t.testY, r.pred, r.logp);
    }
    m.testObjective = weightedMean(this.splits, m.test);
    this.probes.set(m.key, probes);
  }
}

/** A task's split and a candidate's pooled training features on its rows. */
interface TaskFeatures {
  split: TaskSplit;
  X: Float32Array;
}

/**
 * Per task: the out-of-fold outcomes of the rows (5-fold CV on the split's folds) and, with
 * `full`, the probe fitted on every row. Every fit is a unit of the job's fit pool
 * (src/core/probe/fitPool.ts; inline without one), in the order one thread runs them: task by
 * task, its folds, then its probe on every row. The results are those of one thread.
 */
function fitTasks(items: TaskFeatures[], full: boolean, dim: number, seed: number, ctx: JobContext): { val: { score: Score; rows: RowOutcomes }; probe?: TrainedProbe }[] {
  const pool = ctx.fits ?? new FitPool(1);
  const per = VALIDATION_FOLDS + (full ? 1 : 0);
  // With fit threads, each task's features go into shared memory once and every unit reads that copy.
  const work = items.map((it, k) => ({ split: foldedSplit(it.split), X: pool.size > 1 ? pool.shared(`measure:${k}`, it.X) : it.X }));
  const unitAt = (i: number): MeasureFitWork => {
    const f = i % per;
    return { ...work[Math.floor(i / per)], dim, seed, fold: f < VALIDATION_FOLDS ? f : -1 };
  };
  const fits = pool.map('measureFit', items.length * per, unitAt, fitMeasureUnit, { signal: ctx.signal });
  return items.map((it, k) => {
    const mine = fits.slice(k * per, (k + 1) * per);
    const folds = mine.slice(0, VALIDATION_FOLDS).map((r) => ('fold' in r ? r.fold : null));
    const last = mine[per - 1];
    return { val: foldedOutcomes(it.split, folds), ...(full && 'probe' in last ? { probe: last.probe } : {}) };
  });
}

/** Scores a candidate by cross-validation on a subset of each task's training rows. */
export type StageScorer = (rows: Record<string, Int32Array>) => Promise<Record<string, RowOutcomes>>;
/** Decides from stage scores whether to drop a candidate (true: dropped). */
export type Screener = (score: StageScorer) => Promise<boolean>;

/** The split restricted to `rows`: its labels and folds, so cross-validation runs on those rows only. */
export function restrictSplit(sp: TaskSplit, rows: Int32Array): TaskSplit {
  return { ...sp, task: { ...sp.task, trainY: pick(sp.task.trainY, rows) }, folds: pick(sp.folds, rows) };
}

/**
 * A candidate's pooled training features, filled row by row as stages ask for them: each row is
 * extracted once, in one session, whatever the order of the requests.
 */
class RowSource {
  private readonly filled = new Map<string, { X: Float32Array; have: Uint8Array }>();
  constructor(
    private readonly extract: (sp: TaskSplit, split: 'train' | 'test', rows?: Int32Array) => Promise<Float32Array>,
    private readonly dim: number,
  ) {}

  /** Features of every training row (`rows`: at least those rows are filled; others may be zero). */
  async train(sp: TaskSplit, rows?: Int32Array): Promise<Float32Array> {
    const n = sp.task.trainY.length;
    let f = this.filled.get(sp.task.name);
    if (!f) this.filled.set(sp.task.name, (f = { X: new Float32Array(n * this.dim), have: new Uint8Array(n) }));
    const want = rows ?? Int32Array.from({ length: n }, (_, i) => i);
    const missing = want.filter((r) => !f!.have[r]);
    if (missing.length === n) {
      // Nothing extracted yet and every row asked for: one pass, as before halving existed.
      f.X = await this.extract(sp, 'train');
    } else if (missing.length) {
      const part = await this.extract(sp, 'train', missing);
      missing.forEach((r, i) => f!.X.set(part.subarray(i * this.dim, (i + 1) * this.dim), r * this.dim));
    }
    missing.forEach((r) => (f!.have[r] = 1));
    return f.X;
  }

  test(sp: TaskSplit): Promise<Float32Array> {
    return this.extract(sp, 'test');
  }
}
