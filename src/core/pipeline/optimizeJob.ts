/**
 * `probescale optimize`: pick the block subset that keeps the most task-weighted performance
 * under a parameter budget, measured for real by 5-fold cross-validation on the training
 * split, compared with the published layer-dropping heuristics, then committed and verified.
 */
import { JobContext, OptimizeJob, ProbeSettings, stage } from '../jobs';
import { BadInputError, throwIfAborted } from '../errors';
import { writeFolderAtomically } from '../commit/atomicDir';
import { writeClassifiers } from '../commit/classifier';
import { modelCard } from '../commit/modelCard';
import { Extractor } from '../extract/extractor';
import { ModelInfo } from '../model/modelInfo';
import { selectC } from '../probe/cv';
import { Baseline, baselineSubsets } from '../optimize/baselines';
import { curveBand, evalCurve, recommendBudget } from '../optimize/curve';
import { bestPredictedSubsets, LayerScores, predictedObjective } from '../optimize/predict';
import { localSearchNeighbours, ParamAccount, parseBudget, subsetKey, subsetParams } from '../optimize/subsets';
import { Measured, Score, SubsetEvaluator, TaskSplit, foldsForValidation, testScore, validationScore } from './measure';
import { SelectionRule, SimulationResult, pairedDifference, selectBy, simulateRules } from '../optimize/select';
import { angularDistance, blockInfluence, extractAll, prepare, probeTaskLayers, summarizeModel, TaskFeatures } from './probeJob';
import { writePrunedFolder } from './pruneJob';
import { ProbeReport, TaskReport, reportHeader } from './report';
import { bestLayerByCv } from '../../shared/bestLayer';
import { writeFileAtomic } from '../commit/atomicDir';
import { verifyCommitted, VerifyReport } from './verify';
import { planVocabTrim, trimCommittedGraphs } from './vocabTrim';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Retention {
  /** score / unpruned final-layer score (the research claim's definition). */
  vsFinal: number;
  /** score / unpruned best-layer score (layer chosen on validation): the oracle. */
  vsBestLayer: number;
  /** (score − chance) / (final − chance), chance = majority-class accuracy. */
  chanceNormalized: number;
}

export interface CandidateRecord {
  kept: number[];
  params: number;
  fraction: number;
  origin: string;
  predicted: number | null;
  validation: number;
  test: number | null;
  /** Cross-validated accuracy per task. */
  perTask: Record<string, number>;
}

