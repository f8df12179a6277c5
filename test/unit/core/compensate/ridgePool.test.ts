/**
 * The λ solves of a ridge fit as units of the job's fit pool: the same fit, held-out and training
 * R² as one thread (Object.is per element), a cancel seen promptly as CancelledError, a
 * non-positive pivot in a worker surfacing as the BadInputError naming its column, no more solves
 * at once than the memory budget allows, and no fit worker left once the pool is closed.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChosenFit, GramAccumulator, LAMBDAS, concurrentSolves, fitRidgeChoosingLambda, solveBytes } from '../../../../src/core/compensate/ridge';
import { fitPlan } from '../../../../src/core/compensate/build';
import { calibrationSet } from '../../../../src/core/compensate/calibrate';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { findBlocks } from '../../../../src/core/onnx/blocks';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { abortWhen, BadInputError, CancelledError } from '../../../../src/core/errors';
import { FitKind, FitPool, FitUnit, liveFitWorkers, MapOptions } from '../../../../src/core/probe/fitPool';
import { Rng } from '../../../../src/core/util/rng';
import { fixture, tasksDir } from '../../../helpers';

/** A pool that records each round's kind and number of units, and the most units still running when one finishes. */
class RecordingPool extends FitPool {
  readonly rounds: { kind: FitKind; n: number }[] = [];
  running = 0;
  override map<I, O>(kind: FitKind, n: number, unitAt: (i: number) => I, inline: FitUnit<I, O>, opts: MapOptions = {}): O[] {
    this.rounds.push({ kind, n });
    const slots = (this as unknown as { slots: { busy: number }[] }).slots;
    const onDone = (done: number) => {
      this.running = Math.max(this.running, slots.filter((s) => s.busy >= 0).length + 1);
      opts.onDone?.(done);
    };
    return super.map(kind, n, unitAt, inline, { ...opts, onDone });
  }
}

/** Fit and held-out accumulators of `n` and n/4 rows of y = x·W + noise (p inputs, q outputs). */
function problem(p: number, q: number, n: number, noise: number, seed: number): { fit: GramAccumulator; held: GramAccumulator } {
  const rng = new Rng(seed);
  const w = Float64Array.from({ length: p * q }, () => rng.next() * 2 - 1);
  const acc = (rows: number) => {
    const x = Float64Array.from({ length: rows * p }, () => rng.next() * 2 - 1);
    const y = new Float64Array(rows * q);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < q; k++) {
        let s = noise * (rng.next() * 2 - 1);
        for (let i = 0; i < p; i++) s += x[r * p + i] * w[i * q + k];
        y[r * q + k] = s;
      }
    }
    const a = new GramAccumulator(p, q);
    a.add(x, y, Array.from({ length: rows }, (_, i) => i));
    return a;
  };
  return { fit: acc(n), held: acc(Math.max(1, n >> 2)) };
}

function assertSame(got: ChosenFit, want: ChosenFit, what: string): void {
  assert.equal(got.fit.lambda, want.fit.lambda, `${what}: λ`);
  for (const k of ['w', 'b'] as const) {
    assert.equal(got.fit[k].length, want.fit[k].length);
    got.fit[k].forEach((v, i) => assert.ok(Object.is(v, want.fit[k][i]), `${what}: ${k}[${i}] ${v} vs ${want.fit[k][i]}`));
  }
  got.heldR2.forEach((v, i) => assert.ok(Object.is(v, want.heldR2[i]), `${what}: heldR2[${i}] ${v} vs ${want.heldR2[i]}`));
  assert.equal(got.heldR2.length, want.heldR2.length);
  assert.ok(Object.is(got.trainR2, want.trainR2), `${what}: trainR2 ${got.trainR2} vs ${want.trainR2}`);
}

