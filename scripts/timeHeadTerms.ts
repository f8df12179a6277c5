/**
 * What cutting heads costs an encoder whose blocks share a per-head score term (MPNet's relative
 * position bias, RESULTS §6 "Twenty-ninth session"): builds the model's graph, then the same graph
 * with every block narrowed to `heads` heads (original output rows, no refit: the timing does not
 * depend on the values), and prints ONNX Runtime's kernel time per operator type for both.
 *   node out/scripts/timeHeadTerms.js MODEL_DIR HEADS BATCH LENGTH [RUNS]   (THREADS=N, default 2)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../src/core/model/modelInfo';
import { compensatedEdit, emptyPlan, narrowKey, unitColumns } from '../src/core/compensate/graph';
import { findSublayers, readFloat32 } from '../src/core/compensate/structure';

function main(): void {
  const [dir, heads, batch, length, runs] = [process.argv[2], Number(process.argv[3]), process.argv[4], process.argv[5], process.argv[6] ?? '20'];
  const info = openModel(dir);
  const { model, blocks } = info;
  const hidden = Number(info.config.hidden_size);
  const all = Number(info.config.num_attention_heads);
  const kept = blocks.scopeIndex.map((_, i) => i);
  const plan = emptyPlan(kept);
  for (const b of kept) {
    const site = findSublayers(model, blocks, b, hidden, all).attention;
    const keep = Array.from({ length: heads }, (_, j) => j);
    const out = readFloat32(model, site.output.weight);
    plan.narrow.set(narrowKey('attention', b), { kept: keep, out: Float32Array.from(unitColumns(keep, site.group).flatMap((j) => Array.from(out.subarray(j * hidden, (j + 1) * hidden)))), outBias: readFloat32(model, site.output.bias!) });
  }
  // Written beside the source graph so that its external weights resolve.
  const narrowed = path.join(path.dirname(info.onnxFile), `narrowed-${heads}.onnx`);
  model.write(narrowed, compensatedEdit(model, blocks, plan, { hidden, heads: all }));
  model.close();
  const profile = path.join(__dirname, 'profileOps.js');
  try {
    for (const f of [info.onnxFile, narrowed]) process.stdout.write(spawnSync(process.execPath, [profile, f, batch, length, runs], { encoding: 'utf8' }).stdout);
  } finally {
    fs.rmSync(narrowed, { force: true });
  }
}

main();
