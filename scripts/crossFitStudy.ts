/**
 * Is a compensated candidate's cross-validation optimistic because it was calibrated on the rows
 * it is scored on? (RESULTS §5m.) Per candidate spec, on one task's training rows only:
 *   in-sample CV    what optimize computes (SubsetEvaluator.measure with optimize's compensator:
 *                   one variant calibrated on the first 1000 training texts, 5-fold CV);
 *   cross-fitted CV fold k scored through a variant calibrated on those texts minus fold k's
 *                   (src/core/pipeline/crossFit.ts); same folds, rows, probe and C.
 *   node out/scripts/crossFitStudy.js MODEL_DIR TASK_DIR [--limit-train 2000] [--provider cpu] --spec SPEC [--spec SPEC …]
 * SPEC: kept blocks, then "+"-separated compensation: bridge, hN (heads), fN (FFN neurons),
 * flap|task|mixed (unit score), eR (embedding rank); e.g. 0,2,3,4+bridge+f384+task, 0,1,2,3.
 * The task's test file is never opened: the task is read from a temporary folder holding its
 * train.jsonl and, as test.jsonl, its first training row. Nothing is cached.
 * Output: one JSON line per spec, then a markdown table, on stdout; progress on stderr.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JobContext } from '../src/core/jobs';
import { DEFAULT_SETTINGS, Provider, ProbeSettings } from '../src/core/settings';
import { Extractor } from '../src/core/extract/extractor';
import { findWordEmbedding } from '../src/core/onnx/vocab';
import { widthShape } from '../src/core/compensate/commit';
import { CompSpec, candidateKey, isCompensated } from '../src/core/compensate/search';
import { UnitScore } from '../src/core/compensate/scores';
import { calibrationRows } from '../src/core/compensate/crossFit';
import { subsetParams } from '../src/core/optimize/subsets';
import { compensator } from '../src/core/pipeline/compensation';
import { SearchSpace } from '../src/core/pipeline/candidates';
import { crossFittedOutcomes } from '../src/core/pipeline/crossFit';
import { FeatureSet } from '../src/core/pipeline/extract';
import { SubsetEvaluator, TaskSplit } from '../src/core/pipeline/measure';
import { extractorOptions, PreparedRun, withPrepared } from '../src/core/pipeline/prepare';
import { taskSplits } from '../src/core/pipeline/probe';

interface Args {
  model: string;
  taskDir: string;
  settings: ProbeSettings;
  specs: { kept: number[]; spec: CompSpec }[];
}

/** "0,2,3,4+bridge+f384+task" → kept blocks and compensation. */
export function parseSpec(s: string): { kept: number[]; spec: CompSpec } {
  const [blocks, ...parts] = s.split('+');
  const kept = blocks.split(',').map(Number);
  if (kept.some((k) => !Number.isInteger(k) || k < 0)) throw new Error(`--spec ${s}: kept blocks must be whole numbers, e.g. 0,2,3,4`);
  const spec: CompSpec = { bridges: false };
  for (const p of parts) {
    const n = Number(p.slice(1));
    if (p === 'bridge') spec.bridges = true;
    else if (p === 'flap' || p === 'task' || p === 'mixed') spec.score = p as UnitScore;
    else if (/^[hfe]\d+$/.test(p)) spec[({ h: 'heads', f: 'ffnWidth', e: 'embeddingRank' } as const)[p[0] as 'h' | 'f' | 'e']] = n;
    else throw new Error(`--spec ${s}: unknown part "${p}"; use bridge, hN, fN, flap|task|mixed or eR`);
  }
  return { kept, spec };
}

function parseArgs(argv: string[]): Args {
  const [model, taskDir, ...rest] = argv;
  if (!model || !taskDir) throw new Error('usage: crossFitStudy.js MODEL_DIR TASK_DIR [--limit-train N] [--provider cpu] --spec SPEC …');
  const specs: Args['specs'] = [];
  let limitTrain = 2000;
  let provider: Provider = 'cpu';
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--spec') specs.push(parseSpec(rest[i + 1]));
    else if (rest[i] === '--limit-train') limitTrain = Number(rest[i + 1]);
    else if (rest[i] === '--provider') provider = rest[i + 1] as Provider;
    else throw new Error(`unknown option ${rest[i]}`);
  }
  if (!specs.length) throw new Error('give at least one --spec');
  return { model, taskDir, specs, settings: { ...DEFAULT_SETTINGS, provider, limitTrain, cacheDir: null } };
}

