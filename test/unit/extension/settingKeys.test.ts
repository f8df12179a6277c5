/**
 * The optimize settings as a careless user writes them in settings.json: wrong types, typos,
 * numbers where the declaration says string. What the core can read is read; the rest is off or
 * the default, as package.json says, and VS Code itself flags what the declaration refuses.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeStub, silentLog, vscodeStub } from '../../vscodeStub';
import { parseEmbeddingRank } from '../../../src/core/compensate/embeddingRank';
import { repoRoot } from '../../helpers';

/** Makes `values` the user's settings. */
function setSettings(values: Record<string, unknown>): void {
  installVscodeStub();
  (vscodeStub.workspace as Record<string, unknown>).getConfiguration = () => ({ get: (k: string) => values[k], inspect: (k: string) => ({ key: k, globalValue: values[k] }) });
}

/** readOptimizeSettings with `values` as the user's settings. */
async function readAll(values: Record<string, unknown>) {
  setSettings(values);
  const { readOptimizeSettings } = await import('../../../src/extension/settingKeys');
  return readOptimizeSettings(undefined);
}

const read = async (values: Record<string, unknown>) => (await readAll(values)).settings;

test('probescale.embeddingRank: a rank written as a JSON number is that rank; strings as the CLI reads them; the rest is off', async () => {
  assert.deepEqual((await read({ compensate: 'all', embeddingRank: 32 })).embeddingRank, [32]);
  assert.deepEqual((await read({ embeddingRank: '16, 32' })).embeddingRank, [16, 32]);
  assert.equal((await read({ embeddingRank: 'auto' })).embeddingRank, 'auto');
  for (const off of ['', '  ', 'abc', '0', '0x20', 0, -3, 2.5, true, null, [32], { r: 32 }]) {
    assert.equal((await read({ embeddingRank: off })).embeddingRank, undefined, JSON.stringify(off));
  }
});

test('wrong types in the other compensation settings fall back to their defaults', async () => {
  const s = await read({ compensate: 'bridges', widthScore: 7, vocabTrim: 'yes', candidates: '8', targetRetention: 'high' });
  assert.equal(s.compensate, 'none');
  assert.equal(s.widthScore, 'task');
  assert.equal(s.vocabTrim, false);
  assert.equal(s.candidates, 8);
  assert.equal(s.targetRetention, 0.95);
});

test("package.json's pattern for probescale.embeddingRank accepts exactly what the core reads, so VS Code flags the rest", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const decl = pkg.contributes.configuration.properties['probescale.embeddingRank'];
  assert.ok(decl.pattern, 'the setting declares a pattern');
  assert.ok(decl.patternErrorMessage, 'and says what to write');
  const pattern = new RegExp(decl.pattern);
  const reads = (v: string) => {
    try {
      parseEmbeddingRank(v);
      return true;
    } catch {
      return false;
    }
  };
  for (const v of ['', '32', '16,32,64', '16, 32', ' 8 ', 'auto', 'abc', '0', '0x20', '1e1', '32,', ',32', '16,,32', '-4', 'auto,16', 'AUTO', '4 8', '007']) {
    assert.equal(pattern.test(v), v === '' || reads(v), `${JSON.stringify(v)}: pattern ${pattern.test(v)}, core ${reads(v)}`);
  }
});

/** package.json's declared default of every probescale.* setting, by key. */
function declaredDefaults(): Record<string, unknown> {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const props: Record<string, { default: unknown }> = pkg.contributes.configuration.properties;
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k.replace(/^probescale\./, ''), v.default]));
}

