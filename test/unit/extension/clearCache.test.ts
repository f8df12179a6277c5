/**
 * "ProbeScale: Clear Caches…": a modal says what the feature and graph caches hold and what
 * clearing frees; only Clear removes anything; refused while a job runs.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installVscodeStub, silentLog, vscodeStub } from '../../vscodeStub';
import { tempDir } from '../../helpers';

const entry = (dir: string, i: number, bytes: number) => fs.writeFileSync(path.join(dir, `${i.toString(16).padStart(32, '0')}.feat`), Buffer.alloc(bytes));

/** A graph folder holding `bytes` only the cache holds. */
function graph(dir: string, bytes: number): void {
  const g = path.join(dir, 'f'.repeat(24));
  fs.mkdirSync(g, { recursive: true });
  fs.writeFileSync(path.join(g, 'model.onnx'), Buffer.alloc(bytes));
}

function stub(settings: Record<string, unknown>, answer: string | undefined) {
  installVscodeStub();
  const shown: { kind: string; text: string; detail?: string }[] = [];
  const s = vscodeStub as Record<string, unknown>;
  (s.workspace as Record<string, unknown>).getConfiguration = () => ({ get: (k: string) => settings[k], inspect: (k: string) => ({ key: k, globalValue: settings[k] }) });
  s.window = {
    ...(s.window as object),
    showWarningMessage: async (text: string, o: { detail?: string }) => (shown.push({ kind: 'ask', text, detail: o.detail }), answer),
    showInformationMessage: async (text: string) => (shown.push({ kind: 'info', text }), undefined),
  };
  return shown;
}

const services = (storage: string | null, running?: string) => ({ jobs: { running }, log: silentLog, cacheDir: storage }) as never;

test('asks with both folders and what clearing frees, clears on Clear, keeps everything on Cancel', async () => {
  const storage = tempDir('ps-clear-');
  const graphs = tempDir('ps-clear-graphs-');
  entry(storage, 1, 1500);
  entry(storage, 2, 500);
  graph(graphs, 1000);
  fs.writeFileSync(path.join(storage, 'other.txt'), 'kept');
  let shown = stub({}, undefined);
  const { clearCache } = await import('../../../src/extension/commands/clearCache');
  assert.equal(await clearCache(services(storage), graphs), undefined);
  assert.equal(shown[0].text, "Clear ProbeScale's caches? This frees 3.0 kB.");
  assert.equal(shown[0].detail?.split('\n').slice(0, 2).join('\n'), `feature cache ${storage}: 2 entries, 2.0 kB\ngraph cache ${graphs}: 1 graph, 1.0 kB (1.0 kB held only by the cache; the rest are links to model files)`);
  assert.equal(fs.readdirSync(storage).length, 3, 'cancelled: nothing removed');
  shown = stub({}, 'Clear');
  const removed = await clearCache(services(storage), graphs);
  assert.deepEqual(removed?.features, { dir: storage, entries: 2, bytes: 2000 });
  assert.equal(removed?.graphs?.graphs, 1);
  assert.deepEqual(fs.readdirSync(storage), ['other.txt']);
  assert.deepEqual(fs.readdirSync(graphs), []);
  assert.equal(shown[1].text, 'ProbeScale: freed 3.0 kB (details in the log).');
  shown = stub({}, 'Clear');
  await clearCache(services(storage), graphs);
  assert.deepEqual(shown, [{ kind: 'info', text: 'ProbeScale: the caches are empty.' }]);
});

test('clears the folder probescale.cacheDir names; with noCache only the graphs; refused while a job runs', async () => {
  const storage = tempDir('ps-clear-');
  const mine = tempDir('ps-clear-mine-');
  const graphs = tempDir('ps-clear-graphs-');
  entry(storage, 1, 10);
  entry(mine, 1, 20);
  stub({ cacheDir: mine }, 'Clear');
  const { clearCache } = await import('../../../src/extension/commands/clearCache');
  assert.equal((await clearCache(services(storage), graphs))?.features?.bytes, 20);
  assert.equal(fs.readdirSync(storage).length, 1, "the extension's own storage is not the cache the settings name");
  graph(graphs, 30);
  const shown = stub({ noCache: true }, 'Clear');
  const removed = await clearCache(services(storage), graphs);
  assert.equal(removed?.features, undefined);
  assert.equal(removed?.graphs?.heldOnly, 30);
  assert.match(shown[0].detail ?? '', /^feature cache: off\n/);
  assert.equal(fs.readdirSync(storage).length, 1, 'the feature cache is off: its folder is not touched');
  stub({}, 'Clear');
  await assert.rejects(clearCache(services(storage, 'optimize'), graphs), /an optimize job is already running; wait for it or cancel it/);
  assert.equal(fs.readdirSync(storage).length, 1);
});
