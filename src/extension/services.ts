/** The extension's long-lived parts, handed to every command. */
import * as vscode from 'vscode';
import { JobManager } from './jobs/jobManager';
import { ReportStore } from './reports/reportStore';
import { RelevanceViewProvider } from './views/relevanceView';

export interface Services {
  readonly log: vscode.LogOutputChannel;
  readonly jobs: JobManager;
  readonly reports: ReportStore;
  readonly view: RelevanceViewProvider;
  /** Per-workspace memory (last chosen tasks). */
  readonly state: vscode.Memento;
  /** The extension's own feature cache folder (in its global storage), used unless probescale.cacheDir names another. */
  readonly cacheDir: string | null;
  /** The blocks ticked in the view's prune form, offered by the palette's Prune Model. */
  selection: { modelDir: string; kept: number[] } | undefined;
}
