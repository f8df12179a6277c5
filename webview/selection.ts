/**
 * Which blocks to keep: the presets of the prune form and the size of the result. Pure
 * functions over report data (no DOM), so a later "optimize" source can feed the same form.
 */
import { bestPrefix as prefixReaching } from '../src/shared/params';
import { formatBlockRanges, type ReportData } from '../src/shared/protocol';

export function allBlocks(report: ReportData): number[] {
  return Array.from({ length: report.model.numLayers }, (_, i) => i);
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

/** `[0,1,2,3,7]` → `0–3, 7`. */
export function describeBlocks(kept: readonly number[]): string {
  return formatBlockRanges(kept);
}
