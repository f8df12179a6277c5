/** The report editor's side of the webview boundary: what a hostile or broken editor page gets back. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ToWebview } from '../../../../src/shared/protocol';
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
  return { panel: { webview, onDidDispose: () => ({ dispose() {} }) }, posted, send: (m: unknown) => receive(m) };
}

const settle = () => new Promise((r) => setImmediate(r));

test('the report editor answers a refused request with an error reply, so the page does not wait forever', async () => {
  installVscodeStub();
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
