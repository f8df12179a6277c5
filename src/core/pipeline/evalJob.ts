/**
 * `probescale eval`: on a committed folder, measure its task classifiers as shipped on the test
 * split; on a plain model folder, probe its final hidden state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, badValue } from '../errors';
import { CommittedTask, committedPreprocessing, committedTasksOf, Preprocessing } from '../commit/committed';
import { checkCommittedFiles, describeIntegrity } from '../commit/checksums';
import { EvalJob, JobContext, stage } from '../jobs';
import { ProbeSettings } from '../settings';
import { loadTask } from '../data/dataset';
import { Extractor } from '../extract/extractor';
import { majorityBaseline } from '../probe/metrics';
import { IntegrityReport, ProbeReport, reportHeader } from '../report';
import { scoreOf } from './measure';
import { extractorOptions, loadOptions, summarizeModel, withPrepared } from './prepare';
import { layerRow, taskReport, taskSplits } from './probe';
import { classify } from './verify';
import { openModel, readConfig } from '../model/modelInfo';
import { classifierGraphName } from '../commit/outputSize';

export async function runEvalJob(job: EvalJob, ctx: JobContext): Promise<ProbeReport> {
  const committed = committedTasksOf(readConfig(path.resolve(job.modelDir)));
  return committed ? evalCommitted(job, committed, ctx) : evalPlain(job, ctx);
}

/** What eval was given that committed classifiers do not use (they pool, cut and prompt as committed), in words; null: nothing. */
function ignoredPreprocessing(used: Preprocessing, given: ProbeSettings): string | null {
  const prompt = given.prompt ?? '';
  const ignored = [
    used.pooling !== given.pooling ? `{{pooling}} ${given.pooling}` : null,
    used.maxLength !== given.maxLength ? `{{maxLength}} ${given.maxLength}` : null,
    prompt !== (used.prompt ?? '') ? `{{prompt}} ${JSON.stringify(prompt)}` : null,
    given.promptName !== undefined ? `{{promptName}} ${given.promptName}` : null,
  ].filter((x) => x !== null);
  if (!ignored.length) return null;
  const does = [`pool ${used.pooling}`, `cut inputs at ${used.maxLength} tokens`];
  if (used.prompt || prompt || given.promptName !== undefined) does.push(used.prompt ? `put ${JSON.stringify(used.prompt)} before each text` : 'put no prompt before the texts');
  return `the committed classifiers ${inWords(does)} (config.json); the ${inWords(ignored)} given do not apply to them.`;
}

