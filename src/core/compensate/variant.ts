/**
 * A compensated candidate as a model of its own: the compensated graph written to a file and
 * opened like any encoder, so that feature extraction, probes, classifiers and verification run
 * on it unchanged (every one of its blocks kept).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanDeadProcessFolders } from '../commit/atomicDir';
import { diskWriteError } from '../util/diskErrors';
import { JobContext } from '../jobs';
import { TaskData } from '../data/dataset';
import { InputText, TextTokenizer } from '../data/tokenize';
import { findBlocks } from '../onnx/blocks';
import { OnnxModel } from '../onnx/model';
import { ModelInfo, countParams } from '../model/modelInfo';
import { CalibrationOptions, CalibrationRunFailure, CalibrationSet, calibrationSet } from './calibrate';
import { invalidModelGraph } from '../model/invalidGraph';
import { isCancelled, ProbeScaleError } from '../errors';
import { Encoder, FitStat } from './fit';
import { CompensationPlan } from './graph';
import { encoderOf, fitPlan, writeCompensatedOnnx } from './build';
import { CompSpec } from './search';

/** Prefix of the private temporary folder of each compensated graph: `<tmp>/probescale-compensated-<pid>-XXXXXX`. */
export const COMPENSATED_TMP = 'probescale-compensated-';

export interface CompensatedVariant {
  info: ModelInfo;
  plan: CompensationPlan;
  stats: FitStat[];
  /** Removes the variant's temporary folder. */
  dispose(): void;
}

/** At most this many training texts calibrate the fits (shared equally by the tasks). */
export const CALIBRATION_TEXTS = 1000;

/**
 * Training texts of every task (never test), an equal share each, in file order; a pair task's rows
 * as pairs, encoded as its probes read them (joined into one text, BERT-style models saw neither the
 * separator nor the second segment's token type while fitting).
 */
export function calibrationTexts(tasks: TaskData[], limit = CALIBRATION_TEXTS): InputText[] {
  const share = Math.max(1, Math.floor(limit / Math.max(1, tasks.length)));
  return tasks.flatMap((t) => t.train.slice(0, share));
}

/** Opens a compensated graph file as a model with `plan.kept.length` blocks. */
export function openVariant(source: ModelInfo, file: string, kept: number[]): ModelInfo {
  const model = OnnxModel.open(file);
  const blocks = findBlocks(model, file);
  return { ...source, onnxFile: file, numLayers: kept.length, params: countParams(model, blocks), blocks, model, quantized: false };
}

/** Task and label id of each text calibrationTexts returns. */
export function calibrationLabels(tasks: TaskData[], limit = CALIBRATION_TEXTS): NonNullable<CalibrationSet['labels']> {
  const share = Math.max(1, Math.floor(limit / Math.max(1, tasks.length)));
  const task = tasks.flatMap((t, i) => t.train.slice(0, share).map(() => i));
  const label = tasks.flatMap((t) => Array.from(t.trainY.subarray(0, Math.min(share, t.train.length))));
  return { task: Int32Array.from(task), label: Int32Array.from(label) };
}

/** The calibration set of a run (with each text's task and label): tokenised once, shared by every variant it builds. */
export function variantCalibration(tokenizer: TextTokenizer, tasks: TaskData[], opts: CalibrationOptions): CalibrationSet {
  return calibrationSet(tokenizer, calibrationTexts(tasks), opts, calibrationLabels(tasks));
}

/** Fits `spec` on `kept` (training texts only, `set`), writes the graph to a private temporary folder and opens it. */
export async function buildVariant(source: ModelInfo, set: CalibrationSet, kept: number[], spec: CompSpec, opts: CalibrationOptions, ctx: JobContext): Promise<CompensatedVariant> {
  const enc: Encoder = encoderOf(source);
  const { plan, stats } = await fitPlan(enc, { kept, bridges: spec.bridges, heads: spec.heads, ffnWidth: spec.ffnWidth, score: spec.score, embeddingRank: spec.embeddingRank }, set, opts, ctx).catch(async (e: unknown) => {
    throw await blame(source, e);
  });
  // Named by pid so that a run killed mid-build (no finally) has its folder removed by the next one.
  cleanDeadProcessFolders(os.tmpdir(), COMPENSATED_TMP);
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `${COMPENSATED_TMP}${process.pid}-`));
    const file = path.join(dir, 'model.onnx');
    writeCompensatedOnnx(enc, plan, file);
    const info = openVariant(source, file, kept);
    const built = dir;
    return {
      info,
      plan,
      stats,
      dispose: () => {
        info.model.close();
        fs.rmSync(built, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    throw tempDiskError(e) ?? e;
  }
}

/**
 * A calibration graph (an edit of the model's graph) that ONNX Runtime could not load or run is
 * the model's fault when its own graph fails alone too (a hand-edited graph that ran on the probe's
 * batches can fail on others); otherwise the failure stays ProbeScale's, as it came.
 */
async function blame(source: ModelInfo, e: unknown): Promise<unknown> {
  if (e instanceof ProbeScaleError || isCancelled(e)) return e;
  const failed = e instanceof CalibrationRunFailure;
  return (await invalidModelGraph(source, failed ? 'run' : 'load', failed ? e.feeds : undefined)) ?? (failed ? e.cause : e);
}

/** A full or unwritable system temporary folder, worded (Node says only "ENOSPC: no space left on device, write"). */
function tempDiskError(e: unknown) {
  const tmp = os.tmpdir();
  return diskWriteError(e, tmp, {
    name: `The temporary folder ${tmp} (compensated candidates are built there, one graph at a time)`,
    elsewhere: (where) => `set TMPDIR to a folder ${where}`,
  });
}
