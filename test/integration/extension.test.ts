/// <reference types="mocha" />
/**
 * Extension tests, run inside a real VS Code extension host (see index.ts). The workspace is
 * made by workspace.ts: models/tiny-bert plus data/tasks/{spam,sentlen}.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProbeScaleApi } from '../../src/extension/extension';

const EXTENSION_ID = 'probescale.probescale';

function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need the test workspace open (see test/integration/workspace.ts)');
  return folder.uri.fsPath;
}

function within<T>(ms: number, what: string, p: Thenable<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

describe('ProbeScale extension', () => {
  let api: ProbeScaleApi;
  let ws: string;
  let modelDir: string;

  before(async () => {
    const ext = vscode.extensions.getExtension<ProbeScaleApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this VS Code`);
    api = await ext.activate();
    ws = workspaceDir();
    modelDir = path.join(ws, 'models', 'tiny-bert');
  });

  it('activates and exports its test API', () => {
    const ext = vscode.extensions.getExtension<ProbeScaleApi>(EXTENSION_ID)!;
    assert.equal(ext.isActive, true);
    for (const fn of ['runProbe', 'commitPrune', 'revealView', 'currentReport', 'modelFolders'] as const) assert.equal(typeof api[fn], 'function', fn);
  });

  it('registers every command declared in package.json', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const declared = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    assert.ok(declared.length >= 4, `expected the ProbeScale commands, got ${declared.join(', ')}`);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `declared but not registered: ${missing.join(', ')}`);
  });

  it('finds the model folder that the Explorer menu is shown on', async () => {
    const folders = await api.modelFolders();
    assert.deepEqual(folders, [modelDir]);
  });

  it('resolves the relevance view and completes the ready handshake', async () => {
    await within(30_000, 'ProbeScale: Show Layer Relevance', vscode.commands.executeCommand('probescale.showPanel'));
    await within(10_000, 'revealView', api.revealView());
  });

  it('probes tiny-bert on a real task, saves the report and shows it', async () => {
    const run = await api.runProbe({
      modelDir,
      tasks: [{ name: 'spam', path: path.join(ws, 'data', 'tasks', 'spam'), weight: 1 }],
      settings: { limitTrain: 60, limitTest: 30, provider: 'cpu' },
    });
    assert.equal(run.status, 'done');
    if (run.status !== 'done') return;
    const { report, savedTo } = run;
    assert.equal(report.model.numLayers, 4);
    assert.equal(report.model.architecture, 'bert');
    const spam = report.tasks.spam;
    assert.ok(spam, 'the report has the spam task');
    assert.equal(spam.layers.length, 5, 'one score per hidden state (embeddings + 4 blocks)');
    assert.equal(spam.nTrain, 60);
    assert.equal(spam.nTest, 30);
    for (const l of spam.layers) assert.ok(l.accuracy >= 0 && l.accuracy <= 1, `accuracy of layer ${l.layer}: ${l.accuracy}`);
    assert.equal(report.signals?.blockInfluence.length, 4);
    assert.ok(savedTo, 'the report was saved in the workspace');
    assert.equal(path.dirname(savedTo), path.join(ws, '.probescale', 'reports'));
    assert.match(path.basename(savedTo), /^tiny-bert-\d{8}-\d{6}\.json$/);
    const saved = JSON.parse(fs.readFileSync(savedTo, 'utf8')) as { tasks: Record<string, unknown> };
    assert.deepEqual(Object.keys(saved.tasks), ['spam']);
    assert.equal(api.currentReport()?.model.dir, modelDir, 'the view shows the new report');
  });

  it('commits a pruned model beside the source, as <model>-pruned-<blocks>', async () => {
    const outcome = await api.commitPrune(modelDir, [0, 2]);
    assert.equal(outcome.status, 'written');
    if (outcome.status !== 'written') return;
    assert.equal(outcome.out, path.join(ws, 'models', 'tiny-bert-pruned-0_2'));
    assert.deepEqual(outcome.kept, [0, 2]);
    assert.ok(outcome.params.after < outcome.params.before);
    const config = JSON.parse(fs.readFileSync(path.join(outcome.out, 'config.json'), 'utf8')) as { num_hidden_layers: number };
    assert.equal(config.num_hidden_layers, 2);
    assert.ok(fs.existsSync(path.join(outcome.out, 'onnx', 'model.onnx')));
    const folders = await api.modelFolders();
    assert.ok(folders.includes(outcome.out), 'the pruned folder is a model folder too');
  });

  it('treats a cancelled probe as cancelled, not as an error', async () => {
    const running = api.runProbe({
      modelDir,
      tasks: [{ name: 'spam', path: path.join(ws, 'data', 'tasks', 'spam'), weight: 1 }],
      // Every row and no feature cache, so the job is still running when the cancel arrives.
      settings: { limitTrain: undefined, limitTest: undefined, cacheDir: null, provider: 'cpu' },
    });
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('probescale.cancelJob');
    const run = await within(30_000, 'the cancelled probe', running);
    assert.deepEqual(run, { status: 'cancelled' });
  });
});
