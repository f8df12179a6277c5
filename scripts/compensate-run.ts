/**
 * Builds one compensated model folder for measurement (RESULTS §5; the graph under the source's own
 * name, onnx/model.onnx or T5's onnx/encoder_model.onnx):
 *   node out/scripts/compensate-run.js MODEL_DIR TASK_DIR KEPT OUT_DIR [--bridges] [--window 3] [--heads N] [--ffn-width N] [--score flap|task|mixed] [--embedding-rank R] [--limit-train N]
 * Calibration uses the task's training texts only; measure the folder with `probescale eval`.
 * The fits run on a fit pool of PROBESCALE_FIT_THREADS threads (default min(cores, 8)), as in a job.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { openModel } from '../src/core/model/modelInfo';
import { compensationSource } from '../src/core/compensate/source';
import { calibrationSet } from '../src/core/compensate/calibrate';
import { encoderOf, fitPlan, writeCompensatedOnnx } from '../src/core/compensate/build';
import { UnitScore } from '../src/core/compensate/scores';
import { copyTokenizerFiles } from '../src/core/commit/files';
import { prunedConfig } from '../src/core/model/safetensors';
import { committedGraphName } from '../src/core/commit/outputSize';
import { FitPool, fitThreads } from '../src/core/probe/fitPool';

async function main() {
  const [modelDir, taskDir, keptArg, out, ...rest] = process.argv.slice(2);
  const flag = (n: string) => rest.indexOf(n);
  const num = (n: string) => (flag(n) >= 0 ? Number(rest[flag(n) + 1]) : undefined);
  const kept = keptArg.split(',').map(Number);
  // A graph built from safetensors (or with external data) is compensated through its standalone copy.
  const source = compensationSource(openModel(modelDir));
  const info = source.info;
  const tok = await loadTokenizer(modelDir, { maxLength: 128 });
  const task = await loadTask(path.basename(taskDir), taskDir, { limitTrain: num('--limit-train') });
  const set = calibrationSet(tok, task.train.map((e) => e.text), {}, { task: new Int32Array(task.train.length), label: task.trainY });
  const t0 = Date.now();
  const log = (e: unknown) => console.error(JSON.stringify(e));
  const enc = encoderOf(info);
  const fits = new FitPool(fitThreads());
  const req = { kept, bridges: flag('--bridges') >= 0, window: num('--window') === 3 ? (3 as const) : (1 as const), heads: num('--heads'), ffnWidth: num('--ffn-width'), score: flag('--score') >= 0 ? (rest[flag('--score') + 1] as UnitScore) : undefined, embeddingRank: num('--embedding-rank') };
  const { plan, stats } = await fitPlan(enc, req, set, {}, { onProgress: log, fits }).finally(() => fits.close());
  fs.mkdirSync(path.join(out, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(prunedConfig(info.config, kept), null, 2));
  copyTokenizerFiles(info.dir, out);
  writeCompensatedOnnx(enc, plan, path.join(out, 'onnx', committedGraphName('model.onnx', info.architecture)));
  source.dispose();
  console.log(JSON.stringify({ kept, fitThreads: fits.size, seconds: (Date.now() - t0) / 1000, tokens: set.tokens.reduce((a, t) => a + t.length, 0), stats: stats.map((s) => ({ ...s, heldR2: s.heldR2.map((r) => +r.toFixed(4)) })) }));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
