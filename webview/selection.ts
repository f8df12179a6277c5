/**
 * Which blocks to keep: the presets of the prune form and the size of the result. Pure
 * functions over report data (no DOM), so a later "optimize" source can feed the same form.
 */
import { bestPrefix as prefixReaching } from '../src/shared/params';
import { formatBlockRanges, fromBlockRanges, toBlockRanges, type FromWebview, type Params, type ReportData } from '../src/shared/protocol';

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
  const scores = allBlocks(report).map((b) =>
    tasks.reduce((a, t) => {
      const before = t.layers.find((l) => l.layer === b)?.accuracy ?? 0;
      const after = t.layers.find((l) => l.layer === b + 1)?.accuracy ?? before;
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

/** The view names at most this many ranges of blocks; a scattered selection of a huge model says how many more. */
export const RANGES_NAMED = 24;

/** `[0,1,2,3,7]` → `0–3, 7`; beyond RANGES_NAMED ranges, the first ones and how many more. */
export function describeBlocks(kept: readonly number[]): string {
  const ranges = toBlockRanges(kept);
  if (ranges.length <= RANGES_NAMED) return formatBlockRanges(kept);
  const named = fromBlockRanges(ranges.slice(0, RANGES_NAMED));
  return `${formatBlockRanges(named)} and ${(ranges.length - RANGES_NAMED).toLocaleString('en-US')} more ranges`;
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
  const pages = Math.max(1, Math.ceil(count / BLOCKS_PER_PAGE));
  const p = Math.min(Math.max(0, Math.floor(page) || 0), pages - 1);
  return { page: p, pages, first: p * BLOCKS_PER_PAGE, end: Math.min(count, (p + 1) * BLOCKS_PER_PAGE) };
}
