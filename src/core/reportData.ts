/**
 * Reports read back from disk (saved by the extension, written by the CLI, or the
 * `probescale-report.json` of a committed folder): checked against the CLI contract's minimum
 * and turned into the data the view shows (src/shared/protocol.ts), with the fields older or
 * hand-made reports lack filled in. No VS Code here: the extension and the tests use it alike.
 */
import * as fs from 'node:fs';
import { BadInputError } from './errors';
import { resolvePaths } from './reportPaths';
import { shortName } from '../shared/bounded';
import { DEFAULT_TARGET_RETENTION } from './settings';
import type { ChecksumsReport } from './report';
import { MAX_BLOCKS, BaselineData, BudgetAdviceData, CandidateData, CompensationData, LayerRow, PreparationData, ReportData, RetentionData, ScoreData, SelectionData, TaskData, VerifyData } from '../shared/protocol';
import { readUtf8 } from './util/textFile';

type Json = Record<string, unknown>;
/** Longest `model.dir` read (PATH_MAX on Linux; the view's messages carry strings up to this length). */
const MAX_PATH_CHARS = 4096;
/** Longest kind, provider, architecture or date kept whole. */
const LABEL_CHARS = 200;
/** Longest prompt kept whole (an instruction prompt runs to a sentence or two). */
const PROMPT_CHARS = 400;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const numOrNull = (v: unknown): number | null => num(v) ?? null;

/** `2026-11-26T23:12:50.341Z` → `20261126-231250`, for file names that sort by time. */
export function timestampForFile(iso: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(iso);
  return m ? `${m[1]}${m[2]}${m[3]}-${m[4]}${m[5]}${m[6]}` : String(Date.now());
}

/**
 * Checks that `data` is a ProbeScale report (the CLI contract's minimum), makes its paths
 * absolute (see reportPaths.ts) and fills the fields older or hand-made reports may lack.
 * Throws a BadInputError naming the missing field.
 */
export function normalizeReport(data: unknown, file: string): ReportData {
  const refuse = refusals(file);
  if (!isObj(data)) throw refuse.bad('expected a JSON object');
  const json: Json = JSON.parse(JSON.stringify(data));
  resolvePaths(json, file);
  const model = json.model;
  if (!isObj(model)) throw refuse.bad('no "model"');
  const { numLayers, params } = modelSizeOf(model, refuse);
  const tasks = tasksOf(json.tasks, numLayers, refuse);
  // Checked so that a damaged one is refused here as eval refuses it; the view does not show them.
  withFieldErrors(file, () => checksumsOf(json.checksums));
  const signals = signalsOf(json.signals);
  // A path longer than any file system allows cannot be the model folder (nor be sent to the view's host).
  if (typeof model.dir === 'string' && model.dir.length > MAX_PATH_CHARS) throw refuse.damaged(`"model.dir" is ${model.dir.length.toLocaleString('en-US')} characters long; a folder path has at most ${MAX_PATH_CHARS.toLocaleString('en-US')}`);
  return {
    ...labelsOf(json),
    model: {
      dir: typeof model.dir === 'string' ? model.dir : '',
      architecture: typeof model.architecture === 'string' ? shortName(model.architecture, LABEL_CHARS) : 'unknown',
      numLayers,
      hiddenSize: num(model.hiddenSize) ?? 0,
      params,
      // Names only, cut to LABEL_CHARS; anything else (a hand-edited report) is left out.
      ...(Array.isArray(model.taskHead) && model.taskHead.length > 0 && model.taskHead.every((o) => typeof o === 'string') ? { taskHead: model.taskHead.map((o: string) => shortName(o, LABEL_CHARS)) } : {}),
    },
    tasks,
    ...optional('preparation', preparationOf(json.settings)),
    signals,
    ...optional('selection', withFieldErrors(file, () => selectionOf(json.selection))),
    ...optional('verify', verifyOf(json.verify, blocksKept(json.selection))),
    ...optional('claimed', claimedOf(json.claimed)),
  };
}

