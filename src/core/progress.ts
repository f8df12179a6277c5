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
    case 'cSearch':
      return { message: `choosing C for ${e.task}: fit ${e.done} of ${e.total}`, fraction: e.total ? e.done / e.total : null };
    case 'candidate':
      // `done` counts the subsets measured before this one; local search makes `total` grow.
      return { message: `measuring candidate ${e.done + 1} of ${e.total}: blocks ${/^(\+|$)/.test(e.subset) ? `(none)${e.subset}` : e.subset}`, fraction: e.total ? Math.min(1, e.done / e.total) : null };
    case 'count':
      return { message: `counting the tokens of ${e.label}: ${e.done.toLocaleString('en-US')} of ${e.total.toLocaleString('en-US')} rows`, fraction: e.total ? e.done / e.total : null };
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

/** Where a running job stands as a whole: what the side view and the status bar show. */
export interface OverallProgress {
  /** The stage in words ("measuring candidates") and its place among the job's stages. */
  stage: string;
  step: number;
  steps: number;
  /** Share of the whole job done, 0–1 (stages weighted by their measured share of the time). */
  fraction: number;
  /** Estimated seconds left; null until enough of the job is done to say. */
  etaSeconds: number | null;
}

type JobKind = 'probe' | 'prune' | 'eval' | 'optimize' | 'count';

/** The stages the tracker counts for a job, in order (scripts/stageShares.ts times these). */
export function stagesOf(kind: JobKind): string[] {
  return STAGES[kind].map((s) => s.stage);
}

export interface StageShare {
  stage: string;
  label: string;
  /** Share of the job's wall time. */
  share: number;
}

/**
 * Each stage's share of the job's wall time, measured on roberta-mini with spam + sentlen,
 * 1000/500 rows (the demo's job) by scripts/stageShares.ts: `node out/scripts/stageShares.js
 * optimize models/probescale-roberta-mini --task spam=data/tasks/spam --task
 * sentlen=data/tasks/sentlen` gave load 0.5 s, extract 231 s, probe 195 s, candidates 1395 s,
 * commit 0.4 s, verify 69 s (1891 s on the shared 2-core machine at load 15–20; the shares, not
 * the seconds, are what is used). A probe job runs the same load, extract and probe stages (one
 * protocol, src/core/pipeline/probe.ts), so its shares are those three, renormalised. The shares
 * shift with model size and task count, so the time left is an estimate and is said to be one.
 * Compensation was not measured: with --compensate the bar waits at the end of the candidates
 * while bridges and widths are fitted. Eval and prune are not timed: loading is small beside
 * scoring each task (eval) or writing the folder (prune).
 */
export const STAGES: Record<JobKind, StageShare[]> = {
  probe: [
    { stage: 'load', label: 'loading the model', share: 0.001 },
    { stage: 'extract', label: 'extracting features', share: 0.54 },
    { stage: 'probe', label: 'training probes', share: 0.46 },
  ],
  optimize: [
    { stage: 'load', label: 'loading the model', share: 0.001 },
    { stage: 'extract', label: 'extracting features', share: 0.122 },
    { stage: 'probe', label: 'probing every layer', share: 0.103 },
    { stage: 'candidates', label: 'measuring candidates', share: 0.738 },
    { stage: 'compensate', label: 'fitting compensation', share: 0 },
    { stage: 'commit', label: 'writing the model folder', share: 0.001 },
    { stage: 'verify', label: 'verifying the written folder', share: 0.036 },
  ],
  // A committed folder's classifiers (stage eval) or a plain folder's final layer (stage probe), task by task.
  eval: [
    { stage: 'load', label: 'loading the model', share: 0.05 },
    { stage: 'eval', label: 'scoring each task', share: 0.95 },
  ],
  prune: [
    { stage: 'load', label: 'loading the model', share: 0.1 },
    { stage: 'prune', label: 'writing the pruned folder', share: 0.9 },
  ],
  // The budget picker's count of the training texts' tokens (probescale.vocabTrim): not timed, the rows are the measure.
  count: [
    { stage: 'load', label: 'loading the model and tasks', share: 0.1 },
    { stage: 'count', label: 'counting the tokens of the training texts', share: 0.9 },
  ],
};