test('the λ search on a pool of 2 gives exactly the fit, held-out R² and training R² of one thread; its solves are units of the pool', async () => {
  const pool = new RecordingPool(2);
  try {
    const shapes = [
      { p: 48, q: 16, n: 300, noise: 0.01, seed: 1 },
      { p: 130, q: 40, n: 500, noise: 0.1, seed: 2 },
      // Few noisy rows for many inputs: a larger λ predicts the held-out rows best.
      { p: 90, q: 12, n: 100, noise: 3, seed: 3 },
    ];
    const bestAt: number[] = [];
    for (const s of shapes) {
      const { fit, held } = problem(s.p, s.q, s.n, s.noise, s.seed);
      const inline = fitRidgeChoosingLambda(fit, held);
      pool.rounds.length = 0;
      const pooled = fitRidgeChoosingLambda(fit, held, LAMBDAS, undefined, pool);
      assertSame(pooled, inline, `${s.p}×${s.q}`);
      assert.deepEqual(pool.rounds, [{ kind: 'ridgeLambda', n: LAMBDAS.length }], 'one round of the five λ solves');
      bestAt.push(LAMBDAS.indexOf(inline.fit.lambda));
    }
    assert.equal(bestAt[0], 0);
    assert.ok(bestAt[2] > 0, `the noisy shape's best λ is not the first: ${bestAt}`);
    assert.ok(liveFitWorkers() > 0, 'the solves ran on fit workers');
  } finally {
    await pool.close();
  }
  assert.equal(liveFitWorkers(), 0);
});

test('no more λ solves at once than the memory budget allows (each holds about two n×n f64 copies), at least one', async () => {
  const n = 3074;
  const q = 768;
  assert.ok(solveBytes(n, q) > 2 * n * n * 8 && solveBytes(n, q) < 3 * n * n * 8, `${solveBytes(n, q)} bytes for ${n}×${q}`);
  assert.equal(concurrentSolves(8, 5, n, q, 100 * solveBytes(n, q)), 5, 'no more than the λ');
  assert.equal(concurrentSolves(2, 5, n, q, 100 * solveBytes(n, q)), 2, 'no more than the threads');
  assert.equal(concurrentSolves(8, 5, n, q, 3.5 * solveBytes(n, q)), 3, 'no more than the budget');
  assert.equal(concurrentSolves(8, 5, n, q, 0.5 * solveBytes(n, q)), 1, 'one even under a small budget');
  const { fit, held } = problem(40, 8, 200, 0.1, 4);
  const pool = new RecordingPool(4);
  try {
    const inline = fitRidgeChoosingLambda(fit, held);
    assertSame(fitRidgeChoosingLambda(fit, held, LAMBDAS, undefined, pool, 0.9 * solveBytes(41, 8)), inline, 'budget below one solve');
    assert.deepEqual(pool.rounds, [], 'under a budget for one solve, the search runs inline');
    assert.equal(liveFitWorkers(), 0);
    assertSame(fitRidgeChoosingLambda(fit, held, LAMBDAS, undefined, pool, 2 * solveBytes(41, 8)), inline, 'budget of two solves');
    assert.deepEqual(pool.rounds, [{ kind: 'ridgeLambda', n: 5 }]);
    assert.equal(liveFitWorkers(), 2, 'a budget of two solves starts two of the four fit workers');
    const wide = problem(200, 40, 400, 0.1, 8);
    const wideInline = fitRidgeChoosingLambda(wide.fit, wide.held);
    pool.running = 0;
    assertSame(fitRidgeChoosingLambda(wide.fit, wide.held, LAMBDAS, undefined, pool, Infinity), wideInline, 'no budget');
    assert.equal(liveFitWorkers(), 4);
    assert.ok(pool.running > 2, `four at once without a budget: ${pool.running}`);
    pool.running = 0;
    assertSame(fitRidgeChoosingLambda(wide.fit, wide.held, LAMBDAS, undefined, pool, 2 * solveBytes(201, 40)), wideInline, 'budget of two solves on four warm workers');
    assert.equal(pool.running, 2, 'two at once on four warm workers');
  } finally {
    await pool.close();
  }
  assert.equal(liveFitWorkers(), 0);
});