/** The errors normalizeReport throws for `file`, and the checks of a score and a count that throw them. */
interface Refusals {
  /** Not a report: a required field is missing. */
  bad(what: string): BadInputError;
  /** A report with a value no report can hold. */
  damaged(what: string): BadInputError;
  /** A score (accuracy, F1): undefined when absent or not a number, refused when a number outside 0–1. */
  share(v: unknown, what: string): number | undefined;
  /** A parameter count: undefined when absent, refused when not a whole number ≥ 0. */
  count(v: unknown, field: string): number | undefined;
}

/** Takes the report's file name; returns the refusals that name it (see Refusals). */
function refusals(file: string): Refusals {
  const bad = (what: string) => new BadInputError(`${file} is not a ProbeScale report: ${what}. Make one with "ProbeScale: Probe Model Folder" or \`probescale probe --out\`.`);
  const damaged = (what: string) => new BadInputError(`${file} has a damaged value: ${what}. Restore the report, or make a new one with "ProbeScale: Probe Model Folder" or \`probescale probe --out\`.`);
  const share = (v: unknown, what: string): number | undefined => {
    const x = num(v);
    if (x !== undefined && (x < 0 || x > 1)) throw damaged(`${what} is ${x}; expected a share from 0 to 1`);
    return x;
  };
  const count = (v: unknown, field: string): number | undefined => {
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 0)) throw damaged(`"${field}" is ${JSON.stringify(v)}; expected a parameter count (a whole number ≥ 0)`);
    return v as number | undefined;
  };
  return { bad, damaged, share, count };
}

/** Takes the report's `model`; returns its block count and parameter counts (`other` filled in), or throws. */
function modelSizeOf(model: Json, refuse: Refusals): { numLayers: number; params: ReportData['model']['params'] } {
  const numLayers = num(model.numLayers);
  if (numLayers === undefined || numLayers < 0) throw refuse.bad('"model.numLayers" is missing');
  if (numLayers > MAX_BLOCKS) throw refuse.damaged(`"model.numLayers" is ${numLayers}; ProbeScale reads reports of at most ${MAX_BLOCKS.toLocaleString('en-US')} blocks`);
  const params = isObj(model.params) ? model.params : undefined;
  const total = refuse.count(params?.total, 'model.params.total');
  const embeddings = refuse.count(params?.embeddings, 'model.params.embeddings');
  const perBlock = Array.isArray(params?.perBlock) ? params.perBlock.map((v, i) => refuse.count(v ?? null, `model.params.perBlock[${i}]`)!) : undefined;
  if (total === undefined || embeddings === undefined || !perBlock || perBlock.length !== numLayers) {
    throw refuse.bad('"model.params" needs total, embeddings and one perBlock entry per block');
  }
  // Every share of the model a chart draws is a count over the total.
  const counted = embeddings + perBlock.reduce((a, b) => a + b, 0);
  if (total === 0 || counted > total) throw refuse.damaged(`"model.params.total" is ${total}, where the embeddings and blocks alone hold ${counted}`);
  const other = num(params?.other) ?? Math.max(0, total - embeddings - perBlock.reduce((a, b) => a + b, 0));
  return { numLayers, params: { total, embeddings, perBlock, other } };
}

/** Takes the report's `tasks`; returns each task as the view shows it, or throws when there are none. */
function tasksOf(v: unknown, numLayers: number, refuse: Refusals): Record<string, TaskData> {
  if (!isObj(v) || Object.keys(v).length === 0) throw refuse.bad('no "tasks"');
  const tasks: Record<string, TaskData> = {};
  for (const [name, t] of Object.entries(v)) {
    // `tasks[name] =` would set the object's prototype instead: the task would vanish unseen.
    if (name === '__proto__') throw refuse.bad('task name "__proto__" cannot be used (JavaScript reserves it); rename the task');
    tasks[name] = taskOf(name, t, numLayers, refuse);
  }
  return tasks;
}

