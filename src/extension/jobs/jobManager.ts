/**
 * Runs core jobs for the extension: one at a time, in the worker thread (or, for a short stage
 * such as the budget picker's token count, in the extension host), under a cancellable progress
 * notification. The notification's Cancel, the view's Cancel and the
 * `probescale.cancelJob` command all abort the same AbortController; the runner forwards that
 * to the worker, which stops between batches.
 */
import * as vscode from 'vscode';
import { ProbeScaleError, isCancelled, wordMessage } from '../../core/errors';
import { Job, JobContext, JobResult, JobRunner, LogLevel, ProgressEvent } from '../../core/jobs';
import { describeOverall, describeProgress, JobProgress } from '../../core/progress';
import { JobKind, ToWebview, assertNever } from '../../shared/protocol';
import { SHOW_LOG, errorMessage } from '../log';
import { extensionWords } from '../paramWords';
import { JobWarnings } from './jobWarnings';
import { requireTrust } from '../trust';

export type JobEvent = Extract<ToWebview, { type: 'job/progress' | 'job/done' }>;

export type JobOutcome<T> = { status: 'done'; result: T } | { status: 'cancelled' };

/** Thrown when a job is asked for while another runs (the worker runs one job at a time). */
export class JobBusyError extends ProbeScaleError {
  constructor(running: JobKind) {
    super('job-busy', `${/^[aeiou]/.test(running) ? 'an' : 'a'} ${running} job is already running; wait for it or cancel it (ProbeScale: Cancel Running Job).`);
  }
}

/** Throws JobBusyError while a job runs: commands call it before their pickers, not after them. */
export function requireIdle(jobs: Pick<JobManager, 'running'>): void {
  if (jobs.running) throw new JobBusyError(jobs.running);
}

const RUNNING_CONTEXT_KEY = 'probescale.jobRunning';
const PROGRESS_INTERVAL_MS = 100;

interface Current {
  id: string;
  kind: JobKind;
  controller: AbortController;
  /** Date.now() when it started. */
  started: number;
}

/** What the overall progress is weighed by. */
interface JobShape {
  tasks: number;
  compensate: boolean;
}

export class JobManager implements vscode.Disposable {
  private runner: JobRunner | undefined;
  private current: Current | undefined;
  private lastProgress: Extract<JobEvent, { type: 'job/progress' }> | undefined;
  private nextId = 1;
  private readonly events = new vscode.EventEmitter<JobEvent>();
  /** Progress and completion of every job, for the view. */
  readonly onEvent = this.events.event;

  constructor(
    private readonly createRunner: () => JobRunner,
    private readonly log: vscode.LogOutputChannel,
    private readonly isTrusted: () => boolean = () => vscode.workspace.isTrusted,
  ) {}

  get running(): JobKind | undefined {
    return this.current?.kind;
  }

  /** The latest progress of the running job, so a view that opens mid-job can show it. */
  get progress(): Extract<JobEvent, { type: 'job/progress' }> | undefined {
    return this.current ? this.lastProgress : undefined;
  }

  /** Cancels the running job (or only the one with `jobId`); false when there was none. */
  cancel(jobId?: string): boolean {
    if (!this.current || (jobId !== undefined && jobId !== this.current.id)) return false;
    this.log.info(`cancelling ${this.current.kind} job ${this.current.id}`);
    this.current.controller.abort();
    return true;
  }

  /**
   * Runs `job` in the worker with a progress notification titled `title`. Resolves with the
   * result, or with `cancelled`; rejects with the job's error (the caller reports it).
   */
  async run<J extends Job>(job: J, title: string): Promise<JobOutcome<JobResult<J>>> {
    const compensate = job.type === 'optimize' && (job.compensate ?? 'none') !== 'none';
    const tasks = 'tasks' in job ? job.tasks.length : 1;
    // The budget picker's token ids (thousands of numbers) are logged as their count.
    const what = JSON.stringify(job, (k, v: unknown) => (k === 'countedTokens' ? `${(v as { ids: unknown[] }).ids.length} token ids counted before the job` : v));
    return this.track(job.type, title, what, { tasks, compensate }, (ctx) => this.ensureRunner().run(job, ctx));
  }

  /**
   * Runs `work` in the extension host as a job of `kind` (a stage the user waits on before a
   * worker job, such as counting the training texts' tokens for the budget picker): the same
   * door, notification, status bar, view progress and Cancel (notification, view and
   * `probescale.cancelJob`) as a worker job. `work` honours `ctx.signal`; `what` goes to the log.
   */
  async runHere<T>(kind: JobKind, title: string, what: string, work: (ctx: JobContext) => Promise<T>): Promise<JobOutcome<T>> {
    return this.track(kind, title, what, { tasks: 1, compensate: false }, work);
  }

