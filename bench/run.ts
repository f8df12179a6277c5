/**
 * `npm run bench [-- --quick] [-- --json FILE] [-- --scale MODEL_DIR ...]`: speed and memory of
 * the engine as ratios, each measured side by side in one run, because machines are noisy.
 *
 * On the embedded roberta-mini: extraction vs plain inference, pruned prefixes vs the FLOP ratio,
 * our probe fit vs scikit-learn's, peak RSS of a probe run vs the ONNX file, optimize vs probe
 * wall time, and the subset search on 48 blocks × 10 budgets. `--scale DIR` measures a (large)
 * model folder instead: peak RSS and time of plain inference, probe and optimize. `--quick` runs
 * smaller workloads (under 3 minutes on 2 cores; CI runs it). Writes bench/results.json (not in
 * quick or scale mode) and, with --json, FILE.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { openModel } from '../src/core/model/modelInfo';
import { root } from './children';
import { pipelineRuns } from './pipelineRuns';
import { extractionOverPlain, optimizerMs, probeVsSklearn, prunedLatency } from './measures';
import { scaleBench } from './scale';

const model = path.join(root, 'models', 'probescale-roberta-mini');
const tasks = path.join(root, 'data', 'tasks');

interface Args {
  quick: boolean;
  json: string | null;
  scale: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, json: null, scale: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') a.quick = true;
    else if (argv[i] === '--json' && argv[i + 1]) a.json = path.resolve(argv[++i]);
    else if (argv[i] === '--scale' && argv[i + 1]) a.scale.push(path.resolve(argv[++i]));
    else throw new Error(`bench: unknown or incomplete argument '${argv[i]}'; use --quick, --json FILE, --scale MODEL_DIR.`);
  }
  return a;
}

async function miniBench(quick: boolean) {
  const tok = await loadTokenizer(model, { maxLength: 128 });
  const info = openModel(model);
  const spam = await loadTask('spam', path.join(tasks, 'spam'), { limitTrain: 10, limitTest: 256 });
  const texts = spam.test.map((e) => e.text).slice(0, quick ? 96 : 256);
  const extraction = await extractionOverPlain(info, tok, texts, quick ? 2 : 3);
  const pruned = await prunedLatency(info, tok, texts, quick ? [4] : [2, 4, 7], quick ? { runs1: 15, runs32: 10 } : { runs1: 40, runs32: 10 });
  const sentlen = await loadTask('sentlen', path.join(tasks, 'sentlen'), quick ? { limitTrain: 500, limitTest: 200 } : { limitTrain: 2000, limitTest: 500 });
  const probe = await probeVsSklearn(info, tok, sentlen);
  const runs = pipelineRuns(model, info.onnxFile, quick ? { train: 150, test: 60 } : { train: 1000, test: 500 }, quick ? 2 : 8);
  info.model.close();
  const metrics = {
    extraction_over_plain: extraction.ratio,
    probe_time_over_sklearn: probe.timeRatio,
    probe_accuracy_gap_points: probe.accuracyGapPoints,
    pruned_speedup_over_ideal: { batch1: Math.min(...pruned.map((r) => r.overIdeal.batch1)), batch32: Math.min(...pruned.map((r) => r.overIdeal.batch32)) },
    peak_rss_over_onnx_size: runs.peakRssOverOnnxSize,
    optimize_over_probe: runs.optimizeOverProbe,
    optimize_over_probe_without_baselines: runs.optimizeWithoutBaselinesOverProbe,
    optimizer_ms: optimizerMs().ms,
  };
  const notes = [probe.note ? `probe_time_over_sklearn: ${probe.note}` : null, 'pruned_speedup_over_ideal: the smallest over the prefixes measured', 'peak_rss_over_onnx_size: the largest of the probe and optimize child processes', 'optimize_over_probe_without_baselines: optimize --baselines none (the search alone, no heuristic measured)'].filter(Boolean);
  return { metrics, notes, details: { extraction, pruned, probe, runs } };
}

function printMini(r: Awaited<ReturnType<typeof miniBench>>): void {
  const m = r.metrics;
  const d = r.details;
  const f = (x: number | null, digits = 2) => (x === null ? 'null' : x.toFixed(digits));
  console.log(
    [
      `extraction / plain inference: ×${f(m.extraction_over_plain, 3)} (${d.extraction.texts} texts, ${d.extraction.rounds} alternating rounds, medians)`,
      `probe fit / scikit-learn: ${f(m.probe_time_over_sklearn)} (ours ${d.probe.ours.fitMs.toFixed(0)} ms, accuracy gap ${f(m.probe_accuracy_gap_points)} points; ${d.probe.rows.train}×${d.probe.rows.dim}, ${d.probe.rows.classes} classes)${d.probe.note ? ` — ${d.probe.note}` : ''}`,
      ...d.pruned.map((p) => `pruned ${p.blocks} blocks: batch1 ×${p.batch1.speedup.toFixed(2)}, batch32 ×${p.batch32.speedup.toFixed(2)}, ideal ×${p.idealSpeedup.toFixed(2)} → ${p.overIdeal.batch1.toFixed(2)} / ${p.overIdeal.batch32.toFixed(2)} of ideal`),
      `probe ${d.runs.probe.seconds.toFixed(1)} s, optimize ${d.runs.optimize.seconds.toFixed(1)} s (--candidates ${d.runs.candidates}) → optimize/probe ${f(m.optimize_over_probe)}; with --baselines none ${d.runs.optimizeWithoutBaselines.seconds.toFixed(1)} s → ${f(m.optimize_over_probe_without_baselines)}`,
      `peak RSS ${(Math.max(d.runs.probe.peakRssBytes, d.runs.optimize.peakRssBytes, d.runs.optimizeWithoutBaselines.peakRssBytes) / 2 ** 20).toFixed(0)} MB = ${f(m.peak_rss_over_onnx_size)} × the ${(d.runs.onnxBytes / 2 ** 20).toFixed(1)} MB ONNX file`,
      `optimizer (48 blocks × 10 budgets): ${m.optimizer_ms.toFixed(0)} ms`,
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memoryGB: Math.round(os.totalmem() / 2 ** 30) };
  let result: object;
  if (args.scale.length) {
    result = { machine, mode: 'scale', scale: await scaleBench(args.scale, args.quick) };
  } else {
    const r = await miniBench(args.quick);
    printMini(r);
    result = { machine, mode: args.quick ? 'quick' : 'full', ...r };
    if (!args.quick) fs.writeFileSync(path.join(root, 'bench', 'results.json'), JSON.stringify(result, null, 2) + '\n');
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`bench took ${seconds.toFixed(0)} s`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ ...result, seconds }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