test('a cancel during pooled λ solves is seen promptly and throws CancelledError; the pool stays usable', async () => {
  const { fit, held } = problem(700, 200, 800, 0.1, 5);
  const pool = new FitPool(2);
  try {
    const t0 = Date.now();
    fitRidgeChoosingLambda(fit, held, LAMBDAS.slice(0, 2), undefined, pool);
    const twoSolves = Date.now() - t0;
    const ac = new AbortController();
    let firedAt = 0;
    const start = Date.now();
    abortWhen(ac, () => {
      if (!firedAt && Date.now() - start >= twoSolves / 4) firedAt = Date.now();
      return firedAt > 0;
    });
    assert.throws(() => fitRidgeChoosingLambda(fit, held, LAMBDAS, ac.signal, pool), (e) => e instanceof CancelledError);
    const after = Date.now() - firedAt;
    assert.ok(firedAt > 0 && after < Math.max(200, twoSolves / 2), `stopped ${after} ms after the cancel (two solves on two threads: ${twoSolves} ms)`);
    const small = problem(20, 4, 100, 0.1, 6);
    assertSame(fitRidgeChoosingLambda(small.fit, small.held, LAMBDAS, undefined, pool), fitRidgeChoosingLambda(small.fit, small.held), 'the next search');
  } finally {
    await pool.close();
  }
  assert.equal(liveFitWorkers(), 0);
});

test('a non-positive pivot in a pooled λ solve throws the BadInputError naming its column, as inline', async () => {
  const { fit, held } = problem(30, 6, 200, 0.1, 7);
  const p1 = 31;
  fit.g[17 * p1 + 17] = -1e6;
  const inline = (() => {
    try {
      fitRidgeChoosingLambda(fit, held);
    } catch (e) {
      return e as Error;
    }
    return null;
  })();
  assert.ok(inline instanceof BadInputError && /at column 17\b/.test(inline.message), String(inline));
  const pool = new FitPool(2);
  try {
    // Every λ fails at that column; which λ's pivot the message quotes depends on which worker answers first.
    assert.throws(
      () => fitRidgeChoosingLambda(fit, held, LAMBDAS, undefined, pool),
      (e) => e instanceof BadInputError && e.message.replace(/pivot [^)]*/, 'pivot P') === inline.message.replace(/pivot [^)]*/, 'pivot P'),
    );
  } finally {
    await pool.close();
  }
  assert.equal(liveFitWorkers(), 0);
});

test("a compensated build's fits on the job's pool of 2 are those of one thread (bridges, heads, FFN widths), with their λ solves on the pool", async () => {
  const name = 'tiny-bert';
  const model = OnnxModel.open(fixture(name, 'onnx', 'model.onnx'));
  const cfg = JSON.parse(fs.readFileSync(fixture(name, 'config.json'), 'utf8')) as Record<string, number>;
  const enc = { model, blocks: findBlocks(model), hidden: cfg.hidden_size, heads: cfg.num_attention_heads };
  const tok = await loadTokenizer(fixture(name), { maxLength: 64 });
  const texts = fs.readFileSync(path.join(tasksDir, 'bshift', 'train.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 80).map((l) => (JSON.parse(l) as { text: string }).text);
  const set = calibrationSet(tok, texts, { batchSize: 16 });
  const pool = new RecordingPool(2);
  try {
    const req = { kept: [1, 3], bridges: true, heads: 1, ffnWidth: 24 };
    const inline = await fitPlan(enc, req, set, {}, { fits: new FitPool(1) });
    const pooled = await fitPlan(enc, req, set, {}, { fits: pool });
    assert.deepEqual(pooled.stats, inline.stats);
    assert.deepEqual([...pooled.plan.narrow], [...inline.plan.narrow]);
    assert.deepEqual([...pooled.plan.bridges], [...inline.plan.bridges]);
    assert.equal(pool.rounds.filter((r) => r.kind === 'ridgeLambda').length, 2 + 2 * 2, 'every fit chose its λ on the pool');
  } finally {
    await pool.close();
    model.close();
  }
  assert.equal(liveFitWorkers(), 0);
});
