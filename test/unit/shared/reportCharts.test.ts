import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReportData } from '../../../src/shared/protocol';
import {
  compensationParts,
  heatmap,
  markerKinds,
  markerOf,
  heatmapMarkdown,
  heatmapSvg,
  latencyExplanation,
  latencyMarkdown,
  latencyRows,
  latencySvg,
  reportLabel,
  sameSource,
  ticks,
  tradeoffChoices,
  tradeoffMarkdown,
  tradeoffSeries,
  tradeoffSvg,
} from '../../../src/shared/reportCharts';
import { fixture, repoRoot } from '../../helpers';

// A real optimize report of tiny-roberta (sentlen weight 1, bshift weight 0.5), made by
// `probescale optimize test/fixtures/tiny-roberta --task sentlen=… --task bshift=…:0.5 --limit-train 150 --limit-test 60 --c 1 --budget 0.95 --candidates 3`.
const load = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as ReportData;
const current = () => load(fixture('reports', 'tiny-roberta-optimize.json'));
// A checked-in report made before candidates had per-task scores and the curve a band (RESULTS §2d).
const older = () => load(path.join(repoRoot, 'docs', 'results-2k', 'spam-0.35', 'probescale-report.json'));
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('trade-off: every measured subset is one point, the pick and the heuristics are marked', () => {
  const r = current();
  const s = tradeoffSeries(r, { task: null, axis: 'accuracy' })!;
  const subsets = new Set(r.selection!.candidates!.map((c) => c.kept.join(',')));
  assert.equal(s.points.length, subsets.size);
  for (const c of r.selection!.candidates!) {
    const p = s.points.find((q) => q.kept.join(',') === c.kept.join(','))!;
    near(p.y, c.validation, `y of ${c.kept}`);
    near(p.fraction, c.params / r.model.params.total, `x of ${c.kept}`);
  }
  assert.deepEqual(s.pick?.kept, r.selection!.kept);
  assert.equal(s.pick?.test, r.selection!.objective.test);
  assert.equal(s.points.filter((p) => p.pick).length, 1);
  // drop-top and dalvi-prefix keep the same blocks: one point, both names.
  const dropTop = r.selection!.baselines.find((b) => b.name === 'drop-top')!;
  const same = r.selection!.baselines.filter((b) => b.kept.join(',') === dropTop.kept.join(',')).map((b) => b.name);
  assert.deepEqual(s.points.find((p) => p.kept.join(',') === dropTop.kept.join(','))!.heuristics.sort(), same.sort());
  assert.equal(s.budget, r.selection!.budget.fraction);
  assert.ok(s.points.every((p, i) => i === 0 || s.points[i - 1].params <= p.params), 'sorted by size');
});

test('trade-off: per-task and retention axes use the recorded per-task scores and references', () => {
  const r = current();
  const c = r.selection!.candidates![0];
  const ref = r.selection!.validationReference!;
  const perTask = tradeoffSeries(r, { task: 'bshift', axis: 'accuracy' })!;
  near(perTask.points.find((p) => p.kept.join(',') === c.kept.join(','))!.y, c.perTask!.bshift, 'bshift accuracy');
  const ret = tradeoffSeries(r, { task: null, axis: 'vsFinal' })!;
  const want = (1 * (c.perTask!.sentlen / ref.sentlen.final) + 0.5 * (c.perTask!.bshift / ref.bshift.final)) / 1.5;
  near(ret.points.find((p) => p.kept.join(',') === c.kept.join(','))!.y, want, 'weighted retention vs final');
  assert.equal(ret.target, r.selection!.targetRetention);
  const best = tradeoffSeries(r, { task: 'sentlen', axis: 'vsBest' })!;
  near(best.target!, (r.selection!.targetRetention * ref.sentlen.final) / ref.sentlen.bestLayer, 'target on the vs-best axis');
  assert.deepEqual(tradeoffChoices(r), { tasks: ['sentlen', 'bshift'], perTask: true, retention: true });
});

