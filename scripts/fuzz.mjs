#!/usr/bin/env node
/**
 * Longer mutation fuzzing of the ONNX, safetensors, PyTorch checkpoint, feature-cache and task-file (Parquet, Arrow)
 * readers, of model folders' JSON files and reports (test/jsonFuzz.ts) and of ONNX graphs by their
 * meaning (test/graphFuzz.ts) and of safetensors headers by their structure (test/safetensorsFuzz.ts), than npm test runs.
 *   npm run compile && node scripts/fuzz.mjs [--iterations 50000] [--seed 1] [--target onnx]
 * Prints one JSON summary per target and every crash (a failure that is not a ProbeScaleError),
 * with its seed, iteration and mutation so it reproduces; exits 1 when there is any.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { allTargets, fuzz, taskFileTargets } = require(path.join(root, 'out', 'test', 'fuzz.js'));
const { modelJsonTargets, reportJsonTargets } = require(path.join(root, 'out', 'test', 'jsonFuzz.js'));
const { graphTargets } = require(path.join(root, 'out', 'test', 'graphFuzz.js'));
const { compensatedSafetensorsTargets, safetensorsTargets } = require(path.join(root, 'out', 'test', 'safetensorsFuzz.js'));
const fs = require('node:fs');
const os = require('node:os');
const { values } = parseArgs({ options: { iterations: { type: 'string', default: '50000' }, seed: { type: 'string', default: '1' }, target: { type: 'string' } } });
const iterations = Number(values.iterations);
const seed = Number(values.seed);
if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(seed)) {
  console.error(`--iterations ${values.iterations} / --seed ${values.seed}: give whole numbers (iterations ≥ 1).`);
  process.exit(1);
}
let crashes = 0;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-fuzz-tasks-'));
for (const t of [...allTargets(root), ...taskFileTargets(scratch), ...modelJsonTargets(root, scratch), ...reportJsonTargets(root), ...graphTargets(root, scratch), ...safetensorsTargets(root, scratch), ...compensatedSafetensorsTargets(root, scratch)]) {
  if (values.target && t.name !== values.target) continue;
  const t0 = Date.now();
  const s = await fuzz(t, iterations, seed);
  crashes += s.crashes.length;
  console.log(JSON.stringify({ target: s.target, seed, iterations: s.iterations, accepted: s.accepted, refused: s.refused, crashes: s.crashes.length, slowestMs: +s.slowestMs.toFixed(1), seconds: (Date.now() - t0) / 1000 }));
  for (const c of s.crashes.slice(0, 20)) console.log(`  crash: ${JSON.stringify(c)}`);
}
fs.rmSync(scratch, { recursive: true, force: true });
process.exit(crashes ? 1 : 0);