test('the readers return each set value they cannot read, with what the run used instead; defaults and valid values return none', async () => {
  const { readProbeSettings, describeUnreadable } = await import('../../../src/extension/settingKeys');
  setSettings(declaredDefaults());
  assert.deepEqual(readProbeSettings(undefined, null).unreadable, [], "package.json's defaults are all readable");
  assert.deepEqual((await readAll(declaredDefaults())).unreadable, []);
  assert.deepEqual((await readAll({ embeddingRank: 32, compensate: 'all', limitTrain: 0 })).unreadable, []);
  const bad = await readAll({ embeddingRank: 'abc', compensate: 7, vocabTrim: 'yes', candidates: 0 });
  assert.deepEqual(bad.unreadable.map((u) => [u.key, u.value, u.used]), [['candidates', 0, '8'], ['vocabTrim', 'yes', 'false'], ['compensate', 7, 'none'], ['embeddingRank', 'abc', 'off (no factorised word table)']]);
  assert.equal(bad.settings.compensate, 'none');
  assert.equal(describeUnreadable(bad.unreadable[3]), 'probescale.embeddingRank is "abc", which ProbeScale cannot read (expected empty, a rank such as 32, a list such as 16,32 or auto); this run used off (no factorised word table) instead.');
  setSettings({ provider: 'tpu', maxLength: -1, limitTest: 2.5, pooling: 'mean' });
  const probe = readProbeSettings(undefined, null);
  assert.deepEqual(probe.unreadable.map((u) => [u.key, u.value, u.used]), [['provider', 'tpu', 'auto'], ['maxLength', -1, '128'], ['limitTest', 2.5, 'every row']]);
  assert.equal(probe.settings.limitTest, undefined);
  // Outside package.json's declared ranges: VS Code flags them in the Settings editor but hands them over (before: used as given).
  setSettings({ maxLength: 4, batchSize: 100_000 });
  const range = readProbeSettings(undefined, null);
  assert.deepEqual(range.unreadable.map((u) => [u.key, u.value, u.expected, u.used]), [['maxLength', 4, 'a whole number from 8 to 4096', '128'], ['batchSize', 100_000, 'a whole number from 1 to 1024', '32']]);
  assert.deepEqual([range.settings.maxLength, range.settings.batchSize], [128, 32]);
  setSettings({ maxLength: 4096, batchSize: 1024 });
  assert.deepEqual(readProbeSettings(undefined, null).unreadable, [], 'the ends of the ranges are read');
  assert.deepEqual((await readAll({ candidates: 257 })).unreadable.map((u) => [u.key, u.used]), [['candidates', '8']]);
});

test('the probe command says unreadable settings once, in the log and one warning, and runs on; a value the run overrides is not said', async () => {
  setSettings({ compensate: 7, maxLength: 'long', pooling: 'sum' });
  const toasts: string[] = [];
  const warned: string[] = [];
  const stub = vscodeStub as Record<string, unknown>;
  stub.Uri = { ...(stub.Uri as object), file: (p: string) => ({ fsPath: p, path: p }) };
  stub.window = { ...(stub.window as object), showWarningMessage: async (text: string) => (toasts.push(text), undefined) };
  const { runProbe } = await import('../../../src/extension/commands/probe');
  const jobs: unknown[] = [];
  const services = { log: { ...(silentLog as object), warn: (m: string) => warned.push(m) }, jobs: { run: async (job: unknown) => (jobs.push(job), { status: 'cancelled' }) }, cacheDir: null } as never;
  await runProbe(services, { modelDir: '/m', tasks: [] });
  assert.equal(jobs.length, 1, 'the job ran');
  assert.equal((jobs[0] as { settings: { pooling: string; maxLength: number } }).settings.pooling, 'mean');
  assert.equal(toasts.length, 1, 'one warning per run');
  assert.match(toasts[0], /^ProbeScale: 2 settings cannot be read: probescale\.pooling \("sum", used mean\), probescale\.maxLength \("long", used 128\)/);
  assert.deepEqual(warned, ['probescale.pooling is "sum", which ProbeScale cannot read (expected one of mean, first, max, mean-sqrt-len, weighted-mean, last); this run used mean instead.', 'probescale.maxLength is "long", which ProbeScale cannot read (expected a whole number from 8 to 4096); this run used 128 instead.']);
  toasts.length = 0;
  await runProbe(services, { modelDir: '/m', tasks: [], settings: { pooling: 'first' } });
  assert.equal(toasts.length, 1);
  assert.match(toasts[0], /^ProbeScale: probescale\.maxLength is "long"/, 'pooling was given by the caller, so not said');
  toasts.length = 0;
  setSettings({});
  await runProbe(services, { modelDir: '/m', tasks: [] });
  assert.deepEqual(toasts, [], 'nothing to say, nothing shown');
});

