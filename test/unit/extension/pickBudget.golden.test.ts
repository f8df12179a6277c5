/**
 * The extension's budget picker (src/extension/commands/optimize.ts pickBudget) pinned when it
 * was split into stages (thirteenth session): what the QuickPick and the input box show, what
 * the typed-budget check says, what is remembered and what is returned, for a preset, a typed
 * budget, each way of dismissing, a refused typed budget, and floors that shut out presets.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { installVscodeStub, vscodeStub } from '../../vscodeStub';
import { BadInputError } from '../../../src/core/errors';
import type { BudgetAccount } from '../../../src/core/optimize/budgetAccount';

installVscodeStub();
(vscodeStub as Record<string, unknown>).InputBoxValidationSeverity = { Info: 1, Warning: 2, Error: 3 };

/** What the user does: the QuickPick item chosen (by spec, 'custom' or undefined to dismiss) and what is typed (undefined: dismissed). */
interface Act {
  pick: string | undefined;
  typed?: string;
}

/** Runs the picker once; returns everything it showed, checked, remembered and returned. */
async function run(account: BudgetAccount, min: number, act: Act, last?: string): Promise<unknown> {
  const { pickBudget } = await import('../../../src/extension/commands/optimize');
  const seen: Record<string, unknown> = {};
  const window = vscodeStub.window as Record<string, unknown>;
  window.showQuickPick = async (items: { spec?: string; label: string }[], o: unknown) => {
    seen.items = items;
    seen.pickOptions = o;
    return act.pick === undefined ? undefined : items.find((i) => (act.pick === 'custom' ? !i.spec && i.label.includes('Custom') : i.spec === act.pick));
  };
  window.showInputBox = async (o: { validateInput: (v: string) => unknown }) => {
    seen.box = { ...o, validateInput: undefined };
    seen.checks = ['0.5', '0', 'abc', ' 4000000 ', String(min - 1), String(min)].map((v) => o.validateInput(v));
    return act.typed;
  };
  const updates: unknown[] = [];
  const state = { get: (k: string) => (k === 'probescale.lastBudget' ? last : undefined), update: async (k: string, v: unknown) => void updates.push([k, v]) };
  const accept = (spec: string): number => {
    const v = Number(spec);
    if (!spec.trim() || !Number.isFinite(v) || v <= 0) throw new BadInputError(`budget ${JSON.stringify(spec)} is not a fraction or a count`);
    const n = v <= 1 ? Math.floor(v * account.acc.total + 1e-6) : v;
    if (n < min) throw new BadInputError(`budget ${spec} is below the smallest model, ${min} parameters`);
    return n;
  };
  const result = await pickBudget(state as never, account, 'Budget title', accept, min);
  return { result, updates, ...seen };
}

const plain: BudgetAccount = { acc: { total: 10_000_000, embeddings: 2_000_000, perBlock: Array(12).fill(650_000), other: 200_000 }, keptTokens: null, ranks: [] };
const trimmed: BudgetAccount = { acc: { total: 10_000_000, embeddings: 3_100_000, perBlock: Array(6).fill(1_000_000), other: 0 }, keptTokens: 12_345, ranks: [] };
const factorised: BudgetAccount = { acc: { total: 8_000_000, embeddings: 5_000_000, perBlock: Array(4).fill(700_000), other: 200_000 }, keptTokens: null, ranks: [32] };

test('the budget picker shows, checks, remembers and returns the same as before', async () => {
  const got = [
    await run(plain, 2_200_000, { pick: '0.5' }),
    await run(plain, 2_200_000, { pick: 'custom', typed: ' 0.42 ' }, '0.3'),
    await run(plain, 2_200_000, { pick: 'custom', typed: undefined }),
    await run(plain, 2_200_000, { pick: 'custom', typed: 'abc' }),
    await run(plain, 2_200_000, { pick: undefined }),
    await run(trimmed, 3_100_000, { pick: 'custom', typed: '4000000' }),
    await run(factorised, 5_200_000, { pick: 'custom', typed: '0.7' }),
    await run(factorised, 2_400_000, { pick: 'custom', typed: '0.7' }, '0.66'),
  ];
  assert.equal(createHash('sha256').update(JSON.stringify(got)).digest('hex').slice(0, 16), '5a50dba3360843b4');
});
