/**
 * Independent probe fits on several cores, called from synchronous code. The probe stages stay
 * synchronous: `map` posts units of work to `worker_threads` fit workers, blocks the calling
 * thread with `Atomics.wait` on a shared counter that each worker bumps when it has posted a
 * reply, and collects the replies with `receiveMessageOnPort`. Each fit is deterministic, so
 * the results are those of running the same units one after another, in input order.
 *
 * Feature matrices travel as Float32Arrays over SharedArrayBuffers (see {@link shared}): a
 * worker reads the caller's copy, nothing is copied per fit. A pool belongs to one job: workers
 * start on the first `map` and stop at `close` (src/core/pipeline/dispatch.ts). With one thread
 * (or `PROBESCALE_FIT_THREADS=1`) everything runs inline, as before the pool existed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { BadInputError, CancelledError, isAborted, ResourceError, reviveError, SerializedError, throwIfAborted } from '../errors';
import { MIN_OPEN_FILES, softLimit } from '../util/processLimits';
import { lostWorkingFolderError, workingFolderGone } from '../util/workingFolder';

/**
 * The units a fit worker can run (src/worker/fit.ts): one layer's row, one fold of the C search,
 * one fit of a candidate's measurement, one λ of a compensated build's ridge fit, one test fit of
 * the unpruned model's reference.
 */
export type FitKind = 'layerRow' | 'cFold' | 'measureFit' | 'ridgeLambda' | 'referenceFit';

export interface FitRequest {
  id: number;
  kind: FitKind;
  input: unknown;
  /** Int32Array(1) over shared memory: 1 stops the fit (its L-BFGS checks it every iteration). */
  cancel: SharedArrayBuffer;
}

/** A unit's result or error; `step` reports one fit of a unit done, before its result (the C search's progress). */
export type FitReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError } | { id: number; step: true };

/** A unit of work: the same function runs inline and in a fit worker (src/worker/fit.ts). */
export type FitUnit<I, O> = (input: I, signal?: AbortSignal, onStep?: () => void) => O;

export interface MapOptions {
  signal?: AbortSignal;
  /** Called with the number of units finished, as each finishes. */
  onDone?: (done: number) => void;
  /** Called as each unit reports a step (one fit of the C search's fold). */
  onStep?: () => void;
  /** No more units running at once than this (each needs much memory: the ridge λ solves); default the pool's size. */
  most?: number;
}

/** What a fit worker gets at start: its end of the reply channel and the counter it bumps after each reply. */
export interface FitWorkerData {
  role: 'fit';
  port: MessagePort;
  counter: SharedArrayBuffer;
}

/** Most fit workers a pool starts by default (the fits are memory-bound beyond that). */
export const MAX_DEFAULT_FIT_THREADS = 8;
/** How long the caller sleeps between looks at the cancel signal while fits run. */
const POLL_MS = 25;
/** How often a busy worker that has not answered is asked whether it is still there (see {@link FitPool.lost}). */
const LIVENESS_MS = 500;

let live = 0;
/** Fit workers started and not yet stopped, in this thread (tests check it returns to zero). */
export function liveFitWorkers(): number {
  return live;
}

/**
 * Code range of a fit worker's engine, in MB. V8's default reserves about 0.57 GiB of address
 * space per thread (measured: 4 idle workers added 2.55 GiB to VmSize; with 32 MB, 0.68 GiB);
 * a fit worker JIT-compiles little code.
 */
const FIT_WORKER_CODE_RANGE_MB = 32;

/**
 * Fit threads per job: `PROBESCALE_FIT_THREADS` when set (1 = inline), else min(cores, 8), or 1
 * under an address-space limit (`ulimit -v`): each thread reserves address space (about 0.17
 * GiB), and V8 aborts the whole process when a reservation fails. Under a low open-file limit
 * (`ulimit -n`), no more threads than the descriptors above the job's own floor leave room for.
 */