test('trade-off: the curve follows the recorded fit and sits in its band for one task', () => {
  const r = current();
  const s = tradeoffSeries(r, { task: 'sentlen', axis: 'accuracy' })!;
  const adv = r.selection!.budgetAdvice.perTask.sentlen;
  assert.equal(s.curve!.length, adv.band!.n.length);
  assert.equal(s.band!.length, adv.band!.n.length);
  s.curve!.forEach((p, i) => {
    const n = adv.band!.n[i];
    near(p.y, adv.fit!.pInf - adv.fit!.a * Math.pow(n, -adv.fit!.alpha), `curve at ${n}`);
    near(s.band![i].lo, adv.band!.lo[i], `band low at ${n}`);
  });
  assert.deepEqual(s.notes, []);
  assert.ok(tradeoffSeries(r, { task: null, axis: 'accuracy' })!.notes.some((n) => /wider than a joint band/.test(n)));
});

test('trade-off: an older report draws what it has and says what is missing', () => {
  const r = older();
  assert.deepEqual(tradeoffChoices(r), { tasks: ['spam'], perTask: true, retention: false });
  const s = tradeoffSeries(r, { task: 'spam', axis: 'accuracy' })!;
  assert.equal(s.points.length, new Set(r.selection!.candidates!.map((c) => c.kept.join(','))).size);
  assert.ok(s.curve && s.curve.length > 1);
  assert.equal(s.band, null);
  assert.equal(s.target, null);
  assert.ok(s.notes.some((n) => /no bootstrap band/.test(n)) && s.notes.some((n) => /target-retention line/.test(n)));
  assert.equal(tradeoffSeries({ ...r, selection: undefined }, { task: null, axis: 'accuracy' }), null);
});

test('heatmap: tasks × hidden states for probe scores, one row per signal for blocks, kept marked', () => {
  const r = current();
  const L = r.model.numLayers;
  const acc = heatmap(r, 'accuracy')!;
  assert.equal(acc.rows.length, Object.keys(r.tasks).length);
  assert.equal(acc.columns.length, L + 1);
  near(acc.rows[0].values[2]!, r.tasks.sentlen.layers[2].accuracy, 'sentlen layer 2');
  const kept = new Set(r.selection!.kept);
  assert.deepEqual(acc.kept, acc.columns.map((c) => c === 0 || kept.has(c - 1)));
  const bi = heatmap(r, 'blockInfluence')!;
  assert.equal(bi.columns.length, L);
  assert.deepEqual(bi.rows[0].values, r.signals!.blockInfluence);
  const ad = heatmap(r, 'angularDistance')!;
  assert.deepEqual(ad.rows[0].values, r.signals!.angularDistance.slice(0, L).map((row) => row[1]));
  assert.equal(heatmap({ ...r, signals: undefined }, 'blockInfluence'), null);
  const md = heatmapMarkdown(acc).trim().split('\n');
  assert.equal(md.length, 2 + acc.rows.length);
  assert.match(md[0], /L0\*/);
});

test('latency: rows from verify, and a sentence on what the ideal assumes and why a measurement departs', () => {
  const r = current();
  const rows = latencyRows(r)!;
  assert.deepEqual(rows.map((x) => x.batch), [1, 32]);
  assert.equal(rows[1].speedup, r.verify!.timing.batch32.speedup);
  assert.match(latencyExplanation(r.verify!.timing), /ratio of floating-point operations/);
  const t = r.verify!.timing;
  const over = { ...r, verify: { ...r.verify!, timing: { ...t, idealSpeedup: 1.2, batch1: { ...t.batch1, speedup: 3 } } } };
  assert.match(latencyExplanation(over.verify.timing), /above it/);
  const under = { ...r, verify: { ...r.verify!, timing: { ...t, idealSpeedup: 50, batch1: { ...t.batch1, speedup: 3 } } } };
  assert.match(latencyExplanation(under.verify.timing), /below it/);
  assert.equal(latencyRows({ ...r, verify: undefined }), null);
  assert.equal(latencyMarkdown(rows).trim().split('\n').length, 4);
  assert.match(latencySvg(rows), /ideal pruned/);
});

