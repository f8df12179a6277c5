/**
 * "ProbeScale: Optimize for a Parameter Budget" and the optimize path it shares with the test
 * API: model, tasks (and weights), budget, then the core's optimize job, which measures block
 * subsets, compares them with the published heuristics, commits the winner and verifies it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { openReportEditor } from '../reportEditor/editorRequests';
import { optimizeCommandLine } from '../../core/commandLine';
import { describeBudget, pctLabel } from '../../core/optimize/budgetText';
import { formatCount } from '../../shared/params';
import { BadInputError } from '../../core/errors';
import { OptimizeJob, stage, TaskSpec } from '../../core/jobs';
import { ProbeSettings } from '../../core/settings';
import type { OptimizeReport } from '../../core/report';
import { formatBlockRanges } from '../../shared/protocol';
import { errorMessage, reportError } from '../log';
import { Services } from '../services';
import { readOptimizeSettings, readProbeSettings, readTaskSettings, SECTION, UnreadableSetting, withOverrides } from '../settingKeys';
import { warnUnreadable } from '../settingNotices';
import type { SelectionRule } from '../../core/optimize/select';
import type { Compensation } from '../../core/compensate/mode';
import type { UnitScore } from '../../core/compensate/scores';
import type { EmbeddingRankChoice } from '../../core/compensate/embeddingRank';
import type { CountedTokens } from '../../core/pipeline/countedTokens';
import { acceptBudget, BudgetAccount, smallestBudget, wholeTableAccount } from '../../core/optimize/budgetAccount';
import { besideModel, displayPath, isModelFolder, workspaceFolderFor } from '../workspace/discovery';
import { pickModelFolder, pickTasks, pickWeights } from './pickers';
import { confirmReplace } from './prune';
import { JobManager, requireIdle } from '../jobs/jobManager';
import { parseBudget } from '../../core/optimize/subsets';
import { openModel, openOptionsOf } from '../../core/model/modelInfo';

export interface OptimizeConfig {
  modelDir: string;
  tasks: TaskSpec[];
  /** As the CLI's `--budget`: a fraction of the parameters ("0.5") or a parameter count ("4000000"). */
  budget: string;
  /** Where to commit; default `<model>-probescale-<pct>` beside the model (see optimizedFolderPath). */
  out?: string;
  /** Replace an existing `out` without asking; by default a modal asks. */
  overwrite?: boolean;
  /** Overrides of `probescale.targetRetention` and `probescale.candidates`. */
  targetRetention?: number;
  candidates?: number;
  /** Overrides of `probescale.selectionRule` and `probescale.vocabTrim`. */
  select?: SelectionRule | 'auto';
  vocabTrim?: boolean;
  /** Overrides of `probescale.compensate`, `probescale.widthScore` and `probescale.embeddingRank` (null: off). */
  compensate?: Compensation;
  widthScore?: UnitScore;
  embeddingRank?: EmbeddingRankChoice | null;
  /** Overrides of the `probescale.*` probe settings for this run. */
  settings?: Partial<ProbeSettings>;
}

export type OptimizeRun =
  | { status: 'done'; out: string; report: OptimizeReport; savedTo: string | null }
  | { status: 'cancelled' }
  /** `out` existed and the user chose not to replace it. */
  | { status: 'declined' };

export const PRESET_FRACTIONS = [0.25, 0.35, 0.5, 0.7] as const;

/** `<model>-probescale-<pct>` beside the model (see besideModel); pct of the model's parameters. */
export function optimizedFolderPath(modelDir: string, budgetParams: number, total: number): string {
  return besideModel(modelDir, `-probescale-${pctLabel(budgetParams / total)}`);
}

/** Paths as the CLI command in the model card writes them: relative to the workspace folder of the model. */
function workspaceRelative(modelDir: string): (p: string) => string {
  const folder = workspaceFolderFor(modelDir)?.uri.fsPath;
  return (p) => {
    if (!folder) return p;
    const r = path.relative(folder, p);
    return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
  };
}

type OptimizeOptions = Omit<OptimizeJob, 'type' | 'modelDir' | 'tasks' | 'budget' | 'out' | 'overwrite' | 'command' | 'countedTokens'>;

/** The budget account the picker shows; with vocabTrim, also the token ids it counted, which the job reuses. */
export type PickerAccount = BudgetAccount & { counted?: CountedTokens };

