/**
 * A hostile user of the extension's UI: both webview pages (test/webviewPage.ts) opened on
 * reports edited by hand, sent malformed protocol messages, and restored from state an older
 * version saved. Each must end in a clear message or a bounded view: no exception, no blank or
 * half-drawn panel, no markup from a file.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BadInputError } from '../../../../src/core/errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeReport, readReport } from '../../../../src/core/reportData';
import { fixture, repoRoot } from '../../../helpers';
import { validateToWebview } from '../../../../src/shared/validate';
import { openWebview, type WebviewPage } from '../../../webviewPage';
import { optimizeJson, read } from '../../../hugeReports';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const PAGES = ['main', 'report/main'] as const;
const HTML = '<img src=x onerror=alert(1)></script><script>alert(2)</script>';
const MB10 = 10 * 2 ** 20;

const flat = (page: WebviewPage) => page.text().replace(/\s+/g, ' ');

/** Drew something readable, bounded, with no error, no markup from the report and no NaN/undefined. */
function assertSane(page: WebviewPage, what: string): void {
  assert.deepEqual(page.errors.map(String), [], `${what}: no error`);
  const text = flat(page);
  assert.ok(text.trim().length > 40, `${what}: not blank (${text.slice(0, 80)})`);
  assert.ok(text.length < 20_000, `${what}: ${text.length} characters`);
  assert.doesNotMatch(page.root.html, /<(img|script|b)\b/i, `${what}: no markup from the report`);
  assert.doesNotMatch(text, /NaN|undefined|\[object Object\]/, what);
}

const report = () => read(optimizeJson());

test('hand-edited reports that the reader reads are drawn bounded and as text by both pages: 10 MB strings, HTML and </script> in names, 0 blocks, odd layer numbers', async () => {
  const edits: [string, (r: Json) => void][] = [
    ['0 blocks', (r) => ((r.model.numLayers = 0), (r.model.params.perBlock = []))],
    ['0 blocks, a probe report', (r) => ((r.model.numLayers = 0), (r.model.params.perBlock = []), delete r.selection, delete r.verify)],
    ['an eval report without layers', (r) => ((r.kind = 'eval'), delete r.selection, delete r.verify)],
    ['layer numbers 99, -5, 1.5, "x"', (r) => r.tasks.sentlen.layers.splice(0, 4, ...[99, -5, 1.5, 'x'].map((layer, i) => ({ ...r.tasks.sentlen.layers[i], layer }))) as unknown],
    ['bestLayer 1e9 and "x"', (r) => ((r.tasks.sentlen.bestLayer = 1e9), (r.tasks.bshift.bestLayer = 'x'))],
    ['weights all 0, one −1', (r) => ((r.tasks.sentlen.weight = 0), (r.tasks.bshift.weight = -1))],
    ['labels a string, labels [null, {}]', (r) => ((r.tasks.sentlen.labels = 'abc'), (r.tasks.bshift.labels = [null, {}]))],
    ['strings for numbers', (r) => ((r.tasks.sentlen.majority = 'x'), (r.tasks.sentlen.nTrain = '-3'), (r.model.hiddenSize = 'x'), (r.tasks.sentlen.layers[1].macroF1 = 'NaN'))],
    ['selection kept out of range', (r) => ((r.selection.kept = [99]), (r.selection.baselines[0].kept = [1e9]), (r.selection.candidates[0].kept = Array.from({ length: 100_000 }, (_, i) => i)))],
    ['selection parts damaged', (r) => ((r.selection.budgetAdvice = null), (r.selection.perTask = {}), (r.selection.rule = { name: 5, simulation: 'x' }), (r.verify.timing = {}))],
    ['signals damaged', (r) => (r.signals = { blockInfluence: ['NaN', 'Infinity', 1, null], angularDistance: 'y' })],
    ['HTML in every name', (r) => ((r.tasks[HTML] = r.tasks.sentlen), (r.model.dir = `/w/${HTML}`), (r.selection.baselines[0].name = HTML), (r.provider = HTML), (r.model.architecture = HTML))],
    ['10 MB task name', (r) => (r.tasks['x'.repeat(MB10)] = r.tasks.sentlen)],
    ['10 MB kind, provider, architecture, date', (r) => ((r.kind = 'k'.repeat(MB10)), (r.provider = '<script>'.repeat(MB10 / 8)), (r.model.architecture = 'a'.repeat(MB10)), (r.createdAt = '2'.repeat(MB10)))],
    ['10 MB baseline name and note', (r) => ((r.selection.baselines[0].name = '<b>'.repeat(MB10 / 3)), (r.selection.baselines[0].note = 'n'.repeat(MB10)))],
    ['task names constructor, hasOwnProperty', (r) => ((r.tasks.constructor = r.tasks.sentlen), (r.tasks.hasOwnProperty = r.tasks.bshift))],
    ['10 MB prompt and pooling, HTML in both', (r) => ((r.settings = { prompt: `${HTML}${'p'.repeat(MB10)}`, maxLength: 48, lowercase: true }), (r.tasks.sentlen.pooling = `${HTML}${'m'.repeat(MB10)}`), (r.tasks.bshift.textPairs = true))],
    ['settings damaged', (r) => ((r.settings = { prompt: { a: 1 }, maxLength: -1.5, lowercase: 'yes' }), (r.tasks.sentlen.pooling = 5), (r.tasks.bshift.textPairs = 'yes'))],
    ['settings not an object', (r) => (r.settings = 'x')],
  ];
  for (const [what, edit] of edits) {
    const json = optimizeJson();
    edit(json);
    const r = normalizeReport(json, '/w/hand.json');
    for (const entry of PAGES) {
      const page = await openWebview(entry);
      await page.send({ type: 'report/show', report: r, source: '/w/hand.json' });
      assertSane(page, `${what}, ${entry}`);
    }
  }
});