export function fitThreads(env: NodeJS.ProcessEnv = process.env, addressLimit = softLimit('Max address space'), openFiles = softLimit('Max open files')): number {
  const raw = env.PROBESCALE_FIT_THREADS;
  if (raw === undefined || raw === '') {
    if (typeof addressLimit === 'number') return 1;
    // Each fit thread holds about 4 descriptors (its event loop's); the rest of a job needs MIN_OPEN_FILES.
    const fileRoom = typeof openFiles === 'number' ? Math.max(1, Math.floor((openFiles - MIN_OPEN_FILES) / FILES_PER_FIT_THREAD)) : Infinity;
    return Math.min(os.availableParallelism(), MAX_DEFAULT_FIT_THREADS, fileRoom);
  }
  // Decimal digits only, as the options are read: Number() alone reads 0x2 as 2 and 1e1 as 10.
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new BadInputError(`PROBESCALE_FIT_THREADS=${raw} is not a whole number of threads >= 1 written in decimal digits; set it to 1 to fit on one thread, or unset it to use min(cores, ${MAX_DEFAULT_FIT_THREADS}).`);
  return n;
}

/**
 * Address space a fit worker takes when it starts, with room for its fits: measured 0.36 GiB for
 * the first worker and 0.11 GiB for each further one, idle, with the WebAssembly trap handler off
 * (as the CLI runs under a limit).
 */
const WORKER_ADDRESS_BYTES = 0.5 * 2 ** 30;
/** Descriptors kept free for the job itself when workers start under `ulimit -n` (files it opens later, a cache entry, the output). */
const JOB_FILES_KEPT = 8;

/** What {@link workerRoom} reads: address space left under `ulimit -v` (null: no limit), the open-file limit (null: none) and the descriptors open now. */
export interface ProcessRoom {
  addressLeft: number | null;
  files: number | null;
  filesOpen: number;
}

/**
 * How many more fit workers this process has room for: under `ulimit -v`, WORKER_ADDRESS_BYTES of
 * address space each (V8 aborts the whole process when a new thread's reservation fails); under
 * `ulimit -n`, FILES_PER_FIT_THREAD descriptors each, with JOB_FILES_KEPT left to the job (a worker
 * that cannot open its event loop's descriptors never starts, and a job short of them stalled).
 * Infinity without limits, or where /proc cannot say.
 */
export function workerRoom(room: ProcessRoom | null = processRoom()): number {
  if (!room) return Infinity;
  const byAddress = room.addressLeft === null ? Infinity : Math.floor(room.addressLeft / WORKER_ADDRESS_BYTES);
  const byFiles = room.files === null ? Infinity : Math.floor((room.files - room.filesOpen - JOB_FILES_KEPT) / FILES_PER_FIT_THREAD);
  return Math.max(0, Math.min(byAddress, byFiles));
}

function processRoom(): ProcessRoom | null {
  const address = softLimit('Max address space');
  const files = softLimit('Max open files');
  if (address === undefined || files === undefined) return null;
  try {
    const kb = /^VmSize:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    const addressLeft = typeof address === 'number' && kb ? address - Number(kb[1]) * 1024 : null;
    return { addressLeft, files, filesOpen: files === null ? 0 : fs.readdirSync('/proc/self/fd').length };
  } catch {
    return null;
  }
}

/** Descriptors one fit thread holds (measured: 20 → 28 → 36 with 0, 2 and 4 threads). */
const FILES_PER_FIT_THREAD = 4;

/** Finds the fit worker beside the running bundle (dist/fitWorker.js) or in the tsc output (out/src/worker/fit.js). */
export function fitWorkerPath(dir: string = __dirname): string {
  const candidates = [path.join(dir, 'fitWorker.js'), path.join(dir, '..', '..', 'worker', 'fit.js')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`the probe fit worker script was not found (looked for ${candidates.join(', ')}); run npm run build, or set PROBESCALE_FIT_THREADS=1 to fit on one thread.`);
  return found;
}

interface Slot {
  worker: Worker;
  port: MessagePort;
  /** Index of the unit it runs, or -1 when idle. */
  busy: number;
  /** When it was last heard from or asked whether it is there (Date.now()). */
  seen: number;
}

/** The state of one `map` call. */
interface Round {
  kind: FitKind;
  /** Units in the round; unitAt(i) builds unit i when it is handed out (so only the running units' inputs are alive). */
  n: number;
  unitAt: (i: number) => unknown;
  results: unknown[];
  cancel: Int32Array;
  next: number;
  done: number;
  failure: Error | null;
  opts: MapOptions;
}

export class FitPool {
  private readonly slots: Slot[] = [];
  private readonly counter = new Int32Array(new SharedArrayBuffer(4));
  /** Shared memory the pool's rounds reuse, by key (see {@link FitPool.shared}). */
  private readonly staged = new Map<string, SharedArrayBuffer>();

