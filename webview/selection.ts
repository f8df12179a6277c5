/**
 * Which blocks to keep: the presets of the prune form and the size of the result. Pure
 * functions over report data (no DOM), so a later "optimize" source can feed the same form.
 */
import { bestPrefix as prefixReaching } from '../src/shared/params';
import { CHART_TASKS, groupMean, groups, pageOf, rangesText } from '../src/shared/bounded';
import { toBlockRanges, type FromWebview, type Params, type ReportData } from '../src/shared/protocol';

export function allBlocks(report: ReportData): number[] {
  return Array.from({ length: report.model.numLayers }, (_, i) => i);
}

/** The `selection` message for blocks `kept` of `report`: ranges, so "All" of any model is one pair. */
export function selectionMessage(report: ReportData, kept: readonly number[]): Extract<FromWebview, { type: 'selection' }> {
  return { type: 'selection', modelDir: report.model.dir, kept: toBlockRanges(kept) };
}

/** The `prune/commit` parameters for blocks `kept` of `report`. */
export function commitParams(report: ReportData, kept: readonly number[]): Params<'prune/commit'> {
  return { modelDir: report.model.dir, layers: toBlockRanges(kept) };
}

/** The report's best prefix (see src/shared/params.ts). */
export function bestPrefix(report: ReportData): number[] {
  return prefixReaching(Object.values(report.tasks).map((t) => t.bestLayer), report.model.numLayers);
}

/**
 * How much each block matters: its Block Influence (ShortGPT: 1 − cos between its input and
 * output) when the report has it, else the task-weighted probe accuracy it adds.
 */
export function blockRelevance(report: ReportData): { scores: number[]; source: 'influence' | 'probe gain' } {
  const bi = report.signals?.blockInfluence;
  if (bi && bi.length === report.model.numLayers) return { scores: bi, source: 'influence' };
  const tasks = Object.values(report.tasks);
  const wsum = tasks.reduce((a, t) => a + t.weight, 0) || 1;
  // One lookup table per task: a find per block was blocks × layers steps (10⁸ on 10,000 blocks).
  const byLayer = tasks.map((t) => new Map(t.layers.map((l) => [l.layer, l.accuracy])));
  const scores = allBlocks(report).map((b) =>
    tasks.reduce((a, t, i) => {
      const before = byLayer[i].get(b) ?? 0;
      const after = byLayer[i].get(b + 1) ?? before;
      return a + (t.weight * (after - before)) / wsum;
    }, 0),
  );
  return { scores, source: 'probe gain' };
}

/** The k most relevant blocks, in model order (ties go to the earlier block). */
export function topK(report: ReportData, k: number): number[] {
  const { scores } = blockRelevance(report);
  return scores
    .map((s, b) => ({ s, b }))
    .sort((x, y) => y.s - x.s || x.b - y.b)
    .slice(0, Math.max(0, k))
    .map((x) => x.b)
    .sort((x, y) => x - y);
}

/** `[0,1,2,3,7]` → `0–3, 7`, bounded (src/shared/bounded.ts rangesText). */
export function describeBlocks(kept: readonly number[]): string {
  return rangesText(kept);
}

/** Up to this many blocks every k is offered, and every layer has a row in the scores table. */
export const LIST_ALL_UP_TO = 64;

/** The k values the "Top-k by relevance" dropdown offers: every k up to LIST_ALL_UP_TO blocks; beyond, 1–16, each tenth of the model and `current`. */
export function topKChoices(blocks: number, current: number): number[] {
  if (blocks <= LIST_ALL_UP_TO) return Array.from({ length: blocks }, (_, i) => i + 1);
  const ks = new Set<number>(Array.from({ length: 16 }, (_, i) => i + 1));
  for (let t = 1; t <= 10; t++) ks.add(Math.max(1, Math.round((t * blocks) / 10)));
  if (current >= 1 && current <= blocks) ks.add(current);
  return [...ks].sort((a, b) => a - b);
}

