/** Messages between a JobRunner and its worker thread. */
import { BadValue } from '../core/errors';
import { AnyJobResult, Job, LogLevel, ProgressEvent } from '../core/jobs';

/** `cancelFlag`: an Int32Array(1) over shared memory; the host stores 1 to cancel (seen by synchronous code). */
export type ToWorker = { type: 'run'; id: number; job: Job; cancelFlag?: SharedArrayBuffer } | { type: 'cancel'; id: number };

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  /** ProbeScaleError: the message with `{{param}}` tokens, and the bad value (see core/errors). */
  template?: string;
  bad?: BadValue;
  stack?: string;
}

export type FromWorker =
  | { type: 'progress'; id: number; event: ProgressEvent }
  | { type: 'log'; id: number; level: LogLevel; message: string }
  | { type: 'result'; id: number; result: AnyJobResult }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'cancelled'; id: number };
