/**
 * ProbeScale's VS Code entry point: wires the commands, the relevance view and the job runner.
 * VS Code glue only; the work happens in src/core, in the worker thread.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BadInputError } from '../core/errors';
import { WorkerJobRunner, defaultWorkerPath } from '../worker/runner';
import { fromBlockRanges, PruneOutcome, ReportData, ToWebview } from '../shared/protocol';
import { EvalConfig, EvalRun, evalFolder, runEval } from './commands/evaluate';
import { openReport } from './commands/openReport';
import { OptimizeConfig, OptimizeRun, openModelCard, optimizeModel, runOptimize } from './commands/optimize';
import { ProbeConfig, ProbeRun, probeFolder, runProbe } from './commands/probe';
import { commitPrune, pruneModel } from './commands/prune';
import { JobManager } from './jobs/jobManager';
import { JobStatusBar } from './jobs/jobStatusBar';
import { createLog, reportError } from './log';
import { ReportStore } from './reports/reportStore';
import { openReportEditor, pickReportsToCompare, saveExport } from './reportEditor/editorRequests';
import { EditorRendered, ReportEditorProvider } from './reportEditor/reportEditor';
import { Services } from './services';
import { RELEVANCE_VIEW_ID, RelevanceViewHost, RelevanceViewProvider, RenderedReport, RequestHandlers } from './views/relevanceView';
import { ModelFolderContext } from './workspace/discovery';
import { COMMANDS_NEEDING_TRUST, UntrustedWorkspaceError } from './trust';
import { clearCache } from './commands/clearCache';

/**
 * What `activate()` returns (`vscode.extensions.getExtension('probescale.probescale').exports`).
 * The integration tests drive the commands' core paths through it instead of through QuickPicks.
 */
export interface ProbeScaleApi {
  /** The probe path of "Probe Model Folder" after its pickers: job, progress, saved report, view. */
  runProbe(config: ProbeConfig): Promise<ProbeRun>;
  /** The commit path of the view's "Commit pruned model" (asks before replacing `out`). */
  commitPrune(modelDir: string, layers: number[], out?: string): Promise<PruneOutcome>;
  /**
   * The path of "Optimize for a Parameter Budget" after its pickers: job, progress, committed
   * folder, saved report, view (asks before replacing `out` unless `overwrite`).
   */
  runOptimize(config: OptimizeConfig): Promise<OptimizeRun>;
  /** The path of "Evaluate Committed Model" after its pickers: job, saved report, view. */
  runEval(config: EvalConfig): Promise<EvalRun>;
  /** Opens the relevance view; resolves once its webview has completed the ready handshake. */
  revealView(): Promise<void>;
  /** The report the view shows. */
  currentReport(): ReportData | undefined;
  /** What the webview last drew: which report, and the ids of the sections it showed. */
  renderedReport(): RenderedReport | undefined;
  /** Model folders found in the workspace (what the Explorer menu is shown on). */
  modelFolders(): Promise<string[]>;
  /** What the report editor of `file` last drew (the sections it showed); undefined before it has. */
  editorRendered(file: string): EditorRendered | undefined;
  /** Sets how long a report editor's page may stay silent before the editor is reopened (default EDITOR_READY_MS); tests make every page late. */
  setEditorReadyMs(ms: number): void;
}

export function activate(context: vscode.ExtensionContext): ProbeScaleApi {
  const log = createLog();
  const jobs = new JobManager(() => new WorkerJobRunner(defaultWorkerPath(__dirname)), log);
  const reports = new ReportStore(log);
  const models = new ModelFolderContext(log);
  const cacheDir = path.join(context.globalStorageUri.fsPath, 'features');

  // The webview's requests and the view's hooks run after activation, once `services` is set.
  const handlers = requestHandlers(() => services);
  const view = relevanceView(context.extensionUri, handlers, { log, jobs, reports }, () => services);
  const services: Services = { log, jobs, reports, view, state: context.workspaceState, cacheDir, selection: undefined };
  const editors = new ReportEditorProvider(context.extensionUri, handlers, log);
  const statusBar = new JobStatusBar();

  context.subscriptions.push(
    log,
    jobs,
    reports,
    models,
    view,
    vscode.window.registerWebviewViewProvider(RELEVANCE_VIEW_ID, view),
    ReportEditorProvider.register(editors),
    statusBar,
    jobs.onEvent((e) => view.post(e)),
    jobs.onEvent((e) => statusBar.update(e)),
    reports.onDidChange((r) => view.post({ type: 'report/show', report: r.report, source: r.source })),
    ...modelCommands(services),
    ...reportCommands(services),
    ...jobCommands(services),
  );
  void models.refresh();
  log.info(`ProbeScale activated (extension at ${context.extensionUri.fsPath})`);
  return api(services, models, editors);
}

