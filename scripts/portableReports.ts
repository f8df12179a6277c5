/**
 * Rewrites report files written before portable paths (core/reportPaths.ts) for sharing: every
 * path relative to the report, no absolute path left.
 *
 *   node out/scripts/portableReports.js --was <repository root the reports were made in> FILE...
 *
 * A path under `--was` becomes the same path under this repository; `verify.loadedFrom` (the
 * committed folder the report was written into) becomes the report's own folder. A path that is
 * neither stops the script, naming it. Files that are not ProbeScale reports are left alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/core/commit/atomicDir';
import { pathFields, relativePath, ReportPaths } from '../src/core/reportPaths';

export function rewriteReport(text: string, file: string, was: string, repoRoot: string): string | null {
  const report: Record<string, unknown> = JSON.parse(text);
  const fields = pathFields(report);
  if (fields.length === 0) return null;
  const dir = path.dirname(path.resolve(file));
  for (const f of fields) {
    const p = String(f.get());
    let now: string;
    if (f.key === 'verify.loadedFrom') now = dir;
    else if (!path.isAbsolute(p)) now = path.resolve(dir, p);
    else if (p === was || p.startsWith(`${was}/`)) now = path.join(repoRoot, p.slice(was.length));
    else throw new Error(`${file}: ${f.key} ${p} is not under --was ${was}; move the report beside what it names by hand.`);
    f.set(relativePath(dir, now));
  }
  const paths: ReportPaths = { relativeTo: 'report folder' };
  return JSON.stringify({ ...report, paths }, null, 2) + '\n';
}

if (require.main === module) {
  const { values, positionals } = parseArgs({ options: { was: { type: 'string' } }, allowPositionals: true });
  if (!values.was || positionals.length === 0) throw new Error('usage: portableReports --was <old repository root> FILE...');
  const was = values.was.replace(/\/+$/, '');
  for (const file of positionals) {
    const out = rewriteReport(fs.readFileSync(file, 'utf8'), file, was, process.cwd());
    if (out === null) continue;
    writeFileAtomic(file, out);
    process.stdout.write(`rewrote ${file}\n`);
  }
}