/** Takes one task of the report; returns its layers, scores and defaults filled in, or throws naming the task. */
function taskOf(name: string, t: unknown, numLayers: number, refuse: Refusals): TaskData {
  const final = isObj(t) ? score(t.final) : undefined;
  if (final) refuse.share(final.accuracy, `task "${name}": final accuracy`);
  // An eval report of a committed folder scores the shipped classifier only: no layers, a `final`.
  if (!isObj(t) || !Array.isArray(t.layers) || (t.layers.length === 0 && !final)) throw refuse.bad(`task "${name}" has no "layers"`);
  const layers = t.layers.map((l: unknown, i: number) => layerOf(l, `task "${name}" layer ${i}`, i, refuse));
  const best = layers.length ? layers.reduce((a, b) => (b.accuracy > a.accuracy ? b : a)).layer : numLayers;
  return {
    labels: Array.isArray(t.labels) ? t.labels.map(String) : [],
    majority: refuse.share(t.majority, `task "${name}": majority`) ?? NaN,
    weight: num(t.weight) ?? 1,
    nTrain: num(t.nTrain) ?? 0,
    nTest: num(t.nTest) ?? 0,
    layers,
    bestLayer: num(t.bestLayer) ?? best,
    ...(final ? { final } : {}),
    ...(typeof t.pooling === 'string' ? { pooling: shortName(t.pooling, LABEL_CHARS) } : {}),
    ...(t.textPairs === true ? { textPairs: true as const } : {}),
  };
}

/** The report's settings as the views say them: the max length, the prompt (cut to PROMPT_CHARS), lowercasing; undefined when it says none. */
function preparationOf(settings: unknown): PreparationData | undefined {
  if (!isObj(settings)) return undefined;
  const maxLength = num(settings.maxLength);
  const p: PreparationData = {
    ...(maxLength !== undefined && Number.isSafeInteger(maxLength) && maxLength > 0 ? { maxLength } : {}),
    ...(typeof settings.prompt === 'string' && settings.prompt !== '' ? { prompt: shortName(settings.prompt, PROMPT_CHARS) } : {}),
    ...(settings.lowercase === true ? { lowercase: true as const } : {}),
  };
  return Object.keys(p).length ? p : undefined;
}

/** Takes one layer row (`at` names it, `i` is its place); returns it with missing scores filled, or throws. */
function layerOf(l: unknown, at: string, i: number, refuse: Refusals): LayerRow {
  if (!isObj(l) || num(l.accuracy) === undefined) throw refuse.bad(`${at} has no accuracy`);
  const accuracy = refuse.share(l.accuracy, `${at}: accuracy`)!;
  const controlAccuracy = refuse.share(l.controlAccuracy, `${at}: controlAccuracy`) ?? null;
  return {
    layer: num(l.layer) ?? i,
    accuracy,
    cvAccuracy: refuse.share(l.cvAccuracy, `${at}: cvAccuracy`) ?? null,
    macroF1: refuse.share(l.macroF1, `${at}: macroF1`) ?? NaN,
    controlAccuracy,
    selectivity: num(l.selectivity) ?? (controlAccuracy === null ? null : accuracy - controlAccuracy),
  };
}

/** Takes the report; returns its kind, date and provider, defaults filled in. */
function labelsOf(json: Json): Pick<ReportData, 'kind' | 'createdAt' | 'provider'> {
  // Words the views show whole: cut (with "…") where a hand-edited value runs to megabytes.
  return {
    kind: typeof json.kind === 'string' ? shortName(json.kind, LABEL_CHARS) : 'probe',
    createdAt: typeof json.createdAt === 'string' ? shortName(json.createdAt, LABEL_CHARS) : new Date(0).toISOString(),
    provider: typeof json.provider === 'string' ? shortName(json.provider, LABEL_CHARS) : '',
  };
}

