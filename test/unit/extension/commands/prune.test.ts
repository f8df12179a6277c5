/** The view's "Commit pruned model" pressed twice before the first commit has finished. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installVscodeStub, silentLog, vscodeStub } from '../../../vscodeStub';
import { tempDir } from '../../../helpers';

/** The parts of the vscode stub a commit touches: the replace modal, the result toast, paths. */
function stubWindow(answer: string | undefined, settings: Record<string, unknown> = {}): { modals: number } {
  const seen = { modals: 0 };
  const stub = vscodeStub as unknown as { window: Record<string, unknown>; workspace: Record<string, unknown>; Uri: Record<string, unknown> };
  stub.window.showWarningMessage = async () => (seen.modals++, answer);
  stub.window.showInformationMessage = async () => undefined;
  stub.workspace.getWorkspaceFolder = () => undefined;
  stub.workspace.getConfiguration = () => ({ get: (k: string) => settings[k], inspect: (k: string) => ({ key: k, globalValue: settings[k] }) });
  stub.Uri.file = (p: string) => ({ fsPath: p });
  return seen;
}

/** A job manager double whose prune jobs finish when the test says so. */
function fakeJobs() {
  const started: unknown[] = [];
  const pending: (() => void)[] = [];
  const run = (job: { out: string; layers: number[] }) => {
    started.push(job);
    return new Promise((resolve) => pending.push(() => resolve({ status: 'done', result: { out: job.out, kept: job.layers, params: { before: 10, after: 6 }, files: ['onnx/model.onnx'] } })));
  };
  return { jobs: { run }, started, finish: () => pending.splice(0).forEach((f) => f()) };
}

for (const exists of [false, true]) {
  test(`two quick commits of the same blocks write once and both get its outcome (output folder ${exists ? 'exists: one replace question' : 'new'})`, async () => {
    installVscodeStub();
    const seen = stubWindow('Replace');
    const { commitPrune } = await import('../../../../src/extension/commands/prune');
    const out = path.join(tempDir('ps-commit-'), 'm-pruned-0-1');
    if (exists) fs.mkdirSync(out);
    const f = fakeJobs();
    const s = { log: silentLog, jobs: f.jobs } as never;
    const first = commitPrune(s, '/models/m', [0, 1], { out, reveal: false });
    const second = commitPrune(s, '/models/m', [1, 0], { out, reveal: false });
    await new Promise((r) => setImmediate(r));
    f.finish();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(f.started.length, 1, 'one prune job');
    assert.deepEqual((f.started[0] as { settings: unknown }).settings, { from: 'auto' }, 'the graph probescale.graphSource names (unset: auto)');
    assert.equal(seen.modals, exists ? 1 : 0, 'at most one replace question');
    assert.equal(a.status, 'written');
    assert.deepEqual(b, a);
    // Once it has finished, committing again is a new commit (and asks again when the folder exists).
    const third = commitPrune(s, '/models/m', [0, 1], { out, reveal: false });
    await new Promise((r) => setImmediate(r));
    f.finish();
    await third;
    assert.equal(f.started.length, 2);
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });
}

test('a commit prunes the graph probescale.graphSource names, as probe and optimize run it', async () => {
  installVscodeStub();
  stubWindow(undefined, { graphSource: 'safetensors' });
  const { commitPrune } = await import('../../../../src/extension/commands/prune');
  const f = fakeJobs();
  const done = commitPrune({ log: silentLog, jobs: f.jobs } as never, '/models/m', [0], { out: path.join(tempDir('ps-commit-from-'), 'new'), reveal: false });
  await new Promise((r) => setImmediate(r));
  f.finish();
  await done;
  assert.deepEqual((f.started[0] as { settings: unknown }).settings, { from: 'safetensors' });
});

test('the default output folder of a model with a very long name stays within 255 bytes and keeps its suffix', async () => {
  installVscodeStub();
  stubWindow(undefined);
  const { prunedFolderPath } = await import('../../../../src/extension/commands/prune');
  const parent = tempDir('ps-names-');
  const suffix = path.basename(prunedFolderPath(path.join(parent, 'short'), [0, 1, 5])).slice('short'.length);
  assert.match(suffix, /^-pruned-/);
  for (const model of ['m'.repeat(250), 'é'.repeat(125), 'short']) {
    const out = path.basename(prunedFolderPath(path.join(parent, model), [0, 1, 5]));
    assert.ok(Buffer.byteLength(out) <= 255, `${Buffer.byteLength(out)} bytes`);
    assert.ok(out.endsWith(suffix), out);
    assert.ok(out.startsWith(model.slice(0, 100)), out);
  }
  assert.equal(path.basename(prunedFolderPath(path.join(parent, 'short'), [2])), 'short-pruned-2');
});
