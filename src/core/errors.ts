/**
 * Errors thrown by the core. Every message names the bad value and what to do about it.
 * `code` is stable and machine-readable; hosts decide how to show it (toast, exit code).
 */
export class ProbeScaleError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad user input or an impossible request: the CLI exits with 1 and writes nothing. */
export class BadInputError extends ProbeScaleError {
  constructor(message: string) {
    super('bad-input', message);
  }
}

export class DatasetError extends ProbeScaleError {
  constructor(message: string) {
    super('bad-dataset', message);
  }
}

export class OnnxParseError extends ProbeScaleError {
  constructor(message: string) {
    super('onnx-parse', message);
  }
}

export class ShapeMismatchError extends ProbeScaleError {
  constructor(message: string) {
    super('shape-mismatch', message);
  }
}

export class UnsupportedModelError extends ProbeScaleError {
  constructor(message: string) {
    super('unsupported-model', message);
  }
}

/** Cancellation is not an error for users; it is thrown so that work unwinds, then reported as "cancelled". */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function isCancelled(e: unknown): boolean {
  return e instanceof CancelledError || (e instanceof Error && (e.name === 'CancelledError' || e.name === 'AbortError'));
}

/**
 * Extra cancel sources for a signal that synchronous code can see. A worker thread busy in a
 * synchronous loop (probe training, graph surgery) never runs its message handler, so the
 * `abort()` a cancel message would trigger comes too late; a poll of shared memory does not.
 */
const pollers = new WeakMap<AbortSignal, () => boolean>();

/** Makes `isAborted(signal)` also consult `poll` (and abort `controller` when it says so). */
export function abortWhen(controller: AbortController, poll: () => boolean): void {
  pollers.set(controller.signal, () => {
    if (!poll()) return false;
    controller.abort();
    return true;
  });
}

/** True when the signal has fired or its poller says it should have. */
export function isAborted(signal: AbortSignal | undefined): boolean {
  if (!signal) return false;
  return signal.aborted || (pollers.get(signal)?.() ?? false);
}

/** Throws CancelledError when the signal has fired; call between batches and epochs. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (isAborted(signal)) throw new CancelledError();
}

/** True for errors caused by the user's input (exit code 1), false for internal errors (exit code 2). */
export function isUserError(e: unknown): boolean {
  return e instanceof ProbeScaleError;
}
