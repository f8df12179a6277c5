/**
 * How ProbeScale counts a model's parameters and which blocks a probe report points to: one
 * definition for the core, the extension and the webview alike (this file imports nothing, so
 * it compiles under the webview's DOM tsconfig and the Node one).
 */

/** Parameter counts of a model, split the way a pruned model's size is computed. */
export interface ParamCounts {
  /** All parameters of the source model. */
  total: number;
  /** Embedding parameters (always kept). */
  embeddings: number;
  /** Parameters of each transformer block, index = block. */
  perBlock: number[];
  /** Parameters outside embeddings and blocks that are always kept (final norm, pooler); counted once. */
  other: number;
}

/** Parameters of the model that keeps the blocks `kept`: embeddings + other + Σ kept blocks (an unknown block counts 0). */
export function keptParams(p: ParamCounts, kept: readonly number[]): number {
  return p.embeddings + p.other + kept.reduce((a, k) => a + (p.perBlock[k] ?? 0), 0);
}

/**
 * The shortest prefix of blocks whose output reaches every task's best probe score (Dalvi et
 * al.'s LayerSelector): hidden state k is the output of blocks 0..k−1.
 */
export function bestPrefix(bestLayers: readonly number[], numLayers: number): number[] {
  const k = Math.min(numLayers, Math.max(0, ...bestLayers));
  return Array.from({ length: k }, (_, i) => i);
}

/** A parameter count in words: 11_712_512 → "11.7 M", 8_544 → "8.5 k". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}