  private async track<T>(kind: JobKind, title: string, what: string, shape: JobShape, work: (ctx: JobContext) => Promise<T>): Promise<JobOutcome<T>> {
    // The one door every job passes: in restricted mode no worker starts and no model loads.
    requireTrust(this.isTrusted(), `the ${kind} job`);
    if (this.current) throw new JobBusyError(this.current.kind);
    const current: Current = { id: `job-${this.nextId++}`, kind, controller: new AbortController(), started: Date.now() };
    this.current = current;
    void vscode.commands.executeCommand('setContext', RUNNING_CONTEXT_KEY, true);
    this.log.info(`${kind} job ${current.id} started: ${what}`);
    const warnings = new JobWarnings(kind, (text) => this.notify(text));
    const log = (level: LogLevel, template: string) => this.workerLog(level, wordMessage(template, extensionWords), warnings);
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
        const sub = token.onCancellationRequested(() => current.controller.abort());
        try {
          const onProgress = this.progressHandler(current, shape, progress, log);
          return await this.settle(current, () => work({ signal: current.controller.signal, onProgress, log }));
        } finally {
          sub.dispose();
        }
      });
    } finally {
      warnings.finish();
      this.current = undefined;
      this.lastProgress = undefined;
      void vscode.commands.executeCommand('setContext', RUNNING_CONTEXT_KEY, false);
    }
  }

  /** Progress to the notification (a new message at most every 100 ms, and every stage's end) and to the view; log events to the log. */
  private progressHandler(current: Current, shape: JobShape, progress: vscode.Progress<{ message?: string }>, log: (level: LogLevel, template: string) => void): (e: ProgressEvent) => void {
    const { id, kind } = current;
    const tracker = new JobProgress(kind, shape.tasks, current.started, { compensate: shape.compensate });
    let lastAt = 0;
    let lastMessage = '';
    return (e) => {
      if (e.kind === 'log') return log(e.level, e.message);
      const { message, fraction: stageFraction } = describeProgress(e);
      const overall = tracker.update(e);
      const now = Date.now();
      const final = stageFraction === 1 || e.kind === 'stage';
      if (!final && now - lastAt < PROGRESS_INTERVAL_MS) return;
      lastAt = now;
      if (message !== lastMessage) progress.report({ message: `${message} (${Math.round(100 * overall.fraction)} % overall)` });
      lastMessage = message;
      this.lastProgress = { type: 'job/progress', jobId: id, job: kind, message, fraction: overall.fraction, overall: describeOverall(overall) };
      this.events.fire(this.lastProgress);
    };
  }

  /** Runs the job and tells the log and the view how it ended: done, cancelled (not an error), or failed (rethrown for the caller to report). */
  private async settle<T>(current: Current, run: () => Promise<T>): Promise<JobOutcome<T>> {
    const { id, kind } = current;
    try {
      this.events.fire({ type: 'job/progress', jobId: id, job: kind, message: 'starting…', fraction: null, overall: 'starting' });
      const result = await run();
      const secs = ((Date.now() - current.started) / 1000).toFixed(1);
      this.log.info(`${kind} job ${id} finished in ${secs} s`);
      this.events.fire({ type: 'job/done', jobId: id, job: kind, outcome: 'done', message: `${kind} finished in ${secs} s` });
      return { status: 'done', result };
    } catch (e) {
      if (isCancelled(e)) {
        this.log.info(`${kind} job ${id} cancelled`);
        this.events.fire({ type: 'job/done', jobId: id, job: kind, outcome: 'cancelled', message: `${kind} cancelled` });
        return { status: 'cancelled' };
      }
      this.events.fire({ type: 'job/done', jobId: id, job: kind, outcome: 'failed', message: errorMessage(e) });
      throw e;
    }
  }

  private workerLog(level: LogLevel, message: string, warnings: JobWarnings): void {
    switch (level) {
      case 'info':
        this.log.info(message);
        break;
      case 'warn':
        this.log.warn(message);
        warnings.add(message);
        break;
      case 'error':
        this.log.error(message);
        break;
      default:
        assertNever(level, 'log level');
    }
  }

  private notify(text: string): void {
    void vscode.window.showWarningMessage(text, SHOW_LOG).then((choice) => {
      if (choice === SHOW_LOG) this.log.show(true);
    });
  }

  private ensureRunner(): JobRunner {
    this.runner ??= this.createRunner();
    return this.runner;
  }

  dispose(): void {
    this.current?.controller.abort();
    this.events.dispose();
    const r = this.runner;
    this.runner = undefined;
    void r?.dispose();
  }
}
