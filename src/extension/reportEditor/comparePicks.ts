/**
 * "Compare with…" in the report editor: reading the reports the user picked. No `vscode` here
 * (the picker is in editorRequests.ts), so the tests call it on real files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReport } from '../../core/reportData';
import { NAMES_LISTED } from '../../shared/bounded';
import { COMPARE_REPORTS, type ComparePicks } from '../../shared/protocol';

/** What makes two picks one report: the real path where the file exists (a link to the open report is that report). */
function identity(file: string): string {
  const abs = path.resolve(file);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/**
 * Reads the picked report files for an editor. `exclude` is the report open in it, then those it
 * overlays: picking one of them again is refused, and a file picked twice is read once. Reading
 * stops at `room` reports (the editor overlays no more) or COMPARE_REPORTS files that do not read
 * as reports (deleted since the pick, not JSON, damaged: each refused with the reader's reason);
 * the picks after that are left out unread, so ticking 50 reports reads `room`, not 50.
 */
export function readComparePicks(chosen: readonly string[], exclude: readonly string[], room: number): ComparePicks {
  const open = exclude[0] ? identity(exclude[0]) : null;
  const overlaid = new Set(exclude.slice(1).map(identity));
  const seen = new Set<string>();
  const out: ComparePicks = { reports: [], refused: [], leftOut: { count: 0, sources: [] } };
  let failed = 0;
  for (const file of chosen) {
    const id = identity(file);
    if (seen.has(id)) continue;
    seen.add(id);
    if (id === open) out.refused.push({ source: file, reason: 'is the report open in this editor' });
    else if (overlaid.has(id)) out.refused.push({ source: file, reason: 'is overlaid already' });
    else if (out.reports.length >= room || failed >= COMPARE_REPORTS) {
      out.leftOut.count++;
      if (out.leftOut.sources.length < NAMES_LISTED) out.leftOut.sources.push(file);
    } else {
      try {
        out.reports.push({ report: readReport(file), source: file });
      } catch (e) {
        // The reader's messages start with the file, which the editor names itself.
        failed++;
        const message = (e as Error).message;
        out.refused.push({ source: file, reason: message.startsWith(file) ? message.slice(file.length).replace(/^:?\s*/, '') : message });
      }
    }
  }
  return out;
}
