/**
 * "ProbeScale: Evaluate Committed Model" and the eval path it shares with the test API: the
 * classifiers a committed folder ships, run as shipped on the tasks' test splits.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BadInputError } from '../../core/errors';
import { TaskSpec } from '../../core/jobs';
import { ProbeSettings } from '../../core/settings';
import type { ProbeReport } from '../../core/report';
import { claimNote, claimedAccuracy } from '../../core/commit/committed';
import { SHOW_LOG, reportError } from '../log';
import { Services } from '../services';
import { requireIdle } from '../jobs/jobManager';
import { readProbeSettings, readTaskSettings, withOverrides } from '../settingKeys';
import { warnUnreadable } from '../settingNotices';
import { committedTasks, displayPath } from '../workspace/discovery';
import { pickCommittedFolder, pickEvalTasks } from './pickers';

export interface EvalConfig {
  /** A committed folder (config.json with `probescale.tasks`). */
  modelDir: string;
  /** Tasks named as the folder's classifiers. */
  tasks: TaskSpec[];
  /** Overrides of the `probescale.*` settings for this run. */
  settings?: Partial<ProbeSettings>;
}

export type EvalReport = ProbeReport & { claimed?: Record<string, number> };

export type EvalRun = { status: 'done'; report: EvalReport; savedTo: string | null } | { status: 'cancelled' };

/** Runs an eval job with progress, saves the report to the workspace and shows it in the view. */
export async function runEval(s: Services, config: EvalConfig): Promise<EvalRun> {
  const committed = committedTasks(config.modelDir);
  if (!committed) throw new BadInputError(`${config.modelDir} is not a committed folder: its config.json has no "probescale.tasks".`);
  const scope = vscode.Uri.file(config.modelDir);
  const read = readProbeSettings(scope, s.cacheDir);
  const tasks = readTaskSettings(scope, config.tasks);
  warnUnreadable(s.log, [...read.unreadable, ...tasks.unreadable], config.settings);
  const settings: ProbeSettings = withOverrides(read.settings, config.settings);
  const outcome = await s.jobs.run(
    { type: 'eval', modelDir: config.modelDir, tasks: tasks.settings, settings },
    `ProbeScale: evaluating ${path.basename(config.modelDir)} on ${config.tasks.map((t) => t.name).join(', ')}`,
  );
  if (outcome.status === 'cancelled') return outcome;
  const claimed = claimedAccuracy(config.modelDir, outcome.result);
  const report: EvalReport = claimed ? { ...outcome.result, claimed } : outcome.result;
  const savedTo = s.reports.save(report);
  return { status: 'done', report, savedTo };
}

/** The toast after an eval: accuracy per task against the committed claim, and the files that differ from the commit. */
export function evalSummary(dir: string, report: EvalReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const parts = Object.entries(report.tasks).map(([name, t]) => {
    const acc = t.final?.accuracy;
    if (acc === undefined) return `${name} –`;
    return `${name} ${pct(acc)}${claimNote(acc, report.claimed?.[name], report.integrity)}`;
  });
  const changed = report.integrity?.differing.map((d) => d.path) ?? [];
  const files = changed.length ? ` ${changed.length} of ${report.integrity!.checked} files ${changed.length === 1 ? 'differs' : 'differ'} from what was committed: ${changed.join(', ')} (the log has their checksums).` : '';
  return `ProbeScale: ${displayPath(dir)}, test accuracy as shipped: ${parts.join(', ')}.${files}`;
}

/** The command: committed folder (from the Explorer or a picker), tasks, then the job. */
export async function evalFolder(s: Services, uri?: vscode.Uri): Promise<void> {
  try {
    requireIdle(s.jobs);
    let dir = uri instanceof vscode.Uri ? uri.fsPath : undefined;
    if (dir && !committedTasks(dir)) throw new BadInputError(`${dir} is not a committed folder: its config.json has no "probescale.tasks".`);
    const shown = s.reports.current?.report;
    dir ??= await pickCommittedFolder('ProbeScale: Evaluate Committed Model — folder', shown?.verify?.loadedFrom);
    if (!dir) return;
    const committed = committedTasks(dir);
    if (!committed) throw new BadInputError(`${dir} is not a committed folder: its config.json has no "probescale.tasks".`);
    const tasks = await pickEvalTasks(committed, `ProbeScale: Evaluate ${path.basename(dir)} — tasks`);
    if (!tasks) return;
    void s.view.reveal();
    const run = await runEval(s, { modelDir: dir, tasks });
    if (run.status === 'cancelled') {
      void vscode.window.showInformationMessage('ProbeScale: evaluation cancelled.');
      return;
    }
    // Changed files are a warning, not an error: the user may have changed them on purpose.
    if (run.report.integrity?.differing.length) {
      void vscode.window.showWarningMessage(evalSummary(dir, run.report), SHOW_LOG).then((choice) => {
        if (choice === SHOW_LOG) s.log.show(true);
      });
    } else void vscode.window.showInformationMessage(evalSummary(dir, run.report));
  } catch (e) {
    reportError(s.log, 'evaluate', e);
  }
}
