/**
 * The feature cache's files on disk: how much it holds, and clearing it. The cache is never
 * bounded on its own (an entry is a task's features for one model and settings, megabytes to
 * gigabytes); these let a user see and reclaim the space. Only the cache's own files are
 * touched: entries (`<32 hex>.feat`) and the temporaries of runs that no longer live. A cache
 * folder pointed at a folder that holds other files keeps them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cleanStaleTemporaries } from '../commit/atomicDir';
import { BadInputError } from '../errors';

const ENTRY = /^[0-9a-f]{32}\.feat$/;
/** A temporary of an entry (commit/atomicDir.ts names them `.<name>.probescale-tmp-<pid>-<hex>`). */
const ENTRY_TEMPORARY = /^\.([0-9a-f]{32}\.feat)\.probescale-tmp-\d+-[0-9a-f]+$/;

export interface CacheUsage {
  dir: string;
  /** Entries (whole files; a temporary counts in bytes only). */
  entries: number;
  bytes: number;
}

/** The cache's entries and their bytes; an absent folder holds none. */
export function featureCacheUsage(dir: string): CacheUsage {
  const usage: CacheUsage = { dir, entries: 0, bytes: 0 };
  for (const name of cacheNames(dir)) {
    const size = fileSize(path.join(dir, name));
    if (size === undefined) continue;
    if (ENTRY.test(name)) usage.entries++;
    usage.bytes += size;
  }
  return usage;
}

/** Removes every entry and every dead run's temporary; returns what was removed. A run still writing keeps its temporary. */
export function clearFeatureCache(dir: string): CacheUsage {
  const removed: CacheUsage = { dir, entries: 0, bytes: 0 };
  for (const name of cacheNames(dir)) {
    const file = path.join(dir, name);
    const size = fileSize(file);
    if (size === undefined) continue;
    const temporary = ENTRY_TEMPORARY.exec(name);
    if (temporary) {
      if (cleanStaleTemporaries(path.join(dir, temporary[1])).includes(name)) removed.bytes += size;
      continue;
    }
    try {
      fs.rmSync(file);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new BadInputError(`cannot remove ${file} from the feature cache (${why}) after removing ${removed.entries} entries; give yourself write permission in ${dir} and clear it again.`);
    }
    removed.entries++;
    removed.bytes += size;
  }
  return removed;
}

/** Names in `dir` that are the cache's own; a folder that is not there (or not a folder) has none. */
function cacheNames(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw new BadInputError(`the feature cache ${dir} is a file, not a folder; point {{cacheDir}} at a folder.`);
    throw new BadInputError(`cannot read the feature cache ${dir} (${code ?? (e as Error).message}); give yourself read permission there.`);
  }
  return names.filter((n) => ENTRY.test(n) || ENTRY_TEMPORARY.test(n)).sort();
}

/** A regular file's size; undefined for anything else (a folder someone named like an entry) or a file gone meanwhile. */
function fileSize(file: string): number | undefined {
  try {
    const st = fs.lstatSync(file);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}
