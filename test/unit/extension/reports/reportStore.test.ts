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

test('a report of a model whose folder name is near the 255-byte limit is saved under a shortened name', async () => {
  installVscodeStub();
  const { ReportStore, REPORTS_DIR } = await import('../../../../src/extension/reports/reportStore');
  const { normalizeReport } = await import('../../../../src/core/reportData');
  const root = tempDir('ps-store-');
  const ws = vscodeStub.workspace as { workspaceFolders?: unknown; getWorkspaceFolder?: unknown };
  const uri = vscodeStub.Uri as { file?: unknown };
  ws.workspaceFolders = [{ uri: { fsPath: root } }];
  // Just enough of the workspace API for a folder inside the one workspace folder.
  ws.getWorkspaceFolder = () => (ws.workspaceFolders as unknown[])[0];
  uri.file = (p: string) => ({ fsPath: p, path: p });
  try {
    const store = new ReportStore(silentLog);
    for (const name of ['é'.repeat(125), 'm'.repeat(250)]) {
      const report = normalizeReport(JSON.parse(fs.readFileSync(fixture('reports-before', 'probe-tiny-bert.json'), 'utf8')), 'r.json');
      report.model.dir = path.join(root, name);
      const file = store.save(report)!;
      assert.ok(Buffer.byteLength(path.basename(file)) <= 255, path.basename(file));
      assert.ok(path.basename(file).startsWith(name.slice(0, 50)), 'it starts with the folder’s name');
      assert.ok(fs.existsSync(file));
    }
    assert.equal(fs.readdirSync(path.join(root, REPORTS_DIR)).length, 2);
  } finally {
    delete ws.workspaceFolders;
    delete ws.getWorkspaceFolder;
    delete uri.file;
  }
});