/** Redundancy signals; a damaged list is left out (empty: the view does not draw it), never read as zeros. */
function signalsOf(v: unknown): ReportData['signals'] {
  if (!isObj(v) || !Array.isArray(v.blockInfluence)) return undefined;
  // The heatmap reads row[1] of each angular-distance row (the distance to the next hidden state).
  const rows = Array.isArray(v.angularDistance) && v.angularDistance.every((row) => (numbersOf(row)?.length ?? 0) >= 2) ? (v.angularDistance as number[][]) : [];
  return { blockInfluence: numbersOf(v.blockInfluence) ?? [], angularDistance: rows };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

// The optional parts of optimize and eval reports are checked field by field: a part that does
// not have the shape the view draws is left out (the rest of the report still shows). A
// compensation record is the exception: it says what the committed model computes (bridges,
// narrowed widths), so a damaged one is refused, naming the field, rather than dropped.

/** A damaged field of an optional part that must not be dropped silently; `field` is its path in the report. */
class DamagedField extends Error {
  constructor(readonly field: string, what: string) {
    super(`"${field}" ${what}`);
  }
}

function withFieldErrors<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof DamagedField)) throw e;
    throw new BadInputError(`${file} has a damaged field: ${e.message}. Restore the report, or run optimize again to write a new one.`);
  }
}

const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;

/** A candidate's, baseline's or the pick's compensation (absent: whole blocks); throws DamagedField naming what is wrong. */
export function compensationOf(v: unknown, field: string): { compensation?: CompensationData } {
  if (v === undefined) return {};
  if (!isObj(v)) throw new DamagedField(field, `is ${JSON.stringify(v)}; expected an object with description and bridges`);
  if (typeof v.description !== 'string' || v.description === '') throw new DamagedField(`${field}.description`, 'is missing; expected the compensation in words');
  if (typeof v.bridges !== 'boolean') throw new DamagedField(`${field}.bridges`, `is ${JSON.stringify(v.bridges)}; expected true or false`);
  if (v.window !== undefined && v.window !== 1 && v.window !== 3) throw new DamagedField(`${field}.window`, `is ${JSON.stringify(v.window)}; expected 1 or 3`);
  for (const k of ['heads', 'ffnWidth', 'embeddingRank'] as const) {
    if (v[k] !== undefined && !positiveInt(v[k])) throw new DamagedField(`${field}.${k}`, `is ${JSON.stringify(v[k])}; expected a whole number ≥ 1`);
  }
  if (v.score !== undefined && v.score !== 'flap' && v.score !== 'task' && v.score !== 'mixed') throw new DamagedField(`${field}.score`, `is ${JSON.stringify(v.score)}; expected flap, task or mixed`);
  const c: CompensationData = { description: v.description, bridges: v.bridges };
  if (v.score !== undefined) c.score = v.score;
  if (v.window !== undefined) c.window = v.window as 1 | 3;
  if (v.heads !== undefined) c.heads = v.heads as number;
  if (v.ffnWidth !== undefined) c.ffnWidth = v.ffnWidth as number;
  if (v.embeddingRank !== undefined) c.embeddingRank = v.embeddingRank as number;
  if (typeof v.safetensors === 'string') c.safetensors = v.safetensors;
  return { compensation: c };
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * A committed report's checksums (absent: written before them); throws DamagedField naming what
 * is wrong. Paths must stay inside the folder: eval reads every file the list names.
 */
function checksumsOf(v: unknown): ChecksumsReport | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw new DamagedField('checksums', `is ${JSON.stringify(v)}; expected an object with algorithm and files`);
  if (v.algorithm !== 'sha256') throw new DamagedField('checksums.algorithm', `is ${JSON.stringify(v.algorithm)}; expected "sha256"`);
  if (!isObj(v.files)) throw new DamagedField('checksums.files', `is ${JSON.stringify(v.files)}; expected an object of file → { bytes, sha256 }`);
  const files: ChecksumsReport['files'] = {};
  for (const [p, f] of Object.entries(v.files)) {
    const field = `checksums.files[${JSON.stringify(p)}]`;
    if (p === '' || p.startsWith('/') || p.split('/').some((part) => part === '..' || part === '') || p.includes('\\')) throw new DamagedField(field, 'names a file outside the folder; expected a relative path such as onnx/model.onnx');
    if (!isObj(f)) throw new DamagedField(field, `is ${JSON.stringify(f)}; expected { bytes, sha256 }`);
    if (!Number.isInteger(f.bytes) || (f.bytes as number) < 0) throw new DamagedField(`${field}.bytes`, `is ${JSON.stringify(f.bytes)}; expected a whole number ≥ 0`);
    if (typeof f.sha256 !== 'string' || !SHA256.test(f.sha256)) throw new DamagedField(`${field}.sha256`, `is ${JSON.stringify(f.sha256)}; expected 64 lowercase hex digits`);
    files[p] = { bytes: f.bytes as number, sha256: f.sha256 };
  }
  return { algorithm: 'sha256', files };
}

