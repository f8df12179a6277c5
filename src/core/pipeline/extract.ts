/**
 * Stage 2, extract: every hidden state of the full model, pooled, for every task's rows.
 */
import { JobContext } from '../jobs';
import { throwIfAborted } from '../errors';
import { TaskData } from '../data/dataset';
import { Extractor, LayerFeatures } from '../extract/extractor';
import { ProbeSettings } from '../settings';
import { extractorOptions, PreparedRun } from './prepare';
import { VocabPlan } from './vocabTrim';

export interface TaskFeatures {
  train: LayerFeatures;
  test: LayerFeatures;
}

export type FeatureSet = Map<string, TaskFeatures>;

export async function extractAll(extractor: Extractor, tasks: TaskData[], ctx: JobContext): Promise<FeatureSet> {
  const out: FeatureSet = new Map();
  for (const t of tasks) {
    throwIfAborted(ctx.signal);
    const train = await extractor.extract(t.train, `${t.name}/train`, ctx);
    const test = await extractor.extract(t.test, `${t.name}/test`, ctx);
    out.set(t.name, { train, test });
  }
  return out;
}

export interface FullFeatures {
  /** What the model sees (with --vocab-trim, unseen ids read a kept token's row). */
  feats: FeatureSet;
  /** The source model as it is (untrimmed vocabulary): the reference and the per-layer report. */
  plain: FeatureSet;
  provider: string;
}

/** Features of every hidden state of the full model, with block-to-block cosines for the redundancy signals. */
export async function extractFull(run: PreparedRun, settings: ProbeSettings, vocab: VocabPlan | null, ctx: JobContext): Promise<FullFeatures> {
  const { info, tokenizer, tasks } = run;
  const full = await Extractor.create(info, tokenizer, { ...extractorOptions(settings), cosine: true, idRemap: vocab?.remap }, ctx);
  let feats: FeatureSet;
  try {
    feats = await extractAll(full, tasks, ctx);
  } finally {
    await full.release();
  }
  const plain = vocab ? await untrimmedTest(run, settings, feats, ctx) : feats;
  return { feats, plain, provider: full.provider };
}

/** The test rows again with the source vocabulary (training rows are all in the trimmed set). */
async function untrimmedTest(run: PreparedRun, settings: ProbeSettings, feats: FeatureSet, ctx: JobContext): Promise<FeatureSet> {
  const untrimmed = await Extractor.create(run.info, run.tokenizer, { ...extractorOptions(settings), cosine: true }, ctx);
  const plain: FeatureSet = new Map();
  try {
    for (const t of run.tasks) plain.set(t.name, { train: feats.get(t.name)!.train, test: await untrimmed.extract(t.test, `${t.name}/test (untrimmed vocabulary)`, ctx) });
  } finally {
    await untrimmed.release();
  }
  return plain;
}
