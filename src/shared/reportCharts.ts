/**
 * What the report editor draws, computed from a report alone: the trade-off series (every
 * measured subset, the heuristics, ProbeScale's pick, the fitted curve and its band), the
 * tasks × layers heatmap, the latency rows, their Markdown tables and SVG figures. No DOM and
 * no Node: the webview (webview/report/), the figure script (scripts/figures.mjs, through the
 * webview bundle) and the unit tests all use this one module, so an exported figure, the table
 * beside it and the chart on screen cannot disagree.
 */
import { GLOSSARY } from './glossary';
import { bestLayerByCv, bestLayerByTest } from './bestLayer';
import { finiteRange, groupMean, groups, nameList, pageOf, rangesText, shortName } from './bounded';
import type { CandidateData, ReportData, SelectionData, VerifyData } from './protocol';

// ---- trade-off --------------------------------------------------------------------------------

/** The y axis: cross-validated accuracy, or it divided by the unpruned model's final or best layer. */
export type TradeoffAxis = 'accuracy' | 'vsFinal' | 'vsBest';

export interface TradeoffOptions {
  /** One task, or null for the task-weighted mean. */
  task: string | null;
  axis: TradeoffAxis;
}

export interface TradeoffPoint {
  kept: number[];
  /** --compensate: bridges and widths in words. */
  compensation?: string;
  params: number;
  /** params ÷ the source model's parameters. */
  fraction: number;
  /** On the chosen axis (a fraction: 0.93 = 93 %). */
  y: number;
  /** Task-weighted test accuracy, for the subsets that were measured on test (null otherwise). */
  test: number | null;
  origin: string;
  /** Heuristics that chose this very subset. */
  heuristics: string[];
  /** The text written beside the marker: the heuristics of every subset drawn at this very spot ('' on all but the first). */
  label: string;
  pick: boolean;
}

export interface TradeoffSeries {
  xLabel: string;
  yLabel: string;
  /** Parameters of the source model (x = 1). */
  total: number;
  points: TradeoffPoint[];
  pick: TradeoffPoint | null;
  /** The fitted saturating curve on the same axes; null when the report has no fit. */
  curve: { fraction: number; y: number }[] | null;
  band: { fraction: number; lo: number; hi: number }[] | null;
  budget: number;
  /** Where the target retention lies on the y axis; null when the report lacks the reference. */
  target: number | null;
  targetRetention: number;
  /** What could not be drawn from this report, and why (one sentence each). */
  notes: string[];
}

/** Which toggles make sense for a report (an older report lacks per-task and reference data). */
export function tradeoffChoices(report: ReportData): { tasks: string[]; perTask: boolean; retention: boolean } {
  const s = report.selection;
  const tasks = Object.keys(report.tasks);
  const single = tasks.length === 1;
  const perTask = !!s?.candidates && (single || s.candidates.every((c) => c.perTask !== undefined));
  return { tasks, perTask, retention: perTask && !!s?.validationReference };
}

/** A candidate is its blocks and, with --compensate, its bridges and widths: two widths of the same blocks are two points. */
const subsetKey = (kept: readonly number[], compensation?: { description: string }) => `${kept.join(',')}|${compensation?.description ?? ''}`;

/** A candidate's cross-validated accuracy for one task, or the task-weighted one (task null). */
function candidateAccuracy(c: CandidateData, task: string | null, single: boolean): number | null {
  if (task === null || single) return c.validation;
  return c.perTask?.[task] ?? null;
}

/** Weights of the tasks a value is averaged over (one task: weight 1). */
function taskWeights(report: ReportData, task: string | null): [string, number][] {
  if (task !== null) return [[task, 1]];
  return Object.entries(report.tasks).map(([n, t]) => [n, t.weight]);
}

/** Maps per-task accuracies to the axis: retention is the weighted mean of per-task ratios. */
function onAxis(report: ReportData, opts: TradeoffOptions, perTask: (t: string) => number | null): number | null {
  const ws = taskWeights(report, opts.task);
  const ref = report.selection?.validationReference;
  let sum = 0;
  let W = 0;
  for (const [t, w] of ws) {
    const v = perTask(t);
    if (v === null) return null;
    let d = 1;
    if (opts.axis !== 'accuracy') {
      const r = ref?.[t];
      if (!r) return null;
      d = opts.axis === 'vsFinal' ? r.final : r.bestLayer;
      // A ratio over a reference of 0 is undefined (only a hand-edited report has one).
      if (!(d > 0)) return null;
    }
    sum += (w * v) / d;
    W += w;
  }
  return W > 0 ? sum / W : null;
}

function candidateY(report: ReportData, opts: TradeoffOptions, c: CandidateData): number | null {
  const single = Object.keys(report.tasks).length === 1;
  if (opts.axis === 'accuracy' && (opts.task === null || single)) return c.validation;
  return onAxis(report, opts, (t) => candidateAccuracy(c, t, single));
}

const AXIS_LABEL: Record<TradeoffAxis, string> = {
  accuracy: 'cross-validated accuracy (training rows)',
  vsFinal: 'retention vs the unpruned final layer (cross-validated)',
  vsBest: 'retention vs the unpruned best layer (cross-validated)',
};

/** The trade-off chart of an optimize report; null for reports without a selection. */
export function tradeoffSeries(report: ReportData, opts: TradeoffOptions): TradeoffSeries | null {
  const s = report.selection;
  if (!s) return null;
  const notes: string[] = [];
  if (!s.candidates) notes.push('This report lists no measured subsets (made before candidates were recorded); only the heuristics and the pick are drawn.');
  const { points, subsets } = measuredPoints(report, s, opts);
  if (points.length < subsets) notes.push(`${subsets - points.length} subset(s) lack per-task scores in this report and are not drawn on this axis.`);
  points.sort((a, b) => a.params - b.params || b.y - a.y);
  labelSharedSpots(points);
  const { curve, band } = fittedCurve(report, s, opts, notes);
  const target = targetLine(report, s, opts);
  if (target === null) notes.push('The target-retention line needs the unpruned model\'s cross-validated reference, which this report does not record.');
  return {
    xLabel: 'parameters kept (share of the source model)',
    yLabel: `${AXIS_LABEL[opts.axis]}${opts.task === null ? ', task-weighted' : `, ${opts.task}`}`,
    total: report.model.params.total,
    points,
    pick: points.find((p) => p.pick) ?? null,
    curve,
    band,
    budget: s.budget.fraction,
    target,
    targetRetention: s.targetRetention,
    notes,
  };
}