/** The checksums of a report read from `file`; a damaged field is a BadInputError naming it. */
export function readChecksums(v: unknown, file: string): ChecksumsReport | undefined {
  return withFieldErrors(file, () => checksumsOf(v));
}

/** A score of the selection (validation, test): as `num`, but a number outside 0–1 is a damaged field. */
function shareField(v: unknown, field: string): number | undefined {
  const x = num(v);
  if (x !== undefined && (x < 0 || x > 1)) throw new DamagedField(field, `is ${x}; expected a share from 0 to 1`);
  return x;
}

/** A parameter count of the selection (a candidate's, a baseline's, the budget's): refused when not a whole number ≥ 0. */
function countField(v: unknown, field: string): number | undefined {
  const x = num(v);
  if (x !== undefined && (x < 0 || !Number.isInteger(x))) throw new DamagedField(field, `is ${x}; expected a whole number of parameters ≥ 0`);
  return x;
}

function score(v: unknown): ScoreData | undefined {
  if (!isObj(v)) return undefined;
  const accuracy = num(v.accuracy);
  return accuracy === undefined ? undefined : { accuracy, macroF1: num(v.macroF1) ?? NaN };
}

function retentionOf(v: unknown): RetentionData | undefined {
  if (!isObj(v)) return undefined;
  return { vsFinal: numOrNull(v.vsFinal), vsBestLayer: numOrNull(v.vsBestLayer), chanceNormalized: numOrNull(v.chanceNormalized) };
}

function blocksOf(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0) ? (v as number[]) : undefined;
}

function recordOf<T>(v: unknown, each: (x: unknown) => T | undefined): Record<string, T> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, T> = {};
  for (const [k, x] of Object.entries(v)) {
    const t = each(x);
    if (t === undefined) return undefined;
    out[k] = t;
  }
  return out;
}

function baselineOf(v: unknown, i: number): BaselineData | undefined {
  if (!isObj(v) || typeof v.name !== 'string') return undefined;
  const compensation = compensationOf(v.compensation, `selection.baselines[${i}] (${v.name}).compensation`);
  const kept = blocksOf(v.kept);
  const params = countField(v.params, `selection.baselines[${i}].params`);
  const fraction = shareField(v.fraction, `selection.baselines[${i}].fraction`);
  const testObjective = shareField(v.testObjective, `selection.baselines[${i}].testObjective`);
  const meanRetention = retentionOf(v.meanRetention);
  if (!kept || params === undefined || fraction === undefined || testObjective === undefined || !meanRetention) return undefined;
  const g = isObj(v.vsSelected) && isObj(v.vsSelected.objective) ? { diff: num(v.vsSelected.objective.diff), se: num(v.vsSelected.objective.se) } : undefined;
  const gap = g && g.diff !== undefined && g.se !== undefined ? { gap: { diff: g.diff, se: g.se } } : {};
  return { name: v.name, kept, ...compensation, ...(typeof v.note === 'string' ? { note: v.note } : {}), params, fraction, validation: shareField(v.validation, `selection.baselines[${i}].validation`) ?? NaN, testObjective, meanRetention, ...gap };
}

