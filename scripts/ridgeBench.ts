/**
 * The least-squares code of compensated builds before the sixteenth session (test/ridgeReference.ts:
 * unblocked scalar Cholesky, scalar residuals, per-element Welford moments) against today's
 * (ridge.ts, scores.ts), side by side in one process, old and new alternating each round (the
 * machine is noisy), medians reported with their ratio and how far the results differ. Shapes
 * are "n×q": a synthetic symmetric positive definite n×n system (diagonally dominant, well
 * conditioned; n = kept units + the bias) with q right-hand sides. Shapes up to 2000 run once
 * untimed first; shapes above get --large-rounds rounds (the old solve takes minutes there).
 *
 *   npm run compile && node out/scripts/ridgeBench.js [--rounds 3] [--large-rounds 1]
 *     [--shapes 257x256,1025x256,3073x768,4097x1024] [--fit 257x256,1025x256,3073x768,4097x1024]
 *     [--fit-old 257x256,1025x256] [--new-only SHAPES] [--fit-rounds 2] [--moments 20000x3072] [--kernel js|wasm]
 *
 * --fit: fitRidgeChoosingLambda end to end (five held-out solves, the refit, their R²), new at
 * these shapes, old too at the --fit-old ones (--kernel does not reach the fits: set
 * PROBESCALE_GEMM), --fit-rounds rounds. --fit-pool N: instead, at the --fit shapes, the search
 * inline against its λ solves on a fit pool of N threads, alternating, with a check that both give
 * the same numbers; --fit-mode inline|pool runs only one of the two, once (for peak RSS under
 * /usr/bin/time -v; pass --shapes '' --moments '' to leave out the rest). --new-only: shapes whose solve and residuals are timed for
 * the new code alone (the old take many minutes at 4097). Also
 * prints the longest stretch between two looks at the abort signal in one new solve of each
 * shape (how soon a cancel is seen).
 */
import { parseArgs } from 'node:util';
import { choleskySolve, fitRidgeChoosingLambda, GramAccumulator, residualSS, type ChosenFit, type RidgeFit } from '../src/core/compensate/ridge';
import { ColumnMoments } from '../src/core/compensate/scores';
import { abortWhen } from '../src/core/errors';
import { FitPool } from '../src/core/probe/fitPool';
import { type GemmKernel } from '../src/core/probe/gemm';
import { Rng } from '../src/core/util/rng';
import { maxRelDiff, refCholeskySolve, refColumnMoments, refFitRidgeChoosingLambda, refResidualSS } from '../test/ridgeReference';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (xs: number[]) => xs.map((x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1))).join(' ');

/**
 * Runs old and new `rounds` times each, alternating (old first in even rounds); ms of each, and
 * the last results. With `warm`, each runs once untimed first (the first run of a shape pays for
 * compiling the code; at the large shapes that is noise).
 */
function ab<T>(rounds: number, oldRun: () => T, newRun: () => T, warm: boolean): { old: number[]; new: number[]; oldOut: T; newOut: T } {
  const ms = { old: [] as number[], new: [] as number[] };
  let oldOut: T | undefined;
  let newOut: T | undefined;
  if (warm) {
    oldRun();
    newRun();
  }
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const)) {
      const t0 = performance.now();
      if (which === 'old') oldOut = oldRun();
      else newOut = newRun();
      ms[which].push(performance.now() - t0);
    }
  }
  return { ...ms, oldOut: oldOut as T, newOut: newOut as T };
}

function report(what: string, t: { old: number[]; new: number[] }, diff: string): void {
  console.log(`${what}: old ${fmt(t.old)} ms, new ${fmt(t.new)} ms → old ${fmt([median(t.old)])}, new ${fmt([median(t.new)])}, ×${(median(t.old) / median(t.new)).toFixed(1)}; ${diff}`);
}

/** A diagonally dominant symmetric n×n matrix (off-diagonal entries in [−1, 1], diagonal n + [0, 1)). */
function spd(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = rng.next() * 2 - 1;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
    a[i * n + i] = n + rng.next();
  }
  return a;
}

/** An accumulator with the statistics of `rows` rows: G that matrix (upper triangle), C and Σy random, Σy² enough to make R² about 0.3. */
function syntheticAcc(n: number, q: number, rng: Rng, rows: number): GramAccumulator {
  const acc = new GramAccumulator(n - 1, q);
  acc.g.set(spd(n, rng));
  for (let i = 0; i < acc.c.length; i++) acc.c[i] = rng.next() * 2 - 1;
  for (let k = 0; k < q; k++) {
    acc.ySum[k] = rng.next() - 0.5;
    acc.ySq[k] = 0.5 + rng.next();
  }
  acc.rows = rows;
  return acc;
}

