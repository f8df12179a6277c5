/** The report editor's side of the webview boundary: what a hostile or broken editor page gets back. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ToWebview } from '../../../../src/shared/protocol';
import { fixture } from '../../../helpers';
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
  return { panel: { webview, onDidDispose: () => ({ dispose() {} }) }, posted, send: (m: unknown) => receive(m) };
}

const settle = () => new Promise((r) => setImmediate(r));

/** File watchers the provider creates: the files they watch, and their listeners for the test to fire. */
function stubWatchers() {
  const listeners: Record<'change' | 'create' | 'delete', (() => void)[]> = { change: [], create: [], delete: [] };
  const watched: string[] = [];
  const on = (k: keyof typeof listeners) => (f: () => void) => (listeners[k].push(f), { dispose() {} });
  const stub = vscodeStub as unknown as { workspace: Record<string, unknown>; RelativePattern: unknown; Uri: Record<string, unknown> };
  stub.RelativePattern = class {
    constructor(readonly base: { fsPath: string }, readonly pattern: string) {}
  };
  stub.Uri.file = (p: string) => ({ fsPath: p });
  stub.workspace.createFileSystemWatcher = (p: { base: { fsPath: string }; pattern: string }) => (watched.push(path.join(p.base.fsPath, p.pattern)), { onDidChange: on('change'), onDidCreate: on('create'), onDidDelete: on('delete'), dispose() {} });
  return { listeners, watched };
}

installVscodeStub();
const { listeners, watched } = stubWatchers();

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
});

test('the report editor follows its file: rewritten, it shows the new report; deleted, it says so', async () => {
  const { ReportEditorProvider } = await import('../../../../src/extension/reportEditor/reportEditor');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-editor-'));
  const file = path.join(dir, 'probescale-report.json');
  const original = JSON.parse(fs.readFileSync(fixture('reports-before', 'probe-tiny-bert.json'), 'utf8'));
  fs.writeFileSync(file, JSON.stringify(original));
  const provider = new ReportEditorProvider({ path: '/ext' } as never, {} as never, silentLog);
  const p = fakePanel();
  provider.resolveCustomEditor({ uri: { fsPath: file } } as never, p.panel as never);
  assert.deepEqual(watched.slice(-1), [file]);
  p.send({ type: 'ready' });
  await settle();
  fs.writeFileSync(file, JSON.stringify({ ...original, createdAt: '2030-01-01T00:00:00.000Z' }));
  listeners.change.forEach((f) => f());
  fs.rmSync(file);
  listeners.delete.forEach((f) => f());
  await settle();
  const shown = p.posted.map((m) => (m.type === 'report/show' ? m.report.createdAt : m.type === 'report/error' ? m.message : m.type));
  assert.equal(shown.length, 3, JSON.stringify(shown));
  assert.equal(shown[0], original.createdAt);
  assert.equal(shown[1], '2030-01-01T00:00:00.000Z');
  assert.match(shown[2], /does not exist \(moved or deleted\?\)/);
  fs.rmSync(dir, { recursive: true, force: true });
});
