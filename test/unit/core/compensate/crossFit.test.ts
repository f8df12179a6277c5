/**
 * Cross-fitted calibration (compensate/crossFit.ts, pipeline/crossFit.ts): fold k's variant is
 * calibrated on the run's calibration texts minus exactly fold k's, and a plain subset (nothing
 * calibrated) scores the same cross-fitted as optimize's measurement scores it.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask, TaskData } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { openModel } from '../../../../src/core/model/modelInfo';
import { calibrationSet } from '../../../../src/core/compensate/calibrate';
import { calibrationRows, foldCalibration, textsOutsideFold } from '../../../../src/core/compensate/crossFit';
import { calibrationLabels, calibrationTexts, CALIBRATION_TEXTS } from '../../../../src/core/compensate/variant';
import { subsetParams } from '../../../../src/core/optimize/subsets';
import { crossFittedOutcomes } from '../../../../src/core/pipeline/crossFit';
import { foldsForValidation, SubsetEvaluator, TaskSplit } from '../../../../src/core/pipeline/measure';
import { CV_FOLDS } from '../../../../src/core/probe/cv';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { fixture, tempDir } from '../../../helpers';

const WORDS = ['red', 'cat', 'sat', 'on', 'the', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'home'];

/** A synthetic task: short texts are label "short", long ones "long" (word choice seeded by the row). */
async function tinyTask(name: string, rows: number): Promise<TaskData> {
  const dir = tempDir(`ps-crossfit-${name}-`);
  const line = (i: number) => {
    const n = i % 2 === 0 ? 2 + (i % 3) : 8 + (i % 5);
    const text = Array.from({ length: n }, (_, w) => WORDS[(i * 7 + w * 3) % WORDS.length]).join(' ');
    return JSON.stringify({ text: `${text} ${i}`, label: n < 6 ? 'short' : 'long' });
  };
  fs.writeFileSync(path.join(dir, 'train.jsonl'), Array.from({ length: rows }, (_, i) => line(i)).join('\n'));
  fs.writeFileSync(path.join(dir, 'test.jsonl'), [line(rows), line(rows + 1)].join('\n'));
  return loadTask(name, dir);
}

test('fold k calibrates on exactly the calibration texts whose rows are outside fold k (two tasks, each its own folds)', async () => {
  const a = await tinyTask('a', 70);
  const b = await tinyTask('b', 40);
  const tasks = [a, b];
  const folds = tasks.map((t) => foldsForValidation(t, 0));
  const limit = 60; // 30 texts per task: a's first 30 of 70 rows, all but b's last 10
  const rows = calibrationRows(tasks, limit);
  assert.equal(rows.length, calibrationTexts(tasks, limit).length);
  const excluded = new Set<number>();
  for (let k = 0; k < CV_FOLDS; k++) {
    const keep = textsOutsideFold(tasks, folds, k, limit);
    const want = rows.flatMap((r, j) => (folds[r.task][r.row] === k ? [] : [j]));
    assert.deepEqual(keep, want, `fold ${k}`);
    assert.ok(keep.length < rows.length, `fold ${k} removes some calibration texts`);
    rows.forEach((_, j) => !keep.includes(j) && excluded.add(j));
  }
  assert.equal(excluded.size, rows.length, 'every calibration text is left out by exactly its own fold');
  assert.throws(() => textsOutsideFold(tasks, [folds[0]], 0), /1 fold assignments for 2 tasks/);
});

test("foldCalibration's set is calibrationSet of the texts and labels left (the λ fifth redrawn among them by the same seeded rule)", async () => {
  const tasks = [await tinyTask('c', 80)];
  const tok = await loadTokenizer(fixture('tiny-roberta'), { maxLength: 64 });
  const folds = [foldsForValidation(tasks[0], 0)];
  const texts = calibrationTexts(tasks);
  const labels = calibrationLabels(tasks);
  const opts = { seed: 3, batchSize: 8 };
  for (let k = 0; k < CV_FOLDS; k++) {
    const set = foldCalibration(tok, tasks, folds, k, opts);
    const left = Array.from(folds[0].subarray(0, Math.min(CALIBRATION_TEXTS, 80)).entries()).filter(([, f]) => f !== k).map(([i]) => i);
    const want = calibrationSet(tok, left.map((i) => texts[i]), opts, { task: new Int32Array(left.length), label: Int32Array.from(left, (i) => labels.label[i]) });
    assert.equal(set.texts, left.length, `fold ${k}: ${80 - left.length} texts of fold ${k} removed`);
    assert.deepEqual(set.labels, want.labels);
    assert.deepEqual(set.held, want.held);
    assert.deepEqual(set.textOf, want.textOf);
    assert.deepEqual(
      set.batches.map((x) => x.inputIds),
      want.batches.map((x) => x.inputIds),
    );
    assert.equal(set.held.filter(Boolean).length > 0, true);
  }
});

test('a plain subset scores the same cross-fitted as in optimize’s measurement; a compensated one builds a variant per fold', async () => {
  const info = openModel(fixture('tiny-roberta'));
  const tok = await loadTokenizer(info.dir, { maxLength: 64 });
  const task = await tinyTask('d', 60);
  const settings = { ...DEFAULT_SETTINGS, provider: 'cpu' as const, maxLength: 64, batchSize: 16 };
  const splits: TaskSplit[] = [{ task, weight: 1, folds: foldsForValidation(task, settings.seed), c: 1 }];
  const ev = new SubsetEvaluator(info, tok, splits, settings, (k) => subsetParams(info.params, k));
  try {
    const inSample = await ev.measure([0], false, {});
    const cross = await crossFittedOutcomes({ info, tokenizer: tok, splits, settings }, [0], undefined);
    assert.deepEqual(cross.d.rows.correct, inSample.valRows.d.correct);
    assert.deepEqual(cross.d.rows.logp, inSample.valRows.d.logp);
    assert.equal(cross.d.score.accuracy, inSample.val.d.accuracy);
    const logs: string[] = [];
    const comp = await crossFittedOutcomes({ info, tokenizer: tok, splits, settings }, [0], { bridges: false, ffnWidth: 32 }, { log: (_l, m) => logs.push(m) });
    assert.equal(logs.filter((m) => m.startsWith('cross-fit: fold')).length, CV_FOLDS, 'one variant per fold');
    assert.equal(comp.d.rows.correct.length, task.train.length, 'every row predicted once');
  } finally {
    ev.dispose();
    info.model.close();
  }
});
