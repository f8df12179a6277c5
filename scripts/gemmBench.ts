/**
 * The probe objective's speed with the JavaScript and the WebAssembly SIMD kernel, side by side in
 * one process, rounds alternating (machines are noisy): one objective evaluation (loss and
 * gradient) at rows × dim × labels, for each label count asked. Checks both give the same bits.
 * With --probe, also a whole `probescale probe` (node bin/probescale.js, run `npm run build`
 * first) with PROBESCALE_GEMM=js and without, alternating, on one model and task; pass the feature
 * cache with --cache-dir and run it once before, so only the fits differ.
 *
 *   node out/scripts/gemmBench.js [--rows 2000] [--dim 256] [--labels 150,2] [--evals 5] [--rounds 3]
 *     [--probe "MODEL --task NAME=DIR --limit-train N --cache-dir DIR"]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { logRegObjective } from '../src/core/probe/logreg';
import { Rng } from '../src/core/util/rng';

type Kernel = 'js' | 'wasm';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const order = (r: number): Kernel[] => (r % 2 === 0 ? ['js', 'wasm'] : ['wasm', 'js']);

/** Milliseconds per objective evaluation (median of `evals`), and the value and gradient of the last. */
function timeObjective(kernel: Kernel, X: Float32Array, y: Int32Array, dim: number, k: number, evals: number): { ms: number; value: number; grad: Float64Array } {
  process.env.PROBESCALE_GEMM = kernel;
  const { size, objective } = logRegObjective(X, y, dim, k, 1);
  const p = Float64Array.from({ length: size }, (_, i) => Math.sin(i) * 0.01);
  const grad = new Float64Array(size);
  let value = objective(p, grad); // warm-up
  const ms: number[] = [];
  for (let e = 0; e < evals; e++) {
    const t0 = performance.now();
    value = objective(p, grad);
    ms.push(performance.now() - t0);
  }
  return { ms: median(ms), value, grad };
}

function objectiveBench(rows: number, dim: number, k: number, evals: number, rounds: number): void {
  const rng = new Rng(3);
  const X = Float32Array.from({ length: rows * dim }, () => rng.next() * 2 - 1);
  const y = Int32Array.from({ length: rows }, (_, i) => i % k);
  const ms: Record<Kernel, number[]> = { js: [], wasm: [] };
  const last: Partial<Record<Kernel, { value: number; grad: Float64Array }>> = {};
  for (let r = 0; r < rounds; r++) {
    for (const kernel of order(r)) {
      const t = timeObjective(kernel, X, y, dim, k, evals);
      ms[kernel].push(t.ms);
      last[kernel] = t;
    }
  }
  const same = Object.is(last.js!.value, last.wasm!.value) && last.js!.grad.every((g, i) => Object.is(g, last.wasm!.grad[i]));
  const macs = 2 * rows * dim * (k === 2 ? 1 : k);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  console.log(
    `objective ${rows}×${dim}×${k}: js ${fmt(ms.js)} ms, wasm ${fmt(ms.wasm)} ms (median of ${evals} per round) → ` +
      `js ${median(ms.js).toFixed(1)} ms (${(macs / median(ms.js) / 1e6).toFixed(2)} GMAC/s), wasm ${median(ms.wasm).toFixed(1)} ms (${(macs / median(ms.wasm) / 1e6).toFixed(2)} GMAC/s), ×${(median(ms.js) / median(ms.wasm)).toFixed(2)}; ${same ? 'same bits' : 'RESULTS DIFFER'}`,
  );
}

/** A whole CLI probe per kernel, alternating: wall seconds, the report's probeSeconds, and whether the tables match. */
function probeBench(args: string, rounds: number): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-gemmbench-'));
  try {
    const wall: Record<Kernel, number[]> = { js: [], wasm: [] };
    const probe: Record<Kernel, number[]> = { js: [], wasm: [] };
    const tasks: Partial<Record<Kernel, string>> = {};
    for (let r = 0; r < rounds; r++) {
      for (const kernel of order(r)) {
        const out = path.join(dir, `${kernel}.json`);
        const t0 = performance.now();
        const run = spawnSync(process.execPath, ['bin/probescale.js', 'probe', ...args.split(/\s+/), '-q', '--out', out], { encoding: 'utf8', env: { ...process.env, PROBESCALE_GEMM: kernel === 'js' ? 'js' : '' } });
        if (run.status !== 0) throw new Error(`probescale probe failed (${kernel}): ${run.stderr}`);
        wall[kernel].push((performance.now() - t0) / 1000);
        const report = JSON.parse(fs.readFileSync(out, 'utf8'));
        probe[kernel].push(report.timings.probeSeconds);
        tasks[kernel] = JSON.stringify(report.tasks);
        console.log(`round ${r + 1} ${kernel}: wall ${wall[kernel].at(-1)!.toFixed(1)} s, probe stage ${report.timings.probeSeconds.toFixed(1)} s`);
      }
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    console.log(`probe ${args}: probe stage js ${sum(probe.js).toFixed(1)} s, wasm ${sum(probe.wasm).toFixed(1)} s over ${rounds} run(s) each, ×${(sum(probe.js) / sum(probe.wasm)).toFixed(2)}; wall ${sum(wall.js).toFixed(1)} vs ${sum(wall.wasm).toFixed(1)} s; tables ${tasks.js === tasks.wasm ? 'identical' : 'DIFFER'}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, dim: { type: 'string' }, labels: { type: 'string' }, evals: { type: 'string' }, rounds: { type: 'string' }, probe: { type: 'string' } } });
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const rounds = num(values.rounds, 3);
  for (const k of (values.labels ?? '150,2').split(',').map(Number)) objectiveBench(num(values.rows, 2000), num(values.dim, 256), k, num(values.evals, 5), rounds);
  if (values.probe) probeBench(values.probe, rounds);
}

if (require.main === module) main();