/** A temporary task folder with the task's training rows and, as its test file, its first training row. */
function trainOnlyTask(taskDir: string): string {
  const train = path.join(path.resolve(taskDir), 'train.jsonl');
  if (!fs.existsSync(train)) throw new Error(`${train} does not exist; the study reads a task folder's train.jsonl`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-crossfit-'));
  fs.symlinkSync(train, path.join(dir, 'train.jsonl'));
  const first = fs.readFileSync(train, 'utf8').split('\n', 1)[0];
  fs.writeFileSync(path.join(dir, 'test.jsonl'), `${first}\n`);
  return dir;
}

/** Optimize's splits (folds, C by CV on the full model's final layer) from training rows only. */
async function trainSplits(run: PreparedRun, settings: ProbeSettings, name: string, ctx: JobContext): Promise<TaskSplit[]> {
  const ex = await Extractor.create(run.info, run.tokenizer, extractorOptions(settings), ctx);
  const feats: FeatureSet = new Map();
  try {
    for (const t of run.tasks) feats.set(t.name, { train: await ex.extract(t.train, `${t.name}/train`, ctx), test: undefined as never });
  } finally {
    await ex.release();
  }
  return taskSplits(run.tasks, [{ name, path: '', weight: 1 }], feats, settings, ctx);
}

interface Row {
  task: string;
  spec: string;
  rows: number;
  inSample: number;
  crossFitted: number;
  /** Mean of in-sample − cross-fitted correctness per row, and its paired standard error. */
  diff: number;
  diffSE: number;
  /** Binomial SE of the in-sample accuracy over the rows (what separates candidates). */
  cvSE: number;
  /** The paired difference on the rows whose texts calibrate (first 1000) and on the others: only the former can leak. */
  calibrated: { rows: number; diff: number; diffSE: number };
  uncalibrated: { rows: number; diff: number; diffSE: number };
  inSampleSeconds: number;
  crossFittedSeconds: number;
}

/** Mean and standard error of the per-row differences a − b (0/1 each). */
export function pairedDiff(a: Uint8Array, b: Uint8Array): { diff: number; se: number } {
  const n = a.length;
  const d = Array.from(a, (v, i) => v - b[i]);
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const variance = d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { diff: mean, se: Math.sqrt(variance / n) };
}

/** One spec: optimize's in-sample CV, then the cross-fitted CV, with their wall times. */
async function study(run: PreparedRun, splits: TaskSplit[], ev: SubsetEvaluator, settings: ProbeSettings, c: Args['specs'][number], ctx: JobContext): Promise<Row> {
  const key = candidateKey(c.kept, c.spec);
  const name = splits[0].task.name;
  let t = Date.now();
  const m = await ev.measure(c.kept, false, ctx, isCompensated(c.spec) ? c.spec : undefined);
  ev.dispose(); // removes the variant's temporary graph
  const inSampleSeconds = (Date.now() - t) / 1000;
  t = Date.now();
  const cross = (await crossFittedOutcomes({ info: run.info, tokenizer: run.tokenizer, splits, settings }, c.kept, c.spec, ctx))[name];
  const crossFittedSeconds = (Date.now() - t) / 1000;
  const a = m.valRows[name].correct;
  if (!isCompensated(c.spec) && !a.every((v, i) => v === cross.rows.correct[i])) throw new Error(`control ${key}: a plain subset scored differently cross-fitted; the two paths do not share folds, rows and probe`);
  const { diff, se } = pairedDiff(a, cross.rows.correct);
  const p = m.val[name].accuracy;
  const inCalibration = new Set(calibrationRows(run.tasks).map((r) => r.row));
  const part = (calibrated: boolean) => {
    const rows = Array.from(a.keys()).filter((i) => inCalibration.has(i) === calibrated);
    const d = pairedDiff(Uint8Array.from(rows, (i) => a[i]), Uint8Array.from(rows, (i) => cross.rows.correct[i]));
    return { rows: rows.length, diff: d.diff, diffSE: d.se };
  };
  return { task: name, spec: key, rows: a.length, inSample: p, crossFitted: cross.score.accuracy, diff, diffSE: se, cvSE: Math.sqrt((p * (1 - p)) / a.length), calibrated: part(true), uncalibrated: part(false), inSampleSeconds, crossFittedSeconds };
}

const pct = (x: number) => (100 * x).toFixed(2);

function table(rows: Row[]): string {
  const head = '| task | spec | in-sample CV % | cross-fitted CV % | diff ± paired SE (points) | calibrated rows: diff | other rows: diff | CV SE (points) | wall in-sample / cross-fitted (s) |\n|---|---|---|---|---|---|---|---|---|';
  const d = (x: { diff: number; diffSE: number }) => `${pct(x.diff)} ± ${pct(x.diffSE)}`;
  return [head, ...rows.map((r) => `| ${r.task} | ${r.spec} | ${pct(r.inSample)} | ${pct(r.crossFitted)} | ${d(r)} | ${d(r.calibrated)} | ${d(r.uncalibrated)} | ${pct(r.cvSE)} | ${r.inSampleSeconds.toFixed(0)} / ${r.crossFittedSeconds.toFixed(0)} |`)].join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ctx: JobContext = { log: (level, m) => console.error(`[${level}] ${m}`), onProgress: (e) => e.kind === 'stage' && console.error(`${e.stage}: ${e.message}`) };
  const dir = trainOnlyTask(args.taskDir);
  const name = path.basename(path.resolve(args.taskDir));
  try {
    await withPrepared(args.model, [{ name, path: dir, weight: 1 }], args.settings, ctx, async (run) => {
      const splits = await trainSplits(run, args.settings, name, ctx);
      console.error(`${name}: ${run.tasks[0].train.length} training rows, C ${splits[0].c}`);
      const shape = widthShape(run.info, findWordEmbedding(run.info.model).vocab);
      const space = { acc: run.info.params } as SearchSpace; // the compensator reads only the parameter counts
      const ev = new SubsetEvaluator(run.info, run.tokenizer, splits, args.settings, (k) => subsetParams(run.info.params, k), undefined, undefined, compensator(run, run.info, space, args.settings, shape));
      const rows: Row[] = [];
      for (const c of args.specs) {
        const r = await study(run, splits, ev, args.settings, c, ctx);
        console.log(JSON.stringify({ ...r, c: splits[0].c, limitTrain: args.settings.limitTrain }));
        rows.push(r);
      }
      console.log(`\n${table(rows)}`);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