/** The names of the heuristics that chose each subset, by subsetKey. */
function heuristicsBySubset(s: SelectionData): Map<string, string[]> {
  const heuristicsOf = new Map<string, string[]>();
  for (const b of s.baselines) {
    // A compensated heuristic (replaceme-bridge, flap-uniform) is its own point, not the plain subset of the same blocks.
    const key = subsetKey(b.kept, b.compensation);
    heuristicsOf.set(key, [...(heuristicsOf.get(key) ?? []), b.name]);
  }
  return heuristicsOf;
}

/** The measured subsets; a report made before candidates were recorded has only its heuristics' and its pick. */
function candidatesOf(s: SelectionData): CandidateData[] {
  return (
    s.candidates ?? [
      ...s.baselines.map((b) => ({ kept: b.kept, params: b.params, fraction: b.fraction, origin: `baseline:${b.name}`, validation: b.validation, test: b.testObjective })),
      { kept: s.kept, params: s.params, fraction: s.fraction, origin: s.origin, validation: s.objective.validation, test: s.objective.test },
    ]
  );
}

/** One point per distinct subset scored on the axis (unsorted, unlabelled), and how many distinct subsets there were. */
function measuredPoints(report: ReportData, s: SelectionData, opts: TradeoffOptions): { points: TradeoffPoint[]; subsets: number } {
  const total = report.model.params.total;
  const heuristicsOf = heuristicsBySubset(s);
  const pickKey = subsetKey(s.kept, s.compensation);
  const points: TradeoffPoint[] = [];
  const seen = new Set<string>();
  for (const c of candidatesOf(s)) {
    const key = subsetKey(c.kept, c.compensation);
    if (seen.has(key)) continue;
    seen.add(key);
    const y = candidateY(report, opts, c);
    if (y === null) continue;
    const test = key === pickKey ? s.objective.test : c.test;
    points.push({ kept: c.kept, ...(c.compensation ? { compensation: c.compensation.description } : {}), params: c.params, fraction: c.params / total, y, test, origin: c.origin, heuristics: heuristicsOf.get(key) ?? [], label: '', pick: key === pickKey });
  }
  return { points, subsets: seen.size };
}

/** How a point is drawn: a measured subset, a heuristic's pick, and each again with compensation (bridges, narrowed widths). */
export type MarkerKind = 'subset' | 'heuristic' | 'compensated' | 'compensatedHeuristic';

export function markerOf(p: TradeoffPoint): MarkerKind {
  if (p.compensation) return p.heuristics.length ? 'compensatedHeuristic' : 'compensated';
  return p.heuristics.length ? 'heuristic' : 'subset';
}

/** The key of the chart's markers (drawn in the chart, the SVG and the editor's text). */
export const MARKER_KEY: Record<MarkerKind, { glyph: string; text: string }> = {
  subset: { glyph: '●', text: 'measured subset' },
  heuristic: { glyph: '□', text: 'heuristic' },
  compensated: { glyph: '▲', text: 'compensated subset' },
  compensatedHeuristic: { glyph: '△', text: 'compensated heuristic' },
};

/** The marker kinds a chart shows, in key order. */
export function markerKinds(list: TradeoffSeries[]): MarkerKind[] {
  const present = new Set(list.flatMap((s) => s.points.map(markerOf)));
  return (Object.keys(MARKER_KEY) as MarkerKind[]).filter((k) => present.has(k));
}

/** A compensation's description split into what it bridges and what it narrows (either may be absent). */
export function compensationParts(description: string): { bridges: string | null; widths: string | null } {
  const parts = description.split('; ');
  return { bridges: parts.find((x) => /bridge/.test(x)) ?? null, widths: parts.find((x) => /heads|neurons/.test(x)) ?? null };
}

/** Subsets of the same size and score sit on one spot: their heuristic names go into one label. */
function labelSharedSpots(points: TradeoffPoint[]): void {
  const bySpot = new Map<string, TradeoffPoint[]>();
  for (const p of points) {
    const spot = `${p.params}|${p.y.toFixed(9)}`;
    bySpot.set(spot, [...(bySpot.get(spot) ?? []), p]);
  }
  for (const group of bySpot.values()) group[0].label = nameList(group.flatMap((p) => p.heuristics));
}

// ---- label placement --------------------------------------------------------------------------

/** A box on the drawing, in its pixels (y down). */
export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** A label to write beside a marker at (x, y): its text and size in pixels. */
export interface LabelRequest {
  x: number;
  y: number;
  text: string;
  width: number;
  height: number;
  /** Distance from the marker's centre to the label (its radius and a little); default 6. */
  gap?: number;
}

/** Where a label goes: the text's left end and baseline, and the box it covers. */
export interface PlacedLabel {
  index: number;
  x: number;
  baseline: number;
  box: Box;
}

/** Where a label may sit around its marker, in order of preference: right below, right above, left below, left above, then one line further out in the same order. */
const LABEL_SPOTS: { side: 1 | -1; below: boolean; row: number }[] = [0, 1].flatMap((row) => [
  { side: 1 as const, below: true, row },
  { side: 1 as const, below: false, row },
  { side: -1 as const, below: true, row },
  { side: -1 as const, below: false, row },
]);