/** The longest time (ms) between two looks at the signal in one solve. */
function longestStretch(a: Float64Array, b: Float64Array, n: number, m: number, kernel?: GemmKernel): number {
  const ac = new AbortController();
  let last = performance.now();
  let longest = 0;
  abortWhen(ac, () => {
    const t = performance.now();
    longest = Math.max(longest, t - last);
    last = t;
    return false;
  });
  choleskySolve(a, b, n, m, ac.signal, kernel);
  return Math.max(longest, performance.now() - last);
}

const shapesOf = (s: string) => (s ? s.split(',').map((x) => x.split('x').map(Number) as [number, number]) : []);

/** The λ search inline against on a pool of `threads` (see the header's --fit-pool, --fit-mode). */
async function fitOnPool(shapes: [number, number][], rounds: number, threads: number, mode: string | undefined, rng: Rng): Promise<void> {
  if (mode !== undefined && mode !== 'inline' && mode !== 'pool') throw new Error(`--fit-mode ${mode}: use inline or pool`);
  const pool = new FitPool(threads);
  try {
    for (const [n, q] of shapes) {
      const fitRows = syntheticAcc(n, q, rng, 8 * n);
      const held = syntheticAcc(n, q, rng, 2 * n);
      const inline = () => fitRidgeChoosingLambda(fitRows, held);
      const pooled = () => fitRidgeChoosingLambda(fitRows, held, undefined, undefined, pool);
      if (mode) {
        const t0 = performance.now();
        const c = (mode === 'inline' ? inline : pooled)();
        console.log(`fitRidgeChoosingLambda p=${n - 1}, q=${q}, ${mode === 'inline' ? 'inline' : `pool of ${threads}`}: ${fmt([performance.now() - t0])} ms; λ ${c.fit.lambda}`);
        continue;
      }
      const t = ab(rounds, inline, pooled, false);
      const same = t.oldOut.fit.w.every((v, i) => Object.is(v, t.newOut.fit.w[i])) && t.oldOut.heldR2.every((v, i) => Object.is(v, t.newOut.heldR2[i])) && Object.is(t.oldOut.trainR2, t.newOut.trainR2);
      console.log(`fitRidgeChoosingLambda p=${n - 1}, q=${q}: inline ${fmt(t.old)} ms, pool of ${threads} ${fmt(t.new)} ms → inline ${fmt([median(t.old)])}, pool ${fmt([median(t.new)])}, ×${(median(t.old) / median(t.new)).toFixed(2)}; λ ${t.newOut.fit.lambda}, ${same ? 'identical W, held-out and training R²' : 'RESULTS DIFFER'}`);
    }
  } finally {
    await pool.close();
  }
}

