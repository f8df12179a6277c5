/**
 * Times pruned or compensated encoders against their source side by side in one run (the verify
 * stage's alternating timer, CPU), on the first 64 test texts of a task:
 *   node out/scripts/timeVariants.js MODEL_DIR TASK_DIR VARIANT...
 * A VARIANT is an ONNX file, or a folder `optimize` committed: then its own graph is timed and,
 * where its report's verify timed the same padded length, the speedup is set against the report's
 * ideal FLOP ratio (so a committed run can be re-timed on a quiet machine).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { timeEncoders } from '../src/core/pipeline/verify';
import { resolveOnnxFile, readConfig } from '../src/core/model/modelInfo';

function variant(arg: string): { file: string; ideal?: { speedup: number; seqLen: number } } {
  if (!fs.statSync(arg).isDirectory()) return { file: arg };
  const report = JSON.parse(fs.readFileSync(path.join(arg, 'probescale-report.json'), 'utf8'));
  const timing = report.verify?.timing;
  return { file: resolveOnnxFile(arg, readConfig(arg)), ideal: typeof timing?.idealSpeedup === 'number' ? { speedup: timing.idealSpeedup, seqLen: timing.seqLen } : undefined };
}

async function main(): Promise<void> {
  const [modelDir, taskDir, ...args] = process.argv.slice(2);
  const tok = await loadTokenizer(modelDir, { maxLength: 128 });
  const task = await loadTask('t', taskDir, { limitTest: 64 });
  const source = resolveOnnxFile(modelDir, readConfig(modelDir));
  for (const arg of args) {
    const v = variant(arg);
    const t = await timeEncoders(source, v.file, task.test.map((e) => e.text), tok, { provider: 'cpu', runs1: 20, runs32: 10 });
    const vsIdeal = v.ideal?.seqLen === t.seqLen ? `; ideal ×${v.ideal.speedup.toFixed(2)}, batch 32 / ideal ${(t.batch32.speedup / v.ideal.speedup).toFixed(2)}` : v.ideal ? `; its report was timed at length ${v.ideal.seqLen}, not compared` : '';
    console.log(`${arg}: batch 1 ×${t.batch1.speedup.toFixed(2)}, batch 32 ×${t.batch32.speedup.toFixed(2)} ±${(100 * t.batch32.relativeError).toFixed(1)} % (length ${t.seqLen}, ${t.batch32.runs} pairs)${vsIdeal}`);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