  constructor(
    /** Worker threads at most; 1 runs every unit inline. */
    readonly size: number,
    private readonly workerPath?: string,
    /** How many more workers the process has room for ({@link workerRoom}); tests stand in for it. */
    private readonly room: () => number = workerRoom,
  ) {}

  /**
   * Runs `inline(unitAt(i))` for i = 0…n−1, on the pool's workers when it has more than one
   * thread; returns the results in order. Each unit is built when it starts (a unit holding a
   * shared copy of a layer's features lives only while it runs); see {@link MapOptions} for progress.
   * When `signal` fires the running fits stop and CancelledError is thrown; when a unit throws,
   * the others stop and its error is rethrown as it was thrown.
   */
  map<I, O>(kind: FitKind, n: number, unitAt: (i: number) => I, inline: FitUnit<I, O>, opts: MapOptions = {}): O[] {
    const { signal } = opts;
    const most = Math.min(this.size, n, opts.most ?? Infinity);
    if (most <= 1) return mapInline(n, unitAt, inline, opts);
    throwIfAborted(signal);
    this.start(most);
    if (this.slots.length === 0) return mapInline(n, unitAt, inline, opts);
    const round: Round = { kind, n, unitAt, results: new Array(n), cancel: new Int32Array(new SharedArrayBuffer(4)), next: 0, done: 0, failure: null, opts };
    while (this.dispatch(round) || this.slots.some((s) => s.busy >= 0)) {
      const seen = Atomics.load(this.counter, 0);
      if (!this.collect(round)) Atomics.wait(this.counter, 0, seen, POLL_MS);
      if (!round.failure && isAborted(signal)) this.stop(round, new CancelledError());
    }
    if (round.failure) throw round.failure;
    return round.results as O[];
  }

  /**
   * `a` copied into shared memory that belongs to this pool under `key`, for the units of the next
   * round to read: the same memory each time a key comes back (grown when too small), where a new
   * SharedArrayBuffer per round would stay alive in each worker until that worker's next garbage
   * collection, which rarely comes, since fits allocate little on the workers' own heaps
   * (RESULTS §3: the demo's peak fell by about 85 MB when the workers collected after each unit).
   * Only while no unit of an earlier round that read `key` can still run: rounds (map) return when
   * all their units have answered, so one key per array of a round is enough.
   */
  shared<T extends Float32Array | Int32Array | Float64Array>(key: string, a: T): T {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    let buf = this.staged.get(key);
    if (!buf || buf.byteLength < a.byteLength) {
      buf = new SharedArrayBuffer(a.byteLength);
      this.staged.set(key, buf);
    }
    const out = new (a.constructor as new (b: SharedArrayBuffer, offset: number, length: number) => T)(buf, 0, a.length);
    out.set(a);
    return out;
  }

  /** Stops every worker; the pool starts new ones if it is used again. */
  async close(): Promise<void> {
    this.staged.clear();
    const slots = this.slots.splice(0);
    for (const s of slots) s.port.close();
    await Promise.all(slots.map((s) => s.worker.terminate()));
    live -= slots.length;
  }

  /**
   * Starts workers up to `want`, as many as the process has room for ({@link workerRoom}): under
   * ulimit -v 4000000, PROBESCALE_FIT_THREADS=2 made V8 abort the process at the second worker
   * (exit 133); under ulimit -n 64, PROBESCALE_FIT_THREADS=64 stalled the job.
   */
  private start(want: number): void {
    const n = this.slots.length < want ? Math.min(want, this.slots.length + this.room()) : want;
    const file = this.slots.length < n ? (this.workerPath ?? fitWorkerPath()) : '';
    while (this.slots.length < n) {
      const { port1, port2 } = new MessageChannel();
      const workerData: FitWorkerData = { role: 'fit', port: port2, counter: this.counter.buffer as SharedArrayBuffer };
      const worker = new Worker(file, { workerData, transferList: [port2], resourceLimits: { codeRangeSizeMb: FIT_WORKER_CODE_RANGE_MB } });
      worker.unref();
      // A thread that dies is found by its threadId (lost); its 'error' event, seen once this thread runs its event loop again, must not throw here.
      worker.on('error', () => {});
      live++;
      this.slots.push({ worker, port: port1, busy: -1, seen: 0 });
    }
  }

