/**
 * The resource limits this process runs under (`ulimit -n`, `-v`, `-f`), read from
 * /proc/self/limits. Below what a job needs, Node, its worker thread and ONNX Runtime fail in
 * ways that name none of them: "Worker initialization failure: EMFILE", 'Could not load the
 * "sharp" module' (with advice to reinstall it), "the tokenizer may be damaged", a WebAssembly
 * "Out of memory" from Node's HTTP parser, or a native abort. The CLI refuses such a limit before
 * any work, and words the errors a limit causes later.
 */
import * as fs from 'node:fs';

/** The rows of /proc/self/limits read here. */
export type LimitName = 'Max open files' | 'Max address space' | 'Max file size';

/**
 * The soft limit `name` of this process: a number (files or bytes), null when unlimited,
 * undefined when it cannot be read (not Linux, /proc not mounted). `text` stands in for the file
 * (tests).
 */
export function softLimit(name: LimitName, text?: string): number | null | undefined {
  let t = text;
  if (t === undefined) {
    try {
      t = fs.readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const row = t.split('\n').find((l) => l.startsWith(name));
  const soft = row?.slice(name.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return null;
  const n = Number(soft);
  return soft !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Open files a job needs at the least: Node and its worker thread hold about 20 before any work,
 * and `optimize --compensate all` of the 4-block test model failed at 32 and ran at 40; models in
 * several files (shards, external data) hold more.
 */
export const MIN_OPEN_FILES = 64;

const GiB = 2 ** 30;
/**
 * Address space a job needs at the least, with Node's WebAssembly reservation turned off (the CLI
 * relaunches itself so, cli/relaunch.ts; without it a probe needed 12 GiB): below about 1.5 GiB V8
 * cannot reserve its code range and aborts natively. Measured: prune of tiny-bert failed at 1.4 GiB
 * and ran at 1.9 GiB; probe of tiny-bert failed at 1.4 GiB and ran at 1.9 GiB, probe of roberta-mini
 * ran at 2.1 GiB and optimize at 2.9 GiB. A larger model needs more; a failure under the limit
 * is then worded with it (limitFailure).
 */
export const MIN_ADDRESS_SPACE = 1.9 * GiB;

/**
 * Why the limits of this process are too low for a job, or undefined when they are not (or
 * cannot be read). `text` stands in for /proc/self/limits (tests).
 */
export function limitsTooLow(text?: string): string | undefined {
  const files = softLimit('Max open files', text);
  if (typeof files === 'number' && files < MIN_OPEN_FILES) {
    return `the limit on open files is ${files} (ulimit -n); a job needs at least ${MIN_OPEN_FILES} (Node, its worker thread, ONNX Runtime and the model's files each hold some), and fails below that with errors that do not say so. Raise it (ulimit -n 1024) and run again.`;
  }
  const space = softLimit('Max address space', text);
  if (typeof space === 'number' && space < MIN_ADDRESS_SPACE) {
    return `the limit on address space is ${gib(space)} (ulimit -v ${Math.floor(space / 1024)}); a job needs at least ${gib(MIN_ADDRESS_SPACE)} of it (Node's engine reserves that much before any work, and aborts below it). Raise it (ulimit -v unlimited; to cap memory, limit resident memory instead, e.g. systemd-run --scope -p MemoryMax=4G) and run again.`;
  }
  return undefined;
}

/**
 * The advice for an error a resource limit caused after the job started, or undefined when `e`
 * is not one: too many open files (EMFILE, ENFILE) or memory that could not be had while an
 * address-space limit is set.
 */
export function limitFailure(e: unknown, text?: string): string | undefined {
  const message = e instanceof Error ? `${e.message} ${String((e as NodeJS.ErrnoException).code ?? '')}` : String(e);
  if (/\bE[MN]FILE\b/.test(message)) {
    const files = softLimit('Max open files', text);
    return `too many open files (${/\bENFILE\b/.test(message) ? 'ENFILE: the whole system' : 'EMFILE'})${typeof files === 'number' ? `; the limit on open files is ${files} (ulimit -n)` : ''}. Raise it (ulimit -n 1024) and run again. (${firstLine(message)})`;
  }
  const space = softLimit('Max address space', text);
  if (typeof space === 'number' && /out of memory|Cannot allocate|Failed to allocate|bad_alloc|ERR_WORKER_OUT_OF_MEMORY/i.test(message)) {
    return `out of memory under the limit on address space of ${gib(space)} (ulimit -v ${Math.floor(space / 1024)}). Raise it (ulimit -v unlimited) and run again. (${firstLine(message)})`;
  }
  return undefined;
}

function gib(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0];
}