function adviceOf(v: unknown): BudgetAdviceData | undefined {
  if (!isObj(v)) return undefined;
  const iv = Array.isArray(v.interval) && v.interval.length === 2 ? v.interval.map((x) => num(x)) : undefined;
  const fit = isObj(v.fit) ? { pInf: num(v.fit.pInf), a: num(v.fit.a), alpha: num(v.fit.alpha) } : undefined;
  const band = isObj(v.band) ? { n: numbersOf(v.band.n), lo: numbersOf(v.band.lo), hi: numbersOf(v.band.hi) } : undefined;
  const bandOk = band?.n && band.lo?.length === band.n.length && band.hi?.length === band.n.length;
  return {
    recommendedParams: numOrNull(v.recommendedParams),
    recommendedFraction: numOrNull(v.recommendedFraction),
    interval: iv && iv[0] !== undefined && iv[1] !== undefined ? [iv[0], iv[1]] : null,
    ...(fit && fit.pInf !== undefined && fit.a !== undefined && fit.alpha !== undefined ? { fit: { pInf: fit.pInf, a: fit.a, alpha: fit.alpha } } : {}),
    ...(bandOk ? { band: { n: band.n!, lo: band.lo!, hi: band.hi! } } : {}),
  };
}

function numbersOf(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((x) => num(x) !== undefined) ? (v as number[]) : undefined;
}

function candidateOf(v: unknown, i: number): CandidateData | undefined {
  if (!isObj(v)) return undefined;
  const compensation = compensationOf(v.compensation, `selection.candidates[${i}].compensation`);
  const kept = blocksOf(v.kept);
  const params = countField(v.params, `selection.candidates[${i}].params`);
  const fraction = shareField(v.fraction, `selection.candidates[${i}].fraction`);
  const validation = shareField(v.validation, `selection.candidates[${i}].validation`);
  if (!kept || params === undefined || fraction === undefined || validation === undefined) return undefined;
  const perTask = recordOf(v.perTask, num);
  for (const [task, x] of Object.entries(perTask ?? {})) shareField(x, `selection.candidates[${i}].perTask.${task}`);
  return { kept, params, fraction, origin: typeof v.origin === 'string' ? v.origin : '', validation, test: shareField(v.test, `selection.candidates[${i}].test`) ?? null, ...(perTask ? { perTask } : {}), ...compensation };
}

/** Optional lists and records of optimize reports: kept when every entry has its shape. */
function extrasOf(v: Json): Pick<SelectionData, 'candidates' | 'validationReference' | 'unfitBaselines'> {
  const candidates = Array.isArray(v.candidates) ? v.candidates.map(candidateOf) : undefined;
  const reference = recordOf(v.validationReference, (r) => {
    const final = isObj(r) ? shareField(r.final, 'selection.validationReference.final') : undefined;
    const bestLayer = isObj(r) ? shareField(r.bestLayer, 'selection.validationReference.bestLayer') : undefined;
    return final === undefined || bestLayer === undefined ? undefined : { final, bestLayer };
  });
  return {
    ...(candidates && candidates.every((c) => c !== undefined) ? { candidates: candidates as CandidateData[] } : {}),
    ...(reference ? { validationReference: reference } : {}),
    ...unfitOf(v.unfitBaselines),
  };
}

/** Baselines that did not fit the budget; entries without a name and a reason are left out. */
function unfitOf(v: unknown): Pick<SelectionData, 'unfitBaselines'> {
  if (!Array.isArray(v)) return {};
  const unfit = v.flatMap((u) => (isObj(u) && typeof u.name === 'string' && typeof u.reason === 'string' ? [{ name: u.name, reason: u.reason }] : []));
  return unfit.length ? { unfitBaselines: unfit } : {};
}

function vocabTrimOf(v: unknown): { vocabTrim?: SelectionData['vocabTrim'] } {
  if (!isObj(v)) return {};
  const sourceVocab = num(v.sourceVocab);
  const keptTokens = num(v.keptTokens);
  const unseen = recordOf(v.unseenTestTokens, num);
  const reads = v.unseen === 'nearest' || v.unseen === 'unknown' ? { unseen: v.unseen as 'nearest' | 'unknown' } : {};
  return sourceVocab === undefined || keptTokens === undefined || !unseen ? {} : { vocabTrim: { sourceVocab, keptTokens, unseenTestTokens: unseen, ...reads } };
}

