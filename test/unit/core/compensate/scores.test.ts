import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ColumnMoments, discriminantDirections, flapScores, taskScores, topIndices } from '../../../../src/core/compensate/scores';
import { Rng } from '../../../../src/core/util/rng';
import { refColumnMoments } from '../../../ridgeReference';

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

test('column moments in batches (no division per element) are Welford\'s per-element numbers to 1e-12 relative', () => {
  const rng = new Rng(4);
  const width = 37;
  const rows = 700;
  // Columns far from zero relative to their spread (the case that needs care), one constant column.
  const a = Float32Array.from({ length: rows * width }, (_, i) => (i % width === 5 ? 2.5 : (i % width) * 3 - 40 + (1 + (i % 7)) * (rng.next() - 0.5)));
  const order = Array.from({ length: rows }, (_, i) => (i * 293) % rows);
  const batches = [order.slice(0, 1), order.slice(1, 1), order.slice(1, 64), order.slice(64, 65), order.slice(65)].map((r) => Int32Array.from(r));
  const m = new ColumnMoments(width);
  for (const b of batches) m.add(a, b);
  const want = refColumnMoments(a, width, batches);
  assert.equal(m.n, want.n);
  for (let j = 0; j < width; j++) {
    assert.ok(Math.abs(m.mean[j] - want.mean[j]) <= 1e-12 * Math.abs(want.mean[j]), `column ${j}: mean ${m.mean[j]} vs ${want.mean[j]}`);
    const v = want.m2[j] / (want.n - 1);
    assert.ok(Math.abs(m.variance(j) - v) <= 1e-12 * v + (j === 5 ? 1e-30 : 0), `column ${j}: variance ${m.variance(j)} vs ${v}`);
  }
});
