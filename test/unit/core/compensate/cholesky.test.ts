/**
 * The blocked Cholesky solver of the ridge fits against the unblocked one it replaced
 * (test/ridgeReference.ts): the same solutions to 1e-10 relative on well-conditioned systems,
 * the same bits with either kernel, the same error at the same column, a cancel still seen.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { choleskySolve } from '../../../../src/core/compensate/ridge';
import { abortWhen, BadInputError, CancelledError } from '../../../../src/core/errors';
import { f64Workspace, type GemmKernel } from '../../../../src/core/probe/gemm';
import { Rng } from '../../../../src/core/util/rng';
import { maxRelDiff, refCholeskySolve } from '../../../ridgeReference';

const KERNELS: GemmKernel[] = ['wasm', 'js'];

/** A well-conditioned symmetric positive definite n×n matrix: XᵀX/k of k = n + 8 random rows, plus I/4. */
function spd(n: number, rng: Rng): Float64Array {
  const k = n + 8;
  const x = Float64Array.from({ length: k * n }, () => rng.next() * 2 - 1);
  const a = new Float64Array(n * n);
  for (let r = 0; r < k; r++) {
    for (let i = 0; i < n; i++) {
      const xi = x[r * n + i] / k;
      for (let j = 0; j <= i; j++) a[i * n + j] += xi * x[r * n + j];
    }
  }
  for (let i = 0; i < n; i++) {
    a[i * n + i] += 0.25;
    for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  }
  return a;
}