const overlaps = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const inside = (a: Box, b: Box) => a.left >= b.left && a.right <= b.right && a.top >= b.top && a.bottom <= b.bottom;

/**
 * Greedy label placement: each label in turn (the first ones win: give the pick first) takes the
 * first spot around its marker (LABEL_SPOTS) that stays within `bounds` and overlaps neither a
 * label already placed nor an `obstacle` (the marker key); a label with no such spot is dropped,
 * and the caller lists it elsewhere (the chart's key, the tooltip). `keep` labels are never
 * dropped: with no free spot they take their first spot anyway (the pick's "ProbeScale").
 */
export function placeLabels(requests: LabelRequest[], bounds: Box, obstacles: Box[] = [], keep: (index: number) => boolean = () => false): { placed: PlacedLabel[]; dropped: number[] } {
  const placed: PlacedLabel[] = [];
  const dropped: number[] = [];
  const taken = [...obstacles];
  requests.forEach((r, index) => {
    const gap = r.gap ?? 6;
    const at = (spot: (typeof LABEL_SPOTS)[number]): PlacedLabel => {
      const left = spot.side > 0 ? r.x + gap : r.x - gap - r.width;
      const shift = spot.row * (r.height + 2);
      const top = spot.below ? r.y + gap / 2 + shift : r.y - gap / 2 - r.height - shift;
      // The baseline sits a fifth of the height above the box's bottom (descenders).
      return { index, x: left, baseline: top + 0.8 * r.height, box: { left, top, right: left + r.width, bottom: top + r.height } };
    };
    const free = LABEL_SPOTS.map(at).find((p) => inside(p.box, bounds) && !taken.some((t) => overlaps(p.box, t)));
    const chosen = free ?? (keep(index) ? at(LABEL_SPOTS[0]) : undefined);
    if (!chosen) {
      dropped.push(index);
      return;
    }
    placed.push(chosen);
    taken.push(chosen.box);
  });
  return { placed, dropped };
}

/** At most this many unlabelled names are listed under a chart's key; the rest are counted. */
export const MAX_KEY_NAMES = 8;

/** The lines under a chart's key for labels that did not fit beside their markers. */
export function unlabelledLines(texts: string[]): string[] {
  if (texts.length === 0) return [];
  const shown = texts.slice(0, MAX_KEY_NAMES).map((t) => (t.length > 26 ? `${t.slice(0, 25)}…` : t));
  const more = texts.length - shown.length;
  return ['not labelled (too close):', ...shown, ...(more > 0 ? [`and ${more} more (hover the points)`] : [])];
}

/** The fitted curve (and band) on the chart's axes: per task as fitted, task-weighted as their weighted sum. */
function fittedCurve(report: ReportData, s: SelectionData, opts: TradeoffOptions, notes: string[]): Pick<TradeoffSeries, 'curve' | 'band'> {
  const ws = taskWeights(report, opts.task);
  const advice = ws.map(([t]) => s.budgetAdvice.perTask[t]);
  if (advice.some((a) => !a?.fit)) {
    notes.push('This report records no fitted curve.');
    return { curve: null, band: null };
  }
  const total = report.model.params.total;
  // No blocks kept: embeddings and the rest, the smallest model a subset can make.
  const nMin = total - report.model.params.perBlock.reduce((a, b) => a + b, 0);
  const grid = advice[0]?.band?.n ?? Array.from({ length: 25 }, (_, i) => nMin + ((total - nMin) * i) / 24);
  const at = (n: number, t: string) => {
    const f = s.budgetAdvice.perTask[t].fit!;
    return f.pInf - f.a * Math.pow(n, -f.alpha);
  };
  // A grid point where the fit gives no number (n ≤ 0 in a hand-edited report) is left out, not drawn as NaN.
  const curve = grid.flatMap((n) => {
    const y = onAxis(report, opts, (t) => at(n, t));
    return y === null || !Number.isFinite(y) ? [] : [{ fraction: n / total, y }];
  });
  const sameGrid = advice.every((a) => a.band && a.band.n.length === grid.length && a.band.n.every((n, i) => n === grid[i]));
  if (!sameGrid) {
    notes.push('This report records no bootstrap band for the fitted curve (made before bands were recorded).');
    return { curve, band: null };
  }
  if (ws.length > 1) notes.push('The task-weighted band is the weighted sum of the per-task 5–95 % bands, so it is wider than a joint band would be.');
  const band = grid.flatMap((n, i) => {
    const lo = onAxis(report, opts, (t) => s.budgetAdvice.perTask[t].band!.lo[i]);
    const hi = onAxis(report, opts, (t) => s.budgetAdvice.perTask[t].band!.hi[i]);
    return lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi) ? [] : [{ fraction: n / total, lo, hi }];
  });
  return { curve, band };
}

/** Target retention is defined against the final layer: on each axis it is target × final ÷ the axis's reference. */
function targetLine(report: ReportData, s: SelectionData, opts: TradeoffOptions): number | null {
  if (opts.axis === 'vsFinal') return s.targetRetention;
  const ref = s.validationReference;
  if (!ref) return null;
  return onAxis(report, opts, (t) => (ref[t] ? s.targetRetention * ref[t].final : null));
}

// ---- heatmap ----------------------------------------------------------------------------------

export type HeatMetric = 'accuracy' | 'selectivity' | 'blockInfluence' | 'angularDistance';

export const HEAT_METRICS: { id: HeatMetric; label: string; explain: string }[] = [
  { id: 'accuracy', label: 'accuracy', explain: 'Test accuracy of a linear probe on each hidden state (layer 0 = the embedding output).' },
  { id: 'selectivity', label: 'selectivity', explain: `Selectivity: ${GLOSSARY.selectivity.text}` },
  { id: 'blockInfluence', label: 'Block Influence', explain: 'How much each block changes its input (1 − cosine similarity of the hidden states before and after it), over the training rows of all tasks.' },
  { id: 'angularDistance', label: 'angular distance', explain: 'Angular distance between the hidden states before and after each block (Gromov et al.), over the training rows of all tasks.' },
];

