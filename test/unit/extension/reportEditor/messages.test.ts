import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkMessage } from '../../../../src/extension/reportEditor/messages';

test('webview messages: well-formed ones pass through typed', () => {
  assert.deepEqual(checkMessage({ type: 'ready' }), { type: 'ready' });
  const req = { type: 'request', id: 3, method: 'export/save', params: { fileName: 'a-tradeoff.png', format: 'png', data: 'iVBORw0KGgo=' } };
  assert.deepEqual(checkMessage(req), req);
  const commit = { type: 'request', id: 4, method: 'prune/commit', params: { modelDir: '/m', layers: [0, 2] } };
  assert.deepEqual(checkMessage(commit), commit);
});

test('webview messages: unknown types and methods, and bad params, are refused with the reason', () => {
  assert.match(String(checkMessage('ready')), /not an object/);
  assert.match(String(checkMessage({ type: 'eval' })), /unknown type "eval"/);
  assert.match(String(checkMessage({ type: 'request', id: 1, method: 'constructor', params: {} })), /unknown method "constructor"/);
  assert.match(String(checkMessage({ type: 'request', id: 1, method: 'prune/commit', params: { modelDir: '/m', layers: [-1] } })), /bad params/);
  assert.match(String(checkMessage({ type: 'request', id: 1, method: 'export/save', params: { fileName: 'x.png', format: 'exe', data: '' } })), /bad params/);
  assert.match(String(checkMessage({ type: 'request', id: 1.5, method: 'report/open', params: {} })), /bad id 1.5/);
  assert.match(String(checkMessage({ type: 'rendered', modelDir: 1 })), /bad fields/);
});
