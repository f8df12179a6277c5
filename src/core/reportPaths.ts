/**
 * Portable report paths. A report records where its model, tasks and committed folder are
 * relative to the folder the report file is in, so a report moved with them (to another
 * machine, into a team's repository) still finds them; the absolute paths it was written with
 * are kept under `paths.absolute` as a fallback for a report moved alone. Reports rewritten for
 * sharing (scripts/portableReports.ts) keep no absolute path at all.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a report says about its paths. */
export interface ReportPaths {
  relativeTo: 'report folder';
  /** The absolute paths the report was written with, by field (`model.dir`, `tasks.spam.source`). */
  absolute?: Record<string, string>;
}

/** A path field of a report: where it is (dotted, for `paths.absolute`) and how to read and write it. */
interface PathField {
  key: string;
  get: () => unknown;
  set: (v: string) => void;
}

function field(obj: Json, prop: string, key: string): PathField {
  return { key, get: () => obj[prop], set: (v) => (obj[prop] = v) };
}

/** Every path a report records: model.dir, model.onnxFile, tasks.<name>.source, verify.loadedFrom. */
export function pathFields(report: Json): PathField[] {
  const fields: PathField[] = [];
  if (isObj(report.model)) fields.push(field(report.model, 'dir', 'model.dir'), field(report.model, 'onnxFile', 'model.onnxFile'));
  if (isObj(report.tasks)) for (const [name, t] of Object.entries(report.tasks)) if (isObj(t)) fields.push(field(t, 'source', `tasks.${name}.source`));
  if (isObj(report.verify)) fields.push(field(report.verify, 'loadedFrom', 'verify.loadedFrom'));
  return fields.filter((f) => typeof f.get() === 'string');
}

/** `to` relative to the folder `from`, with / separators ("." for the folder itself). */
export function relativePath(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/') || '.';
}

/** The text of a report file: its JSON with portable paths (see portablePaths). */
export function reportFileText(report: object, file: string): string {
  return JSON.stringify(portablePaths(report, file), null, 2) + '\n';
}

/**
 * The JSON of `report` as written to `file`: each path relative to the file's folder, the
 * absolute ones under `paths.absolute` (left out with `keepAbsolute: false`).
 */
export function portablePaths(report: object, file: string, opts: { keepAbsolute?: boolean } = {}): Json {
  const copy: Json = JSON.parse(JSON.stringify(report));
  const dir = path.dirname(path.resolve(file));
  const absolute: Record<string, string> = {};
  for (const f of pathFields(copy)) {
    const abs = path.resolve(dir, String(f.get()));
    absolute[f.key] = abs;
    f.set(relativePath(dir, abs));
  }
  const paths: ReportPaths = opts.keepAbsolute === false ? { relativeTo: 'report folder' } : { relativeTo: 'report folder', absolute };
  return { ...copy, paths };
}

/**
 * Makes the paths of a report read from `file` absolute again, in place: relative to the file's
 * folder where that exists, else the recorded absolute path where that exists, else relative
 * to the file's folder. Absolute paths (reports from before portable paths) stay as they are.
 */
export function resolvePaths(report: Json, file: string): void {
  const dir = path.dirname(path.resolve(file));
  const recorded = isObj(report.paths) && isObj(report.paths.absolute) ? report.paths.absolute : {};
  for (const f of pathFields(report)) {
    const here = path.resolve(dir, String(f.get()));
    const fallback = recorded[f.key];
    f.set(!fs.existsSync(here) && typeof fallback === 'string' && fs.existsSync(fallback) ? fallback : here);
  }
}
