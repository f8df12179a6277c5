/**
 * `probescale eval`: on a committed folder, measure its task classifiers as shipped on the test
 * split; on a plain model folder, probe its final hidden state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError } from '../errors';
import { EvalJob, JobContext, stage } from '../jobs';
import { loadTask } from '../data/dataset';
import { Extractor } from '../extract/extractor';
import { majorityBaseline } from '../probe/metrics';
import { runProbe } from '../probe/probe';
import { scoreOf } from './measure';
import { layerScore, prepare, summarizeModel } from './probeJob';
import { ProbeReport, reportHeader } from './report';
import { classify } from './verify';
import { openModel, readConfig } from '../model/modelInfo';

interface CommittedTask {
  name: string;
  classifier: string;
  labels: string[];
}

export async function runEvalJob(job: EvalJob, ctx: JobContext): Promise<ProbeReport> {
  const config = readConfig(path.resolve(job.modelDir)) as { probescale?: { tasks?: CommittedTask[] } };
  const committed = config.probescale?.tasks;
  return committed ? evalCommitted(job, committed, ctx) : evalPlain(job, ctx);
}

async function evalCommitted(job: EvalJob, committed: CommittedTask[], ctx: JobContext): Promise<ProbeReport> {
  const dir = path.resolve(job.modelDir);
  const info = openModel(dir, { onnx: job.settings.onnx, quantized: job.settings.quantized, dtype: job.settings.dtype });
  info.model.close();
  const report: ProbeReport = { ...reportHeader('eval'), model: summarizeModel(info), settings: { ...job.settings, cacheDir: undefined }, provider: job.settings.provider, tasks: {}, timings: { extractSeconds: 0, probeSeconds: 0 } };
  const t0 = Date.now();
  for (const spec of job.tasks) {
    const c = committed.find((t) => t.name === spec.name);
    if (!c) throw new BadInputError(`--task ${spec.name}: ${dir} has no classifier for it; it was committed with ${committed.map((t) => t.name).join(', ')}.`);
    const cdir = path.join(dir, c.classifier);
    if (!fs.existsSync(path.join(cdir, 'onnx', 'model.onnx'))) throw new BadInputError(`${cdir}/onnx/model.onnx is missing; the committed folder is incomplete.`);
    const task = await loadTask(spec.name, spec.path, { seed: job.settings.seed, limitTrain: job.settings.limitTrain, limitTest: job.settings.limitTest });
    if (task.labels.join('\u0000') !== c.labels.join('\u0000')) throw new BadInputError(`--task ${spec.name}: its labels (${task.labels.join(', ')}) differ from the classifier's (${c.labels.join(', ')}).`);
    stage(ctx, 'eval', `classifying ${task.test.length} test examples of ${spec.name}`);
    const pred = await classify(cdir, task, job.settings, undefined, ctx);
    const final = scoreOf(task.testY, pred, task.labels.length);
    report.tasks[spec.name] = { labels: task.labels, majority: majorityBaseline(task.trainY, task.testY, task.labels.length), pooling: job.settings.pooling, weight: spec.weight, source: task.source, nTrain: task.train.length, nTest: task.test.length, layers: [], bestLayer: info.numLayers, final };
  }
  report.timings.extractSeconds = (Date.now() - t0) / 1000;
  return report;
}

async function evalPlain(job: EvalJob, ctx: JobContext): Promise<ProbeReport> {
  const { settings } = job;
  const run = await prepare(job.modelDir, job.tasks, settings, ctx);
  const { info } = run;
  const all = Array.from({ length: info.numLayers }, (_, i) => i);
  const ex = await Extractor.create(info, run.tokenizer, { poolings: [settings.pooling], kept: all, provider: settings.provider, strictProvider: settings.strictProvider, batchSize: settings.batchSize, cacheDir: settings.cacheDir, threads: settings.threads }, ctx);
  const report: ProbeReport = { ...reportHeader('eval'), model: summarizeModel(info), settings: { ...settings, cacheDir: undefined }, provider: ex.provider, tasks: {}, timings: { extractSeconds: 0, probeSeconds: 0 } };
  try {
    for (const t of run.tasks) {
      const train = await ex.extract(t.train, `${t.name}/train`, ctx);
      const test = await ex.extract(t.test, `${t.name}/test`, ctx);
      const r = runProbe({ trainX: train.pooled[settings.pooling]![0], trainY: t.trainY, testX: test.pooled[settings.pooling]![0], testY: t.testY, dim: train.dim, numClasses: t.labels.length }, { c: settings.c, seed: settings.seed, signal: ctx.signal });
      const layer = layerScore(info.numLayers, r);
      report.tasks[t.name] = { labels: t.labels, majority: r.majority, pooling: settings.pooling, weight: job.tasks.find((s) => s.name === t.name)!.weight, source: t.source, nTrain: t.train.length, nTest: t.test.length, layers: [layer], bestLayer: info.numLayers, final: { accuracy: r.accuracy, macroF1: r.macroF1 } };
    }
  } finally {
    await ex.release();
    info.model.close();
  }
  return report;
}
