/** The report editor's side of the webview boundary: what a hostile or broken editor page gets back. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ToWebview } from '../../../../src/shared/protocol';
import { fixture, tempDir } from '../../../helpers';
import { installVscodeStub, silentLog, vscodeStub } from '../../../vscodeStub';

/** A webview panel double: records what the provider posts, lets the test send messages. */
function fakePanel() {
  const posted: ToWebview[] = [];
  let receive: (m: unknown) => void = () => {};
  const webview = {
    options: {},
    html: '',
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    asWebviewUri: (u: { path: string }) => `https://file+.vscode-resource.vscode-cdn.net${u.path}`,
    onDidReceiveMessage: (f: (m: unknown) => void) => ((receive = f), { dispose() {} }),
    postMessage: async (m: ToWebview) => (posted.push(m), true),
  };
  let disposed = () => {};
  let viewState = () => {};
  const panel = {
    webview,
    visible: true,
    viewColumn: 1,
    onDidDispose: (f: () => void) => ((disposed = f), { dispose() {} }),
    onDidChangeViewState: (f: () => void) => ((viewState = f), { dispose() {} }),
    dispose: () => disposed(),
  };
  const show = (visible: boolean) => ((panel.visible = visible), viewState());
  return { panel, posted, send: (m: unknown) => receive(m), dispose: () => disposed(), show };
}

const settle = () => new Promise((r) => setImmediate(r));

/** Waits up to 5 s for `done` (file events take a moment). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
}

installVscodeStub();

test('the report editor answers a refused request with an error reply, so the page does not wait forever', async () => {
  const { ReportEditorProvider } = await import('../../../../src/extension/reportEditor/reportEditor');
  const calls: string[] = [];
  const handlers = new Proxy({}, { get: (_t, name: string) => async () => (calls.push(name), { saved: null }) });
  const provider = new ReportEditorProvider({ path: '/ext' } as never, handlers as never, silentLog);
  const p = fakePanel();
  provider.resolveCustomEditor({ uri: { fsPath: '/nowhere/r.json' } } as never, p.panel as never);
  p.send({ type: 'request', id: 4, method: 'export/save', params: { fileName: 'x.png', format: 'exe', data: '' } });
  p.send({ type: 'request', id: 5, method: 'fs/delete', params: {} });
  p.send({ type: 'no-such-type' });
  p.send({ type: 'request', id: 6, method: 'export/save', params: { fileName: 'x.md', format: 'md', data: '' } });
  await settle();
  assert.deepEqual(calls, ['export/save'], 'only the valid request reached a handler');
  const replies = p.posted.filter((m): m is Extract<ToWebview, { type: 'reply' }> => m.type === 'reply');
  assert.deepEqual(replies.map((r) => r.id), [4, 5, 6]);
  assert.match(replies[0].error!, /refused: request export\/save: field 'params': field 'format': not png, svg or md/);
  assert.match(replies[1].error!, /refused: unknown request method "fs\/delete"/);
  assert.equal(replies[2].error, undefined);
  p.dispose();
});

test('the report editor follows its file: rewritten, it shows the new report; deleted, it says so', async () => {
  const { ReportEditorProvider } = await import('../../../../src/extension/reportEditor/reportEditor');
  const dir = tempDir('ps-editor-');
  const file = path.join(dir, 'probescale-report.json');
  const original = JSON.parse(fs.readFileSync(fixture('reports-before', 'probe-tiny-bert.json'), 'utf8'));
  fs.writeFileSync(file, JSON.stringify(original));
  const provider = new ReportEditorProvider({ path: '/ext' } as never, {} as never, silentLog);
  const p = fakePanel();
  provider.resolveCustomEditor({ uri: { fsPath: file } } as never, p.panel as never);
  p.send({ type: 'ready' });
  const said = () => p.posted.map((m) => (m.type === 'report/show' ? m.report.createdAt : m.type === 'report/error' ? m.message : m.type));
  await until(() => said().length === 1);
  fs.writeFileSync(file, JSON.stringify({ ...original, createdAt: '2030-01-01T00:00:00.000Z' }));
  await until(() => said().length === 2);
  fs.rmSync(file);
  await until(() => said().length === 3);
  assert.equal(said()[0], original.createdAt);
  assert.equal(said()[1], '2030-01-01T00:00:00.000Z');
  assert.match(said()[2], /does not exist \(moved or deleted\?\)/);
  p.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The workbench's side of a reopen: the tabs there are, which were closed, what openWith was asked. */
