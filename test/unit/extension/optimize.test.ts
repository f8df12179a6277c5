/**
 * The extension's budget picker with probescale.vocabTrim on: its placeholder, minimum, presets
 * and typed-budget check follow the trimmed floor the job accepts; counting the training texts is
 * a job that ProbeScale: Cancel Running Job stops (no error); the test API's optimize counts
 * them once (in the job), the command once (in its picker, the job reusing that count unless the
 * data changed), with the same result.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installVscodeStub, silentLog, vscodeStub } from '../../vscodeStub';
import { fixture, tasksDir, tempDir } from '../../helpers';
import { DEFAULT_SETTINGS } from '../../../src/core/settings';
import { formatCount } from '../../../src/shared/params';
import * as tokenize from '../../../src/core/data/tokenize';

const settings = { ...DEFAULT_SETTINGS, limitTrain: 40, limitTest: 10, c: 1, cacheDir: null };
const tasks = [{ name: 's', path: path.join(tasksDir, 'sentlen'), weight: 1 }];
const options = { settings, targetRetention: 0.95, candidates: 2, select: 'auto' as const, vocabTrim: true, baselines: 'all' as const, compensate: 'none' as const, widthScore: 'flap' as const, embeddingRank: undefined };

interface Shown {
  items: { label: string; spec?: string }[];
  placeHolder: string;
  prompt: string;
  validate: (v: string) => { message: string; severity: number };
}

/** Stubs the QuickPick (choosing Custom…) and the input box (typing `typed`); records what they showed. */
function stubPickers(typed: string): Shown {
  const shown = {} as Shown;
  const window = vscodeStub.window as Record<string, unknown>;
  window.showQuickPick = async (items: Shown['items'], o: { placeHolder: string }) => {
    shown.items = items;
    shown.placeHolder = o.placeHolder;
    return items[items.length - 1];
  };
  window.showInputBox = async (o: { prompt: string; validateInput: Shown['validate'] }) => {
    shown.prompt = o.prompt;
    shown.validate = o.validateInput;
    return typed;
  };
  return shown;
}

function setUp(): void {
  installVscodeStub();
  const stub = vscodeStub as Record<string, unknown>;
  stub.InputBoxValidationSeverity = { Info: 1, Warning: 2, Error: 3 };
  stub.Uri = { ...(stub.Uri as object), file: (p: string) => ({ fsPath: p, path: p }) };
}

/** The extension's job manager in a trusted workspace; its worker jobs run in this thread (core runJob). */
async function jobManager() {
  const { JobManager } = await import('../../../src/extension/jobs/jobManager');
  const { runJob } = await import('../../../src/core/pipeline/dispatch');
  return new JobManager(() => ({ run: runJob, dispose: async () => {} }), silentLog, () => true);
}

test('with vocabTrim on the picker shows the trimmed floor and refuses one parameter below it, as the job does', async () => {
  setUp();
  const { budgetAccountFor, pickBudget } = await import('../../../src/extension/commands/optimize');
  const { acceptBudget, smallestBudget } = await import('../../../src/core/optimize/budgetAccount');
  const account = await budgetAccountFor(await jobManager(), fixture('tiny-roberta'), tasks, options);
  assert.ok(account && account.keptTokens !== null);
  const min = smallestBudget(options, account);
  const pct = ((100 * min) / account.acc.total).toFixed(1);
  // tiny-roberta's whole table is 88.6 % of it; 40 sentences keep a few hundred tokens.
  assert.ok(min < 0.25 * account.acc.total, `${min} of ${account.acc.total}`);
  const memento = { get: () => undefined, update: async () => undefined } as never;
  const shown = stubPickers(String(min));
  const spec = await pickBudget(memento, account, 'budget', (v) => acceptBudget({ ...options, budget: v }, account), min);
  assert.equal(spec, String(min));
  assert.deepEqual(shown.items.map((i) => i.spec), ['0.25', '0.35', '0.5', '0.7', undefined], 'every preset fits above the trimmed floor');
  assert.ok(shown.placeHolder.endsWith(`with no blocks ${formatCount(min)} (${pct} %)`), shown.placeHolder);
  assert.match(shown.prompt, new RegExp(`at least ${min.toLocaleString('en-US')} \\(${pct} %, no blocks\\)`));
  assert.equal(shown.validate(String(min)).severity, 1);
  const below = shown.validate(String(min - 1));
  assert.equal(below.severity, 3);
  assert.match(below.message, new RegExp(`below the smallest possible model: ${min} parameters \\(.*trimmed to the ${account.keptTokens} tokens the training texts use`));
});

