/** `[0,1,2,3,7]` → `0–3, 7` (or with other separators); `none` for no blocks. Used by the host and the webview. */
export function formatBlockRanges(kept: readonly number[], rangeSep = '–', listSep = ', '): string {
  if (kept.length === 0) return 'none';
  const parts: string[] = [];
  let start = kept[0];
  let prev = kept[0];
  for (const k of [...kept.slice(1), Number.NaN]) {
    if (k === prev + 1) {
      prev = k;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}${rangeSep}${prev}`);
    start = prev = k;
  }
  return parts.join(listSep);
}
