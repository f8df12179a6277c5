/** "ProbeScale: Open Report": shows a saved report (the workspace's or a CLI `--out` file) in the view. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { workspaceReports } from '../reportEditor/editorRequests';
import * as vscode from 'vscode';
import { readReportFile } from '../reports/reportStore';
import { Services } from '../services';
import { displayPath } from '../workspace/discovery';

interface ReportItem extends vscode.QuickPickItem {
  file?: string;
}

/** Returns true when a report was opened. Errors propagate (callers report them). */
export async function openReport(s: Services): Promise<boolean> {
  // Saved reports (newest first), then the reports of committed folders in the workspace.
  const files = await workspaceReports(s, new Set());
  const items: ReportItem[] = files.map((file) => ({
    label: `$(graph-line) ${path.basename(file) === 'probescale-report.json' ? path.basename(path.dirname(file)) : path.basename(file, '.json')}`,
    description: displayPath(file),
    detail: new Date(fs.statSync(file).mtimeMs).toLocaleString(),
    file,
  }));
  items.push({ label: '$(folder-opened) Browse…', alwaysShow: true });
  const choice = await vscode.window.showQuickPick(items, { title: 'ProbeScale: Open Report', placeHolder: items.length > 1 ? 'Saved reports (newest first) and committed folders\' reports' : 'No report in the workspace; browse for a report.json' });
  if (!choice) return false;
  let file = choice.file;
  if (!file) {
    const picked = await vscode.window.showOpenDialog({ title: 'ProbeScale report', canSelectMany: false, filters: { 'ProbeScale report': ['json'] }, openLabel: 'Open Report' });
    file = picked?.[0]?.fsPath;
    if (!file) return false;
  }
  s.reports.show(readReportFile(file));
  await s.view.reveal();
  return true;
}