test('hand-edited reports the reader refuses get a message that names the field (before, a 10 MB model.dir was read and every message the view sent about it was refused)', () => {
  const refused: [string, (r: Json) => unknown, RegExp][] = [
    ['0 tasks', (r) => (r.tasks = {}), /no "tasks"/],
    ['numLayers "4"', (r) => (r.model.numLayers = '4'), /"model\.numLayers" is missing/],
    ['accuracy "NaN"', (r) => (r.tasks.sentlen.layers[0].accuracy = 'NaN'), /task "sentlen" layer 0 has no accuracy/],
    ['10 MB model.dir', (r) => (r.model.dir = `/${'d'.repeat(MB10)}`), /"model\.dir" is 10,485,761 characters long; a folder path has at most 4,096/],
    ['perBlock strings', (r) => (r.model.params.perBlock = r.model.params.perBlock.map(String)), /"model\.params\.perBlock\[0\]" is "8544"/],
  ];
  for (const [what, edit, re] of refused) {
    const json = optimizeJson();
    edit(json);
    assert.throws(() => normalizeReport(json, '/w/hand.json'), (e: unknown) => e instanceof BadInputError && re.test((e as Error).message), what);
  }
  const long = optimizeJson();
  long.kind = 'k'.repeat(MB10);
  assert.equal(normalizeReport(long, '/w/hand.json').kind.length, 200, 'a 10 MB kind is cut to 200 characters');
});

