import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnxBytes, root, runCli } from './children';

const tasks = path.join(root, 'data', 'tasks');

/** Probe and optimize on the same rows in child processes: wall times and peak RSS. */
export function pipelineRuns(dir: string, onnxFile: string, rows: { train: number; test: number }, candidates: number) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-runs-'));
  const common = ['--task', `spam=${path.join(tasks, 'spam')}`, '--limit-train', String(rows.train), '--limit-test', String(rows.test), '--no-cache'];
  try {
    const probe = runCli(['probe', dir, ...common, '--out', path.join(out, 'probe.json')]);
    const optimize = runCli(['optimize', dir, ...common, '--budget', '0.35', '--candidates', String(candidates), '--out', path.join(out, 'opt')]);
    const size = onnxBytes(onnxFile);
    const peak = Math.max(probe.peakRssBytes, optimize.peakRssBytes);
    return { rows, candidates, onnxBytes: size, probe, optimize, optimizeOverProbe: optimize.seconds / probe.seconds, peakRssOverOnnxSize: peak / size, peakRssWithinBudget: peak <= 1.5 * size + 300 * 2 ** 20 };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
