/**
 * The WebAssembly SIMD kernel gives bit for bit the JavaScript kernel's products (every element,
 * `Object.is`), on any shape; so the objective, the fits and a whole probe table are the same
 * with `PROBESCALE_GEMM=js` as by default.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BadInputError } from '../../../../src/core/errors';
import { runAnyJob, runJob } from '../../../../src/core/pipeline/dispatch';
import { FitPool } from '../../../../src/core/probe/fitPool';
import { dropSpareMemory, gemmNT, gemmSetting, ntMultipliers, spareMemoryBytes, wasmMemoriesMade, type GemmKernel } from '../../../../src/core/probe/gemm';
import { fitLogReg, logRegObjective } from '../../../../src/core/probe/logreg';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { softLimit } from '../../../../src/core/util/processLimits';
import { Rng } from '../../../../src/core/util/rng';
import { fixture, repoRoot, tasksDir } from '../../../helpers';

/** Values of every sign and a wide range of magnitudes, with exact zeros, −0 and subnormals mixed in. */
function values(r: Rng, n: number): number[] {
  const special = [0, -0, 1e-310, -4e-320, 1e30, -1e-30];
  return Array.from({ length: n }, () => (r.next() < 0.05 ? special[r.int(special.length)] : (r.next() * 2 - 1) * 10 ** (r.int(13) - 6)));
}

