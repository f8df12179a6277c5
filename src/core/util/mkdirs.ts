import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `mkdir -p`, one level at a time: Node 20's mkdirSync({ recursive: true }) never returns where
 * mkdir keeps failing with ENOENT (under /proc), so it cannot be used on a path a user typed.
 * Throws the first level's error (EEXIST when a level is a file, EACCES, ENOENT).
 */
export function makeFolders(dir: string, mode?: number): void {
  const missing: string[] = [];
  let at = path.resolve(dir);
  while (!fs.existsSync(at) && path.dirname(at) !== at) {
    missing.unshift(at);
    at = path.dirname(at);
  }
  if (missing.length === 0 && !fs.statSync(at).isDirectory()) throw Object.assign(new Error(`EEXIST: ${at} is a file, not a folder`), { code: 'EEXIST' });
  for (const m of missing) fs.mkdirSync(m, mode === undefined ? undefined : { mode });
}
