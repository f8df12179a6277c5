/**
 * Progress events in words, the same in every host: the CLI's progress line and the
 * extension's notification and view.
 */
import { ProgressEvent } from './jobs';

/** One line for a progress event, and the share of its stage that is done (null when unknown). */
export function describeProgress(e: Exclude<ProgressEvent, { kind: 'log' }>): { message: string; fraction: number | null } {
  switch (e.kind) {
    case 'stage':
      return { message: e.message, fraction: null };
    case 'extract':
      return { message: `extracting features of ${e.label}: ${e.done}/${e.total}`, fraction: e.total ? e.done / e.total : null };
    case 'probe':
      return { message: `training probes for ${e.task}: layer ${e.done}/${e.total}`, fraction: e.total ? e.done / e.total : null };
    case 'candidate':
      // `done` counts the subsets measured before this one; local search makes `total` grow.
      return { message: `measuring candidate ${e.done + 1} of ${e.total}: blocks ${e.subset}`, fraction: e.total ? Math.min(1, e.done / e.total) : null };
    default: {
      const never: never = e;
      throw new Error(`unknown progress event ${JSON.stringify(never)}`);
    }
  }
}

/** The status-bar text of a running job: `$(sync~spin) ProbeScale optimize: measuring candidate 3 of 19 · 10 %`, the message cut to fit. */
export function statusBarText(job: string, message: string, fraction: number | null): string {
  const msg = message.length > 60 ? `${message.slice(0, 59)}…` : message;
  const pct = fraction === null ? '' : ` · ${Math.round(100 * fraction)} %`;
  return `$(sync~spin) ProbeScale ${job}: ${msg}${pct}`;
}
