/** Messages between a JobRunner and its worker thread. */
import { SerializedError } from '../core/errors';
import { AnyJobResult, Job, LogLevel, ProgressEvent } from '../core/jobs';

export type { SerializedError };

/** `cancelFlag`: an Int32Array(1) over shared memory; the host stores 1 to cancel (seen by synchronous code). */
export type ToWorker = { type: 'run'; id: number; job: Job; cancelFlag?: SharedArrayBuffer } | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'progress'; id: number; event: ProgressEvent }
  | { type: 'log'; id: number; level: LogLevel; message: string }
  | { type: 'result'; id: number; result: AnyJobResult }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'cancelled'; id: number };