function ruleOf(v: unknown): { rule?: SelectionData['rule'] } {
  if (!isObj(v) || typeof v.name !== 'string' || !isObj(v.simulation) || !Array.isArray(v.simulation.rules)) return {};
  const rules = v.simulation.rules.flatMap((x: unknown) => {
    if (!isObj(x) || typeof x.rule !== 'string') return [];
    const held = num(x.heldOutAccuracy);
    const share = num(x.atLeastBestHeuristic);
    return held === undefined || share === undefined ? [] : [{ rule: x.rule, heldOutAccuracy: held, atLeastBestHeuristic: share }];
  });
  return { rule: { name: v.name, requested: typeof v.requested === 'string' ? v.requested : v.name, simulation: { repeats: num(v.simulation.repeats) ?? 0, ...(num(v.simulation.heuristics) !== undefined ? { heuristics: num(v.simulation.heuristics) } : {}), rules } } };
}

export function selectionOf(v: unknown): SelectionData | undefined {
  if (!isObj(v) || !isObj(v.budget) || !isObj(v.objective) || !isObj(v.embeddingOnly) || !isObj(v.budgetAdvice)) return undefined;
  const kept = blocksOf(v.kept);
  const params = countField(v.params, 'selection.params');
  const fraction = shareField(v.fraction, 'selection.fraction');
  const budgetParams = countField(v.budget.params, 'selection.budget.params');
  const budgetFraction = shareField(v.budget.fraction, 'selection.budget.fraction');
  const test = shareField(v.objective.test, 'selection.objective.test');
  const retention = retentionOf(v.retention);
  const perTask = recordOf(v.perTask, (t) => {
    if (!isObj(t) || !isObj(t.reference) || !isObj(t.reference.bestLayer)) return undefined;
    const testScore = score(t.test);
    const final = score(t.reference.final);
    const bestTest = score(t.reference.bestLayer.test);
    const r = retentionOf(t.retention);
    if (!testScore || !final || !bestTest || !r) return undefined;
    return { test: testScore, reference: { final, bestLayer: { layer: num(t.reference.bestLayer.layer) ?? -1, test: bestTest } }, majority: shareField(t.majority, 'selection.perTask.majority') ?? NaN, retention: r };
  });
  const compensation = compensationOf(v.compensation, 'selection.compensation');
  const baselines = Array.isArray(v.baselines) ? v.baselines.map(baselineOf) : undefined;
  const advice = recordOf(v.budgetAdvice.perTask, adviceOf);
  const embRetention = retentionOf(v.embeddingOnly.retention);
  if (!kept || params === undefined || fraction === undefined || budgetParams === undefined || budgetFraction === undefined || test === undefined) return undefined;
  if (!retention || !perTask || !baselines || baselines.some((b) => b === undefined) || !advice || !embRetention) return undefined;
  return {
    budget: { spec: String(v.budget.spec ?? budgetFraction), params: budgetParams, fraction: budgetFraction },
    targetRetention: shareField(v.targetRetention, 'selection.targetRetention') ?? DEFAULT_TARGET_RETENTION,
    kept,
    params,
    fraction,
    origin: typeof v.origin === 'string' ? v.origin : '',
    ...ruleOf(v.rule),
    objective: { predicted: numOrNull(v.objective.predicted), validation: shareField(v.objective.validation, 'selection.objective.validation') ?? NaN, test },
    retention,
    perTask,
    baselines: baselines as BaselineData[],
    budgetAdvice: { perTask: advice, note: typeof v.budgetAdvice.note === 'string' ? v.budgetAdvice.note : '' },
    ...vocabTrimOf(v.vocabTrim),
    ...extrasOf(v),
    ...compensation,
    embeddingOnly: { reachesTarget: v.embeddingOnly.reachesTarget === true, message: typeof v.embeddingOnly.message === 'string' ? v.embeddingOnly.message : '', retention: embRetention },
  };
}