test('malformed messages to a page are refused with a notice and the report stays drawn (before: an exception, and "source": 5 blanked the side view)', async () => {
  const good = report();
  const messages: unknown[] = [
    { type: 'run-shell', cmd: 'x' },
    { report: 1 },
    null,
    'report/show',
    { type: 'report/show', source: '/x' },
    { type: 'report/show', report: null, source: null },
    { type: 'report/show', report: {}, source: null },
    { type: 'report/show', report: { ...good, tasks: undefined }, source: null },
    { type: 'report/show', report: { ...good, model: { ...good.model, numLayers: -1 } }, source: null },
    { type: 'report/show', report: good, source: 5 },
    { type: 'report/show', report: { ...good, tasks: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`t${i}`, null])) }, source: null },
    { type: 'report/error' },
    { type: 'report/error', message: { a: 1 } },
    { type: 'job/progress' },
    { type: 'job/done', jobId: 'j', job: 'rm -rf', outcome: 'done', message: '' },
    { type: 'reply' },
  ];
  for (const m of messages) {
    assert.equal(validateToWebview(m).ok, false, JSON.stringify(m)?.slice(0, 80));
    for (const entry of PAGES) {
      const page = await openWebview(entry);
      await page.send({ type: 'report/show', report: good, source: '/w/r.json' });
      const drawn = page.nodeCount();
      await page.send(m);
      const what = `${JSON.stringify(m)?.slice(0, 60)} to ${entry}`;
      assertSane(page, what);
      assert.ok(page.nodeCount() >= drawn, `${what}: the report is still drawn`);
      assert.match(flat(page), /could not use a message from the extension \((unknown message type|a message without a type|message [\w/]+: )/, what);
    }
  }
  for (const entry of PAGES) {
    const page = await openWebview(entry);
    await page.send({ type: 'job/progress', jobId: 'j', job: 'probe', message: 'm'.repeat(MB10), fraction: 0.5, overall: 'o' });
    assert.ok(flat(page).length < 20_000, `a 10 MB progress line, ${entry}`);
  }
});

test('state saved by an older or broken version is dropped, not drawn (before: the side view threw while loading and stayed blank)', async () => {
  const states: unknown[] = [
    { report: { kind: 'probe' }, kept: 'x' },
    'hello',
    { report: report(), source: null, reportKey: 'k', kept: [1e9, -1, 'x'], tableTask: 5, topK: 'x', written: { out: 5 } },
    { report: { ...report(), model: { dir: '/m' } } },
  ];
  for (const state of states) {
    const page = await openWebview('main', state);
    assert.deepEqual(page.errors, []);
    assert.ok(flat(page).length > 40, `${JSON.stringify(state).slice(0, 60)}: drawn`);
    await page.send({ type: 'report/show', report: report(), source: '/w/r.json' });
    assertSane(page, JSON.stringify(state).slice(0, 60));
  }
  const kept = await openWebview('main', { report: report(), source: '/w/r.json', reportKey: 'x', kept: [0, 2, 99], tableTask: null, topK: 1, written: null });
  assert.match(kept.root.byId('prune-summary')!.textContent, /^0 of 4 blocks/, 'kept blocks past the model are dropped');
  const editor = await openWebview('report/main', { task: 5, axis: 'sideways', metric: 'x' });
  await editor.send({ type: 'report/show', report: report(), source: '/w/r.json' });
  assertSane(editor, 'editor with odd saved choices');
});

test('a report part the page cannot draw gives a message and the actions, not a half-drawn view', async () => {
  const broken = report();
  // Passes the envelope check (selection is an object) but is not a selection.
  (broken as Json).selection = { kept: 'all' };
  const side = await openWebview('main');
  await side.send({ type: 'report/show', report: broken, source: '/w/r.json' });
  assert.deepEqual(side.errors, []);
  assert.match(side.root.byId('render-error')!.textContent, /^ProbeScale could not draw the optimize report of tiny-roberta: .*open another report, or make a new one\./);
  assert.ok(side.root.byId('optimize'), 'the actions are still there');
  const editor = await openWebview('report/main');
  await editor.send({ type: 'report/show', report: broken, source: '/w/r.json' });
  assert.deepEqual(editor.errors, []);
  assert.match(editor.root.byId('load-error')!.textContent, /^ProbeScale could not draw the optimize report of tiny-roberta: /);
});

