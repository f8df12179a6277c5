/**
 * Which folders the explorer's ProbeScale entries show on: a model folder holds config.json and an
 * ONNX export, safetensors or PyTorch's pytorch_model.bin, and the list follows weights that arrive
 * after config.json (a download writes config.json first).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, tempDir } from '../../helpers';
import { installVscodeStub, vscodeStub } from '../../vscodeStub';

const tmp = tempDir('ps-discovery-');

test('a folder with config.json and only pytorch_model.bin is a model folder, and weights written after config.json bring a folder into the list', async () => {
  const created: ((uri: unknown) => void)[] = [];
  const globs: string[] = [];
  const contexts = new Map<string, unknown>();
  const disposable = { dispose() {} };
  const dirs = ['bin', 'late'].map((n) => path.join(tmp, n));
  installVscodeStub();
  Object.assign(vscodeStub, {
    Uri: { ...vscodeStub.Uri, file: (p: string) => ({ scheme: 'file', fsPath: p, path: p }) },
    commands: { executeCommand: async (cmd: string, key: string, value: unknown) => void (cmd === 'setContext' && contexts.set(key, value)) },
    workspace: {
      isTrusted: true,
      findFiles: async () => dirs.map((d) => ({ fsPath: path.join(d, 'config.json') })),
      createFileSystemWatcher: (glob: string) => (globs.push(glob), { onDidCreate: (f: (uri: unknown) => void) => (created.push(f), disposable), onDidDelete: () => disposable, dispose() {} }),
      onDidChangeWorkspaceFolders: () => disposable,
    },
  });
  const { ModelFolderContext, MODEL_FOLDERS_CONTEXT_KEY, isModelFolder } = await import('../../../src/extension/workspace/discovery');
  for (const d of dirs) {
    fs.mkdirSync(d, { recursive: true });
    fs.copyFileSync(fixture('tiny-bert', 'config.json'), path.join(d, 'config.json'));
  }
  fs.copyFileSync(fixture('pytorch', 'tiny-bert', 'pytorch_model.bin'), path.join(dirs[0], 'pytorch_model.bin'));
  assert.ok(isModelFolder(dirs[0]), 'config.json + pytorch_model.bin');
  assert.ok(!isModelFolder(dirs[1]), 'config.json alone');
  const log = { debug() {}, warn() {} } as never;
  const ctx = new ModelFolderContext(log);
  assert.deepEqual(await ctx.refresh(), [dirs[0]]);
  for (const g of ['**/*.safetensors', '**/pytorch_model*.bin']) assert.ok(globs.includes(g), `a watcher on ${g}`);
  // The weights arrive: the watcher on *.safetensors fires, and the folder joins the list.
  fs.copyFileSync(fixture('tiny-bert', 'model.safetensors'), path.join(dirs[1], 'model.safetensors'));
  const refreshed = new Promise<string[]>((resolve) => ctx.onDidRefresh(resolve));
  for (const fire of created) fire({ fsPath: path.join(dirs[1], 'model.safetensors') });
  assert.deepEqual(await refreshed, dirs);
  assert.ok((contexts.get(MODEL_FOLDERS_CONTEXT_KEY) as string[]).includes(dirs[1]));
  ctx.dispose();
});