/** The layers the scores table lists: all up to LIST_ALL_UP_TO + 1 hidden states; beyond, the first ones, the best and the last (`hidden` are left out). */
export function scoreRows(layers: readonly number[], best: number): { shown: number[]; hidden: number } {
  if (layers.length <= LIST_ALL_UP_TO + 1) return { shown: [...layers], hidden: 0 };
  const keep = new Set(layers.slice(0, LIST_ALL_UP_TO / 2));
  if (layers.includes(best)) keep.add(best);
  keep.add(layers[layers.length - 1]);
  const shown = layers.filter((l) => keep.has(l));
  return { shown, hidden: layers.length - shown.length };
}

/** The prune form shows this many block checkboxes at a time (see blockGrid.ts). */
export const BLOCKS_PER_PAGE = 64;

/** What the prune form's block grid draws (blockGrid.ts renderBlockGrid). */
export interface BlockGridOptions {
  /** Blocks in the model. */
  count: number;
  kept: ReadonlySet<number>;
  /** The page shown (0-based); clamped to the pages there are. */
  page: number;
  title(block: number): string;
  onToggle(block: number, checked: boolean): void;
  /** Another page was asked for; the caller keeps it (view state) and draws the grid again. */
  onPage(page: number): void;
}

/** The pages of `count` blocks and the blocks on page `page` (clamped). */
export function blockPage(count: number, page: number): { page: number; pages: number; first: number; end: number } {
  return pageOf(count, page, BLOCKS_PER_PAGE);
}

/** What the accuracy chart draws: at most CHART_TASKS tasks, layers in at most CHART_POINTS groups (each point the group's mean). */
export interface AccuracySeries {
  /** One per point: `3`, or `0–49` where layers are grouped. */
  labels: string[];
  tasks: { name: string; values: (number | null)[]; best: number; majority: number }[];
  /** Tasks in the report (the chart draws the first CHART_TASKS). */
  taskCount: number;
  /** Layers per point (1: every layer). */
  width: number;
}

export function accuracySeries(report: ReportData): AccuracySeries {
  const runs = groups(report.model.numLayers + 1);
  const width = runs[0] ? runs[0].end - runs[0].first : 1;
  const names = Object.keys(report.tasks);
  const tasks = names.slice(0, CHART_TASKS).map((name) => {
    const t = report.tasks[name];
    const byLayer: (number | null)[] = Array(report.model.numLayers + 1).fill(null);
    for (const l of t.layers) if (l.layer >= 0 && l.layer < byLayer.length) byLayer[l.layer] = l.accuracy;
    return { name, values: runs.map((g) => groupMean(byLayer, g.first, g.end)), best: runs.findIndex((g) => t.bestLayer >= g.first && t.bestLayer < g.end), majority: t.majority };
  });
  return { labels: runs.map((g) => (g.end - g.first === 1 ? String(g.first) : `${g.first}–${g.end - 1}`)), tasks, taskCount: names.length, width };
}

/** What the relevance bar chart draws: blocks in at most CHART_POINTS groups, each bar the group's mean, kept when all, some or none of it is kept. */
export function relevanceBars(scores: readonly number[], kept: ReadonlySet<number>): { labels: string[]; values: number[]; kept: ('all' | 'some' | 'none')[]; width: number } {
  const runs = groups(scores.length);
  const keptIn = (g: { first: number; end: number }) => {
    let k = 0;
    for (let b = g.first; b < g.end; b++) if (kept.has(b)) k++;
    return k === g.end - g.first ? 'all' : k ? 'some' : 'none';
  };
  return {
    labels: runs.map((g) => (g.end - g.first === 1 ? String(g.first) : `${g.first}–${g.end - 1}`)),
    values: runs.map((g) => groupMean(scores, g.first, g.end) ?? 0),
    kept: runs.map(keptIn),
    width: runs[0] ? runs[0].end - runs[0].first : 1,
  };
}
