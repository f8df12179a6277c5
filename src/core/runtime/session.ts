/**
 * ONNX Runtime sessions with execution-provider choice and a logged fallback.
 * `auto` tries CUDA (where its provider libraries are installed), then WebGPU (where an
 * adapter exists), then CPU; each fallback is said once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { badValue } from '../errors';
import { PROVIDERS, Provider } from '../settings';
import { OnnxModel } from '../onnx/model';
import { ReferencingGraph, referencingGraph } from '../onnx/reference';
import { disableOrtTelemetry } from './telemetry';

// Before any session exists (in-process use); the worker's host does the same before it starts.
disableOrtTelemetry();

export type LogFn = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface SessionOptions {
  provider?: Provider;
  /** Fail instead of falling back to CPU when the requested provider cannot start. */
  strictProvider?: boolean;
  threads?: number;
  /**
   * Let the intra-op threads spin during a run but park them when it returns. Timing alternates
   * runs of two sessions; with ORT's default, the idle session's pool keeps spinning on the cores
   * the other one is timed on (RESULTS §5d: ~26 ms per batch-32 run on 2 cores).
   */
  parkThreadsAfterRun?: boolean;
  log?: LogFn;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider actually running the graph. */
  provider: Exclude<Provider, 'auto'>;
}

const said = new Set<string>();
/** Providers that failed to start in this process, with why; not tried again. */
const unavailable = new Map<string, string>();
// Provider probing failures are expected and reported by us; keep ORT's native log quiet.
ort.env.logLevel = 'fatal';
function sayOnce(log: LogFn | undefined, level: 'info' | 'warn', msg: string): void {
  if (said.has(msg)) return;
  said.add(msg);
  log?.(level, msg);
}

export function parseProvider(v: string): Provider {
  const known = PROVIDERS.find((p) => p === v);
  if (known) return known;
  throw badValue('provider', v, `unknown execution provider; use one of ${PROVIDERS.join(', ')}.`);
}

/**
 * Opens a session from a model file, an in-memory model, or a graph whose weights are referenced
 * in place. A file is handed over as such a graph too: ORT then holds one copy of the weights
 * (read from the file) instead of the file's bytes plus its own copy.
 */
export async function openSession(model: string | Uint8Array | ReferencingGraph, opts: SessionOptions = {}): Promise<OpenedSession> {
  const source = typeof model === 'string' ? referencingFile(model) : model instanceof Uint8Array ? { graph: model, weightsDir: null } : model;
  const requested = opts.provider ?? 'auto';
  const order: Exclude<Provider, 'auto'>[] = requested === 'auto' ? ['cuda', 'webgpu', 'cpu'] : requested === 'cpu' ? ['cpu'] : [requested, 'cpu'];
  if (requested === 'auto') skipMissingProviders(opts.log);
  const threads = opts.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  let lastError: Error | null = null;
  for (const ep of order) {
    const known = unavailable.get(ep);
    if (known !== undefined && ep !== 'cpu') {
      if (requested !== 'auto' && opts.strictProvider) throw cannotStart(requested, ep, known);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(source.graph, sessionOptions(ep, source.weightsDir, threads, opts.parkThreadsAfterRun));
      if (ep !== 'cpu' || requested === 'cpu') sayOnce(opts.log, 'info', `execution provider: ${ep}`);
      return { session, provider: ep };
    } catch (e) {
      lastError = e as Error;
      if (ep === 'cpu') break;
      providerFailed(ep, requested, firstLine(lastError.message), opts);
    }
  }
  throw lastError ?? new Error('no execution provider could start');
}

/**
 * Why ONNX Runtime fails on the graph file itself, on CPU: loading it, and running `feeds` (the
 * ones it declares) where given, and what `check` finds wrong with the outputs; null when nothing. Asked after a failure on a graph made from
 * the file (a probe or pruned edit), to tell a graph that was never valid (hand-edited, another
 * tool's) from a failure of ProbeScale's own edit.
 */
