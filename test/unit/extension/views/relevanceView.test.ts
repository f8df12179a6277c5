/**
 * The webview boundary: every incoming message validated, a strict CSP with a fresh nonce,
 * resources limited to dist/ and media/, and names from files drawn as text, never as markup.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import type { ReportData, ToWebview } from '../../../../src/shared/protocol';
import { validateFromWebview } from '../../../../src/shared/validate';
import { repoRoot, tempDir } from '../../../helpers';
import { fakeView, installVscodeStub, silentLog } from '../../../vscodeStub';
import { installFakeDom } from '../../../fakeDom';

const HOSTILE = '<img src=x onerror=alert(1)>';

test('the message validator passes every protocol message and refuses malformed ones with a reason', () => {
  const good: unknown[] = [
    { type: 'ready' },
    { type: 'cancel', jobId: 'job-1' },
    { type: 'selection', modelDir: '/m', kept: [[0, 0], [2, 2]] },
    { type: 'rendered', modelDir: '/m', createdAt: 'x', kind: 'probe', sections: ['a'] },
    { type: 'request', id: 1, method: 'probe/start', params: {} },
    { type: 'request', id: 2, method: 'probe/start', params: { modelDir: '/m' } },
    { type: 'request', id: 3, method: 'report/open', params: {} },
    { type: 'request', id: 4, method: 'prune/commit', params: { modelDir: '/m', layers: [[0, 1]] } },
    { type: 'request', id: 5, method: 'explorer/reveal', params: { path: '/m' } },
    { type: 'request', id: 6, method: 'optimize/start', params: {} },
    { type: 'request', id: 7, method: 'modelCard/open', params: { dir: '/m' } },
    { type: 'request', id: 8, method: 'report/openEditor', params: { path: '/m/probescale-report.json' } },
    { type: 'request', id: 9, method: 'report/compare', params: { exclude: ['/a.json'], room: 5 } },
    { type: 'request', id: 10, method: 'export/save', params: { fileName: 'm-tradeoff.png', format: 'png', data: 'iVBORw0KGgo=' } },
  ];
  for (const m of good) assert.deepEqual(validateFromWebview(m), { ok: true, value: m }, JSON.stringify(m));
  const bad: [unknown, RegExp][] = [
    [null, /unknown message type/],
    ['ready', /unknown message type/],
    [{ type: 'run-shell', cmd: 'rm -rf /' }, /unknown message type "run-shell"/],
    [{ type: '__proto__' }, /unknown message type/],
    [{ type: 'cancel' }, /field 'jobId': not a string/],
    [{ type: 'cancel', jobId: 7 }, /field 'jobId': not a string/],
    [{ type: 'ready', extra: 1 }, /unexpected field 'extra'/],
    [{ type: 'selection', modelDir: '/m', kept: [[0, 0], [2, -1]] }, /field 'kept': range 1: not a pair of block indices/],
    [{ type: 'selection', modelDir: '/m', kept: [[0.5, 1]] }, /range 0/],
    [{ type: 'selection', modelDir: '/m', kept: [0, 2] }, /range 0: not a pair/],
    [{ type: 'rendered', modelDir: 'x'.repeat(5000), createdAt: '', kind: '', sections: [] }, /longer than 4096/],
    [{ type: 'request', id: 1, method: 'fs/delete', params: {} }, /unknown request method "fs\/delete"/],
    [{ type: 'request', id: 1, method: 'export/save', params: { fileName: 'x.exe', format: 'exe', data: '' } }, /field 'format': not png, svg or md/],
    [{ type: 'request', id: 1, method: 'report/compare', params: { exclude: [1] } }, /field 'exclude': entry 0: not a string/],
    [{ type: 'request', id: 1, method: 'toString', params: {} }, /unknown request method/],
    [{ type: 'request', id: -1, method: 'report/open', params: {} }, /field 'id'/],
    [{ type: 'request', id: 1, method: 'prune/commit', params: { modelDir: '/m' } }, /field 'params': field 'layers': not an array/],
    [{ type: 'request', id: 1, method: 'prune/commit', params: { modelDir: '/m\0', layers: [] } }, /NUL/],
    [{ type: 'request', id: 1, method: 'report/open', params: { path: '/etc' } }, /unexpected field 'path'/],
    [{ type: 'request', id: 1, method: 'report/open' }, /field 'params': not an object/],
  ];
  for (const [m, re] of bad) {
    const r = validateFromWebview(m);
    assert.equal(r.ok, false, JSON.stringify(m)?.slice(0, 80));
    assert.match((r as { error: string }).error, re);
  }
});

test('the relevance view: strict CSP with a fresh nonce, resources from dist/ and media/ only, refused messages never reach a handler', async () => {
  installVscodeStub();
  const { RelevanceViewProvider } = await import('../../../../src/extension/views/relevanceView');
  const calls: string[] = [];
  const handler = (name: string) => async () => (calls.push(name), { opened: true, started: true, revealed: true }) as never;
  const host = {
    snapshot: () => [],
    handlers: { 'probe/start': handler('probe/start'), 'report/open': handler('report/open'), 'prune/commit': handler('prune/commit'), 'explorer/reveal': handler('explorer/reveal'), 'optimize/start': handler('optimize/start'), 'modelCard/open': handler('modelCard/open'), 'report/openEditor': handler('report/openEditor'), 'report/compare': handler('report/compare'), 'export/save': handler('export/save') },
    cancel: (id: string) => calls.push(`cancel ${id}`),
    selectionChanged: () => calls.push('selection'),
  };
  const provider = new RelevanceViewProvider({ path: '/ext' } as never, host, silentLog);
  const a = fakeView();
  provider.resolveWebviewView(a.view as never);
  assert.deepEqual(a.view.webview.options.localResourceRoots?.map((u) => u.path), ['/ext/dist', '/ext/media']);
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(a.view.webview.html)![1];
  const nonce = /script-src 'nonce-([A-Za-z0-9+/=]{16,})'/.exec(csp)?.[1];
  assert.ok(nonce, csp);
  assert.match(csp, /^default-src 'none'; /);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  for (const tag of a.view.webview.html.match(/<script[^>]*>/g)!) assert.ok(tag.includes(`nonce="${nonce}"`), tag);
  const b = fakeView();
  provider.resolveWebviewView(b.view as never);
  assert.notEqual(/nonce-([^']+)'/.exec(b.view.webview.html)![1], nonce, 'a fresh nonce for each page');

  b.send({ type: 'request', id: 9, method: 'prune/commit', params: { modelDir: '/m', layers: ['0; rm -rf /'] } });
  b.send({ type: 'request', id: 10, method: 'workbench.action.terminal.sendSequence', params: {} });
  b.send({ type: 'cancel', jobId: { toString: 'x' } });
  b.send({ type: 'cancel', jobId: 'job-3' });
  b.send({ type: 'request', id: 11, method: 'report/open', params: {} });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['cancel job-3', 'report/open'], 'only the valid messages reached the host');
  const replies = b.posted.filter((m) => m.type === 'reply') as Extract<ToWebview, { type: 'reply' }>[];
  assert.deepEqual(replies.map((r) => r.id), [9, 10, 11]);
  assert.match(replies[0].error!, /refused: request prune\/commit: field 'params': field 'layers': range 0/);
  assert.match(replies[1].error!, /refused: unknown request method/);
  assert.equal(replies[2].error, undefined);
  provider.dispose();
});

test(`task names and labels from files are drawn as text: ${HOSTILE}`, async () => {
  const dir = tempDir('ps-webview-');
  const bundle = path.join(dir, 'evalSection.js');
  buildSync({ entryPoints: [path.join(repoRoot, 'webview', 'evalSection.ts')], bundle: true, format: 'cjs', platform: 'neutral', outfile: bundle, logLevel: 'silent' });
  installFakeDom();
  const { renderEvaluation } = (await import(bundle)) as { renderEvaluation: (r: ReportData) => { html: string } };
  const task = { labels: [HOSTILE, 'b'], majority: 0.5, weight: 1, nTrain: 10, nTest: 4, layers: [], bestLayer: 0, final: { accuracy: 0.75, macroF1: 0.7 } };
  const report: ReportData = {
    kind: 'eval',
    createdAt: '2026-01-01T00:00:00Z',
    provider: 'cpu',
    model: { dir: '/m', architecture: 'bert', numLayers: 1, hiddenSize: 4, params: { total: 1, embeddings: 1, perBlock: [0], other: 0 } },
    tasks: { [HOSTILE]: task },
    claimed: { [HOSTILE]: 0.5 },
  };
  const html = renderEvaluation(report).html;
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), html);
  assert.doesNotMatch(html, /<img/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a hostile page posting huge arrays: refused after reading a few entries, logged in one short line (before, the whole message was turned into JSON to log its first 200 characters)', async () => {
  installVscodeStub();
  const { checkIncoming } = await import('../../../../src/extension/views/relevanceView');
  const warnings: string[] = [];
  const log = { ...(silentLog as object), warn: (m: string) => warnings.push(m) } as never;
  let read = 0;
  // Entries past the first few count when something reads them as JSON.
  const trap = { toJSON: () => (read++, 0) };
  const huge = Array.from({ length: 2_000_000 }, (_, i) => (i < 10 ? 'x' : trap));
  const replies: ToWebview[] = [];
  assert.equal(checkIncoming({ type: 'selection', modelDir: '/m', kept: huge }, log, 'view', (r) => replies.push(r)), undefined);
  assert.equal(checkIncoming({ type: 'request', id: 7, method: 'report/compare', params: { exclude: huge } }, log, 'view', (r) => replies.push(r)), undefined);
  assert.equal(read, 0, 'the refused entries were not serialised');
  assert.equal(warnings.length, 2);
  for (const w of warnings) assert.ok(w.length < 500, w);
  assert.match(warnings[0], /refused a message \(message selection: field 'kept': more than 500000 ranges\): \{"type":"selection","modelDir":"\/m","kept":\["x","x","x",/);
  assert.match(warnings[0], /"…1999995 more"\]/);
  assert.deepEqual(replies.map((r) => r.type === 'reply' && r.id), [7]);
  const sections = (n: number, len: number) => ({ type: 'rendered', modelDir: '/m', createdAt: 'x', kind: 'probe', sections: Array(n).fill('s'.repeat(len)) });
  assert.equal(validateFromWebview(sections(64, 64)).ok, true);
  assert.match((validateFromWebview(sections(65, 8)) as { error: string }).error, /more than 64 sections/);
  assert.match((validateFromWebview(sections(10_000, 4096)) as { error: string }).error, /more than 64 sections/);
  assert.match((validateFromWebview(sections(3, 65)) as { error: string }).error, /entry 0: longer than 64 characters/);
});
