/** A command started from the palette or the Explorer while a job runs: refused at once, before its pickers. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { installVscodeStub, silentLog, vscodeStub } from '../../../vscodeStub';

test('Probe, Optimize, Evaluate and Prune say a job is running before asking anything (before, after every picker)', async () => {
  installVscodeStub();
  const asked: string[] = [];
  const errors: string[] = [];
  const stub = vscodeStub as unknown as { window: Record<string, unknown>; workspace: Record<string, unknown>; Uri: unknown };
  stub.window.showQuickPick = async (_items: unknown, o: { title: string }) => (asked.push(o.title), undefined);
  stub.window.showOpenDialog = async () => undefined;
  stub.window.showErrorMessage = async (text: string) => (errors.push(text), undefined);
  stub.workspace.findFiles = async () => [];
  stub.workspace.getWorkspaceFolder = () => undefined;
  stub.Uri = class {};
  const { probeFolder } = await import('../../../../src/extension/commands/probe');
  const { optimizeModel } = await import('../../../../src/extension/commands/optimize');
  const { evalFolder } = await import('../../../../src/extension/commands/evaluate');
  const { pruneModel } = await import('../../../../src/extension/commands/prune');
  const s = { log: silentLog, jobs: { running: 'optimize' }, reports: { current: undefined }, state: { get: () => undefined } } as never;
  for (const command of [probeFolder, optimizeModel, evalFolder, pruneModel]) await command(s);
  assert.deepEqual(asked, [], 'no picker opened');
  assert.equal(errors.length, 4);
  for (const e of errors) assert.match(e, /an? optimize job is already running; wait for it or cancel it/);
});