test('probescale.cacheDir and probescale.noCache: where features are cached, as --cache-dir and --no-cache say', async () => {
  const { readProbeSettings } = await import('../../../src/extension/settingKeys');
  const storage = path.join(path.sep, 'storage', 'features');
  const cacheOf = (values: Record<string, unknown>) => {
    setSettings(values);
    const r = readProbeSettings(undefined, storage);
    return { dir: r.settings.cacheDir, unreadable: r.unreadable.map((u) => `${u.key} ${JSON.stringify(u.value)} → ${u.used}`) };
  };
  assert.deepEqual(cacheOf({}), { dir: storage, unreadable: [] }, "unset: the extension's own storage");
  assert.deepEqual(cacheOf({ cacheDir: '  ' }), { dir: storage, unreadable: [] }, 'empty: the same');
  assert.deepEqual(cacheOf({ cacheDir: '/big/disk/../cache' }), { dir: path.resolve('/big/cache'), unreadable: [] });
  assert.deepEqual(cacheOf({ cacheDir: '~/pc' }), { dir: path.join(os.homedir(), 'pc'), unreadable: [] }, 'a leading ~ is the home folder, as the shell reads it');
  // A relative path would land wherever the extension host's working folder happens to be.
  assert.deepEqual(cacheOf({ cacheDir: 'cache' }), { dir: storage, unreadable: [`cacheDir "cache" → ${storage}`] });
  assert.deepEqual(cacheOf({ cacheDir: 7 }), { dir: storage, unreadable: [`cacheDir 7 → ${storage}`] });
  assert.deepEqual(cacheOf({ noCache: true, cacheDir: '/big/cache' }), { dir: null, unreadable: [] }, 'off wins, as nothing is written anywhere');
  assert.deepEqual(cacheOf({ noCache: 'yes' }), { dir: storage, unreadable: ['noCache "yes" → false'] });
  setSettings({ cacheDir: 'rel' });
  assert.deepEqual(readProbeSettings(undefined, null).settings.cacheDir, null, 'no storage (no global storage folder): no cache');
});

test("package.json declares the cache settings with the scopes a path needs: a workspace cannot point the cache elsewhere", () => {
  const props = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).contributes.configuration.properties;
  assert.equal(props['probescale.cacheDir'].scope, 'machine');
  assert.equal(props['probescale.cacheDir'].default, '');
  assert.equal(props['probescale.noCache'].type, 'boolean');
  assert.equal(props['probescale.noCache'].default, false);
});

test('probescale.taskColumns: each task read from the columns named for it, as --columns says; an unreadable table said and left out', async () => {
  const { readTaskSettings } = await import('../../../src/extension/settingKeys');
  const tasks = [
    { name: 'reviews', path: '/d/reviews', weight: 1 },
    { name: 'sst2', path: '/d/sst2', weight: 1 },
    { name: 'own', path: '/d/own', weight: 1, columns: { text: 'given' } },
  ];
  setSettings({ taskColumns: { reviews: 'text=body,label=stars', own: 'text=ignored' } });
  const r = readTaskSettings(undefined, tasks);
  assert.deepEqual(r.unreadable, []);
  assert.deepEqual(
    r.settings.map((t) => t.columns),
    [{ text: 'body', label: 'stars' }, undefined, { text: 'given' }],
    "the named task gets its columns; others none; a task's own columns win",
  );
  for (const bad of [{ reviews: 'txt=body' }, { reviews: 7 }, 'text=body', ['text=body']]) {
    setSettings({ taskColumns: bad });
    const read = readTaskSettings(undefined, tasks);
    assert.deepEqual(read.settings.map((t) => t.columns), [undefined, undefined, { text: 'given' }], JSON.stringify(bad));
    assert.deepEqual(read.unreadable.map((u) => u.key), ['taskColumns'], JSON.stringify(bad));
  }
  const props = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).contributes.configuration.properties;
  assert.deepEqual([props['probescale.taskColumns'].type, props['probescale.taskColumns'].default], ['object', {}]);

  // probescale.taskTestSplits, the same way.
  setSettings({ taskTestSplits: { sst2: 'validation', own: 'dev' } });
  const splits = readTaskSettings(undefined, [...tasks.slice(0, 2), { ...tasks[2], testSplit: 'test' }]);
  assert.deepEqual([splits.settings.map((t) => t.testSplit), splits.unreadable], [[undefined, 'validation', 'test'], []]);
  for (const bad of [{ sst2: 'train' }, { sst2: '../x' }, { sst2: 3 }, 'validation']) {
    setSettings({ taskTestSplits: bad });
    const read = readTaskSettings(undefined, tasks);
    assert.deepEqual([read.settings.map((t) => t.testSplit), read.unreadable.map((u) => u.key)], [[undefined, undefined, undefined], ['taskTestSplits']], JSON.stringify(bad));
  }
  assert.deepEqual([props['probescale.taskTestSplits'].type, props['probescale.taskTestSplits'].default], ['object', {}]);
});