/** The job's options for `config`: its overrides, else the settings of the model's workspace (unreadable ones said when `warn`). */
function optimizeOptions(s: Services, config: OptimizeConfig, warn: boolean, alsoUnreadable: UnreadableSetting[] = []): OptimizeOptions {
  const scope = vscode.Uri.file(config.modelDir);
  const probeRead = readProbeSettings(scope, s.cacheDir);
  const optimizeRead = readOptimizeSettings(scope);
  const { targetRetention: t, candidates: n, select: rule, vocabTrim: v, compensate: comp, widthScore: w, embeddingRank: e } = config;
  const overrides = { ...config.settings, targetRetention: t, candidates: n, selectionRule: rule, vocabTrim: v, compensate: comp, widthScore: w, embeddingRank: e };
  if (warn) warnUnreadable(s.log, [...probeRead.unreadable, ...optimizeRead.unreadable, ...alsoUnreadable], overrides);
  const defaults = optimizeRead.settings;
  return {
    settings: withOverrides(probeRead.settings, config.settings),
    targetRetention: t ?? defaults.targetRetention,
    candidates: n ?? defaults.candidates,
    select: rule ?? defaults.select,
    vocabTrim: v ?? defaults.vocabTrim,
    vocabUnseen: defaults.vocabUnseen,
    baselines: defaults.baselines,
    compensate: comp ?? defaults.compensate,
    widthScore: w ?? defaults.widthScore,
    embeddingRank: e === null ? undefined : (e ?? defaults.embeddingRank),
  };
}

/**
 * The budgets the job will accept (core: optimize/budgetAccount), before it starts. With
 * vocabTrim on that counts the training texts' tokens (about 2 s for spam's 4,234 rows on
 * roberta-mini's tokenizer): a `count` job in `jobs`, so the view, the status bar, the
 * notification and ProbeScale: Cancel Running Job all show and cancel it; undefined when cancelled.
 */
export async function budgetAccountFor(jobs: Pick<JobManager, 'runHere'>, modelDir: string, tasks: TaskSpec[], options: OptimizeOptions): Promise<PickerAccount | undefined> {
  const job = { modelDir, tasks, ...options };
  if (!options.vocabTrim) return wholeTableAccount(job);
  // Loaded on first use: the tokenizer library stays out of the extension's activation.
  const { trimmedBudgetAccount } = await import('../../core/pipeline/vocabTrim');
  const title = `ProbeScale: counting the tokens of the training texts (${SECTION}.vocabTrim)`;
  const outcome = await jobs.runHere('count', title, JSON.stringify(job), (ctx) => {
    let counting = false;
    return trimmedBudgetAccount(job, ctx, (done, total) => {
      if (!counting) stage(ctx, 'count', 'counting the tokens of the training texts');
      counting = true;
      ctx.onProgress?.({ kind: 'count', label: 'the training texts', done, total });
    });
  });
  return outcome.status === 'done' ? outcome.result : undefined;
}

/** parseBudget's floor where the job alone knows it (see budgetBeforeJob): any budget ≥ 0 reads. */
const FLOOR_CHECKED_BY_JOB = { params: 0, what: '', advice: '' };

/**
 * The budget in parameters and the words for it, before the job. With the picker's account, or
 * without vocabTrim (then the whole table is the account), it is checked as the job checks it.
 * With vocabTrim and no account (the test API) the job counts the training texts' tokens itself,
 * once, and checks the budget against that floor; here the budget is only read (a fraction of
 * the source model, or a count, as the job reads it).
 */
function budgetBeforeJob(modelDir: string, budget: string, options: OptimizeOptions, account: BudgetAccount | undefined): { params: number; total: number; words: string } {
  if (!account && !options.vocabTrim) account = wholeTableAccount({ modelDir, ...options });
  if (account) {
    const params = acceptBudget({ ...options, budget }, account);
    return { params, total: account.acc.total, words: describeBudget(account.acc, params) };
  }
  const info = openModel(modelDir, openOptionsOf(options.settings));
  try {
    const params = parseBudget(budget, info.params, FLOOR_CHECKED_BY_JOB);
    return { params, total: info.params.total, words: `${formatCount(params)} parameters (${((100 * params) / info.params.total).toFixed(1)} %)` };
  } finally {
    info.model.close();
  }
}

/**
 * Runs the optimize job with progress (asking before replacing `out`), saves the report to the
 * workspace and shows it in the view. `account`: what budgetAccountFor gave the picker (the job
 * reuses its token count when the tasks and tokenizer are unchanged); without it (the test API)
 * nothing is counted before the job. Errors propagate (callers report them).
 */
