/**
 * One entry point for every job type, called by the worker thread (and by in-process hosts).
 */
import { Job, JobContext } from '../jobs';
import { runProbeJob } from './probeJob';
import { runPruneJob } from './pruneJob';
import { runEvalJob } from './evalJob';
import { runOptimizeJob } from './optimizeJob';

export async function runJob(job: Job, ctx: JobContext): Promise<unknown> {
  switch (job.type) {
    case 'probe':
      return runProbeJob(job.modelDir, job.tasks, job.settings, ctx);
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