/** 'a', 'a and b', 'a, b and c'. */
function inWords(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

async function evalCommitted(job: EvalJob, committed: CommittedTask[], ctx: JobContext): Promise<ProbeReport> {
  const dir = path.resolve(job.modelDir);
  const integrity = await checkIntegrity(dir, ctx);
  // The classifiers pool and cut as committed, whatever was asked: the report records what they used.
  const used = committedPreprocessing(readConfig(dir), job.settings);
  const notUsed = ignoredPreprocessing(used, job.settings);
  if (notUsed) ctx.log?.('info', notUsed);
  const settings = { ...job.settings, ...used };
  if (!used.prompt) delete settings.prompt;
  // The committed pooling, length and prompt are the ones used; a model's own settings have no say here.
  delete settings.followModel;
  delete settings.promptName;
  // The classifiers are ONNX graphs, whatever weights the folder also has: --from safetensors would only mislabel the report.
  if (settings.from === 'safetensors') ctx.log?.('info', "the committed classifiers are ONNX graphs (classifiers/<task>/onnx/); {{from}} safetensors does not apply to them, so they are scored as committed.");
  delete settings.from;
  const info = openModel(dir, { onnx: settings.onnx, quantized: settings.quantized, dtype: settings.dtype, log: ctx.log });
  info.model.close();
  // The classifiers' graph of the same variant as the encoder's chosen one (model.onnx, or model_quantized.onnx for --dtype q8;
  // a T5 folder's encoder_model.onnx too).
  const graph = classifierGraphName(path.basename(info.onnxFile));
  const report: ProbeReport = { ...reportHeader('eval'), model: summarizeModel(info), settings: { ...settings, cacheDir: undefined }, provider: settings.provider, tasks: {}, timings: { extractSeconds: 0, probeSeconds: 0 }, integrity };
  const t0 = Date.now();
  for (const spec of job.tasks) {
    const c = committed.find((t) => t.name === spec.name);
    if (!c) throw badValue('task', spec.name, `${dir} has no classifier for it; it was committed with ${committed.map((t) => t.name).join(', ')}.`);
    const cdir = path.join(dir, c.classifier);
    if (!fs.existsSync(path.join(cdir, 'onnx', graph))) throw new BadInputError(`${cdir}/onnx/${graph} is missing; ${graph === 'model.onnx' ? 'the committed folder is incomplete' : `its classifiers have no ${graph} (commit writes one for compensated models of a source with a quantized variant); evaluate without --dtype, --quantized or --onnx`}.`);
    const task = await loadTask(spec.name, spec.path, loadOptions(settings, spec));
    for (const w of task.warnings ?? []) ctx.log?.('warn', w);
    if (task.labels.join('\u0000') !== c.labels.join('\u0000')) throw badValue('task', spec.name, `its labels (${task.labels.join(', ')}) differ from the classifier's (${c.labels.join(', ')}).`);
    stage(ctx, 'eval', `classifying ${task.test.length} test examples of ${spec.name}`);
    // A quantized graph scales each batch by its own range: one text per run, as verify measures it.
    const pred = await classify(cdir, task, info.quantized ? { ...settings, batchSize: 1 } : settings, undefined, ctx, graph);
    const final = scoreOf(task.testY, pred, task.labels.length);
    report.tasks[spec.name] = taskReport(task, spec.weight, settings.pooling, { majority: majorityBaseline(task.trainY, task.testY, task.labels.length), layers: [], bestLayer: info.numLayers, final });
  }
  report.timings.extractSeconds = (Date.now() - t0) / 1000;
  return report;
}

/**
 * First: the files as they are against the checksums recorded at commit. A difference is said,
 * not refused (a user may have changed a file on purpose).
 */
async function checkIntegrity(dir: string, ctx: JobContext): Promise<IntegrityReport> {
  stage(ctx, 'eval', 'checking the files against the checksums recorded at commit');
  const integrity = await checkCommittedFiles(dir, ctx.signal);
  const said = describeIntegrity(dir, integrity);
  ctx.log?.(said.level, said.message);
  return integrity;
}

async function evalPlain(job: EvalJob, ctx: JobContext): Promise<ProbeReport> {
  const { settings } = job;
  // A folder ProbeScale wrote (`probescale prune`: a probescale section in config.json) is checked; a downloaded one has nothing to check against.
  const dir = path.resolve(job.modelDir);
  const integrity = 'probescale' in readConfig(dir) ? await checkIntegrity(dir, ctx) : undefined;
  return withPrepared(job.modelDir, job.tasks, settings, ctx, async ({ info, tokenizer, tasks }) => {
    const all = Array.from({ length: info.numLayers }, (_, i) => i);
    const ex = await Extractor.create(info, tokenizer, { ...extractorOptions(settings), kept: all }, ctx);
    const report: ProbeReport = { ...reportHeader('eval'), model: summarizeModel(info), settings: { ...settings, cacheDir: undefined }, provider: ex.provider, tasks: {}, timings: { extractSeconds: 0, probeSeconds: 0 }, ...(integrity ? { integrity } : {}) };
    try {
      for (const t of tasks) {
        const train = await ex.extract(t.train, `${t.name}/train`, ctx);
        const test = await ex.extract(t.test, `${t.name}/test`, ctx);
        // The probe protocol of probe and optimize (one C per task, src/core/pipeline/probe.ts), on the final layer.
        const feats = { train, test };
        const [split] = taskSplits([t], job.tasks, new Map([[t.name, feats]]), settings, ctx);
        const row = { ...layerRow(split, feats, 0, settings, ctx.signal), layer: info.numLayers };
        const majority = majorityBaseline(t.trainY, t.testY, t.labels.length);
        report.tasks[t.name] = taskReport(t, split.weight, settings.pooling, { majority, layers: [row], bestLayer: info.numLayers, final: { accuracy: row.accuracy, macroF1: row.macroF1 } });
      }
    } finally {
      await ex.release();
    }
    return report;
  });
}
