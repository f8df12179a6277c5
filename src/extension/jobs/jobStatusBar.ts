/**
 * The status-bar item of a running job: its kind, current step and the whole job's percentage
 * (the stage and the time left in its tooltip); clicking it offers Show Log and Cancel (command
 * `probescale.jobMenu`). Hidden when no job runs.
 */
import * as vscode from 'vscode';
import { statusBarText } from '../../core/progress';
import { SHOW_LOG } from '../log';
import type { JobEvent } from './jobManager';

export const JOB_MENU_COMMAND = 'probescale.jobMenu';

export class JobStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('probescale.job', vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = 'ProbeScale job';
    this.item.command = JOB_MENU_COMMAND;
  }

  update(e: JobEvent): void {
    if (e.type === 'job/done') {
      this.item.hide();
      return;
    }
    this.item.text = statusBarText(e.job, e.message, e.fraction);
    this.item.tooltip = `${e.message}\n${e.overall}\nClick for Show Log or Cancel.`;
    this.item.show();
  }

  /** The click: Show Log or Cancel the running job. */
  static async menu(log: vscode.LogOutputChannel, cancel: () => boolean): Promise<void> {
    const CANCEL = 'Cancel Job';
    const choice = await vscode.window.showQuickPick([SHOW_LOG, CANCEL], { title: 'ProbeScale: running job' });
    if (choice === SHOW_LOG) log.show(true);
    if (choice === CANCEL && !cancel()) void vscode.window.showInformationMessage('ProbeScale: no job is running.');
  }

  dispose(): void {
    this.item.dispose();
  }
}
