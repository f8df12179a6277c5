/**
 * A job reads its model folder for the whole run (candidate graphs point at its weights), so a
 * folder moved, deleted or rewritten mid-run makes ONNX Runtime fail in its own words
 * ("External data path does not exist"). A snapshot taken at the start lets the job name the
 * cause instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Each file's size and modification time, by path relative to the folder (two levels deep; hidden entries such as .git or .probescale, which others write, left out). */
export interface FolderSnapshot {
  dir: string;
  files: Map<string, string>;
}

/** Files looked at, at most: a snapshot of a huge folder must stay cheap. */
const MAX_FILES = 2000;

export function snapshotFolder(dir: string): FolderSnapshot | undefined {
  const files = new Map<string, string>();
  const walk = (rel: string, depth: number) => {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(dir, rel)).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (files.size >= MAX_FILES) return;
      if (n.startsWith('.')) continue;
      const r = path.join(rel, n);
      const st = statOf(path.join(dir, r));
      if (st?.isDirectory() && depth < 2) walk(r, depth + 1);
      else if (st?.isFile()) files.set(r, stamp(st));
    }
  };
  if (!statOf(dir)?.isDirectory()) return undefined;
  walk('', 1);
  return { dir, files };
}

/** What changed since `s` was taken, in words ("was deleted or moved", "onnx/model.onnx changed"), or undefined. */
export function folderChange(s: FolderSnapshot | undefined): string | undefined {
  if (!s) return undefined;
  if (!statOf(s.dir)?.isDirectory()) return 'was deleted or moved';
  for (const [rel, before] of s.files) {
    const st = statOf(path.join(s.dir, rel));
    if (!st?.isFile()) return `lost ${rel}`;
    if (stamp(st) !== before) return `had ${rel} rewritten`;
  }
  return undefined;
}

function statOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

const stamp = (st: fs.Stats) => `${st.size}:${st.mtimeMs}`;