function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  for (let i = 0; i < b.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]} with WebAssembly, ${b[i]} with JavaScript`);
}

test('f64 products out −= A·Bᵀ on strided views: WebAssembly and JavaScript the same bits, both the plain sums', () => {
  const rng = new Rng(21);
  const shapes: [number, number, number][] = [[0, 0, 0], [0, 2, 3], [3, 0, 3], [2, 3, 0], [5, 3, 300], [9, 4, 513], [4, 2, 256], [8, 6, 257]];
  for (let ra = 1; ra <= 9; ra++) for (let rb = 1; rb <= 5; rb++) shapes.push([ra, rb, 1 + rng.int(9)]);
  for (const [ra, rb, len] of shapes) {
    const lda = len + 2;
    const ldb = len + 1;
    const ldo = rb + 3;
    const aAt = 3;
    const bAt = aAt + ra * lda + 1;
    const outAt = bAt + rb * ldb + 5;
    const size = outAt + ra * ldo;
    const init = Float64Array.from({ length: size }, () => (rng.next() * 2 - 1) * 10 ** (rng.int(5) - 2));
    const got: Float64Array[] = [];
    for (const kernel of KERNELS) {
      const ws = f64Workspace(size, kernel);
      assert.equal(ws.kernel, kernel);
      ws.f64.set(init);
      ws.subNT(aAt, lda, ra, bAt, ldb, rb, len, outAt, ldo);
      got.push(Float64Array.from(ws.f64.subarray(0, size)));
      ws.release();
    }
    sameBits(got[0], got[1], `${ra}×${len} times (${rb}×${len})ᵀ`);
    for (let i = 0; i < size; i++) {
      const r = Math.floor((i - outAt) / ldo);
      const c = (i - outAt) % ldo;
      const inOut = i >= outAt && r < ra && c < rb;
      let want = init[i];
      let scale = Math.abs(want);
      if (inOut) {
        for (let l = 0; l < len; l++) {
          want -= init[aAt + r * lda + l] * init[bAt + c * ldb + l];
          scale += Math.abs(init[aAt + r * lda + l] * init[bAt + c * ldb + l]);
        }
      }
      assert.ok(Math.abs(got[1][i] - want) <= 1e-14 * scale, `${ra}×${rb}×${len}: element ${i} is ${got[1][i]}, want ${want}${inOut ? '' : ' (outside the product: untouched)'}`);
    }
  }
});

test('the blocked Cholesky solve gives the unblocked one\'s L and X to 1e-10, the same bits with either kernel, A\'s upper triangle untouched', () => {
  const rng = new Rng(5);
  for (const [n, m] of [[1, 1], [2, 3], [7, 1], [63, 5], [64, 64], [65, 3], [129, 70], [300, 17]]) {
    const a0 = spd(n, rng);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a0[i * n + j] = 1000 + i; // the upper triangle is not read
    const b0 = Float64Array.from({ length: n * m }, () => rng.next() * 2 - 1);
    const ra = Float64Array.from(a0);
    const rb = Float64Array.from(b0);
    refCholeskySolve(ra, rb, n, m);
    const outs = KERNELS.map((kernel) => {
      const a = Float64Array.from(a0);
      const b = Float64Array.from(b0);
      choleskySolve(a, b, n, m, undefined, kernel);
      assert.ok(maxRelDiff(b, rb) < 1e-10, `${n}×${n}, ${m} right-hand sides, ${kernel}: X off by ${maxRelDiff(b, rb)}`);
      assert.ok(maxRelDiff(a, ra) < 1e-10, `${n}×${n}, ${kernel}: L off by ${maxRelDiff(a, ra)}`);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(a[i * n + j], 1000 + i);
      return { a, b };
    });
    sameBits(outs[0].b, outs[1].b, `X of ${n}×${n}`);
    sameBits(outs[0].a, outs[1].a, `L of ${n}×${n}`);
  }
});

test('a matrix that is not positive definite is refused naming the column of the first bad pivot, in any block', () => {
  const rng = new Rng(8);
  const n = 150;
  for (const col of [0, 63, 64, 100, 149]) {
    for (const kernel of KERNELS) {
      const a = spd(n, rng);
      // Column col a copy of column 3 (col > 3) or zero: the pivot there is 0 up to rounding, or negative.
      for (let i = 0; i < n; i++) {
        const v = col > 3 ? a[i * n + 3] : 0;
        a[i * n + col] = v;
        a[col * n + i] = v;
      }
      a[col * n + col] = col > 3 ? a[3 * n + 3] - 1e-3 : -1;
      const ref = Float64Array.from(a);
      assert.throws(() => refCholeskySolve(ref, new Float64Array(n), n, 1), new RegExp(`at column ${col} `));
      assert.throws(() => choleskySolve(a, new Float64Array(n), n, 1, undefined, kernel), (e: unknown) => e instanceof BadInputError && e.message.includes(`at column ${col} (pivot -`) && /larger λ/.test(e.message), `${kernel}, column ${col}`);
    }
  }
});

test('a cancel stops the blocked solve at the next check, and checks come often (under 100 ms apart at 1500 × 1500)', () => {
  const rng = new Rng(2);
  const n = 1500;
  const m = 256;
  const a0 = spd(200, rng);
  // A larger SPD matrix without n³ set-up: block-diagonal copies of a0, coupled by a small symmetric term (eigenvalues ±0.08, a0's ≥ 0.25).
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (Math.floor(i / 200) === Math.floor(j / 200) ? a0[(i % 200) * 200 + (j % 200)] : 0) + 1e-4 * Math.cos(i + j);
  const b = Float64Array.from({ length: n * m }, () => rng.next());
  for (const after of [1, 40, 400]) {
    const ac = new AbortController();
    let polls = 0;
    abortWhen(ac, () => ++polls > after);
    assert.throws(() => choleskySolve(Float64Array.from(a), Float64Array.from(b), n, m, ac.signal), CancelledError);
    assert.equal(polls, after + 1, 'it stopped at the first check after the cancel');
  }
  // Each stretch between two checks timed in three solves, the shortest of the three kept (a
  // stretch is the same work each time; a pause of the machine or the collector is not).
  const gaps: number[][] = [];
  for (let run = 0; run < 3; run++) {
    const ac = new AbortController();
    const times: number[] = [];
    abortWhen(ac, () => {
      times.push(performance.now());
      return false;
    });
    const start = performance.now();
    choleskySolve(Float64Array.from(a), Float64Array.from(b), n, m, ac.signal);
    times.push(performance.now());
    gaps.push(times.map((t, i) => t - (i ? times[i - 1] : start)));
  }
  assert.ok(gaps.every((g) => g.length === gaps[0].length), 'the same checks each time');
  const longest = Math.max(...gaps[0].map((_, i) => Math.min(...gaps.map((g) => g[i]))));
  assert.ok(longest < 100, `the longest stretch without a check was ${longest.toFixed(1)} ms (${gaps[0].length} checks)`);
});
