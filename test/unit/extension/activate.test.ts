/**
 * activate(): what it registers and disposes, the trust gate in front of the job commands, the
 * commands that need no model, and where the webview's requests go. Runs against the `vscode`
 * stand-in, given here the registration calls activate makes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ToWebview } from '../../../src/shared/protocol';
import { COMMANDS_NEEDING_TRUST } from '../../../src/extension/trust';
import { repoRoot, tempDir } from '../../helpers';
import { fakeView, installVscodeStub, vscodeStub } from '../../vscodeStub';

type Handler = (...args: unknown[]) => unknown;

/** The stand-in with what activate calls; records the commands, the view provider, toasts and executed commands. */
function activationStub() {
  const commands = new Map<string, Handler>();
  const executed: unknown[][] = [];
  const toasts: string[] = [];
  const views: { resolveWebviewView(view: unknown): void }[] = [];
  const disposable = { dispose() {} };
  const event = () => disposable;
  const toast = (kind: string) => async (text: string) => (toasts.push(`${kind}: ${text}`), undefined);
  installVscodeStub();
  Object.assign(vscodeStub, {
    Uri: { ...vscodeStub.Uri, file: (p: string) => ({ scheme: 'file', fsPath: p, path: p }) },
    StatusBarAlignment: { Left: 1, Right: 2 },
    commands: {
      registerCommand: (id: string, run: Handler) => (commands.set(id, run), disposable),
      executeCommand: async (...args: unknown[]) => (executed.push(args), undefined),
    },
    window: {
      ...vscodeStub.window,
      createOutputChannel: () => ({ info() {}, warn() {}, error() {}, debug() {}, trace() {}, appendLine() {}, show() {}, dispose() {} }),
      createStatusBarItem: () => ({ show() {}, hide() {}, dispose() {} }),
      registerWebviewViewProvider: (_id: string, provider: (typeof views)[number]) => (views.push(provider), disposable),
      registerCustomEditorProvider: () => disposable,
      showInformationMessage: toast('info'),
      showWarningMessage: toast('warning'),
      showErrorMessage: toast('error'),
    },
    workspace: {
      isTrusted: false,
      workspaceFolders: undefined,
      findFiles: async () => [],
      getWorkspaceFolder: () => undefined,
      createFileSystemWatcher: () => ({ onDidCreate: event, onDidChange: event, onDidDelete: event, dispose() {} }),
      onDidChangeWorkspaceFolders: event,
    },
  });
  return { commands, executed, toasts, views };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

test('activate registers every declared command, disposes all it creates, gates the job commands and routes the webview requests', async () => {
  const stub = activationStub();
  const { activate } = await import('../../../src/extension/extension');
  const storage = tempDir('ps-activate-');
  const context = {
    subscriptions: [] as { dispose(): unknown }[],
    extensionUri: { scheme: 'file', fsPath: '/ext', path: '/ext' },
    globalStorageUri: { scheme: 'file', fsPath: storage, path: storage },
    workspaceState: { get: () => undefined, update: async () => undefined, keys: () => [] },
  };
  try {
    const api = activate(context as never);
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    const declared = (pkg.contributes.commands as { command: string }[]).map((c) => c.command).sort();
    assert.deepEqual([...stub.commands.keys()].sort(), declared);
    // log, jobs, reports, models, view, its registration, the editor's, the status bar, three event hooks, and one per command.
    assert.equal(context.subscriptions.length, 11 + declared.length);
    for (const d of context.subscriptions) assert.equal(typeof d.dispose, 'function');
    assert.deepEqual(Object.keys(api).sort(), ['commitPrune', 'currentReport', 'editorRendered', 'modelFolders', 'renderedReport', 'revealView', 'runEval', 'runOptimize', 'runProbe', 'setEditorReadyMs']);
    assert.equal(api.currentReport(), undefined);

    // Untrusted: the job commands say why and run nothing.
    for (const id of COMMANDS_NEEDING_TRUST) assert.equal(stub.commands.get(id)!(), undefined);
    assert.equal(stub.toasts.length, COMMANDS_NEEDING_TRUST.length);
    for (const t of stub.toasts) assert.match(t, /^warning: ProbeScale: .*trust/i);
    stub.toasts.length = 0;

    await stub.commands.get('probescale.cancelJob')!();
    assert.deepEqual(stub.toasts, ['info: ProbeScale: no job is running.']);
    stub.toasts.length = 0;
    await stub.commands.get('probescale.openReportEditor')!();
    assert.equal(stub.toasts.length, 1);
    assert.match(stub.toasts[0], /^error: ProbeScale: no saved report yet: run "ProbeScale: Probe Model Folder" or "Optimize for a Parameter Budget" first/);

    // The webview's requests: start commands with or without a folder, reveal in the Explorer.
    assert.equal(stub.views.length, 1);
    const page = fakeView();
    stub.views[0].resolveWebviewView(page.view);
    stub.executed.length = 0;
    page.send({ type: 'request', id: 1, method: 'probe/start', params: { modelDir: '/m' } });
    page.send({ type: 'request', id: 2, method: 'optimize/start', params: {} });
    page.send({ type: 'request', id: 3, method: 'explorer/reveal', params: { path: '/m/out' } });
    await settle();
    const sent = stub.executed.filter((c) => c[0] !== 'setContext');
    assert.deepEqual(sent, [
      ['probescale.probeFolder', { scheme: 'file', fsPath: '/m', path: '/m' }],
      ['probescale.optimize', undefined],
      ['revealInExplorer', { scheme: 'file', fsPath: '/m/out', path: '/m/out' }],
    ]);
    const replies = page.posted.filter((m) => m.type === 'reply') as Extract<ToWebview, { type: 'reply' }>[];
    assert.deepEqual(replies.map((r) => [r.id, r.result, r.error]), [
      [1, { started: true }, undefined],
      [2, { started: true }, undefined],
      [3, { revealed: true }, undefined],
    ]);
  } finally {
    for (const d of context.subscriptions) d.dispose();
    fs.rmSync(storage, { recursive: true, force: true });
  }
});
