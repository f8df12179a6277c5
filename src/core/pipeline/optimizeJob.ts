/**
 * `probescale optimize`: pick the block subset that keeps the most task-weighted performance
 * under a parameter budget, measured for real by 5-fold cross-validation on the training
 * split, compared with the published layer-dropping heuristics, then committed and verified.
 *
 * The job is a row of stages, each in its own module: prepare → extract → probe → plan and
 * measure candidates → select → advise and report → commit → verify.
 */
import * as path from 'node:path';
import { JobContext, OptimizeJob, stage } from '../jobs';
import { UnsupportedModelError, badValue } from '../errors';
import { BUILDABLE } from '../model/encoderGraph';
import { hasWeights } from '../model/weights';
import { subsetParams } from '../optimize/subsets';
import { checkFullWidth, widthShape } from '../compensate/commit';
import { checkCompensableModel, widthRefusal } from '../compensate/build';
import { CompensationSource, compensationSource } from '../compensate/source';
import { ModelInfo, readConfig, resolveOnnxFile } from '../model/modelInfo';
import type { ProbeSettings } from '../settings';
import { compensatedBaselines, compensator, measureCompensated, unfitFactorisedBaselines } from './compensation';
import { OptimizeReport, OptimizeResult, reportHeader, SearchReport } from '../report';
import { RetentionMeter } from './advise';
import { measureCandidates, planCandidates, SearchSpace } from './candidates';
import { preflightOutput } from '../commit/atomicDir';
import { outputBound, outputSpaceWarning } from '../commit/outputSize';
import { commitSelection, writeReportFiles } from './commit';
import { extractFull, FullFeatures } from './extract';
import { Measured, SubsetEvaluator, TaskSplit } from './measure';
import { selectionReport, vocabTrimReport } from './optimizeReport';
import { PreparedRun, summarizeModel, withPrepared } from './prepare';
import { LayerProbes, probeAllLayers, taskSplits, UnprunedReference, unprunedReference } from './probe';
import { Selection, selectWinner } from './select';
import { redundancySignals } from './signals';
import { verifyCommitted } from './verify';
import { planVocabTrim, VocabPlan } from './vocabTrim';
import { reusableCount } from './countedTokens';
import { acceptBudget, budgetAccount } from '../optimize/budgetAccount';
import { findWordEmbedding } from '../onnx/vocab';
import { COMPENSATED_BASELINES } from '../optimize/baselineNames';

export async function runOptimizeJob(job: OptimizeJob, ctx: JobContext): Promise<OptimizeResult> {
  const t0 = Date.now();
  if (!(job.targetRetention > 0 && job.targetRetention <= 1)) throw badValue('targetRetention', job.targetRetention, 'give a fraction in (0, 1], e.g. 0.95.');
  if (!Number.isInteger(job.candidates) || job.candidates < 1) throw badValue('candidates', job.candidates, 'give a whole number ≥ 1.');
  checkBaselineChoice(job);
  // Before any work: an output that exists, replaces the source or cannot be written fails now.
  preflightOutput(job.out, 'folder', job.overwrite ?? false, [job.modelDir], 'out', job.tasks.map((t) => t.path));
  return withPrepared(job.modelDir, job.tasks, graphForWidth(job, ctx), ctx, async (run) => {
    const source = compensationSourceOf(job, run);
    try {
      const a = await analyse(job, run, source, ctx);
      const s = await searchAndReport(job, a, ctx);
      // extractSeconds: the full model's pass over every task; probeSeconds: everything after it
      // (probes, candidates measured on pruned graphs, budget advice).
      s.report.timings = { extractSeconds: (a.tExtracted - t0) / 1000, probeSeconds: (Date.now() - a.tExtracted) / 1000 };
      try {
        await commitAndVerify(job, a, s, ctx);
      } finally {
        s.evaluator.dispose();
      }
      return { out: a.out, report: s.report };
    } finally {
      source?.dispose();
    }
  });
}