test('without vocabTrim the picker keeps the whole-table floor: no preset fits tiny-roberta', async () => {
  setUp();
  const { budgetAccountFor, pickBudget } = await import('../../../src/extension/commands/optimize');
  const { acceptBudget, smallestBudget } = await import('../../../src/core/optimize/budgetAccount');
  const whole = { ...options, vocabTrim: false };
  const account = (await budgetAccountFor(await jobManager(), fixture('tiny-roberta'), tasks, whole))!;
  const min = smallestBudget(whole, account);
  const shown = stubPickers('0.95');
  await pickBudget({ get: () => undefined, update: async () => undefined } as never, account, 'budget', (v) => acceptBudget({ ...whole, budget: v }, account), min);
  assert.deepEqual(shown.items.map((i) => i.spec), [undefined]);
  assert.match(shown.placeHolder, /\(88\.6 %\)$/);
});

test('cancelling the token count from its notification gives no account and no error', async () => {
  setUp();
  const window = vscodeStub.window as Record<string, unknown>;
  const withProgress = window.withProgress;
  window.withProgress = (_o: unknown, task: (p: unknown, t: unknown) => Promise<unknown>) =>
    task({ report() {} }, { onCancellationRequested: (f: () => void) => (f(), { dispose() {} }) });
  try {
    const { budgetAccountFor } = await import('../../../src/extension/commands/optimize');
    assert.equal(await budgetAccountFor(await jobManager(), fixture('tiny-roberta'), tasks, options), undefined);
  } finally {
    window.withProgress = withProgress;
  }
});

test('the token count is a job: ProbeScale: Cancel Running Job stops it, the view shows it, and no error is shown (before, only its own notification could)', async () => {
  setUp();
  const window = vscodeStub.window as Record<string, unknown>;
  const errors: string[] = [];
  window.showErrorMessage = async (text: string) => (errors.push(text), undefined);
  const contexts: unknown[] = [];
  const commands = vscodeStub.commands as Record<string, unknown>;
  const executeCommand = commands.executeCommand;
  commands.executeCommand = async (id: string, key: string, value: unknown) => (id === 'setContext' && key === 'probescale.jobRunning' && contexts.push(value), undefined);
  try {
    const { budgetAccountFor } = await import('../../../src/extension/commands/optimize');
    const jobs = await jobManager();
    const events: { type: string; job: string; outcome?: string; message: string }[] = [];
    let cancelled: boolean | undefined;
    jobs.onEvent((e) => {
      events.push(e);
      // What the command does (extension.ts: probescale.cancelJob), once the rows are being counted.
      if (e.type === 'job/progress' && /counting the tokens/.test(e.message) && cancelled === undefined) cancelled = jobs.cancel();
    });
    assert.equal(await budgetAccountFor(jobs, fixture('tiny-roberta'), tasks, options), undefined);
    assert.equal(cancelled, true, 'the cancel command reached the count');
    assert.ok(events.every((e) => e.job === 'count'), JSON.stringify(events));
    assert.deepEqual(events.at(-1), { type: 'job/done', jobId: 'job-1', job: 'count', outcome: 'cancelled', message: 'count cancelled' });
    assert.deepEqual(contexts, [true, false], 'the command is enabled (probescale.jobRunning) while the count runs');
    assert.equal(jobs.running, undefined);
    assert.deepEqual(errors, []);
  } finally {
    commands.executeCommand = executeCommand;
  }
});

/**
 * Counts the texts every tokenizer the code loads from now on encodes with `encode` (the token
 * count of vocabTrim, and its share of unseen test tokens, call it; extraction does not). The
 * tokenizers are the real ones: only the calls are counted.
 */
function countEncodes(): { calls: number } {
  const seen = { calls: 0 };
  const mod = tokenize as { loadTokenizer: typeof tokenize.loadTokenizer };
  const load = mod.loadTokenizer;
  mod.loadTokenizer = async (...args) => {
    const tok = await load(...args);
    const encode = tok.encode.bind(tok);
    tok.encode = (text, pair) => (seen.calls++, encode(text, pair));
    return tok;
  };
  return seen;
}

/** The extension's services for runOptimize, around a copy of tiny-roberta (outputs land beside it, in a temporary folder). */
async function optimizeSetUp(prefix: string) {
  setUp();
  const stub = vscodeStub as Record<string, unknown>;
  stub.workspace = { ...(stub.workspace as object), getConfiguration: () => ({ get: () => undefined, inspect: (k: string) => ({ key: k }) }), getWorkspaceFolder: () => undefined, workspaceFolders: undefined };
  const jobs = await jobManager();
  const counted: string[] = [];
  jobs.onEvent((e) => e.type === 'job/done' && counted.push(`${e.job} ${e.outcome}`));
  const dir = tempDir(prefix);
  const modelDir = path.join(dir, 'tiny-roberta');
  fs.cpSync(fixture('tiny-roberta'), modelDir, { recursive: true });
  const s = { log: silentLog, jobs, reports: { save: () => null }, state: undefined, cacheDir: null, selection: undefined } as never;
  return { jobs, counted, dir, modelDir, s };
}

