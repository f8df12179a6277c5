/**
 * Reports edited by hand, damaged or made by something else: each is refused naming the field
 * and what to do, or shown without the damaged optional part; none crashes the charts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError } from '../../../src/core/errors';
import { normalizeReport, readReport } from '../../../src/core/reportData';
import { fixture, tempDir } from '../../helpers';
import { HEAT_METRICS, heatmap, heatmapMarkdown, heatmapSvg, latencyRows, latencySvg, tradeoffSeries, tradeoffSvg } from '../../../src/shared/reportCharts';

interface Raw {
  kind: string;
  model: { numLayers: number; params: { total: unknown; embeddings: unknown; perBlock: unknown[] } };
  tasks: Record<string, { labels: string[]; majority: unknown; layers: Record<string, unknown>[]; final?: unknown }>;
  signals: { blockInfluence: unknown[]; angularDistance: unknown[] };
}

/** A small valid probe report with signals; `edit` damages it. */
function report(edit: (r: Raw) => void = () => {}): Raw {
  const r: Raw = {
    kind: 'probe',
    model: { numLayers: 2, params: { total: 100, embeddings: 50, perBlock: [20, 20] } },
    tasks: { t: { labels: ['a', 'b'], majority: 0.5, layers: [{ layer: 0, accuracy: 0.5 }, { layer: 1, accuracy: 0.7, cvAccuracy: 0.6, macroF1: 0.7, controlAccuracy: 0.5 }, { layer: 2, accuracy: 0.8 }] } },
    signals: { blockInfluence: [0.1, 0.2], angularDistance: [[0.1, 0.2], [0.3, 0.4]] },
  };
  edit(r);
  return r;
}

const refused = (json: unknown, re: RegExp) =>
  assert.throws(() => normalizeReport(json, 'r.json'), (e: Error) => e instanceof BadInputError && e.message.startsWith('r.json') && re.test(e.message), String(re));

test('a task named __proto__ is refused, not silently dropped (the report showed no tasks at all)', () => {
  const text = JSON.stringify(report()).replace('"tasks":{"t":', '"tasks":{"__proto__":');
  refused(JSON.parse(text), /task name "__proto__".*rename the task/);
});

test('damaged redundancy signals are left out, not drawn: the heatmap and its exports no longer crash or show zeros', () => {
  const damaged: [string, (r: Raw) => void, { block: boolean; angular: boolean }][] = [
    ['angular rows as numbers', (r) => (r.signals.angularDistance = [0.1, 0.3]), { block: true, angular: false }],
    ['angular rows of strings', (r) => (r.signals.angularDistance = [['a', 'b'], ['c', 'd']]), { block: true, angular: false }],
    ['angular null rows', (r) => (r.signals.angularDistance = [null, null]), { block: true, angular: false }],
    ['angular short rows', (r) => (r.signals.angularDistance = [[0.1], [0.3]]), { block: true, angular: false }],
    ['block influence strings', (r) => (r.signals.blockInfluence = ['x', 0.2]), { block: false, angular: true }],
  ];
  for (const [what, edit, shown] of damaged) {
    const r = normalizeReport(report(edit), 'r.json');
    for (const m of HEAT_METRICS) {
      const h = heatmap(r, m.id);
      if (h) assert.doesNotThrow(() => (heatmapSvg(h), heatmapMarkdown(h)), `${what}: ${m.id}`);
    }
    assert.equal(heatmap(r, 'blockInfluence') !== null, shown.block, `${what}: block influence shown`);
    assert.equal(heatmap(r, 'angularDistance') !== null, shown.angular, `${what}: angular distance shown`);
  }
  const good = normalizeReport(report(), 'r.json');
  assert.deepEqual(heatmap(good, 'angularDistance')?.rows[0].values, [0.2, 0.4]);
  assert.deepEqual(heatmap(good, 'blockInfluence')?.rows[0].values, [0.1, 0.2]);
});