export interface BaselineRecord {
  name: string;
  kept: number[];
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

export interface PairedGap {
  diff: number;
  se: number;
}

export interface SelectionReport {
  budget: { spec: string; params: number; fraction: number };
  targetRetention: number;
  kept: number[];
  params: number;
  fraction: number;
  origin: string;
  /** The rule that chose the winner among measured candidates, and why. */
  rule: { name: SelectionRule; requested: SelectionRule | 'auto'; simulation: SimulationResult; candidatesInBudget: number };
  objective: { predicted: number | null; validation: number; test: number };
  perTask: Record<string, { validation: Score; test: Score; reference: { final: Score; bestLayer: { layer: number; test: Score } }; majority: number; retention: Retention }>;
  retention: Retention;
  baselines: BaselineRecord[];
  candidates: CandidateRecord[];
  budgetAdvice: {
    perTask: Record<string, { recommendedParams: number | null; recommendedFraction: number | null; interval: [number, number] | null; fit: { pInf: number; a: number; alpha: number }; band: { n: number[]; lo: number[]; hi: number[] }; predictedAtChosen: number; measuredAtChosen: number }>;
    note: string;
  };
  embeddingOnly: { validation: number; test: Record<string, Score>; retention: Retention; reachesTarget: boolean; message: string };
  cPerTask: Record<string, number>;
  /** The unpruned model's cross-validated accuracy per task (final and best layer): the reference of the trade-off chart's retention axes. */
  validationReference: Record<string, { final: number; bestLayer: number }>;
  /** --vocab-trim: what was kept and what it cost (absent without the flag). */
  vocabTrim?: VocabTrimReport;
}

export interface VocabTrimReport {
  sourceVocab: number;
  keptTokens: number;
  unkId: number;
  /** Word-embedding parameters before and after. */
  wordEmbeddingParams: { before: number; after: number };
  /** Share of test tokens not seen in training (they read the unknown token's row), per task. */
  unseenTestTokens: Record<string, number>;
  /** The unpruned model's final layer on test with the trimmed vocabulary: the cost of trimming alone. */
  unprunedFinalTrimmed: Record<string, Score>;
}

export interface OptimizeReport extends ProbeReport {
  selection: SelectionReport;
  verify?: VerifyReport;
  command?: string;
}

const LOCAL_SEARCH_ROUNDS = 3;

function retention(score: number, final: number, best: number, chance: number): Retention {
  return { vsFinal: score / final, vsBestLayer: score / best, chanceNormalized: (score - chance) / (final - chance) };
}

/** The per-layer cross-validated scores optimize measured (the task's C, 5 folds) go into the layer rows; the best layer is chosen on them. */
function withCvScores(t: TaskReport, cv: number[]): TaskReport {
  const layers = t.layers.map((l) => ({ ...l, cvAccuracy: cv[l.layer] }));
  return { ...t, layers, bestLayer: bestLayerByCv(layers) ?? t.bestLayer };
}

export function paramAccount(info: ModelInfo): ParamAccount {
  return { total: info.params.total, embeddings: info.params.embeddings, perBlock: info.params.perBlock, other: info.params.other };
}

/** Chooses C once per task (CV on the full model's final layer, training split only) unless --c fixes it. */
function chooseC(splits: Omit<TaskSplit, 'c'>[], feats: Map<string, TaskFeatures>, settings: ProbeSettings, ctx: JobContext): number[] {
  return splits.map((sp) => {
    if (settings.c !== undefined) return settings.c;
    const f = feats.get(sp.task.name)!.train;
    const X = f.pooled[settings.pooling]![f.layers.length - 1];
    return selectC(X, sp.task.trainY, f.dim, sp.task.labels.length, { seed: settings.seed, signal: ctx.signal }).c;
  });
}

export async function runOptimizeJob(job: OptimizeJob, ctx: JobContext): Promise<{ out: string; report: OptimizeReport }> {
  const t0 = Date.now();
  const { settings } = job;
  if (!(job.targetRetention > 0 && job.targetRetention <= 1)) throw new BadInputError(`--target-retention ${job.targetRetention}: give a fraction in (0, 1], e.g. 0.95.`);
  if (!Number.isInteger(job.candidates) || job.candidates < 1) throw new BadInputError(`--candidates ${job.candidates}: give a whole number ≥ 1.`);
  const run = await prepare(job.modelDir, job.tasks, settings, ctx);
  const { info, tokenizer, tasks } = run;
  const acc = paramAccount(info);
  // --vocab-trim: the embeddings shrink to the training texts' tokens for every subset alike
  // (ProbeScale and the baselines); fractions stay relative to the source model.
  const vocab = job.vocabTrim ? planVocabTrim(info, tokenizer, tasks) : null;
  if (vocab) acc.embeddings -= vocab.savedParams;
  const budget = parseBudget(job.budget, acc);
  const L = info.numLayers;
  const out = path.resolve(job.out);
  if (fs.existsSync(out) && !job.overwrite) throw new BadInputError(`--out ${job.out}: the folder already exists; choose another path or pass --force to replace it.`);

  stage(ctx, 'extract', `extracting all ${L + 1} hidden states of the full model`);
  const extractorOpts = { poolings: [settings.pooling], cosine: true, provider: settings.provider, strictProvider: settings.strictProvider, batchSize: settings.batchSize, cacheDir: settings.cacheDir, threads: settings.threads };
  const full = await Extractor.create(info, tokenizer, { ...extractorOpts, idRemap: vocab?.remap }, ctx);
  let feats: Map<string, TaskFeatures>;
  // The source model as it is (untrimmed vocabulary): the reference and the per-layer report.
  let plain: Map<string, TaskFeatures>;
  try {
    feats = await extractAll(full, tasks, ctx);
  } finally {
    await full.release();
  }
  if (vocab) {
    const untrimmed = await Extractor.create(info, tokenizer, extractorOpts, ctx);
    plain = new Map();
    try {
      for (const t of tasks) plain.set(t.name, { train: feats.get(t.name)!.train, test: await untrimmed.extract(t.test, `${t.name}/test (untrimmed vocabulary)`, ctx) });
    } finally {
      await untrimmed.release();
    }
  } else plain = feats;
  const provider = full.provider;
  const tExtracted = Date.now();

  const weights: Record<string, number> = {};
  const partial = tasks.map((task) => {
    const w = job.tasks.find((s) => s.name === task.name)!.weight;
    weights[task.name] = w;
    return { task, weight: w, folds: foldsForValidation(task, settings.seed) };
  });
  stage(ctx, 'probe', settings.c === undefined ? 'choosing C per task by 5-fold cross-validation' : `C fixed at ${settings.c}`);
  const cs = chooseC(partial, feats, settings, ctx);
  const splits: TaskSplit[] = partial.map((p, i) => ({ ...p, c: cs[i] }));
  const perTaskSettings = (sp: TaskSplit): ProbeSettings => ({ ...settings, c: sp.c });

  // Per-layer relevance: validation scores drive selection; test scores are the usual probe report.
  stage(ctx, 'probe', `probing ${L + 1} layers × ${tasks.length} task(s)`);
  const valScores: LayerScores = {};
  const report: OptimizeReport = {
    ...reportHeader('optimize'),
    model: summarizeModel(info),
    settings: { ...settings, cacheDir: undefined },
    provider,
    tasks: {},
    signals: {
      blockInfluence: blockInfluence([...feats.values()].map((f) => f.train)),
      angularDistance: angularDistance([...feats.values()].map((f) => f.train), settings.pooling),
    },
    timings: { extractSeconds: 0, probeSeconds: 0 },
    selection: undefined as unknown as SelectionReport,
  };
  for (const sp of splits) {
    const f = feats.get(sp.task.name)!;
    valScores[sp.task.name] = f.train.layers.map((_, l) => validationScore(sp, f.train.pooled[settings.pooling]![l], f.train.dim, settings.seed, ctx.signal).accuracy);
    report.tasks[sp.task.name] = withCvScores(probeTaskLayers(sp.task, plain.get(sp.task.name)!, perTaskSettings(sp), sp.weight, ctx), valScores[sp.task.name]);
  }

  const evaluator = new SubsetEvaluator(info, tokenizer, splits, settings, (k) => subsetParams(acc, k), feats, vocab?.remap);
  const fraction = (p: number) => p / acc.total;
  const origin = new Map<string, string>();
  const predictedOf = (kept: number[]) => predictedObjective({ weights, scores: valScores }, kept);

  // The unpruned model is its own reference: its final features are already extracted.
  const allBlocks = Array.from({ length: L }, (_, i) => i);
  const reference: Record<string, { final: Score; bestLayer: { layer: number; test: Score }; majority: number }> = {};
  const trimmedFinal: Record<string, Score> = {};
  for (const sp of splits) {
    const f = plain.get(sp.task.name)!;
    const X = (l: number, which: 'train' | 'test') => f[which].pooled[settings.pooling]![l];
    if (vocab) {
      const g = feats.get(sp.task.name)!;
      trimmedFinal[sp.task.name] = testScore(sp, g.train.pooled[settings.pooling]![L], g.test.pooled[settings.pooling]![L], g.train.dim, settings.seed, ctx.signal).score;
    }
    const final = testScore(sp, X(L, 'train'), X(L, 'test'), f.train.dim, settings.seed, ctx.signal).score;
    const vs = valScores[sp.task.name];
    const bestL = vs.indexOf(Math.max(...vs));
    const best = testScore(sp, X(bestL, 'train'), X(bestL, 'test'), f.train.dim, settings.seed, ctx.signal).score;
    reference[sp.task.name] = { final, bestLayer: { layer: bestL, test: best }, majority: report.tasks[sp.task.name].majority };
  }

  stage(ctx, 'candidates', `budget ${budget.toLocaleString('en-US')} parameters (${(100 * fraction(budget)).toFixed(1)} %): measuring candidates and baselines`);
  const baselines: Baseline[] = baselineSubsets(L, acc, budget, { scores: valScores, weights, blockInfluence: report.signals!.blockInfluence, angularDistance: report.signals!.angularDistance, seed: settings.seed });
  const predicted = bestPredictedSubsets({ weights, scores: valScores }, acc, budget, job.candidates);
  const plan: { kept: number[]; test: boolean; origin: string }[] = [
    { kept: [], test: true, origin: 'embeddings-only' },
    ...baselines.map((b) => ({ kept: b.kept, test: true, origin: `baseline:${b.name}` })),
    ...predicted.map((p) => ({ kept: p.kept, test: false, origin: 'predicted' })),
  ];
  let done = 0;
  const measure = async (kept: number[], test: boolean, from: string) => {
    const key = subsetKey(kept);
    if (!origin.has(key)) origin.set(key, from);
    // Local search adds candidates after the plan, so the total grows with them.
    ctx.onProgress?.({ kind: 'candidate', done: done, total: Math.max(plan.length, done + 1), subset: key || '(none)' });
    done++;
    return evaluator.measure(kept, test, ctx);
  };
  for (const p of plan) await measure(p.kept, p.test, p.origin);

  const fitsBudget = (m: Measured) => m.params <= budget;
  const bestMeasured = () =>
    evaluator.measured.filter(fitsBudget).reduce((a, b) => (b.objective > a.objective || (b.objective === a.objective && b.params < a.params) ? b : a));
  for (let round = 0; round < LOCAL_SEARCH_ROUNDS; round++) {
    throwIfAborted(ctx.signal);
    const best = bestMeasured();
    const seen = new Set(evaluator.measured.map((m) => subsetKey(m.kept)));
    const neighbours = localSearchNeighbours(best.kept, L, acc, budget)
      .filter((k) => !seen.has(subsetKey(k)))
      .sort((a, b) => predictedOf(b) - predictedOf(a))
      .slice(0, job.candidates);
    if (neighbours.length === 0) break;
    stage(ctx, 'candidates', `local search round ${round + 1}: ${neighbours.length} neighbours of ${subsetKey(best.kept) || '(none)'}`);
    for (const k of neighbours) await measure(k, false, 'local-search');
    if (bestMeasured() === best) break;
  }

  // The winner: a rule over every measured candidate in the budget (training rows only).
  const pool = evaluator.measured.filter(fitsBudget);
  const wTasks = splits.map((sp) => ({ name: sp.task.name, weight: sp.weight }));
  const asRows = (m: Measured) => ({ params: m.params, rows: m.valRows });
  const baselineKeys = new Set(baselines.filter((b) => !b.name.startsWith('random')).map((b) => subsetKey(b.kept)));
  const heuristicIdx = pool.flatMap((m, i) => (baselineKeys.has(subsetKey(m.kept)) ? [i] : []));
  stage(ctx, 'candidates', `choosing among ${pool.length} measured subsets (split-half simulation on the training rows)`);
  const simulation = simulateRules(pool.map(asRows), wTasks, heuristicIdx, { seed: settings.seed });
  const requested = job.select ?? 'auto';
  const rule: SelectionRule = requested === 'auto' ? simulation.best : requested;
  const winner = await evaluator.measure(pool[selectBy(rule, pool.map(asRows), wTasks)].kept, true, ctx);
  const winnerKey = subsetKey(winner.kept);

  const retOf = (task: string, s: Score) => {
    const r = reference[task];
    return retention(s.accuracy, r.final.accuracy, r.bestLayer.test.accuracy, r.majority);
  };
  const meanRet = (scores: Record<string, Score>): Retention => {
    const rs = splits.map((sp) => ({ w: sp.weight, r: retOf(sp.task.name, scores[sp.task.name]) }));
    const W = rs.reduce((a, x) => a + x.w, 0);
    const avg = (k: keyof Retention) => rs.reduce((a, x) => a + x.w * x.r[k], 0) / W;
    return { vsFinal: avg('vsFinal'), vsBestLayer: avg('vsBestLayer'), chanceNormalized: avg('chanceNormalized') };
  };

  const empty = evaluator.measured.find((m) => m.kept.length === 0)!;
  const emptyRet = meanRet(empty.test!);
  const reaches = emptyRet.vsFinal >= job.targetRetention;

  // Budget advice from the measured front plus the exact prefix points (s(t,k) is a prefix's score).
  const advice: SelectionReport['budgetAdvice']['perTask'] = {};
  for (const sp of splits) {
    const name = sp.task.name;
    const pts = new Map<number, number>();
    const add = (n: number, p: number) => pts.set(n, Math.max(pts.get(n) ?? -Infinity, p));
    for (const m of evaluator.measured) add(m.params, m.val[name].accuracy);
    valScores[name].forEach((s, k) => add(subsetParams(acc, allBlocks.slice(0, k)), s));
    const points = [...pts].map(([n, p]) => ({ n, p }));
    const ref = valScores[name][L];
    const r = recommendBudget(points, job.targetRetention, ref, { nMin: subsetParams(acc, []), nMax: acc.total, seed: settings.seed });
    const nGrid = Array.from({ length: 25 }, (_, i) => subsetParams(acc, []) + ((acc.total - subsetParams(acc, [])) * i) / 24);
    advice[name] = {
      recommendedParams: r.n,
      recommendedFraction: r.n === null ? null : fraction(r.n),
      interval: r.interval,
      fit: { pInf: r.fit.pInf, a: r.fit.a, alpha: r.fit.alpha },
      band: { n: nGrid, ...curveBand(points, nGrid, { seed: settings.seed }) },
      predictedAtChosen: evalCurve(r.fit, winner.params),
      measuredAtChosen: winner.val[name].accuracy,
    };
  }

  const perTask: SelectionReport['perTask'] = {};
  for (const sp of splits) {
    const name = sp.task.name;
    perTask[name] = { validation: winner.val[name], test: winner.test![name], reference: { final: reference[name].final, bestLayer: reference[name].bestLayer }, majority: reference[name].majority, retention: retOf(name, winner.test![name]) };
  }
  const baselineRecords: BaselineRecord[] = baselines.map((b) => {
    const m = evaluator.measured.find((x) => subsetKey(x.kept) === subsetKey(b.kept))!;
    const ret: Record<string, Retention> = {};
    for (const sp of splits) ret[sp.task.name] = retOf(sp.task.name, m.test![sp.task.name]);
    const testRows = (x: Measured) => ({ params: x.params, rows: x.testRows! });
    const gap = (t: typeof wTasks) => pairedDifference(testRows(winner), testRows(m), t);
    const vsSelected = { objective: gap(wTasks), perTask: Object.fromEntries(wTasks.map((t) => [t.name, gap([t])])) };
    return { name: b.name, kept: b.kept, note: b.note, params: m.params, fraction: fraction(m.params), validation: m.objective, test: m.test!, testObjective: m.testObjective!, retention: ret, meanRetention: meanRet(m.test!), vsSelected };
  });

  report.selection = {
    budget: { spec: job.budget, params: budget, fraction: fraction(budget) },
    targetRetention: job.targetRetention,
    kept: winner.kept,
    params: winner.params,
    fraction: fraction(winner.params),
    origin: origin.get(winnerKey) ?? 'predicted',
    rule: { name: rule, requested, simulation, candidatesInBudget: pool.length },
    objective: { predicted: predictedOf(winner.kept), validation: winner.objective, test: winner.testObjective! },
    perTask,
    retention: meanRet(winner.test!),
    baselines: baselineRecords,
    candidates: evaluator.measured
      .map((m) => ({ kept: m.kept, params: m.params, fraction: fraction(m.params), origin: origin.get(subsetKey(m.kept)) ?? '', predicted: predictedOf(m.kept), validation: m.objective, test: m.testObjective ?? null, perTask: Object.fromEntries(splits.map((sp) => [sp.task.name, m.val[sp.task.name].accuracy])) }))
      .sort((a, b) => b.validation - a.validation),
    budgetAdvice: { perTask: advice, note: 'P(n) = P∞ − a·n^(−α) fitted to validation scores of every measured subset and every prefix; n in parameters; interval and band = 5–95 % bootstrap.' },
    embeddingOnly: {
      validation: empty.objective,
      test: empty.test!,
      retention: emptyRet,
      reachesTarget: reaches,
      message: reaches
        ? `The embedding output alone (no blocks, ${subsetParams(acc, []).toLocaleString('en-US')} parameters) keeps ${(100 * emptyRet.vsFinal).toFixed(1)} % of the final layer's accuracy: these tasks are lexical enough for a bag of embeddings. Consider \`probescale prune --layers ""\`.`
        : `The embedding output alone keeps ${(100 * emptyRet.vsFinal).toFixed(1)} % of the final layer's accuracy, below the ${(100 * job.targetRetention).toFixed(0)} % target: the kept blocks matter.`,
    },
    cPerTask: Object.fromEntries(splits.map((sp) => [sp.task.name, sp.c])),
    validationReference: Object.fromEntries(splits.map((sp) => [sp.task.name, { final: valScores[sp.task.name][L], bestLayer: Math.max(...valScores[sp.task.name]) }])),
    ...(vocab
      ? {
          vocabTrim: {
            sourceVocab: vocab.sourceVocab,
            keptTokens: vocab.kept.length,
            unkId: vocab.unkId,
            wordEmbeddingParams: { before: vocab.sourceVocab * vocab.hidden, after: vocab.kept.length * vocab.hidden },
            unseenTestTokens: vocab.unseenTestTokens,
            unprunedFinalTrimmed: trimmedFinal,
          },
        }
      : {}),
  };
  // extractSeconds: the full model's pass over every task; probeSeconds: everything after it
  // (probes, candidates measured on pruned graphs, budget advice).
  report.timings = { extractSeconds: (tExtracted - t0) / 1000, probeSeconds: (Date.now() - tExtracted) / 1000 };
  report.command = job.command;

  stage(ctx, 'commit', `writing ${out}`);
  const probes = evaluator.probes.get(winnerKey)!;
  await writeFolderAtomically(out, job.overwrite ?? false, async (tmp) => {
    const vocabExtra = vocab ? { params: { before: info.params.total, after: winner.params }, vocabTrim: { sourceVocab: vocab.sourceVocab, keptTokens: vocab.kept.length, unkId: vocab.unkId, note: 'ONNX graphs map ids outside the kept set to the unknown token; model.safetensors keeps the full vocabulary' } } : {};
    await writePrunedFolder(info, winner.kept, tmp, { ...vocabExtra, tasks: splits.map((s) => ({ name: s.task.name, weight: s.weight, labels: s.task.labels, classifier: `classifiers/${s.task.name}` })), pooling: settings.pooling, maxLength: tokenizer.maxLength, selection: { budget: job.budget, objective: report.selection.objective } }, ctx);
    writeClassifiers(info, winner.kept, tmp, splits.map((s) => ({ name: s.task.name, labels: s.task.labels, probe: probes[s.task.name] })), settings.pooling);
    if (vocab) {
      stage(ctx, 'commit', `trimming the vocabulary to ${vocab.kept.length.toLocaleString('en-US')} of ${vocab.sourceVocab.toLocaleString('en-US')} tokens`);
      trimCommittedGraphs(tmp, vocab);
    }
    fs.writeFileSync(path.join(tmp, 'probescale-report.json'), JSON.stringify(report, null, 2) + '\n');
    fs.writeFileSync(path.join(tmp, 'README.md'), modelCard(report));
  });

  stage(ctx, 'verify', 'verifying the written folder (fresh load, test accuracy, latency)');
  report.verify = await verifyCommitted(out, info, splits, winner, settings, tokenizer, ctx);
  writeFileAtomic(path.join(out, 'probescale-report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileAtomic(path.join(out, 'README.md'), modelCard(report));
  info.model.close();
  return { out, report };
}
