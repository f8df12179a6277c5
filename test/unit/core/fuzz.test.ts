import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { allTargets, damageEachByte, fuzz, taskFileTargets } from '../../fuzz';
import { modelJsonTargets, reportJsonTargets } from '../../jsonFuzz';
import { graphTargets } from '../../graphFuzz';
import { compensatedSafetensorsTargets, safetensorsTargets } from '../../safetensorsFuzz';
import { repoRoot, tempDir } from '../../helpers';

// Bounded run for CI; scripts/fuzz.mjs runs the same targets for longer.
const ITERATIONS = 2500;
const TASK_FILE_ITERATIONS = 2500;

for (const target of allTargets(repoRoot)) {
  test(`fuzz ${target.name}: ${ITERATIONS} seeded mutations are accepted or refused with a typed error, none slow`, async () => {
    const s = await fuzz(target, ITERATIONS, 1);
    assert.deepEqual(s.crashes, [], `untyped failures (reproduce with node scripts/fuzz.mjs --seed 1 --iterations ${ITERATIONS} --target ${target.name})`);
    assert.ok(s.refused > 0, 'the mutations reach the checks');
    assert.ok(s.slowestMs < 2000, `slowest case ${s.slowestMs.toFixed(0)} ms`);
  });
}

const scratch = tempDir('ps-fuzz-tasks-');
after(() => fs.rmSync(scratch, { recursive: true, force: true }));
// Before the page checks (src/core/data/parquetPages.ts) a damaged Parquet page header hung the
// reader for good (seed 1 reaches one within a few hundred cases), and before the message checks
// (arrowMessages.ts) a damaged Arrow record batch header ran the process out of memory (seed 1's
// 42nd case). Before the run checks inside version-1 pages (pyarrow's layout), seed 1's 2,432nd
// snappy case made hyparquet fill an array for 8–10 s (a longer run aborts the process). JSON lines,
// CSV and TSV are fuzzed the same way.
for (const target of taskFileTargets(scratch)) {
  test(`fuzz ${target.name} task files: ${TASK_FILE_ITERATIONS} seeded mutations are read or refused with a typed error, none slow`, async () => {
    const s = await fuzz(target, TASK_FILE_ITERATIONS, 1);
    assert.deepEqual(s.crashes, [], `untyped failures (reproduce with node scripts/fuzz.mjs --seed 1 --iterations ${TASK_FILE_ITERATIONS} --target ${target.name})`);
    assert.ok(s.refused > 0 && s.accepted > 0, `the mutations reach the checks and leave some files readable (${s.accepted} read, ${s.refused} refused)`);
    assert.ok(s.slowestMs < 2000, `slowest case ${s.slowestMs.toFixed(0)} ms`);
  });
}

// A damaged file used to be refused with what JavaScript said inside the decoder ("Cannot read
// properties of undefined (reading 'map')" for a Parquet footer, "Cannot destructure property
// 'length'" for an Arrow batch); it is now said which part of the file is damaged.
for (const target of taskFileTargets(scratch).filter((t) => ['parquet', 'parquet-v1', 'arrow'].includes(t.name))) {
  test(`${target.name} task files with each byte damaged in turn: refused naming what is damaged, never in JavaScript's own words`, async () => {
    const { refused, leaks } = await damageEachByte(target);
    assert.deepEqual(leaks.slice(0, 5), []);
    assert.ok(refused > target.seed.length / 2, `${refused} of ${2 * target.seed.length} damaged files refused`);
  });
}

// A model folder's JSON files changed in structure (a key deleted, another type, an extreme number),
// the folder then opened as a job opens it and two texts run through it. Before: a tokenizer.json
// whose post-processor template was not a list (seed 1's 118th case on tiny-bert) failed inside
// transformers.js with "Cannot use 'in' operator to search for 'SpecialToken' in true", and a
// token id of 0.5 with "cannot be converted to a BigInt" only when the first batch was padded.
const MODEL_JSON_ITERATIONS = 150;
for (const target of modelJsonTargets(repoRoot, scratch)) {
  test(`fuzz ${target.name}: ${MODEL_JSON_ITERATIONS} seeded changes to the model folder's JSON are run or refused with a typed error, none slow`, async () => {
    const s = await fuzz(target, MODEL_JSON_ITERATIONS, 1);
    assert.deepEqual(s.crashes, [], `untyped failures (reproduce with node scripts/fuzz.mjs --seed 1 --iterations ${MODEL_JSON_ITERATIONS} --target ${target.name})`);
    assert.ok(s.refused > 0 && s.accepted > 0, `${s.accepted} run, ${s.refused} refused`);
    assert.ok(s.slowestMs < 2000, `slowest case ${s.slowestMs.toFixed(0)} ms`);
  });
}