export interface Heatmap {
  metric: HeatMetric;
  /** `layer` columns are hidden states 0..L; `block` columns are blocks 0..L−1. */
  columnKind: 'layer' | 'block';
  columns: number[];
  /** `best`: column of the best layer (cross-validated), `bestTest`: of the highest test accuracy; probe-score rows only. */
  rows: { name: string; values: (number | null)[]; best?: number | null; bestTest?: number | null }[];
  /** Per column: is the block (or the block producing this hidden state) kept by the selection? null without a selection. */
  kept: boolean[] | null;
  min: number;
  max: number;
  /** Values are shown in percent (accuracy, selectivity) or as plain numbers. */
  percent: boolean;
  /** Column headers where heatmapPage grouped the columns (`L0–9`); absent: `L<column>` / `B<column>`. */
  labels?: string[];
}

export function heatmap(report: ReportData, metric: HeatMetric): Heatmap | null {
  const L = report.model.numLayers;
  const keptSet = report.selection ? new Set(report.selection.kept) : null;
  let rows: Heatmap['rows'];
  let columnKind: Heatmap['columnKind'];
  if (metric === 'accuracy' || metric === 'selectivity') {
    columnKind = 'layer';
    rows = Object.entries(report.tasks)
      .filter(([, t]) => t.layers.length > 0)
      .map(([name, t]) => {
        const byLayer = new Map(t.layers.map((l) => [l.layer, metric === 'accuracy' ? l.accuracy : l.selectivity]));
        return { name, values: Array.from({ length: L + 1 }, (_, l) => byLayer.get(l) ?? null), best: bestLayerByCv(t.layers), bestTest: bestLayerByTest(t.layers) };
      });
  } else {
    columnKind = 'block';
    const sig = report.signals;
    const values = metric === 'blockInfluence' ? sig?.blockInfluence : sig?.angularDistance.map((row) => row[1]).slice(0, L);
    rows = values && values.length === L ? [{ name: 'all tasks (training rows)', values }] : [];
  }
  if (rows.length === 0) return null;
  const columns = Array.from({ length: columnKind === 'layer' ? L + 1 : L }, (_, i) => i);
  const kept = keptSet ? columns.map((c) => (columnKind === 'block' ? keptSet.has(c) : c === 0 || keptSet.has(c - 1))) : null;
  // No spread over the values: 500 tasks × 10,001 layers overflow the call stack.
  const range = finiteRange(rows.flatMap((r) => r.values)) ?? { min: 0, max: 0 };
  return { metric, columnKind, columns, rows, kept, ...range, percent: metric === 'accuracy' || metric === 'selectivity' };
}

/** The report editor's heatmap has at most this many columns; more are grouped. */
export const HEAT_COLUMNS = 48;

/**
 * What the report editor draws of `h`: page `page` of its rows (ROWS_PER_PAGE tasks) and its
 * columns in at most HEAT_COLUMNS groups of neighbours, each cell the mean of its group, framed
 * where the group holds the row's best layer, marked kept where every column of it is kept.
 * Shading keeps `h`'s range, so pages compare. `rows` is the page; `width` the columns per group.
 */
export function heatmapPage(h: Heatmap, page: number): { view: Heatmap; rows: ReturnType<typeof pageOf> & { count: number }; width: number } {
  const p = pageOf(h.rows.length, page);
  const runs = groups(h.columns.length, HEAT_COLUMNS);
  const width = runs[0] ? runs[0].end - runs[0].first : 1;
  const prefix = h.columnKind === 'layer' ? 'L' : 'B';
  const groupOf = (column: number | null | undefined) => (column === null || column === undefined ? column : h.columns[runs.findIndex((g) => column >= h.columns[g.first] && column <= h.columns[g.end - 1])] ?? null);
  const rows = h.rows.slice(p.first, p.end).map((r) =>
    width === 1 ? r : { name: r.name, values: runs.map((g) => groupMean(r.values, g.first, g.end)), best: groupOf(r.best), bestTest: groupOf(r.bestTest) },
  );
  if (width === 1) return { view: { ...h, rows }, rows: { ...p, count: h.rows.length }, width };
  const view: Heatmap = {
    ...h,
    rows,
    columns: runs.map((g) => h.columns[g.first]),
    kept: h.kept ? runs.map((g) => h.kept!.slice(g.first, g.end).every(Boolean)) : null,
    labels: runs.map((g) => (g.end - g.first === 1 ? `${prefix}${h.columns[g.first]}` : `${prefix}${h.columns[g.first]}–${h.columns[g.end - 1]}`)),
  };
  return { view, rows: { ...p, count: h.rows.length }, width };
}

// ---- latency ----------------------------------------------------------------------------------

export interface LatencyRow {
  batch: number;
  originalMs: number;
  prunedMs: number;
  speedup: number;
  /** null: no block kept, no FLOP ideal (GLOSSARY.noIdeal). */
  ideal: number | null;
}

export function latencyRows(report: ReportData): LatencyRow[] | null {
  const t = report.verify?.timing;
  if (!t) return null;
  return [
    { batch: 1, ...t.batch1, ideal: t.idealSpeedup },
    { batch: 32, ...t.batch32, ideal: t.idealSpeedup },
  ];
}

/** The ideal as the views and the card print it: `×4.85`, or `none (no block kept)`. */
export function idealText(ideal: number | null): string {
  return ideal === null ? 'none (no block kept)' : times(ideal);
}

