/**
 * Both webview pages (the side view and the report editor), run whole over a fake DOM, on
 * hand-made reports far larger than any run makes: 10,000 blocks, 500 tasks, 3,000 baselines.
 * What they build stays bounded (elements, chart points, text), they say "N of M" and page
 * through the rest. Before: 86,841 elements for the editor's 10,000-layer heatmap, 15,186 for the
 * side view's 3,000-row baselines table, 1,000 chart lines for 500 tasks, 40,004 chart points for
 * 10,000 layers.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { openWebview, type WebviewPage } from '../../../webviewPage';
import { manyBaselines, manyBlocks, manyTasks, read } from '../../../hugeReports';
import { heatmap } from '../../../../src/shared/reportCharts';
import type { ReportData } from '../../../../src/shared/protocol';

/** What a page may build for one report, whatever its size. */
const MAX_NODES = 1_500;
const MAX_TEXT = 20_000;
const MAX_CHART_POINTS = 2_000;

async function show(entry: 'main' | 'report/main', report: ReportData): Promise<WebviewPage> {
  const page = await openWebview(entry);
  await page.send({ type: 'report/show', report, source: '/w/.probescale/reports/huge.json' });
  return page;
}

const flat = (page: WebviewPage) => page.text().replace(/\s+/g, ' ');

function assertBounded(page: WebviewPage, what: string): void {
  assert.deepEqual(page.errors.map(String), [], `${what}: no error`);
  assert.ok(page.nodeCount() < MAX_NODES, `${what}: ${page.nodeCount()} elements`);
  assert.ok(page.text().length < MAX_TEXT, `${what}: ${page.text().length} characters of text`);
  for (const c of page.charts.filter((c) => !c.destroyed)) assert.ok(c.points <= MAX_CHART_POINTS && c.labels <= 200 && c.datasets <= 16, `${what}: ${JSON.stringify(c)}`);
}

const click = async (page: WebviewPage, id: string) => {
  const b = page.root.byId(id);
  assert.ok(b, `#${id}`);
  assert.notEqual(b.disabled, true, `#${id} enabled`);
  b.dispatch('click');
  await new Promise((r) => setImmediate(r));
};

test('a 10,000-block report: the side view averages its charts into at most 200 points, the editor groups the heatmap columns and says so', async () => {
  const report = read(manyBlocks(10_000));
  const side = await show('main', report);
  assertBounded(side, 'side view');
  const [accuracy, relevance] = side.charts;
  assert.equal(accuracy.labels, 197, '10,001 layers in groups of 51');
  assert.equal(relevance.labels, 200);
  assert.match(flat(side), /Kept blocks 0, 2–3, 5–6, .* and 3,310 more ranges/);
  const editor = await show('report/main', report);
  assertBounded(editor, 'report editor');
  assert.match(editor.root.byId('heatmap-grouped')!.textContent, /^10,001 layers in 48 groups of 209: each cell is the mean of its group/);
  assert.match(flat(editor), /L0–208/);
});

test('a 500-task report: the side view draws 8 task lines and offers 50 tasks in its table, the editor pages the heatmap 20 tasks at a time', async () => {
  const report = read(manyTasks(500));
  const side = await show('main', report);
  assertBounded(side, 'side view');
  assert.equal(side.charts[0].datasets, 16, '8 tasks, each with its majority line');
  assert.match(side.root.byId('accuracy-hint')!.textContent, /task0 3 · .* · task7 3 and 492 more\) · dashed: majority baseline · showing the first 8 of 500 tasks/);
  const taskList = side.root.all('vscode-dropdown').find((d) => d.title === 'Task shown in the table')!;
  assert.equal(taskList.all('vscode-option').length, 50);
  assert.match(flat(side), /Tasks 1–20 of 500/);
  await click(side, 'advice-next');
  assert.match(flat(side), /Tasks 21–40 of 500/);
  assert.ok(side.root.all('tr').some((r) => r.textContent.startsWith('task39')));
  const editor = await show('report/main', report);
  assertBounded(editor, 'report editor');
  assert.match(editor.root.byId('heatmap-page')!.textContent, /^Tasks 1–20 of 500$/);
  assert.equal(editor.root.byId('tradeoff-task')!.all('option').length, 51, 'task-weighted and 50 tasks');
  for (let i = 0; i < 24; i++) await click(editor, 'heatmap-next');
  assert.match(editor.root.byId('heatmap-page')!.textContent, /^Tasks 481–500 of 500$/);
  assert.equal(editor.root.byId('heatmap-next')!.disabled, true);
  assert.match(flat(editor), /task499/);
  assertBounded(editor, 'report editor, last page');
});

test('a report with 3,000 baselines and subsets: the side view pages its baselines table, the verdict names 8 and counts the rest', async () => {
  const report = read(manyBaselines(3_000));
  const side = await show('main', report);
  assertBounded(side, 'side view');
  assert.match(flat(side), /Rows 1–20 of 3,001/);
  assert.match(flat(side), /Behind 300 of 3000 baselines \(heuristic-8, .*, heuristic-78 and 292 more\)/);
  await click(side, 'baselines-next');
  assert.match(flat(side), /Rows 21–40 of 3,001/);
  const editor = await show('report/main', report);
  assertBounded(editor, 'report editor');
});

test('the heatmap of 500 tasks × 10,001 layers is computed (before, its range overflowed the call stack)', () => {
  const layers = Array.from({ length: 10_001 }, (_, l) => ({ layer: l, accuracy: 0.5 + (l % 10) / 100, macroF1: 0.5, controlAccuracy: null, selectivity: null }));
  const task = { labels: ['a', 'b'], majority: 0.5, weight: 1, nTrain: 1, nTest: 1, layers, bestLayer: 9 };
  const report = {
    kind: 'probe',
    createdAt: '',
    provider: '',
    model: { dir: '/m', architecture: 'bert', numLayers: 10_000, hiddenSize: 8, params: { total: 1, embeddings: 1, perBlock: [], other: 0 } },
    tasks: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`t${i}`, task])),
  } as ReportData;
  const h = heatmap(report, 'accuracy')!;
  assert.deepEqual([h.rows.length, h.columns.length, h.min, h.max], [500, 10_001, 0.5, 0.59]);
});
