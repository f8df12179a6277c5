/**
 * Stage 1, prepare: open the model, its tokenizer and the tasks a job names.
 */
import { JobContext, TaskSpec, stage } from '../jobs';
import { loadTask, LoadTaskOptions, requireCrossValidation, TaskData } from '../data/dataset';
import { CV_FOLDS } from '../probe/cv';
import { checkProbeCost } from '../probe/cost';
import { loadTokenizer, TextTokenizer } from '../data/tokenize';
import { ExtractorOptions } from '../extract/extractor';
import { graphVocabRows, ModelInfo, openModel, openOptionsOf } from '../model/modelInfo';
import { modelLowercase, modelMaxLength, modelPooling, modelPrompt, namedPrompt, promptPoolingWarning } from '../model/sentenceTransformers';
import { ModelSummary } from '../report';
import { blockOutputs } from '../onnx/edit';
import { ProbeSettings } from '../settings';
import { badValue } from '../errors';
import { PYTORCH_FILE, hasSafetensors } from '../model/weights';

export interface PreparedRun {
  info: ModelInfo;
  tokenizer: TextTokenizer;
  tasks: TaskData[];
}

export async function prepare(modelDir: string, specs: TaskSpec[], settings: ProbeSettings, ctx: JobContext): Promise<PreparedRun> {
  stage(ctx, 'load', `loading model ${modelDir}`);
  const info = openModel(modelDir, { ...openOptionsOf(settings), log: ctx.log });
  try {
    followModel(info.dir, settings, ctx);
    const tokenizer = await loadTokenizer(info.dir, { maxLength: settings.maxLength, embeddingRows: graphVocabRows(info.model), prompt: settings.prompt, lowercase: settings.lowercase });
    if (tokenizer.maxLength < settings.maxLength) {
      // The tokenizer cuts at the model's positions; the settings (and so every report) say what was used.
      ctx.log?.('warn', `{{maxLength}} ${settings.maxLength} is beyond the ${tokenizer.maxLength} positions of ${info.dir}; inputs are cut at ${tokenizer.maxLength}, and the report records ${tokenizer.maxLength}.`);
      settings.maxLength = tokenizer.maxLength;
    }
    requireRoomAfterPrompt(tokenizer, info.dir);
    const tasks: TaskData[] = [];
    for (const s of specs) {
      const task = await loadTask(s.name, s.path, loadOptions(settings, s));
      for (const w of task.warnings ?? []) ctx.log?.('warn', w);
      requireCrossValidation(task, CV_FOLDS);
      const slow = checkProbeCost(task, info.hiddenSize, info.numLayers + 1, settings.c !== undefined);
      if (slow) ctx.log?.('warn', slow);
      tasks.push(task);
    }
    return { info, tokenizer, tasks };
  } catch (e) {
    info.model.close();
    throw e;
  }
}

/** What the user left unset, a sentence-transformers model decides: recorded in `settings`, said in the log. */
function followModel(dir: string, settings: ProbeSettings, ctx: JobContext): void {
  const left = settings.followModel ?? [];
  delete settings.followModel;
  const p = left.includes('pooling') ? modelPooling(dir) : null;
  if (p) {
    settings.pooling = p.pooling;
    ctx.log?.(p.level, p.message);
  }
  const m = left.includes('maxLength') ? modelMaxLength(dir, settings.maxLength) : null;
  if (m) {
    settings.maxLength = m.maxLength;
    ctx.log?.(m.level, m.message);
  }
  if (settings.promptName !== undefined) {
    settings.prompt = namedPrompt(dir, settings.promptName);
    ctx.log?.('info', `{{prompt}} ${JSON.stringify(settings.prompt)}: the model's prompt ${JSON.stringify(settings.promptName)}, put before every text.`);
    delete settings.promptName;
  }
  const q = left.includes('prompt') ? modelPrompt(dir) : null;
  if (q) {
    if (q.prompt) settings.prompt = q.prompt;
    ctx.log?.(q.level, q.message);
  }
  if (!settings.prompt) delete settings.prompt;
  const leftOut = settings.prompt ? promptPoolingWarning(dir) : null;
  if (leftOut) ctx.log?.('warn', leftOut);
  // Part of how the model reads text, not a choice: no option overrides it.
  const lower = modelLowercase(dir);
  if (lower) {
    settings.lowercase = true;
    ctx.log?.('info', lower.message);
  } else delete settings.lowercase;
}

/** A prompt that fills the max length on its own would leave every text out: refused, with what to change. */
function requireRoomAfterPrompt(tokenizer: TextTokenizer, dir: string): void {
  const { prompt } = tokenizer.preparation;
  if (!prompt) return;
  const used = tokenizer.encode('').length;
  if (used < tokenizer.maxLength) return;
  const own = used - tokenizer.numSpecialTokens(false);
  throw badValue('prompt', prompt, `it takes ${own} or more tokens with ${dir}'s tokenizer, and with the special tokens that fills the max length of ${tokenizer.maxLength}: no text would get in. Shorten the prompt or raise {{maxLength}}.`);
}

/** How every job reads a task's rows: from the settings, and the task's columns. */
export function loadOptions(settings: ProbeSettings, spec: TaskSpec): LoadTaskOptions {
  return { seed: settings.seed, limitTrain: settings.limitTrain, limitTest: settings.limitTest, ...(spec.columns ? { columns: spec.columns } : {}), ...(spec.testSplit ? { testSplit: spec.testSplit } : {}) };
}

/** Runs `body` on a prepared run and closes the model afterwards, whatever happens. */
export async function withPrepared<T>(modelDir: string, specs: TaskSpec[], settings: ProbeSettings, ctx: JobContext, body: (run: PreparedRun) => Promise<T>): Promise<T> {
  const run = await prepare(modelDir, specs, settings, ctx);
  try {
    return await body(run);
  } finally {
    run.info.model.close();
  }
}

/** The extractor options every job derives from its settings (one pooling, the host's runtime choices). */
export function extractorOptions(settings: ProbeSettings): ExtractorOptions {
  return { poolings: [settings.pooling], provider: settings.provider, strictProvider: settings.strictProvider, batchSize: settings.batchSize, cacheDir: settings.cacheDir, threads: settings.threads };
}

/** The weight a job gave a task (1 when none). */
export function weightOf(specs: TaskSpec[], name: string): number {
  return specs.find((s) => s.name === name)?.weight ?? 1;
}

export function summarizeModel(info: ModelInfo): ModelSummary {
  const perBlock = [...blockOutputs(info.model, info.blocks).keys()];
  return {
    dir: info.dir,
    onnxFile: info.onnxFile,
    graphFrom: info.graphFrom,
    ...(info.graphFrom === 'safetensors' && !hasSafetensors(info.dir) ? { weights: PYTORCH_FILE } : {}),
    architecture: info.architecture,
    numLayers: info.numLayers,
    hiddenSize: info.hiddenSize,
    quantized: info.quantized,
    params: info.params,
    ...(info.blocks.headOutputs.length ? { taskHead: info.blocks.headOutputs } : {}),
    ...(perBlock.length ? { blockOutputs: perBlock } : {}),
  };
}