test('a score outside 0–1 is refused naming the task, the layer and the value (before, -50 % and 700 % were drawn)', () => {
  const cases: [(r: Raw) => void, RegExp][] = [
    [(r) => (r.tasks.t.layers[1].accuracy = -0.5), /task "t" layer 1: accuracy is -0\.5; expected a share from 0 to 1/],
    [(r) => (r.tasks.t.layers[2].accuracy = 7), /task "t" layer 2: accuracy is 7; expected a share from 0 to 1/],
    [(r) => (r.tasks.t.layers[1].cvAccuracy = 1.5), /task "t" layer 1: cvAccuracy is 1\.5/],
    [(r) => (r.tasks.t.layers[1].macroF1 = -1), /task "t" layer 1: macroF1 is -1/],
    [(r) => (r.tasks.t.layers[1].controlAccuracy = 2), /task "t" layer 1: controlAccuracy is 2/],
    [(r) => (r.tasks.t.majority = 1.2), /task "t": majority is 1\.2/],
    [(r) => (r.tasks.t.final = { accuracy: 3 }), /task "t": final accuracy is 3/],
  ];
  for (const [edit, re] of cases) refused(report(edit), re);
  // 0 and 1 themselves are scores; a negative selectivity is too (accuracy below the control task's).
  const edge = normalizeReport(report((r) => ((r.tasks.t.layers[0].accuracy = 0), (r.tasks.t.layers[2].accuracy = 1), (r.tasks.t.layers[1].selectivity = -0.2))), 'r.json');
  assert.deepEqual(edge.tasks.t.layers.map((l) => l.accuracy), [0, 0.7, 1]);
  assert.equal(edge.tasks.t.layers[1].selectivity, -0.2);
});

test('parameter counts must be whole numbers ≥ 0 (before, a damaged block count was read as 0 and a negative total was drawn)', () => {
  const cases: [(r: Raw) => void, RegExp][] = [
    [(r) => (r.model.params.perBlock = [20, 'x']), /"model.params.perBlock\[1\]" is "x"; expected a parameter count/],
    [(r) => (r.model.params.perBlock = [20, -3]), /"model.params.perBlock\[1\]" is -3/],
    [(r) => (r.model.params.total = -100), /"model.params.total" is -100/],
    [(r) => (r.model.params.embeddings = 1.5), /"model.params.embeddings" is 1\.5/],
  ];
  for (const [edit, re] of cases) refused(report(edit), re);
});

