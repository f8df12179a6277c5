/** Block lists as users type them ("0-3, 7") and as folder names carry them ("0-3_7"). */
import { formatBlockRanges } from '../../shared/protocol';

/** Parses "0,2,5" / "0-3,7" into sorted block indices below `numLayers`; a message when invalid. */
export function parseBlockList(text: string, numLayers: number): number[] | string {
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) return `"${part}" is not a block number or range (use e.g. 0,2,5 or 0-3).`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return `"${part}": a range goes up, e.g. 0-3.`;
    for (let i = a; i <= b; i++) {
      if (i >= numLayers) return `block ${i} does not exist; the model has blocks 0–${numLayers - 1}.`;
      out.add(i);
    }
  }
  return [...out].sort((x, y) => x - y);
}

/** `[0,1,2,3,7]` → `0-3_7`: ranges joined by `_`, safe in folder names on every platform. */
export function blocksSlug(kept: readonly number[]): string {
  return formatBlockRanges(kept, '-', '_');
}
