/**
 * "ProbeScale: Clear Feature Cache…": it names the folder and the size in a modal, removes the
 * cache's entries only when the user says Clear, and is refused while a job runs.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installVscodeStub, silentLog, vscodeStub } from '../../vscodeStub';
import { tempDir } from '../../helpers';

const entry = (dir: string, i: number, bytes: number) => fs.writeFileSync(path.join(dir, `${i.toString(16).padStart(32, '0')}.feat`), Buffer.alloc(bytes));

function stub(settings: Record<string, unknown>, answer: string | undefined) {
  installVscodeStub();
  const shown: { kind: string; text: string; detail?: string }[] = [];
  const s = vscodeStub as Record<string, unknown>;
  (s.workspace as Record<string, unknown>).getConfiguration = () => ({ get: (k: string) => settings[k] });
  s.window = {
    ...(s.window as object),
    showWarningMessage: async (text: string, o: { detail?: string }) => (shown.push({ kind: 'ask', text, detail: o.detail }), answer),
    showInformationMessage: async (text: string) => (shown.push({ kind: 'info', text }), undefined),
  };
  return shown;
}

const services = (storage: string | null, running?: string) => ({ jobs: { running }, log: silentLog, cacheDir: storage }) as never;

test('asks with the folder and size, clears on Clear, keeps everything on Cancel', async () => {
  const storage = tempDir('ps-clear-');
  entry(storage, 1, 1500);
  entry(storage, 2, 500);
  fs.writeFileSync(path.join(storage, 'other.txt'), 'kept');
  let shown = stub({}, undefined);
  const { clearCache } = await import('../../../src/extension/commands/clearCache');
  assert.equal(await clearCache(services(storage)), undefined);
  assert.equal(shown[0].text, 'Remove 2 entries (2.0 kB) from the feature cache?');
  assert.match(shown[0].detail ?? '', new RegExp(`^${storage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
  assert.equal(fs.readdirSync(storage).length, 3, 'cancelled: nothing removed');
  shown = stub({}, 'Clear');
  assert.deepEqual(await clearCache(services(storage)), { dir: storage, entries: 2, bytes: 2000 });
  assert.deepEqual(fs.readdirSync(storage), ['other.txt']);
  assert.equal(shown[1].text, 'ProbeScale: removed 2 entries (2.0 kB) from the feature cache.');
  shown = stub({}, 'Clear');
  await clearCache(services(storage));
  assert.deepEqual(shown, [{ kind: 'info', text: `ProbeScale: the feature cache ${storage} is empty.` }]);
});

test('clears the folder probescale.cacheDir names; says so when the cache is off; refused while a job runs', async () => {
  const storage = tempDir('ps-clear-');
  const mine = tempDir('ps-clear-mine-');
  entry(storage, 1, 10);
  entry(mine, 1, 20);
  stub({ cacheDir: mine }, 'Clear');
  const { clearCache } = await import('../../../src/extension/commands/clearCache');
  assert.equal((await clearCache(services(storage)))?.bytes, 20);
  assert.equal(fs.readdirSync(storage).length, 1, "the extension's own storage is not the cache the settings name");
  const shown = stub({ noCache: true }, 'Clear');
  assert.equal(await clearCache(services(storage)), undefined);
  assert.match(shown[0].text, /the feature cache is off \(setting probescale\.noCache\)/);
  stub({}, 'Clear');
  await assert.rejects(clearCache(services(storage, 'optimize')), /an optimize job is already running; wait for it or cancel it/);
  assert.equal(fs.readdirSync(storage).length, 1);
});