/** What the webview pages (the relevance view and the report editor) may ask the host to do. */
function requestHandlers(services: () => Services): RequestHandlers {
  const uriOf = (dir?: string) => (dir ? vscode.Uri.file(dir) : undefined);
  // A failure is shown to the user (details in the log) as well as sent back to the page.
  const shown = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      reportError(services().log, what, e);
      throw e;
    }
  };
  return {
    'probe/start': async ({ modelDir }) => {
      void vscode.commands.executeCommand('probescale.probeFolder', uriOf(modelDir));
      return { started: true };
    },
    'report/open': () => shown('open report', async () => ({ opened: await openReport(services()) })),
    'prune/commit': ({ modelDir, layers }) => shown('prune', () => commitPrune(services(), modelDir, fromBlockRanges(layers), { reveal: false })),
    'explorer/reveal': async ({ path: p }) => {
      await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(p));
      return { revealed: true };
    },
    'optimize/start': async ({ modelDir }) => {
      void vscode.commands.executeCommand('probescale.optimize', uriOf(modelDir));
      return { started: true };
    },
    'modelCard/open': ({ dir }) => shown('open model card', async () => ({ opened: await openModelCard(dir) })),
    'report/openEditor': async ({ path: p }) => ({ opened: await openReportEditor(p) }),
    'report/compare': ({ exclude, room }) => pickReportsToCompare(services(), exclude, room),
    'export/save': async ({ fileName, format, data }) => ({ saved: await saveExport(services(), fileName, format, data) }),
  };
}

/** The relevance view: after each `ready` it gets the current report and any running job's progress. */
function relevanceView(extensionUri: vscode.Uri, handlers: RequestHandlers, parts: Pick<Services, 'log' | 'jobs' | 'reports'>, services: () => Services): RelevanceViewProvider {
  const { log, jobs, reports } = parts;
  const host: RelevanceViewHost = {
    handlers,
    snapshot: () => {
      const out: ToWebview[] = [];
      const shown = reports.current ?? reports.loadLatest();
      if (shown) out.push({ type: 'report/show', report: shown.report, source: shown.source });
      const progress = jobs.progress;
      if (progress) out.push(progress);
      return out;
    },
    cancel: (jobId) => jobs.cancel(jobId),
    selectionChanged: (modelDir, kept) => {
      services().selection = { modelDir, kept };
    },
  };
  return new RelevanceViewProvider(extensionUri, host, log);
}

/** The commands that run a job on a model folder; each needs a trusted workspace. */
function modelCommands(services: Services): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('probescale.probeFolder', gated('probescale.probeFolder', (uri?: vscode.Uri) => probeFolder(services, uri))),
    vscode.commands.registerCommand('probescale.pruneModel', gated('probescale.pruneModel', () => pruneModel(services))),
    vscode.commands.registerCommand('probescale.optimize', gated('probescale.optimize', (uri?: vscode.Uri) => optimizeModel(services, uri))),
    vscode.commands.registerCommand('probescale.evalFolder', gated('probescale.evalFolder', (uri?: vscode.Uri) => evalFolder(services, uri))),
  ];
}

/** The commands that show the relevance view, a saved report or its editor. */
function reportCommands(services: Services): vscode.Disposable[] {
  const { log, reports, view } = services;
  return [
    vscode.commands.registerCommand('probescale.showPanel', () => view.reveal()),
    vscode.commands.registerCommand('probescale.openReport', async () => {
      try {
        await openReport(services);
      } catch (e) {
        reportError(log, 'open report', e);
      }
    }),
    vscode.commands.registerCommand('probescale.openReportEditor', async () => {
      try {
        const file = reports.current?.source ?? reports.loadLatest()?.source;
        if (!file) throw new BadInputError('no saved report yet: run "ProbeScale: Probe Model Folder" or "Optimize for a Parameter Budget" first, or open a probescale-report.json from the Explorer.');
        await openReportEditor(file);
      } catch (e) {
        reportError(log, 'open report', e);
      }
    }),
  ];
}

/** The commands of the running job (the status bar's menu, cancel) and of the feature cache jobs use. */
function jobCommands(services: Services): vscode.Disposable[] {
  const { log, jobs } = services;
  return [
    vscode.commands.registerCommand('probescale.jobMenu', () => JobStatusBar.menu(log, () => jobs.cancel())),
    vscode.commands.registerCommand('probescale.cancelJob', () => {
      if (!jobs.cancel()) void vscode.window.showInformationMessage('ProbeScale: no job is running.');
    }),
    vscode.commands.registerCommand('probescale.clearCaches', async () => {
      try {
        await clearCache(services);
      } catch (e) {
        reportError(log, 'clear feature cache', e);
      }
    }),
  ];
}

function api(services: Services, models: ModelFolderContext, editors: ReportEditorProvider): ProbeScaleApi {
  const { reports, view } = services;
  return {
    runProbe: (config) => runProbe(services, config),
    commitPrune: (modelDir, layers, out) => commitPrune(services, modelDir, layers, { out, reveal: false }),
    runOptimize: (config) => runOptimize(services, config),
    runEval: (config) => runEval(services, config),
    revealView: () => view.reveal(),
    currentReport: () => reports.current?.report,
    renderedReport: () => view.rendered,
    modelFolders: () => models.refresh(),
    editorRendered: (file) => editors.rendered(file),
    setEditorReadyMs: (ms) => (editors.readyMs = ms),
  };
}

/** Runs `run` only in a trusted workspace; otherwise says why and offers to manage trust. */
function gated<A extends unknown[]>(command: (typeof COMMANDS_NEEDING_TRUST)[number], run: (...args: A) => unknown): (...args: A) => unknown {
  return (...args: A) => {
    if (vscode.workspace.isTrusted) return run(...args);
    const manage = 'Manage Workspace Trust';
    void vscode.window.showWarningMessage(`ProbeScale: ${new UntrustedWorkspaceError(command).message}`, manage).then((pick) => {
      if (pick === manage) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return undefined;
  };
}

export function deactivate(): void {
  // Everything, the worker thread included, is disposed through context.subscriptions.
}

export type { EvalConfig, EvalRun, OptimizeConfig, OptimizeRun, ProbeConfig, ProbeRun, RenderedReport };