  /** Hands the next units to idle workers, at most opts.most running; false when none is left to hand out. */
  private dispatch(r: Round): boolean {
    let running = this.slots.filter((s) => s.busy >= 0).length;
    for (const s of this.slots) {
      if (r.failure || r.next >= r.n || running >= (r.opts.most ?? Infinity)) break;
      if (s.busy >= 0) continue;
      s.busy = r.next++;
      s.seen = Date.now();
      running++;
      s.port.postMessage({ id: s.busy, kind: r.kind, input: r.unitAt(s.busy), cancel: r.cancel.buffer as SharedArrayBuffer } satisfies FitRequest);
    }
    return !r.failure && r.next < r.n;
  }

  /** Takes every reply that has arrived; false when there was none. */
  private collect(r: Round): boolean {
    let got = false;
    for (const s of this.slots) {
      const m = s.busy >= 0 ? (receiveMessageOnPort(s.port)?.message as FitReply | undefined) : undefined;
      if (!m) {
        if (s.busy >= 0 && !this.alive(s)) this.lost(r, s);
        continue;
      }
      got = true;
      s.seen = Date.now();
      if ('step' in m) {
        if (!r.failure) r.opts.onStep?.();
        continue;
      }
      s.busy = -1;
      if (m.ok) {
        r.results[m.id] = m.value;
        r.opts.onDone?.(++r.done);
      } else if (!r.failure) this.stop(r, reviveError(m.error));
    }
    return got;
  }

  /**
   * Whether a busy worker that has not answered is still there. Its 'exit' event, and the -1 its
   * threadId turns to, come only through this thread's event loop, which does not run while map
   * blocks: a worker that died in a unit (process.exit, out of memory) or while it started left the
   * round waiting forever. What this blocked thread can see is its end of the worker's channel:
   * once the worker's thread is gone, a message posted there reaches no one (postMessage answers
   * true only when it reached the other end). Asked every LIVENESS_MS; the worker drops the empty
   * message (src/worker/fit.ts).
   */
  private alive(s: Slot): boolean {
    if (s.worker.threadId === -1) return false;
    const now = Date.now();
    if (now - s.seen < LIVENESS_MS || !postReportsDelivery()) return true;
    s.seen = now;
    return postAnswer(s.port) === true;
  }

  /** A worker that died (out of memory, process.exit, a failed start): its unit fails the round, and the pool forgets it. */
  private lost(r: Round, s: Slot): void {
    if (!r.failure && workingFolderGone()) this.stop(r, lostWorkingFolderError('a probe fit worker could not start'));
    if (!r.failure) this.stop(r, new ResourceError(`a probe fit worker stopped unexpectedly while fitting unit ${s.busy} of ${r.n} (it ran out of memory, was stopped, or could not start); run again, or set PROBESCALE_FIT_THREADS=1 to fit on one thread.`));
    s.busy = -1;
    this.slots.splice(this.slots.indexOf(s), 1);
    s.port.close();
    void s.worker.terminate();
    live--;
  }

  /** Stops the round: no more units start, running fits see the cancel flag; `why` is thrown once they have answered. */
  private stop(r: Round, why: Error): void {
    r.failure = why;
    Atomics.store(r.cancel, 0, 1);
  }
}

let delivery: boolean | undefined;
/** What `port.postMessage(null)` returns: typed void, though Node's answers whether the message reached the other end. */
function postAnswer(port: MessagePort): unknown {
  const post: (m: null) => unknown = port.postMessage.bind(port);
  return post(null);
}

/** Whether this Node's MessagePort.postMessage answers true when a message reached the other end (what {@link FitPool} relies on to see a dead worker). */
function postReportsDelivery(): boolean {
  if (delivery === undefined) {
    const { port1, port2 } = new MessageChannel();
    delivery = postAnswer(port1) === true;
    port1.close();
    port2.close();
  }
  return delivery;
}

function mapInline<I, O>(n: number, unitAt: (i: number) => I, inline: FitUnit<I, O>, opts: MapOptions): O[] {
  return Array.from({ length: n }, (_, i) => {
    throwIfAborted(opts.signal);
    const out = inline(unitAt(i), opts.signal, opts.onStep);
    opts.onDone?.(i + 1);
    return out;
  });
}
