/**
 * Measures each stage's share of a job's wall time (the weights behind the overall progress and
 * time-left estimate in src/core/progress.ts). Runs the job in this process and prints one line
 * per stage in the order the stages first started.
 *
 *   node out/scripts/stageShares.js probe|optimize MODEL_DIR --task NAME=DIR [--task …] [--limit-train N] [--limit-test N] [--budget 0.5]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Job } from '../src/core/jobs';
import { runAnyJob } from '../src/core/pipeline/dispatch';
import { stagesOf } from '../src/core/progress';
import { DEFAULT_CANDIDATES, DEFAULT_SETTINGS, DEFAULT_TARGET_RETENTION } from '../src/core/settings';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { task: { type: 'string', multiple: true }, 'limit-train': { type: 'string' }, 'limit-test': { type: 'string' }, budget: { type: 'string', default: '0.5' } },
  });
  const [kind, modelDir] = positionals;
  const tasks = (values.task ?? []).map((t) => ({ name: t.split('=')[0], path: t.split('=')[1], weight: 1 }));
  const settings = { ...DEFAULT_SETTINGS, limitTrain: Number(values['limit-train'] ?? 1000), limitTest: Number(values['limit-test'] ?? 500) };
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-stages-')), 'model');
  const job: Job =
    kind === 'optimize'
      ? { type: 'optimize', modelDir, tasks, budget: values.budget!, out, targetRetention: DEFAULT_TARGET_RETENTION, candidates: DEFAULT_CANDIDATES, settings }
      : { type: 'probe', modelDir, tasks, settings };
  const spent = new Map<string, number>();
  let current = 'start';
  let since = Date.now();
  const t0 = since;
  await runAnyJob(job, {
    onProgress: (e) => {
      // As the progress tracker counts: only its stages, each once; tokenising, pruning and the like belong to the stage they run in.
      if (e.kind !== 'stage' || e.stage === current || spent.has(e.stage) || !stagesOf(kind === 'optimize' ? 'optimize' : 'probe').includes(e.stage)) return;
      spent.set(current, (spent.get(current) ?? 0) + Date.now() - since);
      current = e.stage;
      since = Date.now();
    },
  });
  spent.set(current, (spent.get(current) ?? 0) + Date.now() - since);
  const total = Date.now() - t0;
  for (const [stage, ms] of spent) console.log(`${stage.padEnd(12)} ${(ms / 1000).toFixed(1).padStart(7)} s  ${((100 * ms) / total).toFixed(1).padStart(5)} %`);
  console.log(`total ${(total / 1000).toFixed(1)} s`);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