/** --baselines: compensated baselines need --compensate, and --select heuristic needs a published heuristic (checked before any pass). */
function checkBaselineChoice(job: OptimizeJob): void {
  const choice = job.baselines ?? 'all';
  if (choice === 'all') return;
  const compensated = choice.filter((n) => COMPENSATED_BASELINES.includes(n));
  if (compensated.length && (job.compensate ?? 'none') === 'none') throw badValue('baselines', compensated.join(','), 'compensated baselines are measured only with {{compensate}} bridge, width or all; set it or leave them out.');
  if (choice.includes('drop-top-factorised') && job.embeddingRank === undefined) throw badValue('baselines', 'drop-top-factorised', 'it applies the {{embeddingRank}} table to a prefix; set {{embeddingRank}} or leave it out.');
  if (job.select === 'heuristic' && choice.every((n) => n === 'random')) throw badValue('select', 'heuristic', `it ships the best published heuristic, and {{baselines}} ${choice.length ? choice.join(',') : 'none'} measures none; give another rule or more baselines.`);
}

/** Model types whose exports fuse (ModernBERT's and NomicBERT's Wqkv) or reuse (DeBERTa's position terms) the projections width pruning narrows. */
const WIDTH_NEEDS_BUILT_GRAPH = new Set(['modernbert', 'nomic_bert', 'deberta-v2']);

/**
 * The settings a job runs with: with width pruning asked and the graph source left to `auto`, a
 * folder of one of those types that holds the weights beside its export runs the graph built from
 * the weights, said in the log (`--from onnx` keeps the export, and the refusal). The export and
 * the weights are checked to be the same model when the folder is opened.
 */
function graphForWidth(job: OptimizeJob, ctx: JobContext): ProbeSettings {
  const { settings } = job;
  const mode = job.compensate ?? 'none';
  if ((mode !== 'width' && mode !== 'all') || (settings.from ?? 'auto') !== 'auto' || settings.onnx || settings.quantized || settings.dtype) return settings;
  let config: Record<string, unknown>;
  try {
    config = readConfig(job.modelDir);
    if (!WIDTH_NEEDS_BUILT_GRAPH.has(String(config.model_type)) || !hasWeights(job.modelDir)) return settings;
    resolveOnnxFile(job.modelDir, config);
  } catch {
    // No readable config or no export: opening the folder says what is wrong, or builds the graph anyway.
    return settings;
  }
  ctx.log?.('info', `{{compensate}} ${mode}: the ONNX export of this ${String(config.model_type)} model fuses or reuses the projections width pruning narrows, so the graph is built from the folder's weights ({{from}} safetensors); give {{from}} onnx to run the export (then {{compensate}} bridge).`);
  return { ...settings, from: 'safetensors' };
}

/**
 * With --compensate, the graph compensation reads and rewrites (the model's own, or its standalone
 * float32 copy where it was built from safetensors or keeps external data); checked before any pass.
 */
function compensationSourceOf(job: OptimizeJob, run: PreparedRun): CompensationSource | null {
  const mode = job.compensate ?? 'none';
  if (mode === 'none') return null;
  checkCompensableModel(run.info);
  if (mode === 'width' || mode === 'all') checkFullWidth(run.info, mode);
  const source = compensationSource(run.info);
  const refusal = mode === 'width' || mode === 'all' ? widthRefusal(source.info) : null;
  if (refusal) {
    source.dispose();
    throw fromWeightsHint(refusal, run.info);
  }
  return source;
}

/**
 * A width refusal of an export beside weights ProbeScale builds graphs from names that way out: the
 * built graph has separate Q, K, V and up projections (ModernBERT's export fuses them in Wqkv and Wi).
 */
