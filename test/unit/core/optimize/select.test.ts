import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BadInputError } from '../../../../src/core/errors';
import { CandidateRows, formatGap, pairedDifference, parseSelectionRule, selectBy, simulateRules } from '../../../../src/core/optimize/select';
import { fitLogReg } from '../../../../src/core/probe/logreg';
import { MIN_LOGP, predictProbe, scoreRows, trainProbe } from '../../../../src/core/probe/probe';
import { Rng } from '../../../../src/core/util/rng';

/** A candidate from explicit per-row correctness (logp follows correctness unless given). */
function cand(params: number, rows: Record<string, number[]>, logp?: Record<string, number[]>): CandidateRows {
  const out: CandidateRows = { params, rows: {} };
  for (const [t, c] of Object.entries(rows)) {
    out.rows[t] = { correct: Uint8Array.from(c), logp: Float64Array.from(logp?.[t] ?? c.map((x) => (x ? -0.1 : -2))) };
  }
  return out;
}

/** n rows correct with probability p each (seeded). */
function bernoulli(n: number, p: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => (rng.next() < p ? 1 : 0));
}

test('pairedDifference: weighted mean difference and paired SE by hand', () => {
  const a = cand(1, { x: [1, 1, 0, 1], y: [1, 0] });
  const b = cand(1, { x: [1, 0, 0, 0], y: [0, 0] });
  const tasks = [
    { name: 'x', weight: 1 },
    { name: 'y', weight: 3 },
  ];
  // d_x = [0,1,0,1]: mean 0.5, var (sample) 1/3; d_y = [1,0]: mean 0.5, var 0.5.
  const { diff, se } = pairedDifference(a, b, tasks);
  assert.equal(diff, 0.25 * 0.5 + 0.75 * 0.5);
  assert.ok(Math.abs(se - Math.sqrt(0.0625 * (1 / 3) / 4 + 0.5625 * 0.5 / 2)) < 1e-15);
  // Identical candidates: no difference, no error.
  assert.deepEqual(pairedDifference(a, a, tasks), { diff: 0, se: 0 });
  // On a row subset only those rows count.
  assert.equal(pairedDifference(a, b, [{ name: 'x', weight: 1 }], { x: Int32Array.from([0, 2]) }).diff, 0);
});

test('selectBy: each rule picks what it says', () => {
  const tasks = [{ name: 't', weight: 1 }];
  const rng = new Rng(3);
  const big = cand(10, { t: bernoulli(400, 0.8, rng) });
  // A small candidate wrong on 6 more rows than big (and right wherever big is): 1.5 points lower
  // with a paired SE of 0.6 points, so the one-SE rule keeps big.
  const smallRows = Array.from(big.rows.t.correct);
  let changed = 0;
  for (let i = 0; i < smallRows.length && changed < 6; i++) {
    if (smallRows[i] === 1) {
      smallRows[i] = 0;
      changed++;
    }
  }
  const small = cand(5, { t: smallRows });
  assert.equal(selectBy('max-accuracy', [small, big], tasks), 1);
  assert.equal(selectBy('one-se', [small, big], tasks), 1, 'a consistent 6-row loss is more than one paired SE');
  // Two rows worse and one better: 0.25 points lower, paired SE 0.43 points, so the one-SE rule
  // takes the smaller model.
  const orig = Array.from(big.rows.t.correct);
  const near = orig.slice();
  const ones = orig.flatMap((v, i) => (v ? [i] : []));
  near[ones[0]] = 0;
  near[ones[1]] = 0;
  near[orig.indexOf(0)] = 1;
  const small2 = cand(5, { t: near });
  assert.equal(selectBy('max-accuracy', [small2, big], tasks), 1);
  assert.equal(selectBy('one-se', [small2, big], tasks), 0);
  // max-loglik reads logp, not correctness.
  const sure = cand(10, { t: [1, 1, 0, 0] }, { t: [-0.01, -0.01, -0.9, -0.9] });
  const hedged = cand(10, { t: [1, 1, 1, 0] }, { t: [-0.6, -0.6, -0.6, -0.8] });
  assert.equal(selectBy('max-accuracy', [sure, hedged], tasks), 1);
  assert.equal(selectBy('max-loglik', [sure, hedged], tasks), 0);
  // Ties in accuracy go to fewer parameters.
  assert.equal(selectBy('max-accuracy', [cand(9, { t: [1, 0] }), cand(3, { t: [0, 1] })], tasks), 1);
});

test('simulateRules: finds a truly better candidate and scores it against the heuristics on held-out halves', () => {
  const tasks = [{ name: 't', weight: 1 }];
  const rng = new Rng(11);
  const n = 1000;
  const candidates = [cand(4, { t: bernoulli(n, 0.7, rng) }), cand(4, { t: bernoulli(n, 0.7, rng) }), cand(4, { t: bernoulli(n, 0.85, rng) })];
  const sim = simulateRules(candidates, tasks, [0, 1], { repeats: 50, seed: 1 });
  assert.equal(sim.repeats, 50);
  assert.deepEqual(sim.rules.map((r) => r.rule), ['max-accuracy', 'one-se', 'max-loglik', 'heuristic']);
  for (const r of sim.rules.filter((x) => x.rule !== 'heuristic')) {
    assert.ok(r.heldOutAccuracy > 0.8, `${r.rule} held-out ${r.heldOutAccuracy}`);
    assert.ok(r.vsBestHeuristic > 0.1, `${r.rule} gap ${r.vsBestHeuristic}`);
    assert.equal(r.atLeastBestHeuristic, 1);
  }
  // The heuristic rule can only ship a heuristic, so it loses here and auto does not take it.
  assert.ok(sim.rules.find((r) => r.rule === 'heuristic')!.heldOutAccuracy < 0.75);
  assert.notEqual(sim.best, 'heuristic');
  assert.deepEqual(simulateRules(candidates, tasks, [0, 1], { repeats: 50, seed: 1 }), sim, 'deterministic for a seed');
});

