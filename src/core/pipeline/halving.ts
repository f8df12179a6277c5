/**
 * Successive halving of candidate measurement: a candidate the per-layer probes predicted (or a
 * local-search neighbour) is first scored on a growing stratified subset of the training rows,
 * and dropped as soon as it is a clear loser there; the survivors are measured on every row
 * exactly as without halving. Baselines and the embeddings alone are always measured on every
 * row (the report shows their scores). Only training rows and their cross-validation folds are
 * read: the test split never decides anything here.
 */
import { JobContext } from '../jobs';
import { Rng } from '../util/rng';
import { pairedDifference, WeightedTask } from '../optimize/select';
import { SearchReport } from '../report';
import { Measured, RowOutcomes, SubsetEvaluator, TaskSplit } from './measure';

/** Shares of the training rows of the screening stages; the last stage is all rows. */
export const HALVING_STAGES = [0.25, 0.5];
/**
 * A clear loser at a stage: its cross-validated accuracy on the stage's rows is below the
 * incumbent's (the best candidate measured on all rows so far, in the budget) on the same rows
 * by more than LOSER_SES paired standard errors, and so is its mean log-probability of the true
 * class. Both statistics, because the selection rules read either (max-accuracy and one-se read
 * accuracy, max-loglik the log-probability); one-se keeps candidates within one SE of the best,
 * so a candidate two SEs behind on part of the rows is not one it would have picked.
 */
export const LOSER_SES = 2;
/** A stage is skipped when any task would have fewer rows than this (5-fold CV needs rows to fit on). */
export const MIN_STAGE_ROWS = 40;

export interface HalvingOptions {
  stages: number[];
  minRows: number;
}

export const DEFAULT_HALVING: HalvingOptions = { stages: HALVING_STAGES, minRows: MIN_STAGE_ROWS };

/** Rows of one screening stage, per task (ascending row numbers). */
export interface Stage {
  share: number;
  rows: Record<string, Int32Array>;
}

/**
 * Nested stratified stages: per task and label a seeded shuffle, of which each stage takes the
 * first ⌈share × count⌉ rows, so a later stage holds every row of an earlier one.
 */
export function screeningStages(splits: TaskSplit[], seed: number, opts: HalvingOptions = DEFAULT_HALVING): Stage[] {
  const order = new Map(splits.map((sp) => [sp.task.name, shuffledByLabel(sp.task.trainY, seed)]));
  const stages: Stage[] = [];
  for (const share of opts.stages) {
    const rows: Record<string, Int32Array> = {};
    for (const sp of splits) rows[sp.task.name] = takeShare(order.get(sp.task.name)!, share);
    const enough = Object.values(rows).every((r) => r.length >= opts.minRows);
    const smaller = splits.every((sp) => rows[sp.task.name].length < sp.task.trainY.length);
    if (enough && smaller) stages.push({ share, rows });
  }
  return stages;
}

function shuffledByLabel(y: Int32Array, seed: number): number[][] {
  const byLabel = new Map<number, number[]>();
  y.forEach((v, i) => byLabel.set(v, [...(byLabel.get(v) ?? []), i]));
  const rng = new Rng(seed ^ 0x5eed);
  return [...byLabel.keys()].sort((a, b) => a - b).map((k) => rng.shuffle(byLabel.get(k)!));
}

function takeShare(byLabel: number[][], share: number): Int32Array {
  const rows = byLabel.flatMap((members) => members.slice(0, Math.ceil(share * members.length)));
  return Int32Array.from(rows.sort((a, b) => a - b));
}

/** Why a candidate was dropped: its stage and gaps to the incumbent, for the report. */
export interface LoserVerdict {
  share: number;
  rows: number;
  incumbent: string;
  accuracy: { diff: number; se: number };
  logLik: { diff: number; se: number };
}

/** A verdict when `candidate` is a clear loser against `incumbent` on a stage's rows, else null. */
export function clearLoser(candidate: Record<string, RowOutcomes>, incumbent: Record<string, RowOutcomes>, tasks: WeightedTask[], stage: Stage, incumbentKey: string): LoserVerdict | null {
  const a = { params: 0, rows: candidate };
  const b = { params: 0, rows: incumbent };
  const accuracy = pairedDifference(a, b, tasks, undefined, 'correct');
  const logLik = pairedDifference(a, b, tasks, undefined, 'logp');
  const behind = (g: { diff: number; se: number }) => g.diff < 0 && g.diff < -LOSER_SES * g.se;
  if (!behind(accuracy) || !behind(logLik)) return null;
  const rows = Object.values(stage.rows).reduce((s, r) => s + r.length, 0);
  return { share: stage.share, rows, incumbent: incumbentKey, accuracy, logLik };
}

/** Screens candidates through the stages against the incumbent and records the dropped ones. */
export class Halving {
  private readonly dropped: SearchReport['dropped'] = [];
  /** The incumbent's stage outcomes, by candidate key and stage share (computed once each). */
  private readonly reference = new Map<string, Record<string, RowOutcomes>>();

  constructor(
    private readonly evaluator: SubsetEvaluator,
    readonly stages: Stage[],
    private readonly tasks: WeightedTask[],
  ) {}

  /** Keys of the dropped candidates (local search must not propose them again). */
  get droppedKeys(): string[] {
    return this.dropped.map((d) => d.kept.join(','));
  }

  /** The candidate measured on every row, or null when a stage showed it a clear loser against `incumbent`. */
  async measure(kept: number[], origin: string, incumbent: Measured, ctx: JobContext): Promise<Measured | null> {
    this.evaluator.keepFeatures(incumbent.key);
    return this.evaluator.measureScreened(kept, ctx, async (score) => {
      for (const stage of this.stages) {
        const verdict = clearLoser(await score(stage.rows), await this.incumbentOn(incumbent, stage, ctx), this.tasks, stage, incumbent.key);
        if (verdict) {
          this.dropped.push({ kept, origin, share: verdict.share, rows: verdict.rows, incumbent: incumbent.kept, accuracy: verdict.accuracy, logLik: verdict.logLik });
          return true;
        }
      }
      return false;
    });
  }

  private async incumbentOn(incumbent: Measured, stage: Stage, ctx: JobContext): Promise<Record<string, RowOutcomes>> {
    const id = `${incumbent.key}@${stage.share}`;
    let r = this.reference.get(id);
    if (!r) this.reference.set(id, (r = await this.evaluator.storedOutcomes(incumbent.key, stage.rows, ctx)));
    return r;
  }

  report(): SearchReport {
    return { mode: 'halving', stages: this.stages.map((s) => ({ share: s.share, rows: Object.values(s.rows).reduce((a, r) => a + r.length, 0) })), loserSes: LOSER_SES, dropped: this.dropped };
  }
}

/** The search record of an exhaustive run (--exhaustive): every candidate measured on every row. */
export function exhaustiveSearch(): SearchReport {
  return { mode: 'exhaustive', stages: [], loserSes: LOSER_SES, dropped: [] };
}
