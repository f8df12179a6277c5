/**
 * JobRunner over one long-lived worker thread. Cancellation asks the worker to stop between
 * batches. If it has not stopped after a grace period the caller is released at once and the
 * worker finishes its current batch in the background; the thread is never terminated while
 * a job runs, because terminating a thread inside ONNX Runtime's native code aborts the whole
 * process (seen here: "terminate called after throwing an instance of 'Napi::Error'").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CancelledError, reviveError } from '../core/errors';
import { AnyJobResult, Job, JobContext, JobResult, JobRunner, resultOf } from '../core/jobs';
import { FromWorker, ToWorker } from './protocol';
import { disableOrtTelemetry } from '../core/runtime/telemetry';
import { lostWorkingFolderError, workingFolderGone } from '../core/util/workingFolder';

interface Pending {
  resolve: (v: AnyJobResult) => void;
  reject: (e: Error) => void;
  ctx: JobContext;
}

export { reviveError };

/** Finds the worker script beside the running bundle (dist/worker.js) or the tsc output. */
export function defaultWorkerPath(dir: string): string {
  const candidates = [path.join(dir, 'worker.js'), path.join(dir, '..', 'worker', 'main.js')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`worker script not found (looked for ${candidates.join(', ')}); run npm run build.`);
  return found;
}

export class WorkerJobRunner implements JobRunner {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Jobs the worker is still running (including ones whose caller was already released). */
  private readonly inFlight = new Set<number>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly workerPath: string,
    // Cancel returns within 1 s: synchronous stages see the shared cancel flag at once, and a
    // batch still inside native code no longer holds the caller (it cannot commit: the flag is
    // checked before every rename).
    private readonly graceMs = 1000,
  ) {}

  private ensure(): Worker {
    if (this.worker) return this.worker;
    disableOrtTelemetry();
    const w = new Worker(this.workerPath);
    w.on('message', (m: FromWorker) => this.onMessage(m));
    w.on('error', (e) => this.failAll(workingFolderGone() ? lostWorkingFolderError('the job could not start its worker thread') : e));
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.worker = null;
      if (code !== 0) this.failAll(new Error(`the ProbeScale worker exited with code ${code}`));
    });
    this.worker = w;
    return w;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'result' || m.type === 'error' || m.type === 'cancelled') {
      this.inFlight.delete(m.id);
      if (this.inFlight.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.type) {
      case 'progress':
        p.ctx.onProgress?.(m.event);
        break;
      case 'log':
        p.ctx.log?.(m.level, m.message);
        break;
      case 'result':
        this.pending.delete(m.id);
        p.resolve(m.result);
        break;
      case 'error':
        this.pending.delete(m.id);
        p.reject(reviveError(m.error));
        break;
      case 'cancelled':
        this.pending.delete(m.id);
        p.reject(new CancelledError());
        break;
      default: {
        const never: never = m;
        throw new Error(`unknown worker message ${JSON.stringify(never)}`);
      }
    }
  }

  private failAll(e: Error): void {
    this.inFlight.clear();
    for (const w of this.idleWaiters.splice(0)) w();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
  }

  run<J extends Job>(job: J, ctx: JobContext): Promise<JobResult<J>> {
    if (ctx.signal?.aborted) return Promise.reject(new CancelledError());
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise<JobResult<J>>((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(resultOf(job, r)), reject, ctx });
      const send = (m: ToWorker) => w.postMessage(m);
      const cancelFlag = new SharedArrayBuffer(4);
      ctx.signal?.addEventListener(
        'abort',
        () => {
          Atomics.store(new Int32Array(cancelFlag), 0, 1);
          send({ type: 'cancel', id });
          const timer = setTimeout(() => {
            if (!this.pending.has(id)) return;
            // The job has not reached a cancellation point yet: release the caller now; the
            // worker runs jobs one at a time, so the next one starts when this one has stopped.
            this.pending.delete(id);
            reject(new CancelledError());
          }, this.graceMs);
          timer.unref();
        },
        { once: true },
      );
      this.inFlight.add(id);
      send({ type: 'run', id, job, cancelFlag });
    });
  }

  /** Cancels what runs, waits for the worker to be idle (at most `waitMs`), then stops it. */
  async dispose(waitMs = 15_000): Promise<void> {
    const w = this.worker;
    if (!w) return;
    for (const id of this.inFlight) w.postMessage({ type: 'cancel', id } satisfies ToWorker);
    if (this.inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        setTimeout(resolve, waitMs).unref();
      });
    }
    this.worker = null;
    await w.terminate();
  }
}
