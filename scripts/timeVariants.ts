/**
 * Times pruned or compensated encoder files against their source side by side in one run (the
 * verify stage's alternating timer, CPU), on the first 64 test texts of a task:
 *   node out/scripts/timeVariants.js MODEL_DIR TASK_DIR FILE...
 */
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { timeEncoders } from '../src/core/pipeline/verify';
import { resolveOnnxFile, readConfig } from '../src/core/model/modelInfo';

async function main(): Promise<void> {
  const [modelDir, taskDir, ...files] = process.argv.slice(2);
  const tok = await loadTokenizer(modelDir, { maxLength: 128 });
  const task = await loadTask('t', taskDir, { limitTest: 64 });
  const source = resolveOnnxFile(modelDir, readConfig(modelDir));
  for (const f of files) {
    const t = await timeEncoders(source, f, task.test.map((e) => e.text), tok, { provider: 'cpu', runs1: 20, runs32: 10 });
    console.log(`${f}: batch 1 ×${t.batch1.speedup.toFixed(2)}, batch 32 ×${t.batch32.speedup.toFixed(2)} (length ${t.seqLen})`);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