function fakeWorkbench(file: string) {
  // Replaced, not extended: the provider reads the stub's keys as they were when it was loaded.
  const vscode = vscodeStub as typeof vscodeStub & Record<string, unknown>;
  const TabInputCustom = vscode.TabInputCustom;
  const uri = { fsPath: file, toString: () => `file://${file}` };
  const tab = { input: new TabInputCustom(uri, 'probescale.report') };
  const closed: unknown[] = [];
  const opened: unknown[][] = [];
  const warnings: string[] = [];
  const saved = { window: vscode.window, commands: vscode.commands };
  Object.assign(vscode, {
    window: { ...vscode.window, tabGroups: { all: [{ viewColumn: 1, tabs: [tab] }], close: async (t: unknown) => void closed.push(t) } },
    commands: { executeCommand: async (...args: unknown[]) => void opened.push(args) },
  });
  const log = { info() {}, warn: (m: string) => warnings.push(m), error() {}, debug() {} };
  return { uri, tab, closed, opened, warnings, log, restore: () => Object.assign(vscode, saved) };
}

test('a report editor whose page stays silent while shown is closed and opened again, once in a row; a page that says ready, or is hidden, is left alone', async () => {
  const { ReportEditorProvider } = await import('../../../../src/extension/reportEditor/reportEditor');
  const w = fakeWorkbench('/reports/r.json');
  try {
    const provider = new ReportEditorProvider({ path: '/ext' } as never, {} as never, w.log as never);
    provider.readyMs = 30;
    const wait = () => new Promise((r) => setTimeout(r, 120));
    // In time: nothing happens.
    const fine = fakePanel();
    provider.resolveCustomEditor({ uri: w.uri } as never, fine.panel as never);
    fine.send({ type: 'ready' });
    await wait();
    assert.deepEqual([w.closed.length, w.opened.length, w.warnings.length], [0, 0, 0], 'a page that said ready in time');
    // Hidden before it loaded: not a blank page yet; shown again and still silent: reopened.
    const hidden = fakePanel();
    provider.resolveCustomEditor({ uri: w.uri } as never, hidden.panel as never);
    hidden.show(false);
    await wait();
    assert.equal(w.opened.length, 0, 'a hidden page is not taken as blank');
    hidden.show(true);
    await wait();
    assert.deepEqual(w.closed, [w.tab], 'the blank editor closed as its tab');
    assert.deepEqual(w.opened, [['vscode.openWith', w.uri, 'probescale.report', 1]], 'opened again with this editor, where it was');
    assert.match(w.warnings[0], /r\.json: its page had not loaded after 0\.03 s .*reopening it/);
    // The reopened one is silent too: said, not reopened again (no loop).
    const again = fakePanel();
    provider.resolveCustomEditor({ uri: w.uri } as never, again.panel as never);
    await wait();
    assert.equal(w.opened.length, 1);
    assert.match(w.warnings[1], /has not loaded 0\.03 s after it was reopened; close the editor and open the report again/);
    // Once a page said ready, a later blank one is reopened again.
    again.send({ type: 'ready' });
    const later = fakePanel();
    provider.resolveCustomEditor({ uri: w.uri } as never, later.panel as never);
    await wait();
    assert.equal(w.opened.length, 2);
    for (const p of [fine, hidden, again, later]) p.dispose();
  } finally {
    w.restore();
  }
});