test('markdown and SVG: one row or marker per point, user text escaped', () => {
  const r = current();
  const s = tradeoffSeries(r, { task: null, axis: 'accuracy' })!;
  const md = tradeoffMarkdown(s).trim().split('\n');
  assert.equal(md.length, 2 + s.points.length);
  assert.equal(md.filter((l) => l.includes('ProbeScale pick')).length, 1);
  const svg = tradeoffSvg([{ name: 'a<b>|c', series: s }]);
  const markers = (svg.match(/<circle [^>]*r="3"/g)?.length ?? 0) + (svg.match(/<rect [^>]*width="8"/g)?.length ?? 0);
  // One per point, and one per marker kind in the key beside the plot.
  assert.equal(markers, s.points.length + markerKinds([s]).length);
  assert.ok(svg.includes('a&lt;b&gt;|c') && !svg.includes('a<b>'));
  const evil = { ...r, tasks: { '<script>x</script>': r.tasks.sentlen } };
  assert.ok(!heatmapSvg(heatmap(evil, 'accuracy')!).includes('<script>'));
  assert.match(tradeoffMarkdown({ ...s, points: [{ ...s.points[0], origin: 'a|b' }] }), /a\\\|b/);
});

test('compare helpers and ticks', () => {
  const a = current();
  assert.ok(sameSource(a, a));
  assert.ok(!sameSource(a, older()));
  assert.equal(reportLabel(a), '95 % sentlen+bshift');
  assert.deepEqual(ticks(0.41, 0.58, 5), [0.45, 0.5, 0.55]);
  assert.deepEqual(ticks(0.41, 0.58, 8), [0.425, 0.45, 0.475, 0.5, 0.525, 0.55, 0.575]);
  assert.deepEqual(ticks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
});

test('trade-off: compensated subsets and the compensated heuristics are their own markers, named, with their bridges and widths', () => {
  // optimize --compensate all --width-score flap on roberta-mini, bshift at 35 % (docs/RESULTS.md §5c).
  const r = load(path.join(repoRoot, 'docs', 'results-compensate', 'bshift-0.35-flap', 'probescale-report.json'));
  const s = tradeoffSeries(r, { task: null, axis: 'accuracy' })!;
  const raw = r.selection!;
  const compensatedKeys = new Set(raw.candidates!.filter((c) => c.compensation).map((c) => `${c.kept}|${c.compensation!.description}`));
  const comp = s.points.filter((p) => p.compensation);
  assert.equal(comp.length, compensatedKeys.size);
  assert.ok(comp.length > 2);
  for (const name of ['replaceme-bridge', 'flap-uniform']) {
    const b = raw.baselines.find((x) => x.name === name)!;
    const p = s.points.find((x) => x.heuristics.includes(name))!;
    assert.equal(p.compensation, b.compensation!.description, `${name} is drawn at its compensated point`);
    assert.equal(markerOf(p), 'compensatedHeuristic');
  }
  // The plain subset of the same blocks as replaceme-bridge is another point, without its name.
  const plain = s.points.find((p) => p.kept.join() === '0,11' && !p.compensation)!;
  assert.ok(!plain.heuristics.includes('replaceme-bridge') && plain.heuristics.includes('symmetric'));
  assert.deepEqual(markerKinds([s]), ['subset', 'heuristic', 'compensated', 'compensatedHeuristic']);
  assert.equal(s.pick!.compensation, raw.compensation!.description);
  assert.deepEqual(compensationParts('least-squares bridge into block 2; 4 of 4 heads and 688 of 1024 FFN neurons per block (refitted)'), { bridges: 'least-squares bridge into block 2', widths: '4 of 4 heads and 688 of 1024 FFN neurons per block (refitted)' });
  assert.deepEqual(compensationParts('2 of 4 heads and 48 of 1024 FFN neurons per block (refitted)'), { bridges: null, widths: '2 of 4 heads and 48 of 1024 FFN neurons per block (refitted)' });
  // SVG: one triangle per compensated point plus two in the key; the table names the compensation.
  const svg = tradeoffSvg([{ name: 'x', series: s }]);
  // (the whole tag is matched so that the band's translucent polygon, fill-opacity 0.15, is left out)
  assert.equal((svg.match(/<polygon points="[^"]*" fill[^>]*>/g) ?? []).filter((m) => !/fill-opacity="0.15"/.test(m)).length, comp.length + 2);
  assert.match(svg, />compensated heuristic</);
  assert.match(tradeoffMarkdown(s), /\| 0, 11 \+ least-squares bridge into block 11 \|/);
});