function main(): Promise<void> | void {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      'large-rounds': { type: 'string', default: '1' },
      shapes: { type: 'string', default: '257x256,1025x256,3073x768,4097x1024' },
      fit: { type: 'string', default: '257x256,1025x256,3073x768,4097x1024' },
      'fit-old': { type: 'string', default: '257x256,1025x256' },
      'new-only': { type: 'string', default: '' },
      'fit-rounds': { type: 'string', default: '2' },
      'fit-pool': { type: 'string' },
      'fit-mode': { type: 'string' },
      moments: { type: 'string', default: '20000x3072' },
      kernel: { type: 'string' },
    },
  });
  const kernel = values.kernel as GemmKernel | undefined;
  if (kernel !== undefined && kernel !== 'js' && kernel !== 'wasm') throw new Error(`--kernel ${kernel}: use js or wasm`);
  const roundsFor = (n: number) => Number(n > 2000 ? values['large-rounds'] : values.rounds);
  const warmFor = (n: number) => n <= 2000;
  const newOnly = new Set(shapesOf(values['new-only']).map((s) => s.join('x')));
  const rng = new Rng(1);

  for (const [n, q] of shapesOf(values.shapes)) {
    const a = spd(n, rng);
    const b = Float64Array.from({ length: n * q }, () => rng.next() * 2 - 1);
    const solveNew = () => {
      const x = Float64Array.from(b);
      choleskySolve(Float64Array.from(a), x, n, q, undefined, kernel);
      return x;
    };
    const stretch = () => `longest stretch between signal checks ${longestStretch(Float64Array.from(a), Float64Array.from(b), n, q, kernel).toFixed(1)} ms`;
    if (newOnly.has(`${n}x${q}`)) {
      const ms: number[] = [];
      for (let r = 0; r < roundsFor(n); r++) {
        const t0 = performance.now();
        solveNew();
        ms.push(performance.now() - t0);
      }
      console.log(`solve ${n}×${n}, ${q} right-hand sides: new ${fmt(ms)} ms (old not run); ${stretch()}`);
    } else {
      const t = ab(
        roundsFor(n),
        () => {
          const x = Float64Array.from(b);
          refCholeskySolve(Float64Array.from(a), x, n, q);
          return x;
        },
        solveNew,
        warmFor(n),
      );
      report(`solve ${n}×${n}, ${q} right-hand sides`, t, `X differs by ${maxRelDiff(t.newOut, t.oldOut).toExponential(1)} (max abs / max |X|); ${stretch()}`);
    }

    const acc = syntheticAcc(n, q, rng, 10 * n);
    const fit: RidgeFit = { w: Float64Array.from({ length: (n - 1) * q }, () => rng.next() - 0.5), b: Float64Array.from({ length: q }, () => rng.next() - 0.5), p: n - 1, q, lambda: 0 };
    if (newOnly.has(`${n}x${q}`)) {
      const t0 = performance.now();
      const sse = residualSS(fit, acc, undefined, kernel);
      console.log(`residualSS p=${n - 1}, q=${q}: new ${fmt([performance.now() - t0])} ms (old not run); SSE ${sse.toPrecision(8)}`);
      continue;
    }
    const r = ab(
      roundsFor(n),
      () => refResidualSS(fit, acc),
      () => residualSS(fit, acc, undefined, kernel),
      warmFor(n),
    );
    report(`residualSS p=${n - 1}, q=${q}`, r, `SSE ${r.newOut.toPrecision(8)}, differs by ${(Math.abs(r.newOut - r.oldOut) / Math.abs(r.oldOut)).toExponential(1)}`);
  }

  const fitRounds = Number(values['fit-rounds']);
  if (values['fit-pool'] !== undefined || values['fit-mode'] !== undefined) return fitOnPool(shapesOf(values.fit), fitRounds, Number(values['fit-pool'] ?? 2), values['fit-mode'], rng);
  const fitOld = new Set(shapesOf(values['fit-old']).map((s) => s.join('x')));
  for (const [n, q] of shapesOf(values.fit)) {
    const fitRows = syntheticAcc(n, q, rng, 8 * n);
    const held = syntheticAcc(n, q, rng, 2 * n);
    if (fitOld.has(`${n}x${q}`)) {
      // No untimed runs: the solves above compiled the code.
      const t = ab(
        fitRounds,
        () => refFitRidgeChoosingLambda(fitRows, held),
        () => fitRidgeChoosingLambda(fitRows, held),
        false,
      );
      const r2 = Math.max(maxRelDiff(t.newOut.heldR2, t.oldOut.heldR2), maxRelDiff([t.newOut.trainR2], [t.oldOut.trainR2]));
      report(`fitRidgeChoosingLambda p=${n - 1}, q=${q}`, t, `λ ${t.newOut.fit.lambda} (old ${t.oldOut.fit.lambda}), R² differ by ${r2.toExponential(1)}, W by ${maxRelDiff(t.newOut.fit.w, t.oldOut.fit.w).toExponential(1)}`);
    } else {
      const ms: number[] = [];
      let c: ChosenFit | undefined;
      for (let r = 0; r < fitRounds; r++) {
        const t0 = performance.now();
        c = fitRidgeChoosingLambda(fitRows, held);
        ms.push(performance.now() - t0);
      }
      console.log(`fitRidgeChoosingLambda p=${n - 1}, q=${q}: new ${fmt(ms)} ms (old not run: six old solves of this size take minutes each); λ ${c?.fit.lambda}`);
    }
  }

  for (const [rows, width] of shapesOf(values.moments)) {
    const x = Float32Array.from({ length: rows * width }, () => rng.next() * 4 - 1);
    const batches = Array.from({ length: Math.ceil(rows / 128) }, (_, i) => Int32Array.from({ length: Math.min(128, rows - i * 128) }, (_, j) => i * 128 + j));
    const t = ab(
      Number(values.rounds),
      () => refColumnMoments(x, width, batches),
      () => {
        const m = new ColumnMoments(width);
        for (const b of batches) m.add(x, b);
        return m;
      },
      true,
    );
    report(`ColumnMoments ${rows} rows × ${width} in batches of 128`, t, `means differ by ${maxRelDiff(t.newOut.mean, t.oldOut.mean).toExponential(1)}, M2 by ${maxRelDiff(t.newOut.m2, t.oldOut.m2).toExponential(1)}`);
  }
}

void main();
