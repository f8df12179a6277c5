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
  placeLabels,
  unlabelledLines,
  type Box,
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
import { readReport } from '../../../src/core/reportData';
import { fixture, repoRoot } from '../../helpers';

// A real optimize report of tiny-roberta (sentlen weight 1, bshift weight 0.5), made by
// `probescale optimize test/fixtures/tiny-roberta --task sentlen=… --task bshift=…:0.5 --limit-train 150 --limit-test 60 --c 1 --budget 0.95 --candidates 3`.
const load = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as ReportData;
const current = () => load(fixture('reports', 'tiny-roberta-optimize.json'));
// A checked-in report made before candidates had per-task scores and the curve a band (RESULTS §2d).
// An optimize report from before bootstrap bands and target lines (docs/results-2k/spam-0.35 as it was at 0912f32).
const older = () => load(fixture('reports', 'older-spam-0.35.json'));
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

test('latency of a pick that keeps no block: no FLOP ideal anywhere, also for a report written before verify dropped it', () => {
  // A kept report from before the change: the embeddings alone, verified with an "ideal ×8019.4".
  const old = readReport(fixture('reports', 'older-spam-0.35.json'));
  assert.deepEqual(old.selection!.kept, []);
  const t = old.verify!.timing;
  assert.equal(t.idealSpeedup, null);
  const rows = latencyRows(old)!;
  assert.ok(rows.every((x) => x.ideal === null));
  assert.match(latencyExplanation(t), /^No ideal: The pruned model keeps no block/);
  assert.doesNotMatch(latencyExplanation(t), /8019|below it/);
  const svg = latencySvg(rows);
  assert.doesNotMatch(svg, /ideal pruned|NaN|Infinity/);
  assert.match(svg, /ideal none \(no block kept\)/);
  assert.match(latencyMarkdown(rows), /\| none \(no block kept\) \|/);
  // A pick with blocks keeps its ideal.
  assert.equal(typeof current().verify!.timing.idealSpeedup, 'number');
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

test('label placement: labels of close points never overlap; the pick keeps its label, a label with no free spot is dropped and listed', () => {
  const bounds = { left: 0, top: 0, right: 400, bottom: 300 };
  const overlap = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const check = (placed: { box: Box }[]) => {
    placed.forEach((p, i) => placed.slice(i + 1).forEach((q) => assert.ok(!overlap(p.box, q.box), `${JSON.stringify(p.box)} and ${JSON.stringify(q.box)}`)));
    for (const p of placed) assert.ok(p.box.left >= 0 && p.box.right <= 400 && p.box.top >= 0 && p.box.bottom <= 300, JSON.stringify(p.box));
  };
  // Three heuristics a pixel apart: each gets its own spot.
  const three = [0, 1, 2].map((i) => ({ x: 200 + i, y: 150, text: `h${i}`, width: 40, height: 9 }));
  const a = placeLabels(three, bounds);
  assert.equal(a.placed.length, 3);
  assert.deepEqual(a.dropped, []);
  check(a.placed);
  assert.deepEqual([a.placed[0].x, a.placed[0].baseline], [206, 150 + 3 + 0.8 * 9], 'the first takes the usual spot, right below');
  // Twenty on one spot, the pick first: the pick and as many as fit are drawn, the others dropped.
  const crowd = [{ x: 200, y: 150, text: 'ProbeScale', width: 60, height: 11, gap: 9 }, ...Array.from({ length: 19 }, (_, i) => ({ x: 200, y: 150, text: `heuristic-${i}`, width: 50, height: 9 }))];
  const b = placeLabels(crowd, bounds, [], (i) => i === 0);
  assert.equal(b.placed[0].index, 0);
  assert.ok(b.placed.length >= 4 && b.dropped.length >= 10, `${b.placed.length} placed, ${b.dropped.length} dropped`);
  assert.equal(b.placed.length + b.dropped.length, 20);
  check(b.placed);
  // At the right edge a label goes left; the key (an obstacle) is never covered.
  const edge = placeLabels([{ x: 390, y: 150, text: 'x', width: 40, height: 9 }], bounds);
  assert.ok(edge.placed[0].box.right <= 390, JSON.stringify(edge.placed[0].box));
  const key = { left: 300, top: 0, right: 400, bottom: 300 };
  const blocked = placeLabels([{ x: 295, y: 150, text: 'x', width: 40, height: 9 }], bounds, [key]);
  assert.ok(!overlap(blocked.placed[0].box, key));
  // A kept label with no free spot is drawn at its first spot anyway; a plain one is dropped.
  assert.equal(placeLabels([{ x: 200, y: 150, text: 'p', width: 500, height: 9 }], bounds, [], () => true).placed.length, 1);
  assert.deepEqual(placeLabels([{ x: 200, y: 150, text: 'p', width: 500, height: 9 }], bounds).dropped, [0]);
  assert.deepEqual(unlabelledLines([]), []);
  assert.deepEqual(unlabelledLines(Array.from({ length: 10 }, (_, i) => `h${i}`)).slice(-2), ['h7', 'and 2 more (hover the points)']);
});

test('trade-off SVG: heuristics a hair apart get labels that do not overlap, and the ones that cannot fit are listed under the key (before, every label sat at the same offset)', () => {
  const s = tradeoffSeries(current(), { task: null, axis: 'accuracy' })!;
  const base = s.points.find((p) => !p.pick)!;
  const close = Array.from({ length: 14 }, (_, i) => ({ ...base, fraction: base.fraction + 0.0005 * i, params: base.params + i, heuristics: [`heuristic-${i}`], label: `heuristic-${i}`, pick: false }));
  const svg = tradeoffSvg([{ name: 'r', series: { ...s, points: [...s.points.filter((p) => p.pick || !p.label), ...close] } }]);
  const labels = /<g class="labels">(.*?)<\/g>/.exec(svg)![1];
  const boxes = [...labels.matchAll(/<text x="([\d.]+)" y="([\d.]+)" (font-weight="bold"|font-size="9")>([^<]*)<\/text>/g)].map(([, x, y, font, text]) => {
    const size = font === 'font-size="9"' ? 9 : 11;
    const width = text.length * size * (size === 11 ? 0.65 : 0.6);
    return { text, box: { left: Number(x), right: Number(x) + width, top: Number(y) - 0.8 * size, bottom: Number(y) + 0.2 * size } };
  });
  assert.ok(boxes.some((b) => b.text === 'ProbeScale'), 'the pick is labelled');
  const overlap = (a: Box, b: Box) => a.left < b.right - 0.1 && b.left < a.right - 0.1 && a.top < b.bottom - 0.1 && b.top < a.bottom - 0.1;
  boxes.forEach((p, i) => boxes.slice(i + 1).forEach((q) => assert.ok(!overlap(p.box, q.box), `${p.text} over ${q.text}`)));
  const drawn = new Set(boxes.map((b) => b.text));
  const listed = [...svg.matchAll(/class="unlabelled">([^<]*)</g)].map((m) => m[1]);
  assert.ok(listed.length > 0 && svg.includes('not labelled (too close):'), 'some did not fit');
  for (const c of close) assert.ok(drawn.has(c.label) !== listed.includes(c.label), `${c.label}: drawn or listed, not both`);
});
