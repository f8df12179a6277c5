/**
 * SHA-256 of the files of every folder ProbeScale writes: recorded at commit (optimize: in
 * probescale-report.json; prune, which writes no report: in probescale-checksums.json), checked
 * by `probescale eval` before it measures. A file edited afterwards that still parses (a weight
 * changed, a graph swapped for another model's) is then named, not only noticed when a score moves.
 *
 * What is hashed: every file the commit wrote except README.md and the file holding the checksums.
 * Those are rewritten after verification (the report holds the checksums, so it cannot hold its
 * own), and neither changes what the model computes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { throwIfAborted } from '../errors';
import type { ChecksumsReport, IntegrityReport } from '../report';
import { readChecksums } from '../reportData';

export const REPORT_FILE = 'probescale-report.json';
/** Where a folder without a report (`probescale prune`'s) keeps its checksums, in the report's `checksums` field shape. */
export const CHECKSUMS_FILE = 'probescale-checksums.json';

/**
 * The file of `dir` that records its checksums: the checksums file (only prune writes one), else
 * the report; undefined when neither exists. In that order, a report saved later into a pruned
 * folder under the report's name (`eval --out`) does not hide the checksums prune recorded.
 */
export function checksumsRecord(dir: string): string | undefined {
  return [CHECKSUMS_FILE, REPORT_FILE].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
}

/** Writes CHECKSUMS_FILE into `dir` (a folder with no report): the checksums and a line on what checks them. */
export function writeChecksumsFile(dir: string, checksums: ChecksumsReport, tool: { name: string; version: string }): void {
  const note = 'SHA-256 of every other file of this folder as ProbeScale wrote it; `probescale eval <this folder>` checks them first and names any file that changed.';
  fs.writeFileSync(path.join(dir, CHECKSUMS_FILE), JSON.stringify({ tool, note, checksums }, null, 2) + '\n');
}

/** Hex characters of a hash shown in messages: enough to tell two files apart by eye. */
const PREFIX = 12;

/** SHA-256 of a file, read in 1 MiB chunks: committed weights can be GBs, never read whole into memory. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    throwIfAborted(signal);
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Size and SHA-256 of each file (paths relative to `dir`), hashing each inode once: the
 * classifiers' weights are hard links to the encoder's. A missing file is null.
 */
async function hashFiles(dir: string, files: string[], signal?: AbortSignal): Promise<Map<string, { bytes: number; sha256: string } | null>> {
  const byInode = new Map<string, string>();
  const out = new Map<string, { bytes: number; sha256: string } | null>();
  for (const rel of files) {
    const abs = path.join(dir, ...rel.split('/'));
    // A link that loops (ELOOP) or a path through a file (ENOTDIR) is as absent as a missing file.
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(abs, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st?.isFile()) {
      out.set(rel, null);
      continue;
    }
    const inode = `${st.dev}:${st.ino}`;
    const sha256 = byInode.get(inode) ?? (await sha256File(abs, signal));
    byInode.set(inode, sha256);
    out.set(rel, { bytes: st.size, sha256 });
  }
  return out;
}

/** The checksums of `files` (relative posix paths under `dir`, each present) for the report. */
export async function folderChecksums(dir: string, files: string[], signal?: AbortSignal): Promise<ChecksumsReport> {
  const hashed = await hashFiles(dir, [...files].sort(), signal);
  const out: ChecksumsReport['files'] = {};
  for (const [rel, h] of hashed) {
    if (!h) throw new Error(`${path.join(dir, rel)} vanished while the commit hashed it`);
    out[rel] = h;
  }
  return { algorithm: 'sha256', files: out };
}

/**
 * Checks the files a committed folder's report lists against their recorded checksums. Files the
 * list does not name (a user's own additions) are not checked. A report without checksums (written
 * before them) or no report at all checks nothing; a damaged checksums field is a BadInputError naming it.
 */
export async function checkCommittedFiles(dir: string, signal?: AbortSignal): Promise<IntegrityReport> {
  const file = checksumsRecord(dir);
  if (!file) return { checked: 0, unchecked: `${dir} has no ${REPORT_FILE} or ${CHECKSUMS_FILE}`, differing: [] };
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return { checked: 0, unchecked: `${file} cannot be read as JSON (${(e as Error).message})`, damaged: true, differing: [] };
  }
  const recorded = typeof json === 'object' && json !== null ? readChecksums((json as { checksums?: unknown }).checksums, file) : undefined;
  if (!recorded) return { checked: 0, unchecked: `${file} records no file checksums (it was written before ProbeScale recorded them)`, differing: [] };
  const names = Object.keys(recorded.files).sort();
  const actual = await hashFiles(dir, names, signal);
  const differing = names.flatMap((p) => {
    const now = actual.get(p)?.sha256 ?? null;
    return now === recorded.files[p].sha256 ? [] : [{ path: p, expected: recorded.files[p].sha256, actual: now }];
  });
  return { checked: names.length, differing };
}

/** What the check found, in one sentence for the log (a warning when a file differs). */
export function describeIntegrity(dir: string, r: IntegrityReport): { level: 'info' | 'warn'; message: string } {
  const record = path.basename(checksumsRecord(dir) ?? REPORT_FILE);
  // A record that is there but unreadable hides any edit to the files it covered: say so as loudly as a changed file.
  if (r.unchecked !== undefined) return { level: r.damaged ? 'warn' : 'info', message: `${r.unchecked}; no file was checked against what was committed${r.damaged ? '. Restore it from where the folder came from to check the files' : ''}.` };
  if (r.differing.length === 0) return { level: 'info', message: `all ${r.checked} files of ${dir} match the SHA-256 checksums its ${record} recorded at commit.` };
  const each = r.differing.map((d) => `${d.path} (committed ${d.expected.slice(0, PREFIX)}…, ${d.actual === null ? 'now missing' : `now ${d.actual.slice(0, PREFIX)}…`})`);
  return {
    level: 'warn',
    message: `${r.differing.length} of ${r.checked} files of ${dir} ${r.differing.length === 1 ? 'differs' : 'differ'} from what was committed (SHA-256 in ${record}): ${each.join(', ')}. Evaluating the files as they are now${record === REPORT_FILE ? "; the report's claims were made for the committed files" : ''}.`,
  };
}
