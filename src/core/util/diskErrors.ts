/**
 * What to say when a disk refuses a write: full (ENOSPC, EDQUOT) or not writable (EROFS, EACCES,
 * EPERM). Node says "ENOSPC: no space left on device, write", naming neither the output nor
 * what it needed; every writer of outputs (folder and file commits, the CLI's report, the
 * feature cache) words it here instead, so the user reads one message with the path, the bytes
 * needed and free, and what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskWriteError, Param } from '../errors';
import { shownValue } from './decimal';
import { softLimit } from './processLimits';

const FULL = ['ENOSPC', 'EDQUOT'];
const REFUSED = ['EROFS', 'EACCES', 'EPERM'];
/** A file past the process's size limit (`ulimit -f`; Node ignores SIGXFSZ, so the write fails) or the file system's. */
const TOO_LARGE = 'EFBIG';

/** The system code of a write the disk refused (one already worded keeps its own), else undefined. */
export function diskErrno(e: unknown): string | undefined {
  if (e instanceof DiskWriteError) return e.errno;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && (FULL.includes(code) || REFUSED.includes(code) || code === TOO_LARGE) ? code : undefined;
}

/**
 * Bytes this process may still write on the disk holding `p` (root may use the reserved blocks);
 * undefined when it cannot be asked, or the filesystem reports no size at all (/proc, some
 * network and FUSE mounts say 0 of 0 and still take writes).
 */
export function freeBytes(p: string): number | undefined {
  let at = path.resolve(p);
  for (;;) {
    try {
      const s = fs.statfsSync(at);
      return s.blocks > 0 ? (process.getuid?.() === 0 ? s.bfree : s.bavail) * s.bsize : undefined;
    } catch {
      const up = path.dirname(at);
      if (up === at) return undefined;
      at = up;
    }
  }
}

/** "0 B", "12.3 kB", "45.1 MB", "2.0 GB". */
export function diskBytes(b: number): string {
  if (b < 1000) return `${b} B`;
  const [unit, div] = b < 1e6 ? ['kB', 1e3] : b < 1e9 ? ['MB', 1e6] : ['GB', 1e9];
  return `${(b / div).toFixed(1)} ${unit}`;
}

/** What a failed write needed, as far as the writer knows it. */
export interface WriteNeed {
  /** Bytes the whole write needed (a report, a cache entry). */
  needed?: number;
  /** Bytes written before the disk filled, when the whole is not known in advance (a model folder). */
  written?: number;
}

/**
 * Why the disk refused and what to do, for a message about `target`: `reason` ("the disk is
 * full (ENOSPC): it needs 2.1 MB, 4.0 kB free there") and `advice` ("free at least 2.1 MB on
 * that disk, or give --out a path on another disk"), where `elsewhere(where)` says how the
 * caller's user names another path ("give {{out}} a path " + where).
 */
export function diskReason(errno: string, target: string, need: WriteNeed, elsewhere: (where: string) => string, sysPath?: string): { reason: string; advice: string } {
  if (errno === 'EROFS') return { reason: 'the disk is read-only (EROFS)', advice: `${elsewhere('on another disk')}, or remount that disk read-write` };
  if (errno === TOO_LARGE) return fileTooLarge(elsewhere);
  if (!FULL.includes(errno)) {
    // A temporary's name means nothing to the user: its folder is what refused. A folder that
    // could not be made was refused by the nearest one above it that this user can see.
    const refused = sysPath && existingAbove(sysPath.includes('.probescale-tmp-') ? path.dirname(sysPath) : sysPath);
    const on = refused && path.resolve(refused) !== path.resolve(target) ? ` in ${refused}` : '';
    return { reason: `permission denied (${errno})${on}`, advice: `${elsewhere('you can write to')}, or give yourself write permission there` };
  }
  const free = freeBytes(target);
  const shownFree = free === undefined ? '' : `${diskBytes(free)} free there`;
  const full = errno === 'EDQUOT' ? 'your disk quota is used up (EDQUOT)' : 'the disk is full (ENOSPC)';
  let facts = shownFree;
  if (need.needed !== undefined) facts = `it needs ${diskBytes(need.needed)}${free === undefined ? '' : `, ${shownFree}`}`;
  // What was written has been removed again, so it is free once more: the output needs more than that.
  else if (need.written) facts = `it filled after ${diskBytes(need.written)} of the output were written, and the output needs more${free === undefined ? '' : ` (${shownFree} now that those are removed)`}`;
  const short = need.needed !== undefined && free !== undefined && need.needed > free ? `at least ${diskBytes(need.needed - free)}` : 'space';
  return { reason: facts ? `${full}: ${facts}` : full, advice: `free ${short} on that disk, or ${elsewhere('on another disk')}` };
}

/** `p`, or the nearest folder above it that exists (as this user sees it). */
function existingAbove(p: string): string {
  let at = path.resolve(p);
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  return at;
}

/** EFBIG: the process's file size limit when one is set, else the file system's largest file. */
function fileTooLarge(elsewhere: (where: string) => string): { reason: string; advice: string } {
  const limit = softLimit('Max file size');
  if (typeof limit === 'number') {
    return { reason: `a file of it is larger than this process may write (EFBIG): the limit on file size is ${diskBytes(limit)} (ulimit -f ${Math.floor(limit / 1024)})`, advice: 'raise that limit (ulimit -f unlimited) and run again' };
  }
  return { reason: 'a file of it is larger than the file system there takes (EFBIG; FAT32 takes at most 4 GB)', advice: elsewhere('on another disk') };
}

export interface DiskErrorOptions extends WriteNeed {
  /** The parameter the path was given for (messages start with it, as badValue's do). */
  param?: Param;
  /** What survived the failure, said after "nothing of it was left" ("the folder already there is untouched"). */
  kept?: string;
  /** How the message names the target when no parameter gave it ("the temporary folder /tmp (…)"). */
  name?: string;
  /** How the user points the write elsewhere, when no parameter gave the path ("set TMPDIR to a folder " + where). */
  elsewhere?: (where: string) => string;
}

/**
 * `e` as a DiskWriteError about `target` (the output as the user named it), or undefined when
 * the disk is not what failed (the caller rethrows `e`). Callers remove what they wrote first:
 * the message says nothing of the output was left.
 */
export function diskWriteError(e: unknown, target: string, opts: DiskErrorOptions = {}): DiskWriteError | undefined {
  const errno = diskErrno(e);
  if (errno === undefined) return undefined;
  const elsewhere = opts.elsewhere ?? ((where: string) => (opts.param ? `give {{${opts.param}}} a path ${where}` : `write to a path ${where}`));
  const { reason, advice } = diskReason(errno, target, opts, elsewhere, (e as NodeJS.ErrnoException).path);
  const where = opts.param ? `{{${opts.param}}} ${shownValue(target)}` : (opts.name ?? target);
  const bad = opts.param ? { param: opts.param, value: target } : undefined;
  return new DiskWriteError(errno, `${where}: cannot be written: ${reason}. Nothing of it was left on disk${opts.kept ? `; ${opts.kept}` : ''}. ${advice[0].toUpperCase()}${advice.slice(1)}.`, bad);
}