function fromWeightsHint(refusal: UnsupportedModelError, info: ModelInfo): UnsupportedModelError {
  if (info.graphFrom !== 'onnx' || !hasWeights(info.dir) || !BUILDABLE[info.architecture]) return refusal;
  return new UnsupportedModelError(`${refusal.template} The folder has the model's weights: {{from}} safetensors builds the graph from them with Q, K, V and the FFN's projections apart, which width pruning rewrites.`);
}

/** What the full model tells before any subset is measured. */
interface Analysis {
  run: PreparedRun;
  /** With --compensate: the model compensation reads (see compensationSourceOf). */
  compensable: ModelInfo | null;
  out: string;
  vocab: VocabPlan | null;
  space: SearchSpace;
  full: FullFeatures;
  tExtracted: number;
  splits: TaskSplit[];
  probes: LayerProbes;
  reference: UnprunedReference;
  /** --embedding-rank resolved for this model ([] = no factorised table). */
  ranks: number[];
}

/** Prepare's outputs through extract and probe: the per-layer picture and the search space. */
async function analyse(job: OptimizeJob, run: PreparedRun, source: CompensationSource | null, ctx: JobContext): Promise<Analysis> {
  const { settings } = job;
  const { info } = run;
  // --vocab-trim: the embeddings shrink to the training texts' tokens for every subset alike
  // (ProbeScale and the baselines); fractions stay relative to the source model.
  // The budget picker's count is reused when it was made from these tasks and this tokenizer.
  const vocab = job.vocabTrim ? await planVocabTrim(info, run.tokenizer, run.tasks, ctx.signal, job.vocabUnseen, reusableCount(job.countedTokens, run, ctx)) : null;
  // With --embedding-rank the budget may go below the block-less model with the whole word table.
  const account = budgetAccount(job, info, vocab?.kept.length ?? null);
  const { acc, ranks } = account;
  const budget = acceptBudget(job, account);
  if (budget >= acc.total) {
    ctx.log?.('warn', `{{budget}} ${job.budget} (${budget} parameters) is not below the model's ${acc.total}: every subset fits, so nothing is traded for size; the search still measures candidates and may keep fewer blocks if they score better. Give a fraction below 1 (e.g. 0.5) to make the model smaller.`);
  }
  const out = path.resolve(job.out);
  const tight = outputSpaceWarning(job.out, outputBound(info, Math.min(1, budget / acc.total), run.tasks.length));
  if (tight) ctx.log?.('warn', tight);
  stage(ctx, 'extract', `extracting all ${info.numLayers + 1} hidden states of the full model`);
  const full = await extractFull(run, settings, vocab, ctx);
  const tExtracted = Date.now();
  const splits = taskSplits(run.tasks, job.tasks, full.feats, settings, ctx);
  const probes = probeAllLayers(splits, full.plain, settings, ctx);
  const reference = unprunedReference(splits, { ...full, trimmed: vocab !== null }, probes, settings, ctx);
  const weights = Object.fromEntries(splits.map((sp) => [sp.task.name, sp.weight]));
  const space: SearchSpace = { numBlocks: info.numLayers, acc, budget, objective: { weights, scores: probes.valScores }, candidates: job.candidates, seed: settings.seed };
  return { run, compensable: source?.info ?? null, out, vocab, space, full, tExtracted, splits, probes, reference, ranks };
}

interface Searched {
  report: OptimizeReport;
  evaluator: SubsetEvaluator;
  winner: Measured;
}

