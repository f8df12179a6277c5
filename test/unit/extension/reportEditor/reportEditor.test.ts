/** The report editor's side of the webview boundary: what a hostile or broken editor page gets back. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ToWebview } from '../../../../src/shared/protocol';
import { fixture, tempDir } from '../../../helpers';
import { installVscodeStub, silentLog } from '../../../vscodeStub';

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
  const panel = { webview, onDidDispose: (f: () => void) => ((disposed = f), { dispose() {} }) };
  return { panel, posted, send: (m: unknown) => receive(m), dispose: () => disposed() };
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