test('a file that is gone, a folder or far too large for a report is refused saying so, without reading it', () => {
  const dir = tempDir('ps-hostile-');
  const gone = path.join(dir, 'gone.json');
  assert.throws(() => readReport(gone), (e: Error) => e instanceof BadInputError && e.message === `${gone} does not exist (moved or deleted?); open the report from where it is now.`);
  assert.throws(() => readReport(dir), (e: Error) => e instanceof BadInputError && e.message.startsWith(`${dir} is a folder, not a report file`));
  const huge = path.join(dir, 'huge.json');
  fs.closeSync(fs.openSync(huge, 'w'));
  fs.truncateSync(huge, 65 * 1024 * 1024); // sparse: no disk used
  assert.throws(() => readReport(huge), (e: Error) => e instanceof BadInputError && /huge\.json is 65\.0 MiB; a ProbeScale report is at most 64 MiB/.test(e.message));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a report saved with a byte-order mark (Notepad\'s UTF-8) reads as the same report', () => {
  const dir = tempDir('ps-hostile-');
  const file = path.join(dir, 'bom.json');
  fs.writeFileSync(file, '\uFEFF' + JSON.stringify(report()));
  assert.deepEqual(readReport(file).tasks.t.layers.map((l) => l.accuracy), [0.5, 0.7, 0.8]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a file that is not JSON is refused saying what to open instead', () => {
  const dir = tempDir('ps-hostile-');
  const file = path.join(dir, 'notes.json');
  fs.writeFileSync(file, 'model: bert\n');
  assert.throws(() => readReport(file), (e: Error) => e instanceof BadInputError && /^\S+notes\.json cannot be read as JSON: .+\. Open a report ProbeScale wrote: one under \.probescale\/reports, or a committed folder's probescale-report\.json\.$/.test(e.message));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The fixture optimize report with the value at `where` (a path of keys) replaced. */
function optimizeWith(where: (string | number)[], value: unknown): unknown {
  const r = JSON.parse(fs.readFileSync(fixture('reports', 'tiny-roberta-optimize.json'), 'utf8'));
  const parent = where.slice(0, -1).reduce((o, k) => o[k], r);
  parent[where[where.length - 1]] = value;
  return r;
}

test('a selection score outside 0–1 (candidate, baseline, pick) is refused naming the field (before, 1e308 stretched the trade-off axes to infinity)', () => {
  const cases: [(string | number)[], unknown, RegExp][] = [
    [['selection', 'candidates', 0, 'validation'], 1e308, /"selection\.candidates\[0\]\.validation" is 1e\+308; expected a share from 0 to 1/],
    [['selection', 'candidates', 1, 'test'], -0.2, /"selection\.candidates\[1\]\.test" is -0\.2/],
    [['selection', 'candidates', 0, 'perTask', 'sentlen'], 4, /"selection\.candidates\[0\]\.perTask\.sentlen" is 4/],
    [['selection', 'baselines', 0, 'testObjective'], 2, /"selection\.baselines\[0\]\.testObjective" is 2/],
    [['selection', 'baselines', 1, 'validation'], -1, /"selection\.baselines\[1\]\.validation" is -1/],
    [['selection', 'objective', 'test'], 1.01, /"selection\.objective\.test" is 1\.01/],
    [['selection', 'objective', 'validation'], -3, /"selection\.objective\.validation" is -3/],
  ];
  for (const [where, value, re] of cases) refused(optimizeWith(where, value), re);
  assert.ok(normalizeReport(optimizeWith(['selection', 'objective', 'test'], 1), 'r.json').selection, '1 itself is a score');
});

// Found by the report fuzz target (test/jsonFuzz.ts): each of these drew NaN or ±Infinity into a chart.
test('counts and shares of the selection, the reference accuracies and the model total are checked; a damaged timing leaves the latency chart out (before, NaN and Infinity were drawn)', () => {
  const cases: [(string | number)[], unknown, RegExp][] = [
    [['selection', 'budget', 'fraction'], -1e308, /"selection\.budget\.fraction" is -1e\+308; expected a share from 0 to 1/],
    [['selection', 'candidates', 2, 'fraction'], 7, /"selection\.candidates\[2\]\.fraction" is 7/],
    [['selection', 'candidates', 0, 'params'], -5, /"selection\.candidates\[0\]\.params" is -5; expected a whole number of parameters ≥ 0/],
    [['selection', 'baselines', 0, 'params'], 0.5, /"selection\.baselines\[0\]\.params" is 0\.5/],
    [['selection', 'validationReference', 'sentlen', 'final'], -1e308, /"selection\.validationReference\.final" is -1e\+308/],
    [['model', 'params', 'total'], 0, /"model\.params\.total" is 0, where the embeddings and blocks alone hold \d+/],
    [['model', 'params', 'total'], 1, /"model\.params\.total" is 1, where the embeddings and blocks alone hold \d+/],
    [['selection', 'targetRetention'], -1e308, /"selection\.targetRetention" is -1e\+308/],
    [['selection', 'perTask', 'sentlen', 'majority'], 1e308, /"selection\.perTask\.majority" is 1e\+308/],
  ];
  for (const [where, value, re] of cases) refused(optimizeWith(where, value), re);
  for (const [field, value] of [['prunedMs', false], ['originalMs', 0], ['speedup', -1]] as const) {
    const r = normalizeReport(optimizeWith(['verify', 'timing', 'batch1', field], value), 'r.json');
    assert.equal(r.verify, undefined, `${field} ${value}`);
    assert.equal(latencyRows(r), null);
  }
  assert.equal(normalizeReport(optimizeWith(['verify', 'timing', 'idealSpeedup'], 0), 'r.json').verify, undefined);
  // A pruned run far slower than the original: its bar stops at the chart's edge.
  const slow = latencyRows(normalizeReport(optimizeWith(['verify', 'timing', 'batch32', 'prunedMs'], 1e308), 'r.json'))!;
  assert.match(latencySvg(slow), /1e\+308 ms/);
  assert.ok(!/NaN|Infinity/.test(latencySvg(slow)));
  // A fit that gives no number on part of the grid: those points are left out of the curve.
  const fit = normalizeReport(optimizeWith(['selection', 'budgetAdvice', 'perTask', 'sentlen', 'fit', 'alpha'], -1e308), 'r.json');
  const series = tradeoffSeries(fit, { task: null, axis: 'accuracy' })!;
  assert.ok(!/NaN|Infinity/.test(tradeoffSvg([{ name: 'r', series }])));
});
