/**
 * ProbeScale's caches on disk: how much they hold, and clearing them. Neither is bounded on its
 * own; these let a user see and reclaim the space.
 * - The feature cache: an entry (`<32 hex>.feat`) is a task's features for one model and
 *   settings, megabytes to gigabytes. A cache pointed at a folder holding other files keeps them;
 *   a run still writing keeps its temporary.
 * - The graph cache (model/graphSource.ts): a folder (`<24 hex>/`) per graph built from
 *   safetensors, beside hard links to the weights, or copies across disks. A link costs nothing
 *   while its source file exists; once the source is deleted or replaced, the cache alone holds
 *   those bytes ("held only here"), which is what clearing frees.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cleanStaleTemporaries } from './commit/atomicDir';
import { BadInputError } from './errors';
import { diskBytes } from './util/diskErrors';

const GRAPH = /^[0-9a-f]{24}$/;
/** A build's temporary folder (mkdtemp names it `.building-XXXXXX`): removed once a day old, as no build takes that long. */
const GRAPH_TEMPORARY = /^\.building-/;
const STALE_BUILD_MS = 24 * 3600_000;

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

export interface GraphCacheUsage {
  dir: string;
  graphs: number;
  bytes: number;
  /** Bytes of files no other folder links to (copies, or links whose source is gone): what clearing frees. */
  heldOnly: number;
}

/** The graph cache's graphs, their bytes and the bytes only the cache holds; an absent folder holds none. */
export function graphCacheUsage(dir: string, now = Date.now()): GraphCacheUsage {
  const usage: GraphCacheUsage = { dir, graphs: 0, bytes: 0, heldOnly: 0 };
  for (const name of graphNames(dir, now)) {
    const files = filesIn(path.join(dir, name));
    if (GRAPH.test(name)) usage.graphs++;
    for (const f of files) {
      usage.bytes += f.size;
      if (f.nlink === 1) usage.heldOnly += f.size;
    }
  }
  return usage;
}

/** Removes every built graph and every day-old build temporary; returns what was removed (`heldOnly`: the bytes that freed). */
export function clearGraphCache(dir: string, now = Date.now()): GraphCacheUsage {
  const removed: GraphCacheUsage = { dir, graphs: 0, bytes: 0, heldOnly: 0 };
  for (const name of graphNames(dir, now)) {
    const folder = path.join(dir, name);
    const files = filesIn(folder);
    try {
      fs.rmSync(folder, { recursive: true, force: true });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new BadInputError(`cannot remove ${folder} from the graph cache (${why}) after removing ${removed.graphs} graphs; give yourself write permission in ${dir} and clear it again.`);
    }
    if (GRAPH.test(name)) removed.graphs++;
    for (const f of files) {
      removed.bytes += f.size;
      if (f.nlink === 1) removed.heldOnly += f.size;
    }
  }
  return removed;
}

/** Graph folders and stale build temporaries in `dir` (folders only; anything else there is not the cache's). */
function graphNames(dir: string, now: number): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new BadInputError(`cannot read the graph cache ${dir} (${code ?? (e as Error).message}); set XDG_CACHE_HOME to a folder you can read, or give yourself read permission there.`);
  }
  return entries
    .filter((e) => e.isDirectory() && (GRAPH.test(e.name) || (GRAPH_TEMPORARY.test(e.name) && now - mtimeOf(path.join(dir, e.name)) > STALE_BUILD_MS)))
    .map((e) => e.name)
    .sort();
}

/** Regular files directly in `folder`, with their sizes and link counts. */
function filesIn(folder: string): { size: number; nlink: number }[] {
  const out: { size: number; nlink: number }[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      const st = fs.lstatSync(path.join(folder, n));
      if (st.isFile()) out.push({ size: st.size, nlink: st.nlink });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function mtimeOf(p: string): number {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What the caches hold, a line each, for the CLI and the extension (`features` undefined: the feature cache is off; `graphs` undefined: there is no folder for it). */
export function describeCaches(features: CacheUsage | undefined, graphs: GraphCacheUsage | undefined, featuresOff = 'feature cache: off'): string[] {
  return [
    features ? `feature cache ${features.dir}: ${count(features.entries, 'entry', 'entries')}, ${diskBytes(features.bytes)}` : featuresOff,
    graphs ? `graph cache ${graphs.dir}: ${count(graphs.graphs, 'graph', 'graphs')}, ${diskBytes(graphs.bytes)} (${diskBytes(graphs.heldOnly)} held only by the cache; the rest are links to model files)` : `graph cache: none (${NO_CACHE_FOLDER})`,
  ];
}

export function describeCleared(features: CacheUsage | undefined, graphs: GraphCacheUsage | undefined, featuresOff = 'feature cache: off'): string[] {
  return [
    features ? `removed ${count(features.entries, 'entry', 'entries')} (${diskBytes(features.bytes)}) from the feature cache ${features.dir}` : featuresOff,
    graphs ? `removed ${count(graphs.graphs, 'graph', 'graphs')} from the graph cache ${graphs.dir}: ${diskBytes(graphs.heldOnly)} freed (the rest were links to model files, which stay)` : `graph cache: none (${NO_CACHE_FOLDER})`,
  ];
}

/** Why a cache has no folder where userCacheRoot() found none. */
export const NO_CACHE_FOLDER = 'there is no home folder, and XDG_CACHE_HOME is not set to an absolute path';