test('reports from older versions: every report kept from before the pipeline split, and one stripped of every field added since, draw in both pages', async () => {
  const dir = fixture('reports-before');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.config.json'));
  assert.ok(files.length >= 4, files.join(', '));
  const oldest = optimizeJson();
  delete oldest.tool;
  delete oldest.settings;
  delete oldest.signals;
  for (const t of Object.values<Json>(oldest.tasks)) for (const l of t.layers) delete l.cvAccuracy;
  for (const k of ['candidates', 'validationReference', 'rule', 'unfitBaselines']) delete oldest.selection[k];
  for (const b of oldest.selection.baselines) delete b.gap;
  for (const a of Object.values<Json>(oldest.selection.budgetAdvice.perTask)) {
    delete a.band;
    delete a.fit;
  }
  delete oldest.verify.quantized;
  const reports = [...files.map((f) => readReport(path.join(dir, f))), normalizeReport(oldest, '/w/oldest.json')];
  for (const [i, r] of reports.entries()) {
    for (const entry of PAGES) {
      const page = await openWebview(entry);
      await page.send({ type: 'report/show', report: r, source: '/w/old.json' });
      assertSane(page, `${files[i] ?? 'oldest'}, ${entry}`);
      assert.equal(page.root.byId('render-error') ?? page.root.byId('load-error'), undefined, `${files[i] ?? 'oldest'}, ${entry}: drawn`);
    }
  }
});

test('every report under docs/ (written by this and earlier sessions) draws in both pages, bounded, with no NaN or undefined', async () => {
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.json') ? [path.join(d, e.name)] : []));
  let drawn = 0;
  for (const file of walk(path.join(repoRoot, 'docs'))) {
    let r: ReturnType<typeof readReport>;
    try {
      r = readReport(file);
    } catch {
      continue; // Not a report (reference numbers, tables).
    }
    for (const entry of PAGES) {
      const page = await openWebview(entry);
      await page.send({ type: 'report/show', report: r, source: file });
      assertSane(page, `${path.relative(repoRoot, file)}, ${entry}`);
      assert.ok(page.nodeCount() < 1_500, `${file}: ${page.nodeCount()} elements`);
      drawn++;
    }
  }
  assert.ok(drawn >= 100, `${drawn} pages drawn`);
});

test('both pages say how the texts were read: max length, prompt and lowercasing in the header, pooling and text pairs under the side view\'s scores', async () => {
  const json = optimizeJson();
  json.settings = { ...json.settings, maxLength: 48, prompt: 'same book? \n', lowercase: true };
  json.tasks.sentlen.pooling = 'last';
  json.tasks.sentlen.textPairs = true;
  const r = normalizeReport(json, '/w/hand.json');
  assert.deepEqual(r.preparation, { maxLength: 48, prompt: 'same book? \n', lowercase: true });
  for (const entry of PAGES) {
    const page = await openWebview(entry);
    await page.send({ type: 'report/show', report: r, source: '/w/hand.json' });
    assertSane(page, entry);
    assert.match(flat(page), / · max length 48 · prompt "same book\? \\n" · lowercased/, entry);
  }
  const side = await openWebview('main');
  await side.send({ type: 'report/show', report: r, source: '/w/hand.json' });
  assert.match(flat(side), /labels · \d+ train \/ \d+ test · last pooling · text pairs · majority/);
  // A report of a fine-tuned classifier's export says the encoder came from under its head.
  json.model.taskHead = ['logits'];
  for (const entry of PAGES) {
    const page = await openWebview(entry);
    await page.send({ type: 'report/show', report: normalizeReport(json, '/w/head.json'), source: '/w/head.json' });
    assert.match(flat(page), /encoder under a task head \(logits; not kept\)/, entry);
  }
  delete json.model.taskHead;
  // A report that does not say (older ones) says nothing about it.
  delete json.settings;
  delete json.tasks.sentlen.pooling;
  const old = normalizeReport(json, '/w/old.json');
  assert.equal(old.preparation, undefined);
  const page = await openWebview('main');
  await page.send({ type: 'report/show', report: old, source: '/w/old.json' });
  assert.doesNotMatch(flat(page), /max length|prompt|pooling/);
});

test('the side view says under a task no layer learns what the CLI says under its table', async () => {
  const json = optimizeJson();
  for (const l of json.tasks.sentlen.layers) l.accuracy = json.tasks.sentlen.majority;
  const page = await openWebview('main');
  await page.send({ type: 'report/show', report: normalizeReport(json, '/w/hand.json'), source: '/w/hand.json' });
  assertSane(page, 'unlearned');
  assert.match(flat(page), /· ! no layer is above the majority class \([\d.]+ %\) on the test rows: the probes learn nothing from sentlen as given\. Check its labels, or give it more training rows\./);
});