test('selectBy heuristic: the heuristic best in cross-validation, whatever the searched subsets score', () => {
  const tasks = [{ name: 't', weight: 1 }];
  const searched = cand(2, { t: [1, 1, 1, 1] });
  const h1 = cand(5, { t: [1, 1, 0, 0] });
  const h2 = cand(3, { t: [1, 1, 1, 0] });
  const h3 = cand(4, { t: [1, 0, 1, 1] });
  assert.equal(selectBy('heuristic', [searched, h1, h2, h3], tasks, undefined, [1, 2, 3]), 2, 'ties in accuracy go to fewer parameters');
  assert.equal(selectBy('heuristic', [searched, h1, h2, h3], tasks, undefined, [1]), 1);
  assert.equal(selectBy('heuristic', [searched, h1, h2, h3], tasks, { t: Int32Array.from([2, 3]) }, [1, 2, 3]), 3, 'on a row subset only those rows count');
  assert.throws(() => selectBy('heuristic', [searched, h1], tasks), /needs at least one heuristic/);
});

test('simulateRules: many searched subsets a little worse than a heuristic: the heuristic rule wins (winner\'s curse)', () => {
  const tasks = [{ name: 't', weight: 1 }];
  const rng = new Rng(7);
  const n = 800;
  // Two heuristics (0.75 and 0.70 true accuracy) and 20 searched subsets at 0.73: choosing the
  // best of 22 on one half mostly takes a lucky searched subset, worse on the other half.
  const heuristics = [cand(4, { t: bernoulli(n, 0.75, rng) }), cand(4, { t: bernoulli(n, 0.7, rng) })];
  const searched = Array.from({ length: 20 }, () => cand(4, { t: bernoulli(n, 0.73, rng) }));
  const sim = simulateRules([...heuristics, ...searched], tasks, [0, 1], { repeats: 100, seed: 3 });
  const h = sim.rules.find((r) => r.rule === 'heuristic')!;
  const acc = sim.rules.find((r) => r.rule === 'max-accuracy')!;
  assert.ok(h.heldOutAccuracy > acc.heldOutAccuracy, `heuristic ${h.heldOutAccuracy} vs max-accuracy ${acc.heldOutAccuracy}`);
  assert.equal(sim.best, 'heuristic');
  // Without heuristics the rule does not take part.
  assert.deepEqual(simulateRules(searched, tasks, [], { repeats: 5, seed: 3 }).rules.map((r) => r.rule), ['max-accuracy', 'one-se', 'max-loglik']);
});

test('simulateRules: among equals, picking on one half does no better than chance on the other (no leak)', () => {
  const tasks = [{ name: 't', weight: 1 }];
  const rng = new Rng(5);
  const candidates = Array.from({ length: 12 }, () => cand(4, { t: bernoulli(600, 0.6, rng) }));
  const sim = simulateRules(candidates, tasks, [0, 1, 2], { repeats: 100, seed: 2 });
  const r = sim.rules.find((x) => x.rule === 'max-accuracy')!;
  // The max over 12 equal candidates on half A is an ordinary draw on half B: about 0.6, not more.
  assert.ok(Math.abs(r.heldOutAccuracy - 0.6) < 0.02, `held-out ${r.heldOutAccuracy}`);
  assert.ok(r.vsBestHeuristic < 0, 'the best of three heuristics on B beats a random pick on B on average');
});

test('scoreRows: predictions match predictProbe, logp is the log-softmax of the true class, clipped', () => {
  const rng = new Rng(2);
  const n = 60;
  const dim = 3;
  const X = Float32Array.from({ length: n * dim }, () => rng.next() * 2 - 1);
  const y = Int32Array.from({ length: n }, (_, i) => (X[i * dim] + 0.3 * X[i * dim + 1] > 0 ? (X[i * dim + 2] > 0 ? 2 : 1) : 0));
  const p = trainProbe(X, y, dim, 3, { c: 1, control: false });
  const r = scoreRows(p, X, y);
  assert.deepEqual(r.pred, predictProbe(p, X, n));
  for (let i = 0; i < n; i++) assert.ok(r.logp[i] <= 0 && r.logp[i] >= MIN_LOGP);
  const mean = r.logp.reduce((a, b) => a + b, 0) / n;
  assert.ok(mean > Math.log(1 / 3), 'better than uniform on its own training rows');
  // A class absent from the training rows has a −1e300 logit; its log-probability is clipped.
  const m = fitLogReg(X, Int32Array.from(y, (v) => (v === 2 ? 1 : v)), dim, 3, { c: 1 });
  const clipped = scoreRows({ ...p, model: m, standardizer: { mean: new Float64Array(dim), scale: new Float64Array(dim).fill(1) } as never }, X, Int32Array.from(y, () => 2));
  assert.ok(clipped.logp.every((v) => v === MIN_LOGP));
});

test('formatGap and parseSelectionRule', () => {
  assert.equal(formatGap({ diff: 0.0123, se: 0.004 }), '+1.2 ± 0.4');
  assert.equal(formatGap({ diff: -0.05, se: 0.01 }), '−5.0 ± 1.0');
  assert.equal(parseSelectionRule('auto'), 'auto');
  assert.equal(parseSelectionRule('one-se'), 'one-se');
  assert.throws(() => parseSelectionRule('best'), (e: unknown) => e instanceof BadInputError && /^selection rule best: give auto, max-accuracy/.test(e.message) && e.bad?.param === 'select');
});