export async function graphFileFailure(file: string, feeds?: Record<string, ort.Tensor>, check?: (out: ort.InferenceSession.ReturnType, outputNames: readonly string[]) => string | null): Promise<string | null> {
  let source: ReferencingGraph;
  try {
    source = referencingFile(file);
  } catch {
    // Gone or changed since the job opened it: not the graph's fault, and the first error says more.
    return null;
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(source.graph, sessionOptions('cpu', source.weightsDir, 1, false));
  } catch (e) {
    return firstLine((e as Error).message);
  }
  try {
    if (!feeds) return null;
    const out = await session.run(Object.fromEntries(session.inputNames.filter((n) => feeds[n]).map((n) => [n, feeds[n]])));
    return check?.(out, session.outputNames) ?? null;
  } catch (e) {
    return firstLine((e as Error).message);
  } finally {
    await session.release();
  }
}

/** With `auto`, providers whose libraries are missing are not tried at all; each is said once. */
function skipMissingProviders(log: LogFn | undefined): void {
  if (!unavailable.has('webgpu') && !vulkanPresent()) {
    // Dawn writes its own warning to stderr when it finds no Vulkan loader; don't make it try.
    unavailable.set('webgpu', 'no Vulkan loader (libvulkan.so.1) on this machine');
    sayOnce(log, 'info', 'execution provider webgpu skipped: no Vulkan loader (libvulkan.so.1).');
  }
  if (!unavailable.has('cuda') && !cudaLibrariesPresent()) {
    // ORT would log its own load error for the missing library before failing; don't make it try.
    unavailable.set('cuda', 'its provider libraries are not installed');
    sayOnce(log, 'info', `execution provider cuda skipped: its provider libraries are not installed. ${hint('cuda')}`);
  }
}

/** ORT's options for one try on `ep`. */
function sessionOptions(ep: Exclude<Provider, 'auto'>, weightsDir: string | null, threads: number, parkThreadsAfterRun: boolean | undefined): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 4,
    // Memory patterns are planned per input shape; length-bucketed batches all differ, and on a
    // 1.2 GB model the plans cost 0.5 GB of peak RSS (RESULTS.md §8); their speed gain is not measured.
    enableMemPattern: false,
    extra: {
      session: {
        ...(weightsDir ? { model_external_initializers_file_folder_path: weightsDir } : {}),
        ...(parkThreadsAfterRun ? { force_spinning_stop: '1' } : {}),
      },
    },
  };
}

/** A provider other than CPU failed to start (`why`): it is not tried again; a strict request fails, else the fallback is said once. */
function providerFailed(ep: Exclude<Provider, 'auto'>, requested: Provider, why: string, opts: SessionOptions): void {
  unavailable.set(ep, why);
  if (requested !== 'auto' && opts.strictProvider) throw cannotStart(requested, ep, why);
  sayOnce(opts.log, requested === 'auto' ? 'info' : 'warn', `execution provider ${ep} is not available (${why}); ${hint(ep)} Falling back.`);
}

/** The error of a strict request for `ep` (asked as `requested`) that cannot start. */
function cannotStart(requested: Provider, ep: Exclude<Provider, 'auto'>, why: string): Error {
  return badValue('provider', requested, `it cannot start on this machine (${why}). ${hint(ep)}`);
}

function referencingFile(file: string): ReferencingGraph {
  const m = OnnxModel.open(file);
  try {
    return referencingGraph(m);
  } finally {
    m.close();
  }
}

/**
 * onnxruntime-node's install script puts the CUDA provider libraries beside its binding
 * (bin/napi-vN/PLATFORM/ARCH); `ONNXRUNTIME_NODE_INSTALL=skip` leaves them out. An unknown layout
 * counts as present, so ORT still gets to try.
 */
export function cudaLibrariesPresent(): boolean {
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  let bin: string;
  try {
    bin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
  } catch {
    return true;
  }
  const dirs = (fs.existsSync(bin) ? fs.readdirSync(bin) : []).map((v) => path.join(bin, v, process.platform, process.arch)).filter((d) => fs.existsSync(d));
  return dirs.length === 0 || dirs.some((d) => fs.existsSync(path.join(d, lib)));
}

/** WebGPU on Linux runs on Vulkan; without its loader Dawn cannot find an adapter. */
function vulkanPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  return dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
}

function firstLine(s: string): string {
  const m = /Failed to get a WebGPU adapter[^.]*|Failed to load shared library|libonnxruntime_providers_cuda[^ ]*|[^\n]{0,160}/.exec(s);
  return (m ? m[0] : s).trim();
}

function hint(ep: Exclude<Provider, 'auto'>): string {
  if (ep === 'cuda') return 'CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver.';
  if (ep === 'webgpu') return 'WebGPU needs a GPU adapter (Vulkan on Linux).';
  return '';
}