/** What the ideal assumes and, where a measurement departs from it, the usual reasons (side view and editor alike). */
export function latencyExplanation(t: VerifyData['timing']): string {
  if (t.idealSpeedup === null) return `No ideal: ${GLOSSARY.noIdeal.text} Medians of alternating runs on ${t.provider || 'the default provider'}.`;
  const ideal = t.idealSpeedup;
  const base = `The ideal ${times(ideal)} is the ratio of floating-point operations per token of the original to the pruned encoder at ${t.seqLen} tokens (dense layers plus attention); it assumes run time follows operation count and ignores fixed per-call costs.`;
  const over = [t.batch1, t.batch32].some((b) => b.speedup > ideal * 1.05);
  const under = [t.batch1, t.batch32].some((b) => b.speedup < ideal * 0.8);
  const extra = over
    ? ' A measurement above it is real but not from arithmetic alone: the smaller model\'s weights and activations stay in cache while the original\'s do not, and the original pays more memory traffic per token.'
    : under
      ? ' A measurement below it comes from costs that do not shrink with the blocks: embedding lookups, graph launch and threading overhead, which dominate when few blocks remain.'
      : '';
  return `${base}${extra} Medians of alternating runs on ${t.provider || 'the default provider'}.`;
}

// ---- formatting and tables --------------------------------------------------------------------

export function pctText(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(digits)} %`;
}

export function times(x: number): string {
  return Number.isFinite(x) ? `×${x >= 10 ? x.toFixed(1) : x.toFixed(2)}` : '–';
}

export function blocksText(kept: readonly number[]): string {
  if (kept.length === 0) return 'none (embeddings only)';
  // Every block by number up to a model of ordinary depth; beyond, ranges (bounded).
  return kept.length <= 64 ? kept.join(', ') : rangesText(kept);
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

export function tradeoffRows(series: TradeoffSeries): string[][] {
  return series.points.map((p) => [
    `${blocksText(p.kept)}${p.compensation ? ` + ${p.compensation}` : ''}`,
    p.params.toLocaleString('en-US'),
    pctText(p.fraction),
    pctText(p.y),
    pctText(p.test),
    pointOrigin(p, 'ProbeScale pick'),
  ]);
}

/** Who made or matches a point: the pick, the heuristics at it (NAMES_LISTED named, then counted), its origin. */
export function pointOrigin(p: TradeoffPoint, pick: string): string {
  return [p.pick ? pick : '', p.heuristics.length ? nameList(p.heuristics, '; ') : '', p.origin].filter(Boolean).join('; ');
}

export const TRADEOFF_HEAD = ['kept blocks', 'parameters', 'share', 'y', 'test (task-weighted)', 'origin'];

export function tradeoffMarkdown(series: TradeoffSeries): string {
  return markdownTable(TRADEOFF_HEAD.map((h) => (h === 'y' ? series.yLabel : h)), tradeoffRows(series));
}

/** Column `j`'s header: `L3` / `B3`, or its group's (`L0–9`, heatmapPage). */
function columnLabel(h: Heatmap, j: number): string {
  return h.labels?.[j] ?? `${h.columnKind === 'layer' ? 'L' : 'B'}${h.columns[j]}`;
}

/** The heatmap as a table: a header (columns marked * where kept) and one row per task or signal. */
export function heatmapTable(h: Heatmap): { head: string[]; rows: string[][] } {
  const head = [h.metric === 'blockInfluence' || h.metric === 'angularDistance' ? 'signal' : 'task', ...h.columns.map((_c, j) => `${columnLabel(h, j)}${h.kept?.[j] ? '*' : ''}`)];
  const fmt = (v: number | null) => (v === null ? '–' : h.percent ? (100 * v).toFixed(1) : v.toFixed(3));
  // ◆ best layer (cross-validated), ▲ highest on test where that is another layer.
  const mark = (r: Heatmap['rows'][number], j: number) => (h.columns[j] === r.best ? ' ◆' : '') + (h.columns[j] === r.bestTest && r.bestTest !== r.best ? ' ▲' : '');
  return { head, rows: h.rows.map((r) => [shortName(r.name), ...r.values.map((v, j) => fmt(v) + mark(r, j))]) };
}

export function heatmapMarkdown(h: Heatmap): string {
  const t = heatmapTable(h);
  return markdownTable(t.head, t.rows);
}

export const LATENCY_HEAD = ['batch', 'original ms', 'pruned ms', 'measured speed-up', 'ideal (FLOPs)'];

export function latencyTable(rows: LatencyRow[]): string[][] {
  return rows.map((r) => [String(r.batch), r.originalMs.toFixed(2), r.prunedMs.toFixed(2), times(r.speedup), idealText(r.ideal)]);
}

export function latencyMarkdown(rows: LatencyRow[]): string {
  return markdownTable(LATENCY_HEAD, latencyTable(rows));
}

// ---- SVG --------------------------------------------------------------------------------------

/** Colours and font of an SVG figure (the webview reads them from the VS Code theme). */
export interface SvgTheme {
  background: string;
  foreground: string;
  grid: string;
  series: string[];
  font: string;
}

export const LIGHT_SVG_THEME: SvgTheme = { background: '#ffffff', foreground: '#333333', grid: '#d0d0d0', series: ['#1a85ff', '#d18616', '#388a34', '#652d90', '#e51400', '#b89500'], font: 'sans-serif' };

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Nice round axis ticks covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** An axis tick in percent with as many decimals as it needs: 0.575 → "57.5 %", 0.6 → "60 %". */
export function percentTick(v: number): string {
  return `${Number((100 * v).toFixed(2))} %`;
}

/**
 * The y range a trade-off chart shows: the measured points and the target line with 5 % padding
 * (never a fixed 0–100 %). The band is drawn clipped to it: a bootstrap of the fit far from the
 * measured sizes can reach below 0 %, which would flatten every point into one line.
 */
export function tradeoffRange(list: TradeoffSeries[]): { y: [number, number]; x: [number, number] } {
  const ys = list.flatMap((s) => [...s.points.map((p) => p.y), ...(s.target === null ? [] : [s.target])]).filter(Number.isFinite);
  // No point on this axis (a hand-edited report): an empty 0–100 % chart rather than infinite axes.
  const lo = ys.length ? Math.min(...ys) : 0;
  const hi = ys.length ? Math.max(...ys) : 1;
  const pad = (hi - lo || 0.01) * 0.05;
  const xs = list.flatMap((s) => [...s.points.map((p) => p.fraction), s.budget]).filter(Number.isFinite);
  return { y: [lo - pad, hi + pad], x: [Math.max(0, Math.min(...xs, 1) - 0.03), Math.min(1, Math.max(...xs, 0) + 0.03)] };
}

/**
 * The trade-off chart as SVG: one series per entry (overlaid when comparing reports), points,
 * heuristics labelled, the pick as a larger ringed point, curve, band, budget and target lines.
 */
export function tradeoffSvg(list: { name: string; series: TradeoffSeries }[], theme: SvgTheme = LIGHT_SVG_THEME, size = { width: 720, height: 420 }): string {
  const { width, height } = size;
  const frame = tradeoffFrame(list.map((l) => l.series), size);
  const { parts: lines, taken } = tradeoffLines(frame, list, theme);
  const out = [
    `<rect width="${width}" height="${height}" fill="${theme.background}"/>`,
    `<g font-family="${escapeXml(theme.font)}" font-size="11" fill="${theme.foreground}">`,
    ...tradeoffAxes(frame, list[0]?.series, theme),
    ...tradeoffCurves(frame, list, theme),
    ...lines,
    ...tradeoffLabels(frame, list, taken, theme),
    '</g></g>',
  ];
  const title = `Trade-off: ${list.map((l) => l.name).join(' vs ')}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}"><title>${escapeXml(title)}</title>${out.join('')}</svg>\n`;
}