export async function runOptimize(s: Services, given: OptimizeConfig, account?: PickerAccount): Promise<OptimizeRun> {
  const columns = readTaskSettings(vscode.Uri.file(given.modelDir), given.tasks);
  const config = { ...given, tasks: columns.settings };
  const options = optimizeOptions(s, config, true, columns.unreadable);
  const budget = budgetBeforeJob(config.modelDir, config.budget, options, account);
  const out = config.out ?? optimizedFolderPath(config.modelDir, budget.params, budget.total);
  let overwrite = config.overwrite ?? false;
  if (fs.existsSync(out) && !overwrite) {
    const detail = `Its contents will be replaced by ${path.basename(config.modelDir)} optimized for ${config.tasks.map((t) => t.name).join(', ')} under ${budget.words}.`;
    if (!(await confirmReplace(out, detail))) return { status: 'declined' };
    overwrite = true;
  }
  const counted = options.vocabTrim ? account?.counted : undefined;
  const job = { modelDir: config.modelDir, tasks: config.tasks, budget: config.budget, out, overwrite, ...options, ...(counted ? { countedTokens: counted } : {}) };
  const outcome = await s.jobs.run(
    { type: 'optimize', ...job, command: optimizeCommandLine(job, workspaceRelative(config.modelDir)) },
    `ProbeScale: optimizing ${path.basename(config.modelDir)} for ${formatCount(budget.params)} parameters`,
  );
  if (outcome.status === 'cancelled') return outcome;
  const savedTo = s.reports.save(outcome.result.report);
  return { status: 'done', out: outcome.result.out, report: outcome.result.report, savedTo };
}

interface BudgetItem extends vscode.QuickPickItem {
  spec?: string;
}

const LAST_BUDGET_KEY = 'probescale.lastBudget';

/** What the smallest model holds, for the picker's words. */
function floorWords(account: BudgetAccount): string {
  if (account.ranks.length) return `the factorised word table${account.acc.other ? ' and head' : ''}`;
  const head = account.acc.other ? ' and head' : '';
  return account.keptTokens === null ? `embeddings${head}` : `embeddings (the ${account.keptTokens.toLocaleString('en-US')} tokens of the training texts)${head}`;
}

/** `min` parameters as a percentage of the model's `total`, one decimal: "22.0". */
const percentOf = (min: number, total: number) => ((100 * min) / total).toFixed(1);

/**
 * The budget: presets the job accepts (`accept` throws for the others: core acceptBudget), each
 * with the parameter count it gives, or a typed fraction or count checked the same way. `min` is
 * the smallest budget the job accepts (core smallestBudget). Undefined when dismissed.
 */
export async function pickBudget(state: vscode.Memento, account: BudgetAccount, title: string, accept: (spec: string) => number, min: number): Promise<string | undefined> {
  const { acc } = account;
  const last = state.get<string>(LAST_BUDGET_KEY);
  const choice = await vscode.window.showQuickPick(budgetItems(account, accept, min), {
    title,
    placeHolder: `Budget for the pruned model: ${formatCount(acc.total)} parameters now; with no blocks ${formatCount(min)} (${percentOf(min, acc.total)} %)`,
  });
  if (!choice) return undefined;
  if (choice.spec) return choice.spec;
  return typedBudget(state, last, acc, title, accept, min);
}

/** The presets the job accepts, each with the parameter count it gives, then Custom… (saying which presets cannot fit and why). */
function budgetItems(account: BudgetAccount, accept: (spec: string) => number, min: number): BudgetItem[] {
  const { acc } = account;
  const accepts = (spec: string) => {
    try {
      accept(spec);
      return true;
    } catch {
      return false;
    }
  };
  const fits = PRESET_FRACTIONS.filter((f) => accepts(String(f)));
  const items: BudgetItem[] = fits.map((f) => ({ label: `${pctLabel(f)} %`, description: describeBudget(acc, Math.floor(f * acc.total + 1e-6)), spec: String(f) }));
  const refused = PRESET_FRACTIONS.filter((f) => !fits.includes(f)).map((f) => `${pctLabel(f)} %`);
  items.push({
    label: '$(edit) Custom…',
    description: 'a fraction (0.4) or a parameter count (4000000)',
    detail: refused.length ? `${refused.join(', ')} cannot fit: ${floorWords(account)} alone are ${percentOf(min, acc.total)} % of this model` : undefined,
    alwaysShow: true,
  });
  return items;
}

