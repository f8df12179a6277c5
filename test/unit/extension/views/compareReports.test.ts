/**
 * "Compare with…" in the report editor, on the picks a careless or hostile user makes: 50
 * reports, three huge ones, files that are damaged, of another model, of nothing to overlay, the
 * open report again (by a link too), picked twice, or deleted between the pick and the read. The
 * host's reading (src/extension/reportEditor/comparePicks.ts) runs on real files and its answer
 * goes to the editor page (test/webviewPage.ts) as the extension would post it. Before: 50 reports
 * were all read and overlaid (357 chart datasets, a 50-row table); three 500-task reports put
 * 37,333 characters of text on the page; a damaged report blanked the editor; a probe report
 * vanished unsaid; the open report could be overlaid on itself.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openWebview, type WebviewPage } from '../../../webviewPage';
import { manyBaselines, manyBlocks, manyTasks, optimizeJson, read } from '../../../hugeReports';
import { readComparePicks } from '../../../../src/extension/reportEditor/comparePicks';
import { COMPARE_REPORTS, type ComparePicks } from '../../../../src/shared/protocol';
import { validateFromWebview } from '../../../../src/shared/validate';
import { tempDir } from '../../../helpers';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const tmp = tempDir('probescale-compare-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** What the editor may build with its overlay: the bounds of one report (hugeReports.test.ts), datasets for six reports. */
const MAX_NODES = 1_500;
const MAX_TEXT = 20_000;
const MAX_CHART_POINTS = 2_000;
const DATASETS_PER_REPORT = 7;

const flat = (page: WebviewPage) => page.text().replace(/\s+/g, ' ');

function write(name: string, json: unknown): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

async function openEditor(file: string): Promise<WebviewPage> {
  const page = await openWebview('report/main');
  await page.send({ type: 'report/show', report: read(JSON.parse(fs.readFileSync(file, 'utf8'))), source: file });
  assert.ok(page.root.byId('tradeoff'), 'the trade-off chart is drawn');
  return page;
}

/**
 * Clicks "Compare with…" and answers as the extension does: the picks read by readComparePicks
 * with the request's own `exclude` and `room`. Returns the request's params (null when none was sent).
 */
async function compare(page: WebviewPage, picked: string[], answer?: (params: { exclude: string[]; room: number }) => unknown): Promise<{ exclude: string[]; room: number } | null> {
  const sent = page.posted.length;
  page.root.byId('compare')!.dispatch('click');
  await new Promise((r) => setImmediate(r));
  const req = page.posted.slice(sent).find((m) => (m as { type: string }).type === 'request') as { id: number; method: string; params: { exclude: string[]; room: number } } | undefined;
  if (!req) return null;
  assert.equal(req.method, 'report/compare');
  assert.equal(validateFromWebview(req).ok, true, 'the request passes the host check');
  const result = answer ? answer(req.params) : readComparePicks(picked, req.params.exclude, req.params.room);
  await page.send({ type: 'reply', id: req.id, result });
  return req.params;
}

function assertBounded(page: WebviewPage, what: string): void {
  assert.deepEqual(page.errors.map(String), [], `${what}: no error`);
  assert.equal(page.root.byId('load-error'), undefined, `${what}: the open report is still drawn`);
  assert.ok(page.nodeCount() < MAX_NODES, `${what}: ${page.nodeCount()} elements`);
  assert.ok(page.text().length < MAX_TEXT, `${what}: ${page.text().length} characters of text`);
  for (const c of page.charts.filter((c) => !c.destroyed)) assert.ok(c.points <= MAX_CHART_POINTS && c.datasets <= DATASETS_PER_REPORT * (1 + COMPARE_REPORTS), `${what}: ${JSON.stringify(c)}`);
}

const overlaid = (page: WebviewPage) => page.root.byId('compare-table')?.all('tr').length ?? 0;
const notes = (page: WebviewPage) => page.root.byId('compare-notes')?.all('p').map((p) => p.textContent) ?? [];

