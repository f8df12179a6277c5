/**
 * The one definition of "best layer": the hidden state whose probe has the highest
 * cross-validated accuracy on the training rows (never chosen on the test split); ties go to
 * the lower layer. The layer with the highest test accuracy is reported beside it where the
 * two differ. Shared by the core (reports), the CLI, the side view and the report editor.
 */

export interface LayerScores {
  layer: number;
  /** Test accuracy. */
  accuracy: number;
  /** Cross-validated accuracy on the training rows; null or absent when it was not measured. */
  cvAccuracy?: number | null;
}

function argmax(rows: readonly LayerScores[], value: (r: LayerScores) => number): number {
  let best = rows[0];
  for (const r of rows) if (value(r) > value(best)) best = r;
  return best.layer;
}

/** Best layer by cross-validation; null when any layer lacks a cross-validated score. */
export function bestLayerByCv(rows: readonly LayerScores[]): number | null {
  if (rows.length === 0 || rows.some((r) => typeof r.cvAccuracy !== 'number')) return null;
  return argmax(rows, (r) => r.cvAccuracy!);
}

/** The layer with the highest test accuracy (shown beside the best layer, never used to choose). */
export function bestLayerByTest(rows: readonly LayerScores[]): number | null {
  return rows.length === 0 ? null : argmax(rows, (r) => r.accuracy);
}

/** `layer 4 (test 97.0 %)`, or `layer 0 (test 95.8 %; highest on test: layer 4, 97.0 %)` where the two differ. */
export function describeBestLayer(rows: readonly LayerScores[]): string {
  const cv = bestLayerByCv(rows);
  const test = bestLayerByTest(rows);
  const acc = (layer: number) => `${(100 * rows.find((r) => r.layer === layer)!.accuracy).toFixed(1)} %`;
  if (test === null) return 'no layers';
  if (cv === null) return `layer ${test} (test ${acc(test)}; highest on test, no cross-validated scores in this report)`;
  return cv === test ? `layer ${cv} (test ${acc(cv)})` : `layer ${cv} (test ${acc(cv)}; highest on test: layer ${test}, ${acc(test)})`;
}