test('the test API counts the training tokens once, in the job; the command counts them once, in its picker, and its job reuses that count (before, the job counted them again: about 2 s on spam)', async () => {
  const { jobs, counted, dir, modelDir, s } = await optimizeSetUp('ps-api-');
  const { budgetAccountFor, runOptimize } = await import('../../../src/extension/commands/optimize');
  const config = { modelDir, tasks, budget: '0.8', candidates: 2, vocabTrim: true, settings, overwrite: true };
  const encodes = countEncodes();
  try {
    const api = await runOptimize(s, config);
    assert.deepEqual(counted, ['optimize done'], 'no count before the job');
    const apiEncodes = encodes.calls;
    const account = await budgetAccountFor(jobs, modelDir, tasks, { ...options, candidates: 2 });
    assert.equal(encodes.calls - apiEncodes, settings.limitTrain, 'the picker encodes each training text once');
    encodes.calls = 0;
    const command = await runOptimize(s, config, account);
    assert.equal(encodes.calls, apiEncodes - settings.limitTrain, "the command's job encodes no training text to count tokens");
    assert.deepEqual(counted, ['optimize done', 'count done', 'optimize done']);
    assert.ok(api.status === 'done' && command.status === 'done');
    assert.equal(api.out, path.join(dir, 'tiny-roberta-probescale-80'));
    assert.equal(command.out, api.out);
    assert.deepEqual(command.report.selection, api.report.selection);
    assert.equal(api.report.selection.vocabTrim?.keptTokens, account!.keptTokens);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the job counts the training tokens again when the task data changed after the picker counted them, and trims to the new texts', async () => {
  const { jobs, counted, dir, modelDir, s } = await optimizeSetUp('ps-changed-');
  const { budgetAccountFor, runOptimize } = await import('../../../src/extension/commands/optimize');
  const taskDir = path.join(dir, 'sentlen');
  fs.cpSync(path.join(tasksDir, 'sentlen'), taskDir, { recursive: true });
  const changed = [{ name: 's', path: taskDir, weight: 1 }];
  const config = { modelDir, tasks: changed, budget: '0.8', candidates: 2, vocabTrim: true, settings, overwrite: true };
  const opts = { ...options, candidates: 2 };
  try {
    const account = (await budgetAccountFor(jobs, modelDir, changed, opts))!;
    // Edited between the picker and the job: every training text in capitals (other tokens).
    const train = path.join(taskDir, 'train.jsonl');
    const rows = fs.readFileSync(train, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: number });
    fs.writeFileSync(train, rows.map((r) => JSON.stringify({ ...r, text: r.text.toUpperCase() })).join('\n') + '\n');
    const encodes = countEncodes();
    const run = await runOptimize(s, config, account);
    assert.ok(encodes.calls >= settings.limitTrain, `the job encoded the training texts again (${encodes.calls} texts)`);
    const fresh = (await budgetAccountFor(jobs, modelDir, changed, opts))!;
    assert.ok(run.status === 'done');
    assert.notEqual(fresh.keptTokens, account.keptTokens, 'the edit changed the tokens the texts use');
    assert.equal(run.report.selection.vocabTrim?.keptTokens, fresh.keptTokens, 'trimmed to the edited texts, not the counted ones');
    assert.deepEqual(counted, ['count done', 'optimize done', 'count done']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('probescale.taskColumns reaches the job and its command line: a task kept under other column names is optimized, and the report says how to read it again', async () => {
  const { dir, modelDir, s } = await optimizeSetUp('ps-columns-');
  const data = path.join(dir, 'reviews');
  fs.mkdirSync(data);
  for (const split of ['train', 'test']) {
    const rows = fs.readFileSync(path.join(tasksDir, 'sentlen', `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });
    fs.writeFileSync(path.join(data, `${split}.jsonl`), rows.map((r) => JSON.stringify({ body: r.text, stars: r.label })).join('\n'));
  }
  const stub = vscodeStub as Record<string, unknown>;
  const values: Record<string, unknown> = { taskColumns: { reviews: 'text=body,label=stars' } };
  stub.workspace = { ...(stub.workspace as object), getConfiguration: () => ({ get: (k: string) => values[k], inspect: (k: string) => ({ key: k, globalValue: values[k] }) }) };
  const { runOptimize } = await import('../../../src/extension/commands/optimize');
  try {
    const run = await runOptimize(s, { modelDir, tasks: [{ name: 'reviews', path: data, weight: 1 }], budget: '0.8', candidates: 2, vocabTrim: true, settings, overwrite: true });
    assert.ok(run.status === 'done');
    assert.equal(run.report.tasks.reviews.nTrain, settings.limitTrain);
    assert.match(run.report.command ?? '', /--task reviews=\S+ --columns reviews:text=body,label=stars /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