test('comparing with 50 reports reads and overlays 5 (one colour each) and says how many were left out and why; a sixth pick is refused without asking', async () => {
  const open = write('50/open.json', optimizeJson());
  const picks = Array.from({ length: 50 }, (_, i) => write(`50/r${i}.json`, { ...optimizeJson(), createdAt: `2025-01-01T00:00:${String(i).padStart(2, '0')}Z` }));
  const page = await openEditor(open);
  let answer: ComparePicks | undefined;
  const params = await compare(page, picks, (p) => (answer = readComparePicks(picks, p.exclude, p.room)));
  assert.deepEqual(params, { exclude: [open], room: COMPARE_REPORTS });
  assert.equal(answer!.reports.length, COMPARE_REPORTS, 'the host read 5 files, not 50');
  assert.deepEqual(answer!.leftOut, { count: 45, sources: picks.slice(5, 13) });
  assertBounded(page, '50 picks');
  assert.equal(overlaid(page), 1 + 1 + COMPARE_REPORTS, 'header, the open report and 5');
  assert.equal(page.charts.filter((c) => !c.destroyed)[0].datasets, 6 * DATASETS_PER_REPORT);
  assert.deepEqual(notes(page), [`Not overlaid: 45 more picked reports were left out (r5.json, r6.json, r7.json, r8.json, r9.json, r10.json, r11.json, r12.json and 37 more): this editor overlays at most ${COMPARE_REPORTS} reports on the open one, one colour each. Clear the comparison to pick others.`]);
  // Full: a click says so and asks the host nothing.
  assert.equal(await compare(page, picks), null);
  assert.match(notes(page)[0], /^Not overlaid: 5 reports are overlaid already, the most this editor draws beside one report/);
  page.root.byId('compare-clear')!.dispatch('click');
  assert.equal(overlaid(page), 0);
  assert.deepEqual(notes(page), []);
  // Room is what is left: 2 overlaid, then 3 more at most.
  await compare(page, picks.slice(0, 2));
  assert.deepEqual((await compare(page, picks))!.room, 3);
  assert.equal(overlaid(page), 2 + COMPARE_REPORTS);
  assert.match(notes(page).join('\n'), /r0\.json is overlaid already/);
});

test('comparing huge reports with each other (10,000 blocks, 500 tasks, 3,000 baselines, three of each) stays within the bounds of one report', async () => {
  for (const [what, make] of [['10,000 blocks', () => manyBlocks(10_000)], ['500 tasks', () => manyTasks(500)], ['3,000 baselines', () => manyBaselines(3_000)]] as const) {
    const json = make();
    const open = write(`huge/${what}/open.json`, json);
    const picks = [0, 1, 2].map((i) => write(`huge/${what}/r${i}.json`, { ...json, createdAt: `2025-01-0${i + 1}` }));
    const page = await openEditor(open);
    await compare(page, picks);
    assertBounded(page, what);
    assert.equal(overlaid(page), 2 + 3, `${what}: all three overlaid`);
    assert.deepEqual(notes(page), [], what);
  }
  // A label names 8 tasks and counts the rest (before: all 500 names in each label).
  const page = await openEditor(write('huge/labels/open.json', manyTasks(500)));
  await compare(page, [write('huge/labels/r.json', manyTasks(500))]);
  assert.match(flat(page), /2: 95 % task0\+task1\+task2\+task3\+task4\+task5\+task6\+task7 and 492 more/);
});

test('picks that cannot be overlaid are refused by name with the reason, the others overlaid, and the open report stays drawn', async () => {
  const open = write('bad/open.json', optimizeJson());
  const good = write('bad/good.json', { ...optimizeJson(), createdAt: '2025-02-02' });
  const probe = optimizeJson();
  delete probe.selection;
  delete probe.verify;
  probe.kind = 'probe';
  const link = path.join(tmp, 'bad', 'link-to-open.json');
  fs.symlinkSync(open, link);
  const deleted = write('bad/deleted.json', optimizeJson());
  const picks = [
    write('bad/not-json.json', '{"kind": "optimize", '),
    deleted,
    write('bad/no-tasks.json', { ...optimizeJson(), tasks: {} }),
    write('bad/other-model.json', manyBlocks(12)),
    write('bad/probe.json', probe),
    link,
    good,
    good,
  ];
  fs.rmSync(deleted); // between the pick and the read
  const page = await openEditor(open);
  let answer: ComparePicks | undefined;
  await compare(page, picks, (p) => (answer = readComparePicks(picks, p.exclude, p.room)));
  assert.equal(answer!.reports.length + answer!.refused.length, 7, 'good.json read once');
  assertBounded(page, 'refused picks');
  assert.equal(overlaid(page), 3, 'header, the open report and good.json (once)');
  const said = notes(page);
  const expect: RegExp[] = [
    /^Not overlaid: not-json\.json cannot be read as JSON: .*Open a report ProbeScale wrote/,
    /^Not overlaid: no-tasks\.json is not a ProbeScale report: no "tasks"/,
    /^Not overlaid: link-to-open\.json is the report open in this editor/,
    /^Not overlaid: deleted\.json does not exist \(moved or deleted\?\)/,
    /^Not overlaid: other-model\.json is from another model \(roberta, 12 blocks, [\d,]+ parameters; the open report: roberta, 4 blocks, 300,576 parameters\)/,
    /^Not overlaid: probe\.json is a probe report: it has no measured subsets to overlay/,
  ];
  assert.equal(said.length, expect.length, said.join('\n'));
  for (const re of expect) assert.ok(said.some((n) => re.test(n)), `${re}\n${said.join('\n')}`);
});