// Report files changed in structure, read as the side view reads them, checked by the page's
// validator and drawn. Before: a model total of 0, a budget fraction of -1e308, a reference accuracy
// of -1e308 and a timing of `false` each drew NaN or ±Infinity into a chart (seed 1 within 2,000
// cases of tiny-roberta-optimize.json).
const REPORT_ITERATIONS = 1500;
for (const target of reportJsonTargets(repoRoot)) {
  test(`fuzz ${target.name}: ${REPORT_ITERATIONS} seeded changes to a report are drawn without NaN or refused with a typed error`, async () => {
    const s = await fuzz(target, REPORT_ITERATIONS, 1);
    assert.deepEqual(s.crashes, [], `untyped failures (reproduce with node scripts/fuzz.mjs --seed 1 --iterations ${REPORT_ITERATIONS} --target ${target.name})`);
    assert.ok(s.refused > 0 && s.accepted > 0, `${s.accepted} drawn, ${s.refused} refused`);
  });
}

// ONNX graphs changed by meaning (nodes dropped, inputs rewired, operators renamed), opened and run
// as a job does. Before: ONNX Runtime's own "This is an invalid model…" and "Non-zero status code
// returned while running…" reached the user as internal errors (seed 1's first cases).
const GRAPH_ITERATIONS = 100;
for (const target of graphTargets(repoRoot, scratch)) {
  test(`fuzz ${target.name}: ${GRAPH_ITERATIONS} seeded graph edits are run or refused with a typed error`, async () => {
    const s = await fuzz(target, GRAPH_ITERATIONS, 1);
    assert.deepEqual(s.crashes, [], `untyped failures (reproduce with node scripts/fuzz.mjs --seed 1 --iterations ${GRAPH_ITERATIONS} --target ${target.name})`);
    assert.ok(s.refused > 0, `${s.accepted} run, ${s.refused} refused`);
  });
}

// model.safetensors changed in its header's structure (dtypes, shapes, entries deleted, renamed,
// moved or given twice, offsets, metadata), opened, run and pruned as a job does, with the graph
// built from the weights and with the ONNX export beside them. Before: beside an export, weights
// lacking a tensor or overlapping another were copied into the pruned folder.
const SAFETENSORS_ITERATIONS = 200;
for (const target of safetensorsTargets(repoRoot, scratch)) {
  test(`fuzz ${target.name}: ${SAFETENSORS_ITERATIONS} seeded header changes are run or refused with a typed error`, async () => {
    const s = await fuzz(target, SAFETENSORS_ITERATIONS, 1);
    assert.deepEqual(s.crashes, [], `untyped failures (reproduce with node scripts/fuzz.mjs --seed 1 --iterations ${SAFETENSORS_ITERATIONS} --target ${target.name})`);
    assert.ok(s.refused > 0 && s.accepted > 0, `${s.accepted} run, ${s.refused} refused`);
  });
}

// The same header changes with each accepted model compensated from its graph built from the
// weights (its standalone float32 copy, a bridge, narrowed blocks): fp16/bf16 tensors mixed with
// float32 ones, metadata and dtypes ProbeScale refuses.
const COMPENSATED_SAFETENSORS_ITERATIONS = 100;
for (const target of compensatedSafetensorsTargets(repoRoot, scratch)) {
  test(`fuzz ${target.name}: ${COMPENSATED_SAFETENSORS_ITERATIONS} seeded header changes are compensated or refused with a typed error`, async () => {
    const s = await fuzz(target, COMPENSATED_SAFETENSORS_ITERATIONS, 1);
    assert.deepEqual(s.crashes, [], `untyped failures (reproduce with node scripts/fuzz.mjs --seed 1 --iterations ${COMPENSATED_SAFETENSORS_ITERATIONS} --target ${target.name})`);
    assert.ok(s.refused > 0 && s.accepted > 0, `${s.accepted} run, ${s.refused} refused`);
  });
}