/** Plan, measure, select and report: the optimize report without its verification. */
async function searchAndReport(job: OptimizeJob, a: Analysis, ctx: JobContext): Promise<Searched> {
  const { settings } = job;
  const { info, tokenizer } = a.run;
  const signals = redundancySignals(a.full.feats, settings.pooling);
  const mode = job.compensate ?? 'none';
  // Widths as the graph compensation rewrites has them (the standalone copy of a graph built from safetensors).
  const shape = mode === 'none' ? null : widthShape(a.compensable ?? info, a.ranks.length === 0 ? undefined : (a.vocab?.kept.length ?? findWordEmbedding(info.model).vocab));
  const evaluator = new SubsetEvaluator(info, tokenizer, a.splits, settings, (k) => subsetParams(a.space.acc, k), a.full.feats, a.vocab?.remap, shape && a.compensable ? compensator(a.run, a.compensable, a.space, settings, shape) : undefined);
  // Below the whole-table floor the embeddings-only candidate has the smallest rank's table (the floor itself).
  const emptySpec = a.ranks.length ? { bridges: false, embeddingRank: Math.min(...a.ranks) } : undefined;
  const unnarrowable = mode === 'bridge' && a.compensable ? widthRefusal(a.compensable) : null;
  if (unnarrowable) ctx.log?.('warn', `the flap-uniform baseline (every block narrowed) is left out: ${unnarrowable.message.split(";")[0]}.`);
  const { baselines, unfit: wholeTable, plan } = planCandidates(a.space, signals, ctx, shape ? compensatedBaselines(mode, a.space, shape, signals, a.ranks, !unnarrowable) : [], job.baselines, emptySpec);
  const unfit = [...wholeTable, ...(shape ? unfitFactorisedBaselines(a.space, shape, a.ranks, job.baselines ?? 'all') : [])];
  let origin: Map<string, string>;
  let search: SearchReport;
  let selection: Selection;
  try {
    ({ origin, search } = await measureCandidates(evaluator, plan, a.space, ctx, job.exhaustive ?? false));
    if (shape) await measureCompensated(evaluator, mode, a.space, shape, origin, ctx, job.widthScore, a.ranks);
    selection = await selectWinner(evaluator, a.space.budget, baselines, job.select ?? 'auto', settings.seed, ctx);
  } catch (e) {
    evaluator.dispose();
    throw e;
  }
  const meter = new RetentionMeter(a.splits, a.reference.perTask);
  const cPerTask = Object.fromEntries(a.splits.map((sp) => [sp.task.name, sp.c]));
  const vocab = a.vocab ? vocabTrimReport(a.vocab, a.reference.trimmedFinal) : undefined;
  const report: OptimizeReport = {
    ...reportHeader('optimize'),
    model: summarizeModel(info),
    settings: { ...settings, cacheDir: undefined },
    provider: a.full.provider,
    tasks: a.probes.tasks,
    signals,
    timings: { extractSeconds: 0, probeSeconds: 0 },
    selection: { ...selectionReport({ job, space: a.space, evaluator, baselines, unfit, origin, selection, meter, cPerTask, vocab, shape: shape ?? undefined }), search },
    command: job.command,
  };
  return { report, evaluator, winner: selection.winner };
}

/** Commit the winner, load the written folder afresh to verify it, and record the verification. */
async function commitAndVerify(job: OptimizeJob, a: Analysis, s: Searched, ctx: JobContext): Promise<void> {
  const { report, evaluator, winner } = s;
  const probes = evaluator.probes.get(winner.key)!;
  const variant = evaluator.variant(winner.key);
  const heads = widthShape(a.run.info).heads;
  const flops = variant ? { variant: variant.info, attentionShare: (winner.compensation?.heads ?? heads) / heads } : undefined;
  await commitSelection({ out: a.out, overwrite: job.overwrite ?? false, run: a.run, splits: a.splits, winner, probes, settings: job.settings, vocab: a.vocab, report, variant }, ctx, async (tmp) => {
    stage(ctx, 'verify', 'verifying the written folder (fresh load, test accuracy, latency)');
    // Loaded from the temporary sibling, recorded (relative to the report) as the folder itself.
    report.verify = await verifyCommitted(tmp, a.run.info, a.splits, winner, job.settings, a.run.tokenizer, ctx, report.timings.extractSeconds, flops);
    // A report is dated when it is complete: after verification, not when the search began.
    report.createdAt = new Date().toISOString();
    writeReportFiles(tmp, report);
  });
  report.verify!.loadedFrom = a.out;
}