test('a host answer the editor cannot use is refused with a notice, and a damaged report in it refused alone; the open report stays drawn (before: the editor went blank)', async () => {
  const open = write('answers/open.json', optimizeJson());
  const good = read({ ...optimizeJson(), createdAt: '2025-03-03' });
  const broken: [unknown, RegExp][] = [
    [{ reports: 'x', refused: [], leftOut: { count: 0, sources: [] } }, /^Compare failed: the extension's answer cannot be used \('reports': not an array\); nothing was overlaid\.$/],
    [{ reports: [{ report: good }], refused: [], leftOut: { count: 0, sources: [] } }, /'reports': entry 0: 'source': not a string/],
    [null, /not an object/],
  ];
  for (const [answer, re] of broken) {
    const page = await openEditor(open);
    await compare(page, [], () => answer);
    assertBounded(page, JSON.stringify(answer));
    assert.match(page.root.byId('status')!.textContent, re);
    assert.equal(overlaid(page), 0);
  }
  const damaged: Json = { ...good, selection: { kept: 'all' } };
  const page = await openEditor(open);
  const tooMany = Array.from({ length: 9 }, (_, i) => ({ report: good, source: `/w/many${i}.json` }));
  await compare(page, [], () => ({ reports: [{ report: {}, source: '/w/empty.json' }, { report: damaged, source: '/w/damaged.json' }, ...tooMany], refused: [], leftOut: { count: 0, sources: [] } }));
  assertBounded(page, 'damaged reports in the answer');
  assert.equal(overlaid(page), 2 + 3, 'the 3 good reports that fit');
  const said = notes(page);
  assert.match(said[0], /^Not overlaid: empty\.json is not a report this editor can draw \('kind': not a string\)/);
  assert.match(said[1], /^Not overlaid: damaged\.json cannot be drawn \(/);
  assert.match(said[2], /^Not overlaid: 6 more picked reports were left out \(many3\.json, .*many8\.json\)/);
});

test('the compare request is checked by the host: room above the cap, too many or bad excluded files', () => {
  const ok = { type: 'request', id: 1, method: 'report/compare', params: { exclude: ['/a.json'], room: COMPARE_REPORTS } };
  assert.equal(validateFromWebview(ok).ok, true);
  const bad: [unknown, RegExp][] = [
    [{ exclude: ['/a.json'], room: COMPARE_REPORTS + 1 }, /field 'room': more than 5/],
    [{ exclude: ['/a.json'], room: -1 }, /field 'room': not a non-negative integer/],
    [{ exclude: ['/a.json'] }, /field 'room': not a non-negative integer/],
    [{ exclude: Array(2 + COMPARE_REPORTS).fill('/a.json'), room: 1 }, /field 'exclude': more than 6 files/],
  ];
  for (const [params, re] of bad) {
    const r = validateFromWebview({ ...ok, params });
    assert.ok(!r.ok && re.test(r.error), `${JSON.stringify(params)}: ${JSON.stringify(r)}`);
  }
});

test('the host refuses the open report named by a relative path, and a folder, with the reader\'s reason', () => {
  const open = write('host/open.json', optimizeJson());
  const folder = path.join(tmp, 'host', 'folder.json');
  fs.mkdirSync(folder);
  const picks = readComparePicks([path.relative(process.cwd(), open), folder], [open], 2);
  assert.deepEqual(picks.reports, []);
  assert.deepEqual(picks.refused.map((r) => r.reason.replace(/;.*/, '')), ['is the report open in this editor', 'is a folder, not a report file']);
});
