/**
 * Writing outputs so that nothing half written is ever left at its final path: fill a sibling
 * temporary (named `.<name>.probescale-tmp-<pid>-<random>`), then rename it into place. Leftovers
 * of runs that were killed (their pid no longer alive) are removed by the next run that writes
 * beside them. The source model folder, anything inside it and its ancestors are never replaced.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BadInputError, Param, badValue, throwIfAborted } from '../errors';
import { diskWriteError, freeBytes } from '../util/diskErrors';
import { fitName, NAME_MAX } from '../util/names';

const TMP_MARK = '.probescale-tmp-';
/** Bytes of the output's name a temporary keeps: its mark, pid and random suffix take the rest. */
const TMP_NAME_ROOM = 200;

/** `.<name>` of the temporaries of `abs`, a long name shortened. */
function tmpBase(abs: string): string {
  return `.${fitName(path.basename(abs), TMP_NAME_ROOM)}`;
}

/** Sibling temporary path of `abs` owned by this process. */
function tmpSibling(abs: string): string {
  return path.join(path.dirname(abs), `${tmpBase(abs)}${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries in the folder of `abs` left by processes that no longer run (a
 * SIGKILL, a power cut), whatever output they were for; with `ownOnly`, removes this process's
 * temporaries of `abs` instead (a hard exit cleaning up after itself). Returns the names removed.
 */
export function cleanStaleTemporaries(abs: string, ownOnly = false): string[] {
  const dir = path.dirname(abs);
  const own = `${tmpBase(abs)}${TMP_MARK}${process.pid}-`;
  const names = namesIn(dir);
  const removed: string[] = [];
  for (const n of names) {
    const pid = Number(/^\..+\.probescale-tmp-(\d+)-[0-9a-f]+$/.exec(n)?.[1]);
    if (!Number.isInteger(pid)) continue;
    if (ownOnly ? !n.startsWith(own) : pid === process.pid || pidAlive(pid)) continue;
    fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}

/**
 * Removes the private working folders `<dir>/<prefix><pid>-*` of processes that no longer run
 * (a SIGKILL during a compensated build leaves its graph in the system temporary folder).
 * Returns the names removed.
 */
export function cleanDeadProcessFolders(dir: string, prefix: string): string[] {
  const names = namesIn(dir);
  const removed: string[] = [];
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(n.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || pidAlive(pid)) continue;
    fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}

/** The entries of `dir`, or none when it cannot be read. */
function namesIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Real path of `p`, or of its nearest existing ancestor joined with the rest. */
function realish(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realish(parent), path.basename(abs));
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Refuses an output that would replace or delete the source model or the task data the job
 * reads: the folder (or data file) itself, one of its ancestors, or an existing path inside it.
 * Symlinks are resolved on both sides.
 */
export function assertNotSource(param: Param, dest: string, sources: string[], data: string[] = []): void {
  const d = realish(dest);
  for (const s of sources) {
    const src = realish(s);
    if (isInside(src, d)) {
      const what = d === src ? 'is the source model folder' : `contains the source model folder ${s}`;
      throw badValue(param, dest, `that path ${what}; writing there would replace the source. Choose a path outside it.`);
    }
    if (isInside(d, src) && fs.existsSync(dest)) throw badValue(param, dest, `that path is inside the source model folder ${s} and exists; ProbeScale never replaces files of its source. Choose a new path.`);
  }
  for (const s of data) {
    const src = realish(s);
    if (isInside(src, d)) throw badValue(param, dest, `that path ${d === src ? 'is' : 'contains'} the task data ${s}; writing there would replace it. Choose a path outside it.`);
    if (isInside(d, src) && fs.existsSync(dest)) throw badValue(param, dest, `that path is inside the task data ${s} and exists; ProbeScale never replaces its inputs. Choose a new path.`);
  }
}

/** Creates the missing folders above `abs` and proves the parent accepts a new entry. */
function assertParentWritable(param: Param, dest: string, abs: string): void {
  const parent = path.dirname(abs);
  // Level by level: mkdirSync({ recursive }) never returns under /proc (Node 20).
  const missing: string[] = [];
  let at = parent;
  while (!fs.existsSync(at) && path.dirname(at) !== at) {
    missing.unshift(at);
    at = path.dirname(at);
  }
  if (!fs.statSync(at).isDirectory()) throw badValue(param, dest, `${at} is a file, not a folder. Choose another path.`);
  const bytes = Buffer.byteLength(path.basename(abs));
  if (bytes > NAME_MAX) throw badValue(param, dest, `the name ${path.basename(abs)} is ${bytes} bytes long; file systems allow at most ${NAME_MAX}. Choose a shorter name.`);
  try {
    for (const m of missing) fs.mkdirSync(m);
  } catch (e) {
    throw diskWriteError(e, dest, { param, kept: 'no work was started' }) ?? badValue(param, dest, `cannot create the folder ${parent} (${(e as NodeJS.ErrnoException).code}). Choose a path you can write to.`);
  }
  const probe = tmpSibling(abs);
  try {
    fs.mkdirSync(probe);
    fs.rmdirSync(probe);
  } catch (e) {
    throw diskWriteError(e, dest, { param, kept: 'no work was started' }) ?? badValue(param, dest, `the folder ${parent} is not writable (${(e as NodeJS.ErrnoException).code}); choose a path you can write to.`);
  }
  // A disk without one free block takes no output: say so now, not after a run of minutes.
  if ((freeBytes(parent) ?? Infinity) < MIN_FREE) throw diskWriteError(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }), dest, { param, kept: 'no work was started' })!;
}

/** Free bytes below which an output disk counts as full before any work (one filesystem block). */
const MIN_FREE = 4096;

/** The output folder exists and replacing it was not asked for. */
export function outExists(dest: string): BadInputError {
  return badValue('out', dest, 'the folder already exists; choose another path or allow replacing it ({{force}}).');
}

/**
 * What replacing may remove: an earlier model folder (config.json with onnx/ or safetensors
 * weights, as prune and optimize write them) or an empty folder. Anything else (a project, a
 * home folder: `--out . --force`) is refused, naming some of what it holds.
 */
function assertReplaceable(param: Param, dest: string, abs: string): void {
  const names = namesIn(abs).sort();
  const model = names.includes('config.json') && (names.includes('onnx') || names.some((n) => n.endsWith('.safetensors')));
  if (names.length === 0 || model) return;
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
  throw badValue(param, dest, `the folder holds files that are not a model folder (${shown}); {{force}} replaces an earlier model folder (config.json with onnx/ or safetensors weights) or an empty folder, never others. Choose a new path, or empty it first.`);
}

/**
 * Every check an output path can fail, run before any work so a bad path costs nothing:
 * existing entry (folder vs file), source model and task data protection, parent writable. `kind` is what will be
 * written there. Also removes leftovers of earlier killed runs at that path.
 */
export function preflightOutput(dest: string, kind: 'folder' | 'file', overwrite: boolean, sources: string[], param: Param = 'out', data: string[] = []): string {
  const abs = path.resolve(dest);
  assertNotSource(param, dest, sources, data);
  if (fs.existsSync(abs)) {
    const isDir = fs.statSync(abs).isDirectory();
    if (kind === 'folder' && !isDir) throw badValue(param, dest, 'a file of that name exists; choose another path (a folder is written there).');
    if (kind === 'file' && isDir) throw badValue(param, dest, `that is a folder; give a file path such as ${path.join(dest, 'report.json')}.`);
    // Before "allow replacing it": a folder --force would refuse is named as such at once.
    if (kind === 'folder') assertReplaceable(param, dest, abs);
    if (kind === 'folder' && !overwrite) throw outExists(dest);
    // A device or named pipe is written into, never replaced: nothing is made beside it.
    if (kind === 'file' && isWrittenInto(abs)) return abs;
  }
  assertParentWritable(param, dest, abs);
  cleanStaleTemporaries(abs);
  return abs;
}

export interface CommitOptions {
  /** Source folders that must never be replaced (the model being pruned). */
  sources?: string[];
  /** Checked after `fill`, just before the rename that makes the folder visible. */
  signal?: AbortSignal;
  /** Parameter named in error messages. */
  param?: Param;
}

/**
 * Fills a fresh temporary sibling of `dest` and renames it into place. Until the rename, a
 * cancel or an error removes the temporary and `dest` is untouched; after it the folder is
 * complete. Modes follow the umask (no 0700 from mkdtemp).
 */
export async function writeFolderAtomically(dest: string, overwrite: boolean, fill: (tmpDir: string) => Promise<void>, opts: CommitOptions = {}): Promise<string> {
  const param = opts.param ?? 'out';
  const abs = preflightOutput(dest, 'folder', overwrite, opts.sources ?? [], param);
  const tmp = tmpSibling(abs);
  let old: string | undefined;
  try {
    fs.mkdirSync(tmp);
    await fill(tmp);
    throwIfAborted(opts.signal);
    old = moveAsideForReplacing(abs, dest, overwrite, param);
    renameIntoPlace(tmp, abs, dest, param);
  } catch (e) {
    const written = bytesUnder(tmp);
    // Someone removed the folder being written (or the one holding it): say that, not ENOENT.
    const vanished = (e as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
    // The earlier folder was moved aside but the new one could not take its place: put it back.
    if (old !== undefined && !fs.existsSync(abs)) fs.renameSync(old, abs);
    const kept = fs.existsSync(abs) ? `the folder already at ${dest} is untouched` : undefined;
    if (vanished) throw badValue(param, dest, `the folder ${path.dirname(abs)}, where the output was being written, was deleted or moved while the job wrote it (${(e as Error).message}). Nothing of it was left; run the job again.`);
    throw diskWriteError(e, dest, { param, written, kept }) ?? e;
  }
  // The new folder is in place: failing to remove the earlier one (left under a temporary name,
  // which the next run beside it removes) does not make the commit fail.
  try {
    if (old !== undefined) fs.rmSync(old, { recursive: true, force: true });
  } catch {
    // Left for the next run's cleanStaleTemporaries.
  }
  return abs;
}

/**
 * Just before the rename, `abs` is checked again: a folder that appeared while the job ran
 * (another run, the user) is replaced only with `overwrite` and only when replacing would have
 * been allowed at the start. Returns where the replaced folder was moved, if any.
 */
function moveAsideForReplacing(abs: string, dest: string, overwrite: boolean, param: Param): string | undefined {
  if (!fs.existsSync(abs)) return undefined;
  if (!overwrite) throw appearedMeanwhile(dest, param);
  assertReplaceable(param, dest, abs);
  const old = tmpSibling(abs);
  fs.renameSync(abs, old);
  return old;
}

/**
 * Renames the filled temporary to `abs`. The kernel refuses to rename a folder onto a non-empty
 * one, so a folder that appears between the check above and this rename is never lost.
 */
function renameIntoPlace(tmp: string, abs: string, dest: string, param: Param): void {
  try {
    fs.renameSync(tmp, abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') throw appearedMeanwhile(dest, param);
    throw e;
  }
}

function appearedMeanwhile(dest: string, param: Param): BadInputError {
  return badValue(param, dest, 'the folder already exists (it appeared while the job ran); choose another path or allow replacing it ({{force}}).');
}

/** Bytes of the files under `p` (each inode once; 0 when absent): what a failed commit had written. */
function bytesUnder(p: string): number {
  const seen = new Set<number>();
  let total = 0;
  const walk = (at: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(at);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const n of namesIn(at)) walk(path.join(at, n));
    else if (st.isFile() && !seen.has(st.ino)) {
      seen.add(st.ino);
      total += st.size;
    }
  };
  walk(p);
  return total;
}

/**
 * True for an existing path (links followed) that is neither a regular file nor a folder: a
 * device (`--out /dev/null`, `/dev/stdout`), a named pipe or a socket. Replacing it by rename
 * would put a regular file where, for root, /dev/null was.
 */
function isWrittenInto(abs: string): boolean {
  try {
    const st = fs.statSync(abs);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

/** Writes `data` into the device or pipe `abs`; the function form writes a private temporary first. */
function writeInto(abs: string, data: string | Buffer | ((tmp: string) => void)): void {
  if (typeof data !== 'function') return fs.writeFileSync(abs, data);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-out-'));
  try {
    const tmp = path.join(dir, 'out');
    data(tmp);
    fs.writeFileSync(abs, fs.readFileSync(tmp));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Replaces a file by writing a sibling temporary file and renaming it over the target: `data`, or
 * whatever `data(tmp)` writes to the temporary path. The temporary file never outlives a failure,
 * and a disk that is full or read-only is a DiskWriteError naming `file` (and `param`, when given).
 */
export function writeFileAtomic(file: string, data: string | Buffer | ((tmp: string) => void), param?: Param): void {
  const abs = path.resolve(file);
  if (isWrittenInto(abs)) return writeInto(abs, data);
  const tmp = tmpSibling(abs);
  try {
    if (typeof data === 'function') data(tmp);
    else fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, abs);
  } catch (e) {
    const need = typeof data === 'function' ? { written: bytesUnder(tmp) } : { needed: Buffer.byteLength(data) };
    fs.rmSync(tmp, { force: true });
    const kept = fs.existsSync(abs) ? `the file already at ${file} is untouched` : undefined;
    throw diskWriteError(e, file, { param, kept, ...need }) ?? e;
  }
}