function sameBits(actual: Float64Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: element ${i} is ${actual[i]}, the JavaScript kernel gives ${expected[i]}`);
  }
}

/** Sets PROBESCALE_GEMM (undefined: unset); returns what puts it back. */
function setGemm(value: string | undefined): () => void {
  const before = process.env.PROBESCALE_GEMM;
  const put = (v: string | undefined) => (v === undefined ? delete process.env.PROBESCALE_GEMM : (process.env.PROBESCALE_GEMM = v));
  put(value);
  return () => put(before);
}

function withGemm<T>(value: string | undefined, f: () => T): T {
  const restore = setGemm(value);
  try {
    return f();
  } finally {
    restore();
  }
}

test('WebAssembly SIMD runs here, and is the default kernel (without an address-space limit)', () => {
  assert.equal(ntMultipliers([{ data: new Float32Array(6), rows: 2, len: 3 }], 1, 'wasm')[0].kernel, 'wasm');
  const [m] = withGemm(undefined, () => ntMultipliers([{ data: new Float32Array(6), rows: 2, len: 3 }], 1));
  assert.equal(m.kernel, typeof softLimit('Max address space') === 'number' ? 'js' : 'wasm');
  assert.equal(ntMultipliers([{ data: new Float32Array(6), rows: 2, len: 3 }], 1, 'js')[0].kernel, 'js');
});

test('WebAssembly and JavaScript products are the same bits on shapes with every remainder, len 1 and empty', () => {
  const r = new Rng(11);
  const shapes: [number, number, number][] = [[0, 0, 0], [0, 3, 5], [3, 0, 5], [3, 2, 0], [1, 1, 1], [5, 1, 1], [1, 7, 1]];
  for (let ra = 1; ra <= 17; ra += 1) for (const rb of [1, 2, 3, 4, 5, 6, 7, 8, 9, 13]) shapes.push([ra, rb, 1 + r.int(9)]);
  for (let i = 0; i < 40; i++) shapes.push([1 + r.int(70), 1 + r.int(40), 1 + r.int(300)]);
  for (const [ra, rb, len] of shapes) {
    const A = Float32Array.from(values(r, ra * len));
    const B = Float64Array.from(values(r, rb * len));
    const expected = new Float64Array(ra * rb);
    gemmNT(A, ra, B, rb, len, expected);
    // The same A given as is, and as its transpose (the layout the gradient's product reads).
    const At = new Float32Array(ra * len);
    for (let a = 0; a < ra; a++) for (let l = 0; l < len; l++) At[l * ra + a] = A[a * len + l];
    const [plain, transposed] = ntMultipliers([{ data: A, rows: ra, len }, { data: At, rows: ra, len, transposed: true }], rb + 2, 'wasm');
    for (const [m, name] of [[plain, 'A'], [transposed, 'Aᵀ given']] as const) {
      m.b.set(B);
      sameBits(m.product(rb), expected, `${ra}×${len} · (${rb}×${len})ᵀ, ${name}`);
      // Fewer rows of B than the multiplier was made for, after a larger product: nothing stale.
      if (rb === 0) continue;
      const fewer = new Float64Array(ra * (rb - 1));
      gemmNT(A, ra, B, rb - 1, len, fewer);
      m.b.fill(NaN).set(B.subarray(0, (rb - 1) * len));
      sameBits(m.product(rb - 1), fewer, `${ra}×${len} · (${rb - 1}×${len})ᵀ after ${rb} rows, ${name}`);
    }
  }
});

test('the objective and its gradient, and the fits, are the same bits with either kernel (binary and 7 classes)', () => {
  const r = new Rng(5);
  for (const [n, dim, k] of [[203, 13, 2], [150, 9, 7]]) {
    const X = Float32Array.from({ length: n * dim }, () => r.next() * 2 - 1);
    const y = Int32Array.from({ length: n }, (_, i) => (i * 7 + r.int(2)) % k);
    const results = (['js', 'wasm'] as GemmKernel[]).map((kernel) =>
      withGemm(kernel, () => {
        const { size, objective } = logRegObjective(X, y, dim, k, 0.7);
        const p = Float64Array.from({ length: size }, (_, i) => Math.sin(i) * 0.3);
        const grad = new Float64Array(size);
        const value = objective(p, grad);
        return { value, grad, model: fitLogReg(X, y, dim, k, { c: 0.7 }) };
      }),
    );
    assert.ok(Object.is(results[1].value, results[0].value), `objective ${results[1].value} vs ${results[0].value}`);
    sameBits(results[1].grad, results[0].grad, `gradient, ${k} classes`);
    assert.deepEqual(results[1].model, results[0].model);
  }
});

test('a probe job gives the same report with PROBESCALE_GEMM=js as by default, inline and on a pool of fit workers', async () => {
  const tasks = [
    { name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 },
    { name: 'spam', path: path.join(tasksDir, 'spam'), weight: 1 },
  ];
  const job = { type: 'probe' as const, modelDir: fixture('tiny-roberta'), tasks, settings: { ...DEFAULT_SETTINGS, limitTrain: 120, limitTest: 40, provider: 'cpu' as const } };
  const run = async (gemm: string | undefined, threads: number) => {
    const restore = setGemm(gemm);
    const pool = new FitPool(threads); // workers copy the environment when they start
    try {
      return (await runJob(job, { fits: pool })).tasks;
    } finally {
      await pool.close();
      restore();
    }
  };
  const js = await run('js', 1);
  assert.deepEqual(await run(undefined, 1), js, 'inline');
  assert.deepEqual(await run(undefined, 2), js, 'pool of 2');
  assert.deepEqual(await run('wasm', 2), js, 'pool of 2, WebAssembly insisted on');
});

test('PROBESCALE_GEMM: js and wasm choose, a bad value names itself, and a memory too large falls back to JavaScript', () => {
  assert.equal(gemmSetting({}), undefined);
  assert.equal(gemmSetting({ PROBESCALE_GEMM: '' }), undefined);
  assert.equal(gemmSetting({ PROBESCALE_GEMM: 'js' }), 'js');
  assert.equal(gemmSetting({ PROBESCALE_GEMM: 'wasm' }), 'wasm');
  assert.throws(() => gemmSetting({ PROBESCALE_GEMM: 'simd' }), (e: unknown) => e instanceof BadInputError && /PROBESCALE_GEMM=simd is not a kernel; set it to js .* or wasm/.test(e.message));
  // 70,000 × 70,000 float32 is over WebAssembly's 4 GiB (the data is never read: no product is taken).
  const huge = { data: new Float32Array(4), rows: 70000, len: 70000 };
  assert.equal(ntMultipliers([huge], 1)[0].kernel, 'js');
  assert.throws(() => ntMultipliers([huge], 1, 'wasm'), (e: unknown) => e instanceof BadInputError && /PROBESCALE_GEMM=wasm, but a WebAssembly memory for \d+ bytes could not be had; set PROBESCALE_GEMM=js/.test(e.message));
});

test('under ulimit -v the default is JavaScript unless the trap handler is off (as the CLI runs), and the fit is the same', () => {
  // A 6-class fit on fixed data: its kernel, and the model as JSON.
  const script = `
    const { ntMultipliers } = require('./out/src/core/probe/gemm');
    const { fitLogReg } = require('./out/src/core/probe/logreg');
    const [n, dim, k] = [300, 20, 6];
    const X = Float32Array.from({ length: n * dim }, (_, i) => Math.sin(i * 0.37) + ((i / dim) | 0) % k * 0.1 * Math.cos(i));
    const y = Int32Array.from({ length: n }, (_, i) => i % k);
    const m = fitLogReg(X, y, dim, k, { c: 1 });
    console.log(JSON.stringify({ kernel: ntMultipliers([{ data: X, rows: n, len: dim }], k)[0].kernel, weights: Array.from(m.weights), bias: Array.from(m.bias), iterations: m.iterations }));`;
  const run = (limit: string, flags: string) => {
    const r = spawnSync('bash', ['-c', `ulimit -v ${limit} && exec "${process.execPath}" ${flags} -e "$0"`, script], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, PROBESCALE_GEMM: '' } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const free = run('unlimited', '');
  assert.equal(free.kernel, 'wasm');
  const limited = run('4000000', '');
  assert.equal(limited.kernel, 'js', 'no WebAssembly memory under ulimit -v with the trap handler on');
  const trapOff = run('4000000', '--disable-wasm-trap-handler');
  assert.equal(trapOff.kernel, 'wasm', 'with the trap handler off a memory reserves only its size');
  assert.deepEqual({ ...limited, kernel: 'wasm' }, free);
  assert.deepEqual(trapOff, free);
});

test('a bad PROBESCALE_GEMM stops a job before it starts, naming the value', async () => {
  const job = { type: 'probe' as const, modelDir: fixture('tiny-roberta'), tasks: [{ name: 'spam', path: path.join(tasksDir, 'spam'), weight: 1 }], settings: { ...DEFAULT_SETTINGS, limitTrain: 40, limitTest: 20, provider: 'cpu' as const } };
  const events: string[] = [];
  const restore = setGemm('fast');
  try {
    await assert.rejects(runAnyJob(job, { onProgress: (e) => events.push(e.kind) }), (e: unknown) => e instanceof BadInputError && /^PROBESCALE_GEMM=fast is not a kernel/.test(e.message));
  } finally {
    restore();
  }
  assert.deepEqual(events, [], 'nothing loaded or extracted first');
});

test('fits one after another on a thread reuse one WebAssembly memory, and stay bit for bit the JavaScript fits', () => {
  const r = new Rng(11);
  // Rows not a multiple of 8, so a reused memory's padding rows must not leak into the next fit.
  const shapes = [
    { n: 203, dim: 17 },
    { n: 131, dim: 17 },
    { n: 203, dim: 17 },
    { n: 197, dim: 9 },
  ];
  const problems = shapes.map(({ n, dim }) => ({ n, dim, X: Float32Array.from(values(r, n * dim)), y: Int32Array.from({ length: n }, () => r.int(4)) }));
  const fitAll = () => problems.map((p) => fitLogReg(p.X, p.y, p.dim, 4, { c: 1, maxIter: 30 }));
  const restore = setGemm('js');
  const expected = fitAll();
  setGemm('wasm');
  try {
    fitAll(); // the thread's spare memory, made by earlier fits in any order, is now as large as these need
    const before = wasmMemoriesMade();
    const actual = fitAll();
    assert.equal(wasmMemoriesMade() - before, 0, 'fits after the first round should reuse the spare memory, not make new ones');
    actual.forEach((m, i) => {
      sameBits(m.weights, expected[i].weights, `fit ${i} weights`);
      sameBits(m.bias, expected[i].bias, `fit ${i} bias`);
    });
  } finally {
    restore();
  }
});

test('a released multiplier refuses to multiply (its memory may be another fit\'s by then)', () => {
  const restore = setGemm('wasm');
  try {
    const [m] = ntMultipliers([{ data: new Float32Array(12), rows: 3, len: 4 }], 2);
    m.release();
    assert.throws(() => m.product(1), /released/);
  } finally {
    restore();
  }
});

test('a job leaves no spare WebAssembly memory behind on its thread (the extension keeps its job worker between jobs)', async () => {
  const job = {
    type: 'probe' as const,
    modelDir: fixture('tiny-roberta'),
    tasks: [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }],
    settings: { ...DEFAULT_SETTINGS, limitTrain: 120, limitTest: 40, provider: 'cpu' as const },
  };
  const restore = setGemm('wasm');
  const pool = new FitPool(1); // every fit inline, on this thread
  try {
    dropSpareMemory(); // earlier tests' spare could serve every fit of this job
    const before = wasmMemoriesMade();
    await runJob(job, { fits: pool });
    assert.ok(wasmMemoriesMade() > before, 'the job fitted on this thread with the WebAssembly kernel');
    assert.equal(spareMemoryBytes(), 0, 'the spare memory of the job\'s fits is let go when the job ends');
  } finally {
    await pool.close();
    restore();
  }
});

test('NaN, ±Infinity and float32 extremes (±3.4e38, subnormals) give the same elements with either kernel, and spread only where they sit', () => {
  // Seventeenth session, by hand first: held. A kernel that flushed subnormals, fused a multiply-add or
  // reordered a sum would differ here.
  const rows = 9;
  const len = 13;
  const rb = 7;
  const extremes = [-0, 1e-45, 1.4e-40, 3.4e38, -3.4e38, 1, 0.5, 1e-38];
  const A = Float32Array.from({ length: rows * len }, (_, i) => extremes[(i * 5 + Math.floor(i / len)) % extremes.length]);
  A[3 * len + 2] = NaN;
  A[5 * len + 4] = Infinity;
  A[6 * len] = -Infinity;
  const bs = [1e-310, 2, -0, 1e-300, 5e-324, 0.25, 3];
  const product = (kernel: GemmKernel) => {
    const [m] = ntMultipliers([{ data: A, rows, len }], rb, kernel);
    for (let i = 0; i < rb * len; i++) m.b[i] = bs[i % bs.length];
    const out = Float64Array.from(m.product(rb));
    m.release();
    return out;
  };
  const js = product('js');
  sameBits(product('wasm'), js, 'extreme values');
  for (let r = 0; r < rows; r++) {
    const row = js.subarray(r * rb, (r + 1) * rb);
    if (r === 3) assert.ok(row.every(Number.isNaN), 'the NaN row is NaN');
    else if (r === 5 || r === 6) assert.ok(row.every((v) => !Number.isFinite(v)), `row ${r} holds an infinity`);
    else assert.ok(row.every(Number.isFinite), `row ${r} stays finite (3.4e38 × 3 does not overflow a double)`);
  }
});
