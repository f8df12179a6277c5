/** Saved reports as a hostile or unlucky workspace has them: dangling links, files that vanish. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, tempDir } from '../../../helpers';
import { installVscodeStub, silentLog, vscodeStub } from '../../../vscodeStub';

test('a dangling link among the saved reports is skipped: the view still opens the newest readable report', async () => {
  installVscodeStub();
  const { ReportStore, REPORTS_DIR } = await import('../../../../src/extension/reports/reportStore');
  const root = tempDir('ps-store-');
  const dir = path.join(root, REPORTS_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const good = path.join(dir, 'tiny-bert-20261130-084107.json');
  fs.copyFileSync(fixture('reports-before', 'probe-tiny-bert.json'), good);
  fs.symlinkSync(path.join(root, 'deleted-elsewhere.json'), path.join(dir, 'zz-dangling.json'));
  const ws = vscodeStub.workspace as { workspaceFolders?: unknown };
  ws.workspaceFolders = [{ uri: { fsPath: root } }];
  try {
    const store = new ReportStore(silentLog);
    assert.deepEqual(store.listSaved().map((r) => r.file), [good]);
    assert.equal(store.loadLatest()?.source, good);
  } finally {
    delete ws.workspaceFolders;
    fs.rmSync(root, { recursive: true, force: true });
  }
});
