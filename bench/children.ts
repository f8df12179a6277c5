/** Runs the CLI (or a script) in a child process and reports its wall time and peak RSS. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxModel } from '../src/core/onnx/model';

export const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'out', 'src', 'cli', 'main.js');
const preload = path.join(__dirname, 'maxrss.js');

export interface ChildRun {
  seconds: number;
  peakRssBytes: number;
}

// Generous: on a loaded 2-core machine optimize on the 1.2 GB model ran past 30 minutes.
export function runNode(script: string, args: string[], timeoutS = 4 * 3600): ChildRun {
  const rssFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-rss-')), 'maxrss');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--require', preload, script, ...args], { encoding: 'utf8', env: { ...process.env, PROBESCALE_MAXRSS_FILE: rssFile }, timeout: timeoutS * 1000, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${path.basename(script)} ${args.slice(0, 2).join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  const peakRssBytes = Number(fs.readFileSync(rssFile, 'utf8'));
  fs.rmSync(path.dirname(rssFile), { recursive: true, force: true });
  // Said at once, so a later step that fails does not lose this one.
  console.error(`${path.basename(script)} ${args.slice(0, 2).join(' ')}: ${seconds.toFixed(1)} s, peak RSS ${(peakRssBytes / 2 ** 20).toFixed(0)} MB`);
  return { seconds, peakRssBytes };
}

export function runCli(args: string[], timeoutS?: number): ChildRun {
  return runNode(cli, [...args, '-q'], timeoutS);
}

/** Size of a model's ONNX file(s): the graph plus the external-data files it names. */
export function onnxBytes(onnxFile: string): number {
  const m = OnnxModel.open(onnxFile);
  const files = new Set([...m.initializers.values()].filter((t) => t.external).map((t) => path.join(path.dirname(onnxFile), t.external!.location)));
  m.close();
  return [onnxFile, ...files].reduce((a, f) => a + fs.statSync(f).size, 0);
}
