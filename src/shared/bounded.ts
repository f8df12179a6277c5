/**
 * Bounds on what the webviews draw from one report. A hand-made report can name 10,000 blocks,
 * 500 tasks or thousands of baselines; the views show a page or an aggregate of such lists, say
 * "N of M", and offer the rest (Previous/Next, or the report editor), so no report builds an
 * unbounded DOM or chart. Pure functions: the side view, the report editor and the tests use them.
 */

/** Rows of a table page (baselines, per-task advice, measured subsets, heatmap tasks). */
export const ROWS_PER_PAGE = 20;
/** Tasks the side view's scores table offers in its task list. */
export const TASK_CHOICES = 50;
/** Task lines in the side view's accuracy chart. */
export const CHART_TASKS = 8;
/** Points along a chart's x axis (layers, blocks) before neighbours are grouped. */
export const CHART_POINTS = 200;
/** Names listed in one line of text before "and N more". */
export const NAMES_LISTED = 8;
/** Characters of one name (task, baseline) shown in a line of text or a cell. */
export const NAME_CHARS = 80;

import { formatBlockRanges, fromBlockRanges, toBlockRanges, type PreparationData } from './protocol';

const n = (x: number) => x.toLocaleString('en-US');

/** A line of text names at most this many ranges of blocks; a scattered selection of a huge model says how many more. */
export const RANGES_NAMED = 24;

/** `[0,1,2,3,7]` → `0–3, 7` (`none` for no blocks); beyond RANGES_NAMED ranges, the first ones and how many more. */
export function rangesText(kept: readonly number[]): string {
  const ranges = toBlockRanges(kept);
  if (ranges.length <= RANGES_NAMED) return formatBlockRanges(kept);
  return `${formatBlockRanges(fromBlockRanges(ranges.slice(0, RANGES_NAMED)))} and ${n(ranges.length - RANGES_NAMED)} more ranges`;
}

/** Characters of a job's progress line or a notice (an error naming a path can be long, not megabytes). */
export const MESSAGE_CHARS = 2000;
/** Characters of one sentence from a report (a reason, a note) shown in a line of text. */
export const SENTENCE_CHARS = 400;

/** `name` cut to `max` characters, with "…" where it was cut. */
export function shortName(name: string, max = NAME_CHARS): string {
  return name.length <= max ? name : `${name.slice(0, max - 1)}…`;
}

/** `a, b, c` (each shortened), or the first NAMES_LISTED and `and N more`. */
export function nameList(names: readonly string[], sep = ', '): string {
  const shown = names.slice(0, NAMES_LISTED).map((x) => shortName(x)).join(sep);
  return names.length > NAMES_LISTED ? `${shown} and ${n(names.length - NAMES_LISTED)} more` : shown;
}

/** Page `page` (clamped) of `count` items, `size` a page: its bounds and the pages there are. */
export function pageOf(count: number, page: number, size = ROWS_PER_PAGE): { page: number; pages: number; first: number; end: number } {
  const pages = Math.max(1, Math.ceil(count / size));
  const p = Math.min(Math.max(0, Math.floor(page) || 0), pages - 1);
  return { page: p, pages, first: p * size, end: Math.min(count, (p + 1) * size) };
}

/** "Rows 21–40 of 3,000" (what a pager says), empty when everything fits on one page. */
export function pageText(what: string, count: number, page: number, size = ROWS_PER_PAGE): string {
  const p = pageOf(count, page, size);
  return p.pages === 1 ? '' : `${what} ${n(p.first + 1)}–${n(p.end)} of ${n(count)}`;
}

/**
 * Groups `count` consecutive positions (layers, blocks) into at most `max` runs of equal width
 * (the last may be shorter): `[first, end)` of each. One run per position when they fit.
 */
export function groups(count: number, max = CHART_POINTS): { first: number; end: number }[] {
  const width = Math.max(1, Math.ceil(count / max));
  const out: { first: number; end: number }[] = [];
  for (let first = 0; first < count; first += width) out.push({ first, end: Math.min(count, first + width) });
  return out;
}

/** The mean of the finite values of `values` in `[first, end)`; null when there are none. */
export function groupMean(values: readonly (number | null)[], first: number, end: number): number | null {
  let sum = 0;
  let k = 0;
  for (let i = first; i < end; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) {
      sum += v;
      k++;
    }
  }
  return k ? sum / k : null;
}

/** Smallest and largest finite value (no spread: safe for millions of values). */
export function finiteRange(values: Iterable<number | null>): { min: number; max: number } | null {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : null;
}

/** A source graph that ends in a task head, as the views' meta lines say it: `encoder under a task head (logits)`; [] for an encoder export. */
export function headWords(m: { taskHead?: string[] }): string[] {
  return m.taskHead?.length ? [`encoder under a task head (${nameList(m.taskHead)}; not kept)`] : [];
}

/**
 * What a report's texts went through, as the views' meta lines say it: `max length 48`,
 * `prompt "query: "` (quoted as JSON, so spaces and newlines show; cut to NAME_CHARS), `lowercased`.
 */
export function preparationWords(p: PreparationData | undefined): string[] {
  if (!p) return [];
  return [
    ...(p.maxLength !== undefined ? [`max length ${n(p.maxLength)}`] : []),
    ...(p.prompt !== undefined ? [`prompt ${shortName(JSON.stringify(p.prompt))}`] : []),
    ...(p.lowercase ? ['lowercased'] : []),
  ];
}
