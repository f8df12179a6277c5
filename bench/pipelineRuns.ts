import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnxBytes, root, runCli } from './children';
import type { OptimizeReport } from '../src/core/report';

const tasks = path.join(root, 'data', 'tasks');

/**
 * Probe and optimize on the same rows in child processes, one after the other: wall times and
 * peak RSS. Optimize runs twice: as is (every baseline measured on every row) and with
 * `--baselines none` (the search alone, what a user who skips the comparison pays).
 */
export function pipelineRuns(dir: string, onnxFile: string, rows: { train: number; test: number }, candidates: number) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-runs-'));
  const common = ['--task', `spam=${path.join(tasks, 'spam')}`, '--limit-train', String(rows.train), '--limit-test', String(rows.test), '--no-cache'];
  const optimizeArgs = (name: string) => ['optimize', dir, ...common, '--budget', '0.35', '--candidates', String(candidates), '--out', path.join(out, name)];
  try {
    const probe = runCli(['probe', dir, ...common, '--out', path.join(out, 'probe.json')]);
    const optimize = runCli(optimizeArgs('opt'));
    const alone = runCli([...optimizeArgs('opt-alone'), '--baselines', 'none']);
    const size = onnxBytes(onnxFile);
    const peak = Math.max(probe.peakRssBytes, optimize.peakRssBytes, alone.peakRssBytes);
    return {
      rows,
      candidates,
      onnxBytes: size,
      probe,
      optimize,
      optimizeOverProbe: optimize.seconds / probe.seconds,
      optimizeWithoutBaselines: alone,
      optimizeWithoutBaselinesOverProbe: alone.seconds / probe.seconds,
      peakRssOverOnnxSize: peak / size,
      peakRssWithinBudget: peak <= 1.5 * size + 300 * 2 ** 20,
      optimizeStages: optimizeStages(path.join(out, 'opt', 'probescale-report.json'), optimize.seconds),
      optimizeWithoutBaselinesStages: optimizeStages(path.join(out, 'opt-alone', 'probescale-report.json'), alone.seconds),
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Where an optimize spent its time, from its report: the full model's extraction (with setup),
 * candidates (probes, measured subsets, selection), and the rest (commit and verify).
 */
function optimizeStages(reportFile: string, totalSeconds: number) {
  const r = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as OptimizeReport;
  const { extractSeconds, probeSeconds } = r.timings;
  const timing = r.verify?.timing;
  return {
    extractSeconds,
    candidatesSeconds: probeSeconds,
    commitAndVerifySeconds: totalSeconds - extractSeconds - probeSeconds,
    measured: r.selection.candidates.length,
    dropped: r.selection.search?.dropped.length ?? 0,
    verifyTiming: timing ? { design: timing.design, runs: [timing.batch1.runs, timing.batch32.runs], originalMs32: timing.batch32.originalMs, efficiency: timing.efficiency } : null,
  };
}
