/** The report editor's requests: open a report in it, pick reports to compare, save an export. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeFileAtomic } from '../../core/commit/atomicDir';
import { BadInputError } from '../../core/errors';
import { ComparePicks, ExportFormat } from '../../shared/protocol';
import { isExportName } from '../../shared/reportCharts';
import { Services } from '../services';
import { displayPath } from '../workspace/discovery';
import { readComparePicks } from './comparePicks';
import { REPORT_EDITOR_VIEW_TYPE } from './reportEditor';

export const EXPORTS_DIR = path.join('.probescale', 'exports');

export async function openReportEditor(file: string): Promise<boolean> {
  if (!fs.existsSync(file)) throw new BadInputError(`${file} does not exist; save the report first (it is saved under .probescale/reports when a workspace is open).`);
  await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(file), REPORT_EDITOR_VIEW_TYPE);
  return true;
}

interface ReportItem extends vscode.QuickPickItem {
  file: string;
}

/** Every report the workspace has: saved ones and committed folders' probescale-report.json. */
export async function workspaceReports(s: Services, exclude: ReadonlySet<string>): Promise<string[]> {
  const committed = await vscode.workspace.findFiles('**/probescale-report.json', '**/node_modules/**', 200);
  const files = [...s.reports.listSaved().map((r) => r.file), ...committed.map((u) => u.fsPath)];
  return [...new Set(files)].filter((f) => !exclude.has(path.resolve(f)));
}

/**
 * Asks which reports to compare with and reads at most `room` of them (comparePicks.ts); the
 * picks refused or left out go back to the editor, which names them, and to the log.
 */
export async function pickReportsToCompare(s: Services, exclude: string[], room: number): Promise<ComparePicks> {
  const none: ComparePicks = { reports: [], refused: [], leftOut: { count: 0, sources: [] } };
  const files = await workspaceReports(s, new Set(exclude.map((f) => path.resolve(f))));
  const items: ReportItem[] = files.map((file) => ({ label: path.basename(path.dirname(file)) === 'reports' ? path.basename(file, '.json') : path.basename(path.dirname(file)), description: displayPath(file), file }));
  const more = `at most ${room} more`;
  let chosen: string[] = [];
  if (items.length > 0) {
    const picked = await vscode.window.showQuickPick(items, { title: `ProbeScale: Compare with… (${more})`, placeHolder: `Reports of the same source model are overlaid, ${more}; tick one or more`, canPickMany: true });
    if (!picked) return none;
    chosen = picked.map((i) => i.file);
  }
  if (chosen.length === 0) {
    const browsed = await vscode.window.showOpenDialog({ title: `ProbeScale: reports to compare (${more})`, canSelectMany: true, filters: { 'ProbeScale report': ['json'] }, openLabel: 'Compare' });
    chosen = (browsed ?? []).map((u) => u.fsPath);
  }
  const picks = readComparePicks(chosen, exclude, room);
  for (const r of picks.refused) s.log.warn(`compare: not overlaid: ${r.source} ${r.reason}`);
  if (picks.leftOut.count) s.log.warn(`compare: ${picks.leftOut.count} more picked report(s) left out (at most ${room} more are overlaid), e.g. ${picks.leftOut.sources.join(', ')}`);
  return picks;
}

const EXTENSION: Record<ExportFormat, string> = { png: '.png', svg: '.svg', md: '.md' };

/**
 * Writes an export under the (first) workspace folder's .probescale/exports (atomically), or
 * where the user says when no workspace is open. The name comes from the webview: only a plain file name with
 * the format's extension is accepted.
 */
export async function saveExport(s: Services, fileName: string, format: ExportFormat, data: string): Promise<string | null> {
  if (!isExportName(fileName, format)) {
    throw new BadInputError(`export name "${fileName.slice(0, 200)}": use at most 120 letters, digits, ".", "-" and "_", not starting with ".", ending in ${EXTENSION[format]}.`);
  }
  const bytes = format === 'png' ? Buffer.from(data, 'base64') : Buffer.from(data, 'utf8');
  if (format === 'png' && bytes.subarray(1, 4).toString('latin1') !== 'PNG') throw new BadInputError(`export ${fileName}: the data is not a PNG image.`);
  const folder = vscode.workspace.workspaceFolders?.[0];
  let file: string;
  if (folder) {
    file = path.join(folder.uri.fsPath, EXPORTS_DIR, fileName);
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } else {
    const picked = await vscode.window.showSaveDialog({ title: 'ProbeScale: save export', defaultUri: vscode.Uri.file(fileName) });
    if (!picked) return null;
    file = picked.fsPath;
  }
  writeFileAtomic(file, bytes);
  s.log.info(`exported ${file} (${bytes.length} bytes)`);
  const reveal = 'Reveal in Explorer';
  void vscode.window.showInformationMessage(`ProbeScale: saved ${displayPath(file)}.`, reveal).then((c) => {
    if (c === reveal) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(file));
  });
  return file;
}