/** Below this share done, or this many seconds in, a time-left estimate would be noise. */
const ETA_MIN_FRACTION = 0.03;
const ETA_MIN_SECONDS = 5;

/**
 * Turns a job's stage-by-stage events into one overall share and a time-left estimate. Stages
 * only move forward: a stage event for an earlier or unlisted stage (tokenising inside the
 * candidates, say) belongs to the current one. Within a stage, the share done comes from the
 * events that count it: extractions (two per task), probes (one run per task) and candidates.
 */
export class JobProgress {
  private readonly stages: StageShare[];
  private index = -1;
  private inner = 0;
  private readonly seen = new Set<string>();
  private repeats = 0;
  private readonly kind: JobKind;

  constructor(
    kind: JobKind,
    private readonly tasks: number,
    private readonly started = Date.now(),
    opts: { compensate?: boolean } = {},
  ) {
    this.kind = kind;
    this.stages = STAGES[kind].filter((s) => opts.compensate || s.stage !== 'compensate');
  }

  update(e: Exclude<ProgressEvent, { kind: 'log' }>, now = Date.now()): OverallProgress {
    if (e.kind === 'stage') this.enter(e.stage);
    else this.inner = Math.max(this.inner, this.within(e));
    return this.overall(now);
  }

  private enter(name: string): void {
    const stage = this.kind === 'eval' && name === 'probe' ? 'eval' : name;
    const at = this.stages.findIndex((s, i) => s.stage === stage && i > this.index);
    if (at < 0) {
      if (this.stages[this.index]?.stage === stage) this.repeats++;
      return;
    }
    this.index = at;
    this.inner = 0;
    this.repeats = 0;
    this.seen.clear();
  }

  private within(e: Exclude<ProgressEvent, { kind: 'log' | 'stage' }>): number {
    const part = e.total ? Math.min(1, e.done / e.total) : 0;
    const stage = this.stages[this.index]?.stage;
    if (e.kind === 'candidate') return stage === 'candidates' ? part : this.inner;
    if (e.kind === 'count') return stage === 'count' ? part : this.inner;
    // The C search precedes the layer probes of the same stage; its own line says how far it is.
    if (e.kind === 'cSearch') return this.inner;
    const key = e.kind === 'extract' ? e.label : e.task;
    if (stage === 'eval') return Math.min(1, (this.repeats + part) / Math.max(1, this.tasks));
    if ((e.kind === 'extract' && stage !== 'extract') || (e.kind === 'probe' && stage !== 'probe')) return this.inner;
    this.seen.add(key);
    const parts = e.kind === 'extract' ? 2 * this.tasks : this.tasks;
    return Math.min(1, (this.seen.size - 1 + part) / Math.max(1, parts));
  }

  private overall(now: number): OverallProgress {
    const i = Math.max(0, this.index);
    const total = this.stages.reduce((a, s) => a + s.share, 0);
    const before = this.stages.slice(0, i).reduce((a, s) => a + s.share, 0);
    const fraction = this.index < 0 ? 0 : Math.min(1, (before + this.stages[i].share * this.inner) / total);
    const elapsed = (now - this.started) / 1000;
    const etaSeconds = fraction >= ETA_MIN_FRACTION && elapsed >= ETA_MIN_SECONDS ? (elapsed * (1 - fraction)) / fraction : null;
    return { stage: this.stages[i].label, step: i + 1, steps: this.stages.length, fraction, etaSeconds };
  }
}

/** `about 40 s left`, `about 3 min left`, `about 1 h 5 min left`. */
export function describeTimeLeft(seconds: number): string {
  if (seconds < 60) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} s left`;
  const min = Math.round(seconds / 60);
  return min < 60 ? `about ${min} min left` : `about ${Math.floor(min / 60)} h ${min % 60} min left`;
}

/** One line for the whole job: `stage 4 of 6, measuring candidates · 42 % overall · about 3 min left`. */
export function describeOverall(o: OverallProgress): string {
  const eta = o.etaSeconds === null ? '' : ` · ${describeTimeLeft(o.etaSeconds)} (estimated)`;
  return `stage ${o.step} of ${o.steps}, ${o.stage} · ${Math.round(100 * o.fraction)} % overall${eta}`;
}
