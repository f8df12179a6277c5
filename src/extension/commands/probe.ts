/** "ProbeScale: Probe Model Folder" and the probe path it shares with the test API. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { openReportEditor } from '../reportEditor/editorRequests';
import { BadInputError } from '../../core/errors';
import { TaskSpec } from '../../core/jobs';
import { ProbeSettings } from '../../core/settings';
import type { ProbeReport } from '../../core/report';
import { describeBestLayer } from '../../shared/bestLayer';
import { reportError } from '../log';
import { requireIdle } from '../jobs/jobManager';
import { Services } from '../services';
import { readProbeSettings, readTaskSettings, withOverrides } from '../settingKeys';
import { warnUnreadable } from '../settingNotices';
import { isModelFolder } from '../workspace/discovery';
import { pickModelFolder, pickTasks } from './pickers';

export interface ProbeConfig {
  modelDir: string;
  tasks: TaskSpec[];
  /** Overrides of the `probescale.*` settings for this run. */
  settings?: Partial<ProbeSettings>;
}

export type ProbeRun = { status: 'done'; report: ProbeReport; savedTo: string | null } | { status: 'cancelled' };

/** Runs a probe job with progress, saves the report to the workspace and shows it in the view. */
export async function runProbe(s: Services, config: ProbeConfig): Promise<ProbeRun> {
  const scope = vscode.Uri.file(config.modelDir);
  const read = readProbeSettings(scope, s.cacheDir);
  const tasks = readTaskSettings(scope, config.tasks);
  warnUnreadable(s.log, [...read.unreadable, ...tasks.unreadable], config.settings);
  const settings: ProbeSettings = withOverrides(read.settings, config.settings);
  const name = path.basename(config.modelDir);
  const outcome = await s.jobs.run(
    { type: 'probe', modelDir: config.modelDir, tasks: tasks.settings, settings },
    `ProbeScale: probing ${name} on ${config.tasks.map((t) => t.name).join(', ')}`,
  );
  if (outcome.status === 'cancelled') return outcome;
  const savedTo = s.reports.save(outcome.result);
  return { status: 'done', report: outcome.result, savedTo };
}

function bestLayers(report: ProbeReport): string {
  return Object.entries(report.tasks)
    .map(([name, t]) => `${name} best at ${describeBestLayer(t.layers)}`)
    .join(', ');
}

/** The command: model from the Explorer (or a picker), tasks from a picker, then the job. */
export async function probeFolder(s: Services, uri?: vscode.Uri): Promise<void> {
  try {
    requireIdle(s.jobs);
    let modelDir = uri instanceof vscode.Uri ? uri.fsPath : undefined;
    if (modelDir && !isModelFolder(modelDir)) {
      throw new BadInputError(`${modelDir} is not a model folder: it needs config.json and an ONNX export (onnx/model.onnx).`);
    }
    modelDir ??= await pickModelFolder('ProbeScale: Probe Model Folder — model', s.reports.current?.report.model.dir);
    if (!modelDir) return;
    const tasks = await pickTasks(s.state, `ProbeScale: Probe ${path.basename(modelDir)} — tasks`);
    if (!tasks) return;
    void s.view.reveal();
    const run = await runProbe(s, { modelDir, tasks });
    if (run.status === 'cancelled') {
      void vscode.window.showInformationMessage('ProbeScale: probe cancelled; no report was written.');
      return;
    }
    const open = 'Open Report';
    const savedTo = run.savedTo;
    void vscode.window.showInformationMessage(`ProbeScale: probed ${path.basename(modelDir)}: ${bestLayers(run.report)}.`, ...(savedTo ? [open] : [])).then((choice) => {
      if (choice === open && savedTo) void openReportEditor(savedTo).catch((e: unknown) => reportError(s.log, 'open report', e));
    });
  } catch (e) {
    reportError(s.log, 'probe', e);
  }
}
