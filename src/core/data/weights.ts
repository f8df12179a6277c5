/** Task weights as a user types them in the extension ("spam:2, sentlen:1"). */

/**
 * Parses `spam:2, sentlen:1` into weights for `names` (names left out keep weight 1); a message
 * when a name is unknown or a weight is not a positive number.
 */
export function parseWeights(text: string, names: readonly string[]): Record<string, number> | string {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 1]));
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(.+?)\s*[:=]\s*(\S+)$/.exec(part);
    if (!m) return `"${part}": write NAME:WEIGHT, e.g. ${names[0]}:2.`;
    if (!names.includes(m[1])) return `"${m[1]}" is not one of the chosen tasks (${names.join(', ')}).`;
    const w = Number(m[2]);
    if (!Number.isFinite(w) || w <= 0) return `"${m[2]}" is not a positive weight.`;
    out[m[1]] = w;
  }
  return out;
}