/** A timing, its times and speed-up all above 0 (a damaged one leaves the verify section out: its chart would draw NaN). */
function speedOf(v: unknown): VerifyData['timing']['batch1'] | undefined {
  if (!isObj(v)) return undefined;
  const [speedup, originalMs, prunedMs] = [num(v.speedup), num(v.originalMs), num(v.prunedMs)];
  return speedup! > 0 && originalMs! > 0 && prunedMs! > 0 ? { originalMs: originalMs!, prunedMs: prunedMs!, speedup: speedup! } : undefined;
}

/** How many blocks the selection keeps (undefined: no readable selection). */
function blocksKept(s: unknown): number | undefined {
  return isObj(s) && Array.isArray(s.kept) ? s.kept.length : undefined;
}

/**
 * `keptBlocks` 0: the ideal is dropped to null, as verify now writes it (GLOSSARY.noIdeal), so a
 * report from before that change does not show its ratio in the thousands.
 */
export function verifyOf(v: unknown, keptBlocks?: number): VerifyData | undefined {
  if (!isObj(v) || typeof v.loadedFrom !== 'string' || typeof v.allEqual !== 'boolean' || !isObj(v.timing)) return undefined;
  const perTask = recordOf(v.perTask, (t) => {
    if (!isObj(t)) return undefined;
    const claimed = score(t.claimed);
    const measured = score(t.measured);
    return claimed && measured ? { claimed, measured, equal: t.equal === true } : undefined;
  });
  const batch1 = speedOf(v.timing.batch1);
  const batch32 = speedOf(v.timing.batch32);
  const idealSpeedup = v.timing.idealSpeedup === null || keptBlocks === 0 ? null : num(v.timing.idealSpeedup);
  if (!perTask || !batch1 || !batch32 || idealSpeedup === undefined || (idealSpeedup !== null && !(idealSpeedup > 0))) return undefined;
  const quantized = quantizedOf(v.quantized);
  return { loadedFrom: v.loadedFrom, allEqual: v.allEqual, perTask, timing: { batch1, batch32, idealSpeedup, seqLen: num(v.timing.seqLen) ?? 0, provider: typeof v.timing.provider === 'string' ? v.timing.provider : '' }, ...(quantized ? { quantized } : {}) };
}

function quantizedOf(v: unknown): VerifyData['quantized'] {
  if (!isObj(v) || typeof v.file !== 'string' || typeof v.method !== 'string') return undefined;
  const perTask = recordOf(v.perTask, (t) => {
    if (!isObj(t)) return undefined;
    const float = score(t.float);
    const measured = score(t.measured);
    const difference = num(t.difference);
    return float && measured && difference !== undefined ? { float, measured, difference } : undefined;
  });
  return perTask ? { file: v.file, method: v.method, perTask } : undefined;
}

function claimedOf(v: unknown): Record<string, number> | undefined {
  return recordOf(v, num);
}

/** Far above any report (a layer row is about 250 bytes: 100 tasks on a 48-block model make about 1.2 MiB); a larger file is another tool's, and reading it would stall the editor. */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;

/** Reads and checks a report file (see normalizeReport). */
export function readReport(file: string): ReportData {
  let json: unknown;
  try {
    const stat = fs.statSync(file);
    if (stat.isDirectory()) throw new BadInputError(`${file} is a folder, not a report file; open the .json report inside it (e.g. probescale-report.json).`);
    if (stat.size > MAX_REPORT_BYTES) throw new BadInputError(`${file} is ${(stat.size / 2 ** 20).toFixed(1)} MiB; a ProbeScale report is at most ${MAX_REPORT_BYTES / 2 ** 20} MiB. Is this the right file?`);
    json = JSON.parse(readUtf8(file));
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BadInputError(`${file} does not exist (moved or deleted?); open the report from where it is now.`);
    throw new BadInputError(`${file} cannot be read as JSON: ${(e as Error).message.replace(/\s+/g, ' ').replace(/\.$/, '')}. Open a report ProbeScale wrote: one under .probescale/reports, or a committed folder's probescale-report.json.`);
  }
  return normalizeReport(json, file);
}
