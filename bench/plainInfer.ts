/**
 * Child of the bench's scale mode: plain ONNX Runtime inference (model file as is, default
 * options, last_hidden_state only) over a task's train + test texts in batches of 32; prints seconds.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { plainPass } from './plain';

async function main(): Promise<void> {
  const [dir, onnxFile, taskDir, limitTrain, limitTest] = process.argv.slice(2);
  const tok = await loadTokenizer(dir, { maxLength: 128 });
  const task = await loadTask(path.basename(taskDir), taskDir, { limitTrain: Number(limitTrain), limitTest: Number(limitTest) });
  const s = await ort.InferenceSession.create(onnxFile, { intraOpNumThreads: os.cpus().length });
  const t0 = performance.now();
  await plainPass(s, tok, [...task.train, ...task.test].map((e) => e.text));
  console.log(JSON.stringify({ inferSeconds: (performance.now() - t0) / 1000 }));
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
