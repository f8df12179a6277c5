/**
 * Reports in the workspace: every report the extension makes is saved to
 * `.probescale/reports/<model>-<time>.json` (probe) or `<model>-<kind>-<time>.json` (eval,
 * optimize) in the model's workspace folder, and the view reloads the newest one when it
 * opens. Reports written by the CLI (and `probescale-report.json` of a committed folder) open
 * the same way (src/core/reportData.ts reads them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeFileAtomic } from '../../core/commit/atomicDir';
import { normalizeReport, readReport, timestampForFile } from '../../core/reportData';
import { reportFileText } from '../../core/reportPaths';
import { fitName } from '../../core/util/names';
import { ReportData } from '../../shared/protocol';
import { workspaceFolderFor } from '../workspace/discovery';

export const REPORTS_DIR = path.join('.probescale', 'reports');
/** Bytes of a report file's name its model folder's name may take; the kind, the time and `.json` take the rest. */
const REPORT_NAME_ROOM = 200;

export interface ShownReport {
  report: ReportData;
  /** The file the report lives in; null for a report that could not be saved. */
  source: string | null;
}

export function readReportFile(file: string): ShownReport {
  return { report: readReport(file), source: file };
}

export class ReportStore implements vscode.Disposable {
  private shown: ShownReport | undefined;
  private readonly changed = new vscode.EventEmitter<ShownReport>();
  /** Fires when another report becomes the current one. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  get current(): ShownReport | undefined {
    return this.shown;
  }

  show(r: ShownReport): void {
    this.shown = r;
    this.changed.fire(r);
  }

  /**
   * Saves a report beside the model's workspace folder and makes it current. Returns the file,
   * or null when there is no workspace to save into (the report is still shown).
   */
  save(report: ReportData): string | null {
    const folder = workspaceFolderFor(report.model.dir);
    let file: string | null = null;
    if (folder) {
      const dir = path.join(folder.uri.fsPath, REPORTS_DIR);
      fs.mkdirSync(dir, { recursive: true });
      // A long folder name is shortened: the file name must stay within 255 bytes.
      const model = fitName(path.basename(report.model.dir) || 'model', REPORT_NAME_ROOM);
      // Probe reports keep the plain name; eval and optimize reports say which they are.
      const kind = report.kind === 'probe' ? '' : `-${report.kind}`;
      file = path.join(dir, `${model}${kind}-${timestampForFile(report.createdAt)}.json`);
      writeFileAtomic(file, reportFileText(report, file));
      this.log.info(`report saved to ${file}`);
    }
    this.show({ report: normalizeReport(report, file ?? 'report'), source: file });
    return file;
  }

  /** Saved reports of every workspace folder, newest first. */
  listSaved(): { file: string; mtime: number }[] {
    const out: { file: string; mtime: number }[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const dir = path.join(folder.uri.fsPath, REPORTS_DIR);
      let names: string[];
      try {
        names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
      } catch {
        continue;
      }
      for (const n of names) {
        const file = path.join(dir, n);
        // A dangling link, or a file deleted since the listing, is no saved report.
        const stat = fs.statSync(file, { throwIfNoEntry: false });
        if (stat) out.push({ file, mtime: stat.mtimeMs });
      }
    }
    return out.sort((a, b) => b.mtime - a.mtime);
  }

  /** Makes the newest readable saved report current, unless one is shown already. */
  loadLatest(): ShownReport | undefined {
    if (this.shown) return this.shown;
    for (const { file } of this.listSaved()) {
      try {
        const r = readReportFile(file);
        this.shown = r;
        return r;
      } catch (e) {
        this.log.warn(`skipping ${file}: ${(e as Error).message}`);
      }
    }
    return undefined;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