/** A number as the SVGs write coordinates: one decimal. */
const f1 = (v: number) => v.toFixed(1);

/** Takes a position, the words and extra attributes; returns an SVG `<text>` element. */
function svgText(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${f1(x)}" y="${f1(y)}" ${attrs}>${escapeXml(s)}</text>`;
}

/** Where a trade-off chart draws: its size, margins, ranges and the maps from a fraction (X) and a score (Y) to pixels. */
interface TradeoffFrame {
  width: number;
  height: number;
  m: { left: number; right: number; top: number; bottom: number };
  range: ReturnType<typeof tradeoffRange>;
  X: (f: number) => number;
  Y: (v: number) => number;
}

/** Takes the series and the chart's size; returns its frame (margins, ranges, pixel maps). */
function tradeoffFrame(series: TradeoffSeries[], { width, height }: { width: number; height: number }): TradeoffFrame {
  const m = { left: 64, right: 150, top: 28, bottom: 48 };
  const range = tradeoffRange(series);
  const X = (f: number) => m.left + ((f - range.x[0]) / (range.x[1] - range.x[0])) * (width - m.left - m.right);
  const Y = (v: number) => height - m.bottom - ((v - range.y[0]) / (range.y[1] - range.y[0])) * (height - m.top - m.bottom);
  return { width, height, m, range, X, Y };
}

/** Takes the frame and the first series (for the axis titles); returns the grid lines, tick labels and axis titles. */
function tradeoffAxes({ width, height, m, range, X, Y }: TradeoffFrame, first: TradeoffSeries | undefined, theme: SvgTheme): string[] {
  const out: string[] = [];
  for (const t of ticks(range.y[0], range.y[1])) {
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${f1(Y(t))}" y2="${f1(Y(t))}" stroke="${theme.grid}" stroke-width="0.5"/>`);
    out.push(svgText(m.left - 6, Y(t) + 4, percentTick(t), 'text-anchor="end"'));
  }
  for (const t of ticks(range.x[0], range.x[1])) {
    out.push(`<line y1="${m.top}" y2="${height - m.bottom}" x1="${f1(X(t))}" x2="${f1(X(t))}" stroke="${theme.grid}" stroke-width="0.5"/>`);
    out.push(svgText(X(t), height - m.bottom + 16, percentTick(t), 'text-anchor="middle"'));
  }
  if (first) {
    out.push(svgText((m.left + width - m.right) / 2, height - 8, first.xLabel, 'text-anchor="middle"'));
    out.push(svgText(12, (m.top + height - m.bottom) / 2, first.yLabel, `text-anchor="middle" transform="rotate(-90 12 ${f1((m.top + height - m.bottom) / 2)})"`));
  }
  return out;
}

/** Takes the frame and the series; returns each one's band and fitted curve, clipped to the plot area. */
function tradeoffCurves({ width, height, m, X, Y }: TradeoffFrame, list: { series: TradeoffSeries }[], theme: SvgTheme): string[] {
  // Curves and lines are clipped to the plot area (the fitted curve runs from the smallest model to the source).
  const out = [`<clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}"/></clipPath><g clip-path="url(#plot)">`];
  list.forEach(({ series }, i) => {
    const c = theme.series[i % theme.series.length];
    if (series.band && series.band.length > 1) {
      const upper = series.band.map((b) => `${f1(X(b.fraction))},${f1(Y(b.hi))}`);
      const lower = [...series.band].reverse().map((b) => `${f1(X(b.fraction))},${f1(Y(b.lo))}`);
      out.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${c}" fill-opacity="0.15" stroke="none"/>`);
    }
    if (series.curve && series.curve.length > 1) out.push(`<polyline points="${series.curve.map((p) => `${f1(X(p.fraction))},${f1(Y(p.y))}`).join(' ')}" fill="none" stroke="${c}" stroke-width="1.5"/>`);
  });
  out.push('</g>');
  return out;
}

