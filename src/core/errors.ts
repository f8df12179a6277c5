/**
 * Errors thrown by the core. Every message names the bad value and what to do about it.
 * `code` is stable and machine-readable; hosts decide how to show it (toast, exit code).
 *
 * The core does not know whether a value came from a CLI flag, a VS Code setting or a form
 * field, so a message names parameters as `{{maxLength}}` and the error carries the parameter
 * and the bad value (`bad`); each host words them its own way (messageIn). `message` uses the
 * plain words of PARAM_WORDS, for logs and for hosts that do not reword.
 */

import { shownValue } from './util/decimal';

/** The parameters users set, by host-neutral name, and how they read in plain words. */
export const PARAM_WORDS = {
  task: 'task',
  columns: 'task columns',
  testSplit: 'test split',
  out: 'output folder',
  force: 'replace',
  onnx: 'ONNX file',
  quantized: 'quantized model',
  dtype: 'model variant (dtype)',
  from: 'graph source',
  provider: 'execution provider',
  maxLength: 'max length',
  batchSize: 'batch size',
  pooling: 'pooling',
  prompt: 'prompt',
  promptName: 'prompt name',
  limitTrain: 'training-row limit',
  limitTest: 'test-row limit',
  c: 'C',
  seed: 'seed',
  layers: 'blocks to keep',
  budget: 'budget',
  targetRetention: 'target retention',
  candidates: 'candidates',
  select: 'selection rule',
  vocabTrim: 'vocabulary trimming',
  vocabUnseen: 'unseen-token map',
  compensate: 'compensation',
  widthScore: 'width score',
  embeddingRank: 'embedding rank',
  baselines: 'baselines',
  cacheDir: 'feature cache folder',
  noCache: 'feature cache off',
} as const;
export type Param = keyof typeof PARAM_WORDS;

/** How a host writes a parameter's name (`--max-length`, `probescale.maxLength`, "Budget"). */
export type ParamWords = (p: Param) => string;

/** The parameter a value was given for, and the value as the user gave it. */
export interface BadValue {
  param: Param;
  value: string;
}

const isParam = (name: string): name is Param => Object.prototype.hasOwnProperty.call(PARAM_WORDS, name);

/** A message template with each `{{param}}` written as `words` names it. */
export function wordMessage(template: string, words: ParamWords): string {
  return template.replace(/\{\{(\w+)\}\}/g, (token, name: string) => (isParam(name) ? words(name) : token));
}

export class ProbeScaleError extends Error {
  /** The message with its parameters as `{{param}}` tokens. */
  readonly template: string;

  constructor(
    readonly code: string,
    template: string,
    readonly bad?: BadValue,
  ) {
    super(wordMessage(template, (p) => PARAM_WORDS[p]));
    this.template = template;
    this.name = new.target.name;
  }
}

/** An error's message in a host's words (errors without parameters: their message). */
export function messageIn(e: unknown, words: ParamWords): string {
  if (e instanceof ProbeScaleError) return wordMessage(e.template, words);
  return e instanceof Error ? e.message : String(e);
}

/** Bad user input or an impossible request: the CLI exits with 1 and writes nothing. */
export class BadInputError extends ProbeScaleError {
  constructor(message: string, bad?: BadValue) {
    super('bad-input', message, bad);
  }
}

/** A bad value of a parameter: the message starts by naming the parameter and the value. */
export function badValue(param: Param, value: unknown, what: string): BadInputError {
  return new BadInputError(`{{${param}}} ${shownValue(String(value))}: ${what}`, { param, value: String(value) });
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

/**
 * The machine, not the input, stopped the job: a helper thread that died (out of memory, stopped
 * from outside, could not start). The message says what to change; no stack is shown, since it
 * is not a bug in ProbeScale either.
 */
export class ResourceError extends ProbeScaleError {
  constructor(message: string) {
    super('resource', message);
  }
}

/**
 * An output that could not be written because of its disk, not its contents: the disk is full
 * (ENOSPC, EDQUOT: code `disk-full`), will not take writes (EROFS, EACCES, EPERM: code
 * `not-writable`) or not a file that large (EFBIG, `ulimit -f` or the file system: code `too-large`). `errno` is the system's code. Built by core/util/diskErrors.ts, the one place
 * that words these, so the CLI, the extension and the feature cache all say the same thing.
 */
export class DiskWriteError extends ProbeScaleError {
  constructor(
    readonly errno: string,
    message: string,
    bad?: BadValue,
  ) {
    super(errno === 'ENOSPC' || errno === 'EDQUOT' ? 'disk-full' : errno === 'EFBIG' ? 'too-large' : 'not-writable', message, bad);
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

/** An error as it crosses a thread: its class name, code and message, and its stack. */
export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  /** ProbeScaleError: the message with `{{param}}` tokens, and the bad value. */
  template?: string;
  bad?: BadValue;
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof ProbeScaleError) return { name: e.name, code: e.code, message: e.message, template: e.template, bad: e.bad, stack: e.stack };
  const err = e instanceof Error ? e : new Error(String(e));
  // Node's system errors (ENOENT, EACCES) keep their code: the host shows them as the user's to fix.
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  return { name: err.name, code, message: err.message, stack: err.stack };
}

/** The user-error classes whose constructor takes (message, bad), by their stable code (class names do not survive minifying). */
const REVIVED: Record<string, new (message: string, bad?: BadValue) => ProbeScaleError> = {
  'bad-input': BadInputError,
  'bad-dataset': DatasetError,
  'onnx-parse': OnnxParseError,
  'shape-mismatch': ShapeMismatchError,
  'unsupported-model': UnsupportedModelError,
  resource: ResourceError,
};

/** Re-creates an error another thread threw: cancellation stays cancellation, user errors keep their class (or at least their family), others are plain errors. */
export function reviveError(e: SerializedError): Error {
  if (e.name === 'CancelledError') return new CancelledError();
  const template = e.template ?? e.message;
  const Known = e.code ? REVIVED[e.code] : undefined;
  const err = Known ? new Known(template, e.bad) : e.code ? new ProbeScaleError(e.code, template, e.bad) : new Error(e.message);
  if (!Known) err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}