test('probescale.pooling, probescale.maxLength and probescale.prompt left unset follow a sentence-transformers model; set anywhere, or given by the run, they are the user’s', async () => {
  const { readProbeSettings, withOverrides } = await import('../../../src/extension/settingKeys');
  setSettings({});
  const unset = readProbeSettings(undefined, null).settings;
  assert.deepEqual([unset.pooling, unset.maxLength, unset.prompt, unset.followModel], ['mean', 128, undefined, ['pooling', 'maxLength', 'prompt']]);
  for (const pooling of ['mean', 'first']) {
    setSettings({ pooling });
    const set = readProbeSettings(undefined, null).settings;
    assert.deepEqual([set.pooling, set.followModel], [pooling, ['maxLength', 'prompt']], pooling);
  }
  setSettings({ pooling: 'mean', maxLength: 128, prompt: '' });
  const all = readProbeSettings(undefined, null);
  assert.deepEqual(all.settings.followModel, [], 'all three set, even to the defaults');
  assert.equal(all.settings.prompt, undefined, "'' is no prompt");
  setSettings({ prompt: 'query: ' });
  const prompted = readProbeSettings(undefined, null);
  assert.deepEqual([prompted.settings.prompt, prompted.settings.followModel], ['query: ', ['pooling', 'maxLength']]);
  setSettings({ prompt: 42 });
  const bad = readProbeSettings(undefined, null);
  assert.equal(bad.settings.prompt, undefined);
  assert.deepEqual(bad.unreadable.map((u) => [u.key, u.expected, u.used]), [['prompt', 'a text (empty: none)', 'no prompt']]);
  assert.deepEqual(withOverrides(unset, { pooling: 'first' }).followModel, ['maxLength', 'prompt']);
  assert.deepEqual(withOverrides(unset, { pooling: 'first', maxLength: 64 }).followModel, ['prompt']);
  assert.deepEqual(withOverrides(unset, { batchSize: 8 }).followModel, ['pooling', 'maxLength', 'prompt']);
});

test('probescale.promptName names one of the model\'s prompts; with probescale.prompt also set, the text is used and the name is said as not read', async () => {
  const { readProbeSettings } = await import('../../../src/extension/settingKeys');
  setSettings({ promptName: 'query' });
  const named = readProbeSettings(undefined, null);
  assert.deepEqual([named.settings.promptName, named.settings.prompt, named.settings.followModel, named.unreadable], ['query', undefined, ['pooling', 'maxLength'], []]);
  setSettings({ promptName: '' });
  const empty = readProbeSettings(undefined, null).settings;
  assert.deepEqual([empty.promptName, empty.followModel], [undefined, ['pooling', 'maxLength']], "'' is no name, and set: the model's default prompt is not followed");
  setSettings({ prompt: 'passage: ', promptName: 'query' });
  const both = readProbeSettings(undefined, null);
  assert.deepEqual([both.settings.prompt, both.settings.promptName], ['passage: ', undefined]);
  assert.deepEqual(both.unreadable.map((u) => [u.key, u.expected, u.used]), [['promptName', 'empty while probescale.prompt is set (set one of the two)', 'the prompt "passage: "']]);
  setSettings({ promptName: ['query'] });
  const bad = readProbeSettings(undefined, null);
  assert.deepEqual(bad.unreadable.map((u) => [u.key, u.expected]), [['promptName', 'a prompt name of the model (empty: none)']]);
  assert.equal(bad.settings.promptName, undefined);
  const props = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).contributes.configuration.properties;
  assert.deepEqual([props['probescale.promptName'].type, props['probescale.promptName'].default], ['string', '']);
});

test('probescale.graphSource: which graph a folder runs, as --from says; anything else is said and auto is used', async () => {
  const { readProbeSettings } = await import('../../../src/extension/settingKeys');
  const fromOf = (values: Record<string, unknown>) => {
    setSettings(values);
    const r = readProbeSettings(undefined, null);
    return { from: r.settings.from, unreadable: r.unreadable.map((u) => `${u.key} ${JSON.stringify(u.value)} → ${u.used}`) };
  };
  assert.deepEqual(fromOf({}), { from: 'auto', unreadable: [] });
  for (const v of ['auto', 'onnx', 'safetensors']) assert.deepEqual(fromOf({ graphSource: v }), { from: v, unreadable: [] });
  assert.deepEqual(fromOf({ graphSource: 'weights' }), { from: 'auto', unreadable: ['graphSource "weights" → auto'] });
  assert.deepEqual(fromOf({ graphSource: 1 }), { from: 'auto', unreadable: ['graphSource 1 → auto'] });
  const { GRAPH_SOURCES } = await import('../../../src/core/model/graphSource');
  const decl = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).contributes.configuration.properties['probescale.graphSource'];
  assert.deepEqual(decl.enum, [...GRAPH_SOURCES], "package.json offers what the core reads");
  assert.equal(decl.default, 'auto');
});
