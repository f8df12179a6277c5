/**
 * Times pruned or compensated encoders against their source side by side in one run (the verify
 * stage's alternating timer, CPU), on the first 64 test texts of a task:
 *   node out/scripts/timeVariants.js MODEL_DIR TASK_DIR VARIANT...
 * MODEL_DIR runs from its export, or from the graph built from its weights where it has none.
 * A VARIANT is an ONNX file, or a folder `optimize` committed: then its own graph is timed and,
 * where its report's verify timed the same padded length, the speedup is set against the report's
 * ideal FLOP ratio (so a committed run can be re-timed on a quiet machine); a folder without a
 * report (scripts/compensate-run.js) gets the ideal verify would compute for it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { idealSpeedup, timeEncoders } from '../src/core/pipeline/verify';
import { ModelInfo, headCount, openModel, readConfig, resolveOnnxFile } from '../src/core/model/modelInfo';
import { COMPENSATION_METADATA } from '../src/core/compensate/graph';

function variant(arg: string): { file: string; ideal?: { speedup: number; seqLen: number } } {
  if (!fs.statSync(arg).isDirectory()) return { file: arg };
  const reportFile = path.join(arg, 'probescale-report.json');
  if (!fs.existsSync(reportFile)) return { file: resolveOnnxFile(arg, readConfig(arg)) };
  const timing = JSON.parse(fs.readFileSync(reportFile, 'utf8')).verify?.timing;
  return { file: resolveOnnxFile(arg, readConfig(arg)), ideal: typeof timing?.idealSpeedup === 'number' ? { speedup: timing.idealSpeedup, seqLen: timing.seqLen } : undefined };
}

/**
 * The ideal FLOP ratio of a folder without a report (scripts/compensate-run.js writes one), as verify
 * computes it: its kept blocks' parameters, and the share of heads its compensation record keeps.
 */
function idealOf(source: ModelInfo, dir: string, seqLen: number): number | null {
  const v = openModel(dir);
  try {
    const width = (JSON.parse(v.model.metadata.get(COMPENSATION_METADATA) ?? '{}') as { width?: Record<string, number> }).width ?? {};
    const heads = Object.entries(width).filter(([k]) => k.startsWith('attention:')).map(([, n]) => n);
    const all = headCount(source.config);
    return idealSpeedup(source, Array.from({ length: v.numLayers }, (_, i) => i), seqLen, { variant: v, attentionShare: heads.length ? heads[0] / all : 1 });
  } finally {
    v.model.close();
  }
}

async function main(): Promise<void> {
  const [modelDir, taskDir, ...args] = process.argv.slice(2);
  const tok = await loadTokenizer(modelDir, { maxLength: 128 });
  const task = await loadTask('t', taskDir, { limitTest: 64 });
  // The source's export, or the graph built from its weights (a folder without an export).
  const sourceInfo = openModel(modelDir);
  const source = sourceInfo.onnxFile;
  for (const arg of args) {
    const v = variant(arg);
    const t = await timeEncoders(source, v.file, task.test.map((e) => e.text), tok, { provider: 'cpu', runs1: 20, runs32: 10 });
    const own = !v.ideal && fs.statSync(arg).isDirectory() ? idealOf(sourceInfo, arg, t.seqLen) : null;
    const ideal = v.ideal ?? (own === null ? undefined : { speedup: own, seqLen: t.seqLen });
    const vsIdeal = ideal?.seqLen === t.seqLen ? `; ideal ×${ideal.speedup.toFixed(2)}, batch 32 / ideal ${(t.batch32.speedup / ideal.speedup).toFixed(2)}` : ideal ? `; its report was timed at length ${ideal.seqLen}, not compared` : '';
    console.log(`${arg}: batch 1 ×${t.batch1.speedup.toFixed(2)}, batch 32 ×${t.batch32.speedup.toFixed(2)} ±${(100 * t.batch32.relativeError).toFixed(1)} % (length ${t.seqLen}, ${t.batch32.runs} pairs)${vsIdeal}`);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
