/**
 * The extension's budget picker with probescale.vocabTrim on: its placeholder, minimum, presets
 * and typed-budget check follow the trimmed floor the job accepts, and counting the training
 * texts can be cancelled (no job, no error).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { installVscodeStub, vscodeStub } from '../../vscodeStub';
import { fixture, tasksDir } from '../../helpers';
import { DEFAULT_SETTINGS } from '../../../src/core/settings';
import { formatCount } from '../../../src/shared/params';

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

test('with vocabTrim on the picker shows the trimmed floor and refuses one parameter below it, as the job does', async () => {
  setUp();
  const { budgetAccountFor, pickBudget } = await import('../../../src/extension/commands/optimize');
  const { acceptBudget, smallestBudget } = await import('../../../src/core/optimize/budgetAccount');
  const account = await budgetAccountFor(fixture('tiny-roberta'), tasks, options);
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
  const account = (await budgetAccountFor(fixture('tiny-roberta'), tasks, whole))!;
  const min = smallestBudget(whole, account);
  const shown = stubPickers('0.95');
  await pickBudget({ get: () => undefined, update: async () => undefined } as never, account, 'budget', (v) => acceptBudget({ ...whole, budget: v }, account), min);
  assert.deepEqual(shown.items.map((i) => i.spec), [undefined]);
  assert.match(shown.placeHolder, /\(88\.6 %\)$/);
});

test('cancelling the token count gives no account and no error', async () => {
  setUp();
  const window = vscodeStub.window as Record<string, unknown>;
  const withProgress = window.withProgress;
  window.withProgress = (_o: unknown, task: (p: unknown, t: unknown) => Promise<unknown>) =>
    task({ report() {} }, { onCancellationRequested: (f: () => void) => (f(), { dispose() {} }) });
  try {
    const { budgetAccountFor } = await import('../../../src/extension/commands/optimize');
    assert.equal(await budgetAccountFor(fixture('tiny-roberta'), tasks, options), undefined);
  } finally {
    window.withProgress = withProgress;
  }
});
