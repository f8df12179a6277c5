/**
 * One entry point for every job type, called by the worker thread (and by in-process hosts).
 */
import { AnyJobResult, Job, JobContext, JobResult, resultOf } from '../jobs';
import { BadInputError, CancelledError } from '../errors';
import { folderChange, snapshotFolder } from '../util/folderSnapshot';
import { FitPool, fitThreads } from '../probe/fitPool';
import { dropSpareMemory, gemmSetting } from '../probe/gemm';
import { runProbeJob } from './probeJob';
import { runPruneJob } from './pruneJob';
import { runEvalJob } from './evalJob';
import { runOptimizeJob } from './optimizeJob';

/** Runs a job with its own probe fit threads (unless `ctx.fits` brings some), stopped when the job ends, however it ends. */
export async function runAnyJob(job: Job, ctx: JobContext): Promise<AnyJobResult> {
  gemmSetting(); // a bad PROBESCALE_GEMM is refused now, not at the first fit after extraction
  try {
    if (ctx.fits) return await runWatchingFolder(job, ctx);
    const fits = new FitPool(fitThreads());
    try {
      return await runWatchingFolder(job, { ...ctx, fits });
    } finally {
      await fits.close();
    }
  } finally {
    dropSpareMemory(); // the thread's spare fit memory (gemm.ts): the extension's job worker outlives the job
  }
}

async function runWatchingFolder(job: Job, ctx: JobContext): Promise<AnyJobResult> {
  const before = snapshotFolder(job.modelDir);
  try {
    return await runByType(job, ctx);
  } catch (e) {
    const change = e instanceof CancelledError ? undefined : folderChange(before);
    if (change === undefined) throw e;
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new BadInputError(`the model folder ${job.modelDir} ${change} while the job ran, so the job stopped (${why}). Leave the folder as it is until a job on it ends, then run it again.`);
  }
}

function runByType(job: Job, ctx: JobContext): Promise<AnyJobResult> {
  switch (job.type) {
    case 'probe':
      return runProbeJob(job, ctx);
    case 'prune':
      return runPruneJob(job, ctx);
    case 'eval':
      return runEvalJob(job, ctx);
    case 'optimize':
      return runOptimizeJob(job, ctx);
    default: {
      const never: never = job;
      throw new Error(`unknown job ${JSON.stringify(never)}`);
    }
  }
}

export async function runJob<J extends Job>(job: J, ctx: JobContext): Promise<JobResult<J>> {
  return resultOf(job, await runAnyJob(job, ctx));
}
