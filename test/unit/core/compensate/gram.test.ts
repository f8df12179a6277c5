import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GramSession } from '../../../../src/core/compensate/gram';
import { GramAccumulator } from '../../../../src/core/compensate/ridge';
import { Rng } from '../../../../src/core/util/rng';

test('XᵀX and XᵀY computed by ONNX Runtime in float64 equal the plain accumulation', async () => {
  const rng = new Rng(5);
  const [p, q] = [37, 11];
  const plain = new GramAccumulator(p, q);
  const ort = new GramAccumulator(p, q);
  const gram = await GramSession.open({ threads: 1 });
  try {
    for (const n of [50, 1, 123]) {
      const x = Float32Array.from({ length: n * p }, () => rng.next() * 4 - 2);
      const y = Float32Array.from({ length: n * q }, () => rng.next() * 6 - 1);
      plain.add(x, y, Array.from({ length: n }, (_, i) => i));
      await gram.add(ort, x, y, n);
    }
    await gram.add(ort, new Float32Array(0), new Float32Array(0), 0);
  } finally {
    await gram.release();
  }
  assert.equal(ort.rows, plain.rows);
  for (const k of ['g', 'c', 'ySum', 'ySq'] as const) {
    let m = 0;
    for (let i = 0; i < plain[k].length; i++) m = Math.max(m, Math.abs(plain[k][i] - ort[k][i]) / Math.max(1, Math.abs(plain[k][i])));
    assert.ok(m < 1e-12, `${k} differs by ${m}`);
  }
});