/** Takes the frame and the series; returns their budget and target lines and points, and the boxes labels must not cover. */
function tradeoffLines({ width, height, m, X, Y }: TradeoffFrame, list: { name: string; series: TradeoffSeries }[], theme: SvgTheme): { parts: string[]; taken: Box[] } {
  const out: string[] = [];
  // What labels must not cover: the budget lines' words, then the key right of the plot.
  const taken: Box[] = [{ left: width - m.right + 4, top: m.top + 28, right: width, bottom: height }];
  list.forEach(({ name, series }, i) => {
    const c = theme.series[i % theme.series.length];
    out.push(`<line x1="${f1(X(series.budget))}" x2="${f1(X(series.budget))}" y1="${m.top}" y2="${height - m.bottom}" stroke="${c}" stroke-dasharray="6 4"/>`);
    const budgetText = `budget ${(100 * series.budget).toFixed(0)} %${list.length > 1 ? ` (${name})` : ''}`;
    out.push(svgText(X(series.budget) + 3, m.top + 10 + 12 * i, budgetText));
    taken.push({ left: X(series.budget) + 3, top: m.top + 1 + 12 * i, right: X(series.budget) + 3 + budgetText.length * 6.6, bottom: m.top + 13 + 12 * i });
    if (series.target !== null) {
      out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${f1(Y(series.target))}" y2="${f1(Y(series.target))}" stroke="${c}" stroke-dasharray="2 3"/>`);
      out.push(svgText(width - m.right - 2, Y(series.target) - 3, `target ${(100 * series.targetRetention).toFixed(0)} % of final`, 'text-anchor="end"'));
    }
    for (const p of series.points) {
      out.push(svgMarker(markerOf(p), X(p.fraction), Y(p.y), c));
      if (p.pick) out.push(`<circle cx="${f1(X(p.fraction))}" cy="${f1(Y(p.y))}" r="7" fill="none" stroke="${c}" stroke-width="2.5"/>`);
    }
  });
  return { parts: out, taken };
}

/** Takes the frame, the series and the boxes already taken; returns the point labels that fit, the marker key and the names left unlabelled. */
function tradeoffLabels({ width, height, m, X, Y }: TradeoffFrame, list: { name: string; series: TradeoffSeries }[], taken: Box[], theme: SvgTheme): string[] {
  // Labels last, placed so that none overlaps another (close heuristics would): the picks first, then the heuristics.
  const picks = list.flatMap(({ name, series }) => series.points.filter((p) => p.pick).map((p) => ({ p, text: `ProbeScale${list.length > 1 ? ` (${name})` : ''}`, size: 11, bold: true })));
  const named = list.flatMap(({ series }) => series.points.filter((p) => p.label).map((p) => ({ p, text: p.label, size: 9, bold: false })));
  const wanted = [...picks, ...named];
  // Text width estimated from its length: the SVG has no text metrics.
  const requests = wanted.map((w) => ({ x: X(w.p.fraction), y: Y(w.p.y), text: w.text, width: w.text.length * w.size * (w.bold ? 0.65 : 0.6), height: w.size, gap: w.bold ? 9 : 6 }));
  const key = markerKinds(list.map((l) => l.series));
  const { placed, dropped } = placeLabels(requests, { left: m.left, top: m.top, right: width, bottom: height - m.bottom }, taken, (i) => i < picks.length);
  const out = ['<g class="labels">'];
  for (const l of placed) out.push(svgText(l.x, l.baseline, wanted[l.index].text, wanted[l.index].bold ? 'font-weight="bold"' : 'font-size="9"'));
  out.push('</g><g class="key">');
  key.forEach((k, i) => {
    const y = m.top + 40 + 14 * i;
    out.push(svgMarker(k, width - m.right + 12, y - 4, theme.foreground));
    out.push(svgText(width - m.right + 20, y, MARKER_KEY[k].text, 'font-size="10"'));
  });
  unlabelledLines(dropped.map((i) => wanted[i].text)).forEach((line, i) => out.push(svgText(width - m.right + 6, m.top + 48 + 14 * key.length + 12 * i, line, `font-size="9"${i === 0 ? '' : ' class="unlabelled"'}`)));
  return out;
}

function svgMarker(kind: MarkerKind, x: number, y: number, color: string): string {
  const tri = `${f1(x)},${f1(y - 5)} ${f1(x + 5)},${f1(y + 4)} ${f1(x - 5)},${f1(y + 4)}`;
  switch (kind) {
    case 'subset':
      return `<circle cx="${f1(x)}" cy="${f1(y)}" r="3" fill="${color}" fill-opacity="0.7"/>`;
    case 'heuristic':
      return `<rect x="${f1(x - 4)}" y="${f1(y - 4)}" width="8" height="8" fill="none" stroke="${color}" stroke-width="1.5"/>`;
    case 'compensated':
      return `<polygon points="${tri}" fill="${color}" fill-opacity="0.7"/>`;
    case 'compensatedHeuristic':
      return `<polygon points="${tri}" fill="none" stroke="${color}" stroke-width="1.5"/>`;
  }
}