/** Asks for a fraction or count (offering `last`, the one typed before), checked as the job checks it; remembers and returns it (trimmed), or undefined when dismissed or refused. */
async function typedBudget(state: vscode.Memento, last: string | undefined, acc: BudgetAccount['acc'], title: string, accept: (spec: string) => number, min: number): Promise<string | undefined> {
  const check = (v: string): vscode.InputBoxValidationMessage => {
    try {
      return { message: `= ${describeBudget(acc, accept(v))}`, severity: vscode.InputBoxValidationSeverity.Info };
    } catch (e) {
      return { message: errorMessage(e), severity: vscode.InputBoxValidationSeverity.Error };
    }
  };
  const typed = await vscode.window.showInputBox({
    title,
    prompt: `A fraction in (0, 1] of the ${acc.total.toLocaleString('en-US')} parameters, or a whole parameter count; at least ${min.toLocaleString('en-US')} (${percentOf(min, acc.total)} %, no blocks)`,
    value: last ?? String(Math.max(0.5, Math.ceil((100 * min) / acc.total) / 100)),
    validateInput: check,
  });
  if (typed === undefined) return undefined;
  if (check(typed).severity === vscode.InputBoxValidationSeverity.Error) return undefined;
  const spec = typed.trim();
  await state.update(LAST_BUDGET_KEY, spec);
  return spec;
}

const OPEN_CARD = 'Open Model Card';
const OPEN_REPORT = 'Open Report';
const REVEAL = 'Reveal in Explorer';

/** Opens `<dir>/README.md` rendered (the Markdown preview), or as text where there is no preview. */
export async function openModelCard(dir: string): Promise<boolean> {
  const card = vscode.Uri.file(path.join(dir, 'README.md'));
  if (!fs.existsSync(card.fsPath)) throw new BadInputError(`${displayPath(dir)} has no README.md (model card).`);
  try {
    await vscode.commands.executeCommand('markdown.showPreview', card);
  } catch {
    await vscode.window.showTextDocument(card);
  }
  return true;
}

function summary(run: Extract<OptimizeRun, { status: 'done' }>): string {
  const sel = run.report.selection;
  const ret = sel.retention.vsFinal;
  const verified = run.report.verify ? (run.report.verify.allEqual ? ', verified' : ', but re-measuring the written folder gave different scores (see the view)') : '';
  return (
    `ProbeScale: wrote ${displayPath(run.out)}: blocks ${formatBlockRanges(sel.kept)} · ${formatCount(sel.params)} parameters (${(100 * sel.fraction).toFixed(1)} %)` +
    `${Number.isFinite(ret) ? `, ${(100 * ret).toFixed(1)} % of the final layer's accuracy` : ''}${verified}.`
  );
}

/** The command: model (from the Explorer or a picker), tasks, weights, budget, then the job. */
export async function optimizeModel(s: Services, uri?: vscode.Uri): Promise<void> {
  try {
    requireIdle(s.jobs);
    let modelDir = uri instanceof vscode.Uri ? uri.fsPath : undefined;
    if (modelDir && !isModelFolder(modelDir)) {
      throw new BadInputError(`${modelDir} is not a model folder: it needs config.json and an ONNX export (onnx/model.onnx).`);
    }
    modelDir ??= await pickModelFolder('ProbeScale: Optimize — model', s.reports.current?.report.model.dir);
    if (!modelDir) return;
    const name = path.basename(modelDir);
    let tasks = await pickTasks(s.state, `ProbeScale: Optimize ${name} — tasks`);
    if (!tasks) return;
    tasks = await pickWeights(tasks, `ProbeScale: Optimize ${name} — task weights`);
    if (!tasks) return;
    // Unreadable settings are said once, when the run starts (runOptimize).
    const options = optimizeOptions(s, { modelDir, tasks, budget: '' }, false);
    tasks = readTaskSettings(vscode.Uri.file(modelDir), tasks).settings;
    const account = await budgetAccountFor(s.jobs, modelDir, tasks, options);
    if (!account) return;
    const accept = (spec: string) => acceptBudget({ ...options, budget: spec }, account);
    const budget = await pickBudget(s.state, account, `ProbeScale: Optimize ${name} — parameter budget`, accept, smallestBudget(options, account));
    if (!budget) return;
    void s.view.reveal();
    const run = await runOptimize(s, { modelDir, tasks, budget }, account);
    switch (run.status) {
      case 'cancelled':
        void vscode.window.showInformationMessage('ProbeScale: optimize cancelled; nothing was written.');
        return;
      case 'declined':
        return;
      case 'done':
        void vscode.window.showInformationMessage(summary(run), OPEN_REPORT, OPEN_CARD, REVEAL).then((choice) => {
          if (choice === OPEN_REPORT) void openReportEditor(path.join(run.out, 'probescale-report.json')).catch((e: unknown) => reportError(s.log, 'open report', e));
          if (choice === OPEN_CARD) void openModelCard(run.out).catch((e: unknown) => reportError(s.log, 'open model card', e));
          if (choice === REVEAL) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(run.out));
        });
        return;
    }
  } catch (e) {
    reportError(s.log, 'optimize', e);
  }
}
