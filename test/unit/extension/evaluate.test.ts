/** The toast "Evaluate Committed Model" shows: the claim comparison, and the files that differ from the commit. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { installVscodeStub, vscodeStub } from '../../vscodeStub';
import { fixture } from '../../helpers';

test('the eval toast names the files that differ from the commit and says the claim was made for the committed ones', async () => {
  installVscodeStub();
  const stub = vscodeStub as Record<string, unknown>;
  stub.Uri = { ...(stub.Uri as object), file: (p: string) => ({ fsPath: p, path: p }) };
  stub.workspace = { ...(stub.workspace as object), getWorkspaceFolder: () => undefined };
  const { evalSummary } = await import('../../../src/extension/commands/evaluate');
  const report = JSON.parse(fs.readFileSync(fixture('reports-before', 'eval-committed.json'), 'utf8'));
  const acc = report.tasks.sentlen.final.accuracy;
  const claimed = { sentlen: acc };
  const clean = evalSummary('/m', { ...report, claimed, integrity: { checked: 9, differing: [] } });
  assert.match(clean, new RegExp(`sentlen ${(100 * acc).toFixed(1)} % \\(as committed\\)`));
  assert.doesNotMatch(clean, /differ/);
  const differing = [{ path: 'onnx/model.onnx', expected: 'a'.repeat(64), actual: 'b'.repeat(64) }];
  const edited = evalSummary('/m', { ...report, claimed, integrity: { checked: 9, differing } });
  assert.match(edited, /sentlen [\d.]+ % \(the committed report claims [\d.]+ % for the files as committed; 1 of them differs now\)/);
  assert.match(edited, /1 of 9 files differs from what was committed: onnx\/model\.onnx \(the log has their checksums\)\.$/);
});