/** The heatmap as SVG: cells shaded from min to max in the first series colour; kept columns marked with a bar. */
export function heatmapSvg(h: Heatmap, theme: SvgTheme = LIGHT_SVG_THEME): string {
  const cell = 34;
  const labelW = 150;
  const top = 34;
  // Wide enough for the caption under a few columns.
  const width = Math.max(labelW + h.columns.length * cell + 10, 560);
  const height = top + h.rows.length * 24 + 30;
  const fmt = (v: number) => (h.percent ? (100 * v).toFixed(1) : v.toFixed(2));
  const out: string[] = [`<rect width="${width}" height="${height}" fill="${theme.background}"/>`, `<g font-family="${escapeXml(theme.font)}" font-size="10" fill="${theme.foreground}">`];
  h.columns.forEach((_c, j) => {
    const x = labelW + j * cell;
    out.push(`<text x="${x + cell / 2}" y="${top - 8}" text-anchor="middle"${h.labels ? ' font-size="7"' : ''}>${escapeXml(columnLabel(h, j))}</text>`);
    if (h.kept?.[j]) out.push(`<rect x="${x + 2}" y="${top - 4}" width="${cell - 4}" height="3" fill="${theme.series[1]}"/>`);
  });
  h.rows.forEach((r, i) => {
    const y = top + i * 24;
    out.push(`<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${escapeXml(shortName(r.name))}</text>`);
    r.values.forEach((v, j) => {
      const x = labelW + j * cell;
      const share = v === null || h.max === h.min ? 0 : (v - h.min) / (h.max - h.min);
      out.push(`<rect x="${x + 1}" y="${y + 1}" width="${cell - 2}" height="22" fill="${theme.series[0]}" fill-opacity="${v === null ? 0 : (0.08 + 0.85 * share).toFixed(2)}" stroke="${theme.grid}" stroke-width="0.5"/>`);
      if (v !== null) out.push(`<text x="${x + cell / 2}" y="${y + 15}" text-anchor="middle">${fmt(v)}</text>`);
      if (h.columns[j] === r.best) out.push(`<rect x="${x + 2}" y="${y + 2}" width="${cell - 4}" height="20" fill="none" stroke="${theme.foreground}" stroke-width="2"/>`);
      else if (h.columns[j] === r.bestTest) out.push(`<rect x="${x + 2}" y="${y + 2}" width="${cell - 4}" height="20" fill="none" stroke="${theme.foreground}" stroke-width="1" stroke-dasharray="3 2"/>`);
    });
  });
  const label = HEAT_METRICS.find((m) => m.id === h.metric)!.label;
  const framed = h.rows.some((r) => r.best !== undefined) ? 'framed = best layer (cross-validated), dashed = highest on test; ' : '';
  out.push(`<text x="${labelW}" y="${height - 8}">${escapeXml(`${label}; ${framed}${h.kept ? 'bar above a column = kept; ' : ''}darker = higher`)}</text>`, '</g>');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(`Heatmap of ${label}`)}"><title>${escapeXml(`Heatmap of ${label}`)}</title>${out.join('')}</svg>\n`;
}

/** Latency as grouped bars per batch size: original, pruned and the ideal pruned time (original ÷ ideal). */
export function latencySvg(rows: LatencyRow[], theme: SvgTheme = LIGHT_SVG_THEME): string {
  const width = 520;
  const height = 60 + rows.length * 78;
  const left = 120;
  const barMax = width - left - 90;
  const out: string[] = [`<rect width="${width}" height="${height}" fill="${theme.background}"/>`, `<g font-family="${escapeXml(theme.font)}" font-size="11" fill="${theme.foreground}">`];
  rows.forEach((r, i) => {
    const y0 = 20 + i * 78;
    const scale = barMax / r.originalMs;
    const bars: [string, number, string][] = [
      ['original', r.originalMs, theme.series[0]],
      ['pruned', r.prunedMs, theme.series[1]],
      ...(r.ideal === null ? [] : [['ideal pruned', r.originalMs / r.ideal, theme.series[2]] as [string, number, string]]),
    ];
    out.push(`<text x="4" y="${y0 + 12}" font-weight="bold">batch ${r.batch}</text>`);
    bars.forEach(([name, ms, c], k) => {
      const y = y0 + 18 + k * 18;
      // A pruned run slower than the original draws past the original's bar, up to the chart's edge.
      const w = Math.min(barMax + 20, Math.max(1, ms * scale));
      out.push(`<text x="${left - 6}" y="${y + 11}" text-anchor="end">${name}</text>`);
      out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="14" fill="${c}"/>`);
      out.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + 11}">${ms.toFixed(ms < 10 ? 2 : 1)} ms</text>`);
    });
  });
  out.push(`<text x="4" y="${height - 8}">${escapeXml(`measured speed-up ${rows.map((r) => `${times(r.speedup)} at batch ${r.batch}`).join(', ')}; ideal ${rows.length ? idealText(rows[0].ideal) : '–'}`)}</text>`, '</g>');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Latency, original vs pruned"><title>Latency, original vs pruned</title>${out.join('')}</svg>\n`;
}

/** Two reports can be overlaid when they come from the same source model (same architecture and size). */
export function sameSource(a: ReportData, b: ReportData): boolean {
  return a.model.architecture === b.model.architecture && a.model.params.total === b.model.params.total && a.model.numLayers === b.model.numLayers;
}

/** A short name for a report in a comparison: its budget, tasks and vocabulary trimming. */
export function reportLabel(r: ReportData): string {
  const s = r.selection;
  const tasks = nameList(Object.keys(r.tasks), '+');
  if (!s) return `${r.kind} ${tasks}`;
  return `${(100 * s.budget.fraction).toFixed(0)} % ${tasks}${s.vocabTrim ? ' vocab-trim' : ''}`;
}

// ---- export names -----------------------------------------------------------------------------

/** The export names the host writes: letters, digits, ".", "-" and "_", not starting with ".", at most 120 characters, ending in `.ext`. */
export function isExportName(name: string, ext: 'png' | 'svg' | 'md'): boolean {
  return /^[\w.-]{1,120}$/.test(name) && !name.startsWith('.') && name.endsWith(`.${ext}`);
}

/**
 * An export's file name: `<model folder>-<kind>[-<budget %>]-<chart>.<ext>`, made an export name
 * (see isExportName): other characters become "_", leading dots go, and the front is cut so
 * that `-<chart>.<ext>` stays.
 */
export function exportFileName(report: ReportData, chart: string, ext: 'png' | 'svg' | 'md'): string {
  const model = report.model.dir.split(/[\\/]/).filter(Boolean).pop() || 'model';
  const clean = (s: string) => s.replace(/[^\w.-]+/g, '_');
  const head = clean(`${model}-${report.kind}${report.selection ? `-${(100 * report.selection.budget.fraction).toFixed(0)}` : ''}`).replace(/^\.+/, '');
  const tail = `-${clean(chart)}.${ext}`;
  return `${(head || 'model').slice(0, 120 - tail.length)}${tail}`;
}
