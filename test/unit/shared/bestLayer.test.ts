import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { bestLayerByCv, bestLayerByTest, describeBestLayer } from '../../../src/shared/bestLayer';

const rows = [
  { layer: 0, accuracy: 0.9, cvAccuracy: 0.95 },
  { layer: 1, accuracy: 0.97, cvAccuracy: 0.93 },
  { layer: 2, accuracy: 0.97, cvAccuracy: 0.95 },
];

test('best layer: highest cross-validated accuracy, ties to the lower layer; the test best is reported beside it', () => {
  assert.equal(bestLayerByCv(rows), 0);
  assert.equal(bestLayerByTest(rows), 1);
  assert.equal(describeBestLayer(rows), 'layer 0 (test 90.0 %; highest on test: layer 1, 97.0 %)');
  assert.equal(describeBestLayer(rows.map((r) => ({ ...r, accuracy: r.cvAccuracy }))), 'layer 0 (test 95.0 %)');
});

test('best layer: without cross-validated scores there is no best layer by CV, and the text says so', () => {
  const fixed = rows.map((r) => ({ ...r, cvAccuracy: null }));
  assert.equal(bestLayerByCv(fixed), null);
  assert.match(describeBestLayer(fixed), /^layer 1 \(test 97\.0 %; highest on test, no cross-validated scores/);
  assert.equal(bestLayerByCv([]), null);
  assert.equal(bestLayerByTest([]), null);
});
