/**
 * `probescale probe`: probe every hidden state of a model for every task, and report
 * per-layer accuracy, macro-F1, control accuracy and the redundancy signals.
 * Stages: prepare → extract → probe → report.
 */
import { JobContext, ProbeJob, stage } from '../jobs';
import { Extractor } from '../extract/extractor';
import { ProbeReport, reportHeader } from '../report';
import { extractAll, FeatureSet } from './extract';
import { extractorOptions, summarizeModel, withPrepared } from './prepare';
import { probeAllLayers, taskSplits } from './probe';
import { redundancySignals } from './signals';

export async function runProbeJob(job: ProbeJob, ctx: JobContext): Promise<ProbeReport> {
  const { settings } = job;
  const t0 = Date.now();
  return withPrepared(job.modelDir, job.tasks, settings, ctx, async ({ info, tokenizer, tasks }) => {
    stage(ctx, 'extract', `building the probe graph (${info.numLayers + 1} hidden states, ${settings.pooling} pooling)`);
    const extractor = await Extractor.create(info, tokenizer, { ...extractorOptions(settings), cosine: true }, ctx);
    let feats: FeatureSet;
    try {
      feats = await extractAll(extractor, tasks, ctx);
    } finally {
      await extractor.release();
    }
    const t1 = Date.now();
    stage(ctx, 'probe', `training probes: ${tasks.length} task(s) × ${info.numLayers + 1} layers`);
    const report: ProbeReport = {
      ...reportHeader('probe'),
      model: summarizeModel(info),
      settings: { ...settings, cacheDir: undefined },
      provider: extractor.provider,
      tasks: {},
      signals: redundancySignals(feats, settings.pooling),
      timings: { extractSeconds: 0, probeSeconds: 0 },
    };
    // The same protocol and code as optimize's per-layer table (src/core/pipeline/probe.ts).
    report.tasks = probeAllLayers(taskSplits(tasks, job.tasks, feats, settings, ctx), feats, settings, ctx).tasks;
    report.timings = { extractSeconds: (t1 - t0) / 1000, probeSeconds: (Date.now() - t1) / 1000 };
    // Dated when complete, not when the job began.
    report.createdAt = new Date().toISOString();
    return report;
  });
}
