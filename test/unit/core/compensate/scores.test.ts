import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ColumnMoments, discriminantDirections, flapScores, taskScores, topIndices } from '../../../../src/core/compensate/scores';
import { Rng } from '../../../../src/core/util/rng';

test('task-weighted scores rank the unit that moves the class means apart above a larger unit that does not', () => {
  // Pooled states in 3 dims: classes differ along axis 0 (small within-class spread); axis 1 is loud noise.
  const rng = new Rng(9);
  const n = 200;
  const d = 3;
  const x = new Float64Array(n * d);
  const y = (t: number) => t % 2;
  for (let t = 0; t < n; t++) {
    x[t * d] = y(t) + 0.1 * (rng.next() - 0.5);
    x[t * d + 1] = 5 * (rng.next() - 0.5);
    x[t * d + 2] = rng.next() - 0.5;
  }
  const u = discriminantDirections(x, d, Array.from({ length: n }, (_, t) => t), y)!;
  assert.ok(Math.abs(u[0 * 2]) > 10 * Math.abs(u[1 * 2]), 'the direction is along axis 0');
  assert.equal(discriminantDirections(x, d, [0, 2, 4], y), null, 'one class: no direction');
  // Two FFN neurons of equal activation variance: neuron 0 writes along axis 1 (larger norm), neuron 1 along axis 0.
  const m = new ColumnMoments(2);
  m.add(Float32Array.from([1, 1, -1, -1, 0.5, 0.5]), Int32Array.from([0, 1, 2]));
  const out = Float32Array.from([0, 3, 0, 1, 0, 0]);
  assert.deepEqual(topIndices(flapScores(m, out, d, 1), 1), [0]);
  assert.deepEqual(topIndices(taskScores(m, out, d, 1, [u]), 1), [1]);
});
