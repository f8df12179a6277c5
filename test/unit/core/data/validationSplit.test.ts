// A task folder's validation split as its test split: where there is no test split, or the test
// split has no labels (GLUE's test.tsv has no label column; its Parquet test rows are -1), the one
// validation split (validation, valid, dev, val) is tested on, and the run says so.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../../../../src/core/data/dataset';
import { hasTaskSplits } from '../../../../src/core/data/splits';
import { messageIn } from '../../../../src/core/errors';
import { cliFlag } from '../../../../src/cli/main';
import { rejectsWith, tempDir } from '../../../helpers';

const tmp = tempDir('probescale-validation-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

const rows = (prefix: string, n: number, labelled = true) => Array.from({ length: n }, (_, i) => ({ text: `${prefix} ${i}`, ...(labelled ? { label: i % 2 ? 'pos' : 'neg' } : {}) }));
const jsonl = (rs: object[]) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const tsv = (rs: Record<string, string>[]) => [Object.keys(rs[0]).join('\t'), ...rs.map((r) => Object.values(r).join('\t'))].join('\n') + '\n';

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(tmp, `f${counter++}-`));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

test('no test split: the one validation split (validation, valid, dev or val) is tested on, and the run says so', async () => {
  for (const name of ['validation.jsonl', 'valid.jsonl', 'dev.tsv', 'val.jsonl']) {
    const dev = name.endsWith('.tsv') ? tsv(rows('dev', 4) as Record<string, string>[]) : jsonl(rows('dev', 4));
    const dir = folder({ 'train.jsonl': jsonl(rows('train', 6)), [name]: dev });
    assert.ok(hasTaskSplits(dir), `${name}: listed as a task folder`);
    const task = await loadTask('t', dir);
    assert.deepEqual(task.test.map((e) => e.text), ['dev 0', 'dev 1', 'dev 2', 'dev 3'], name);
    assert.deepEqual(task.warnings, [`task "t": ${dir} has no test split; testing on ${path.join(dir, name)}, its validation split.`], name);
  }
});

test("an unlabelled test split (GLUE's test.tsv without a label column, JSON lines without labels) is replaced by the validation split", async () => {
  const glue = folder({ 'train.tsv': tsv(rows('train', 6) as Record<string, string>[]), 'test.tsv': tsv(rows('test', 3, false) as Record<string, string>[]), 'dev.tsv': tsv(rows('dev', 4) as Record<string, string>[]) });
  const task = await loadTask('t', glue);
  assert.equal(task.test[0].text, 'dev 0');
  assert.match(task.warnings?.[0] ?? '', /test\.tsv has no labels \(no "label" column\); testing on .*dev\.tsv, the validation split beside it\./);
  const lines = folder({ 'train.jsonl': jsonl(rows('train', 6)), 'test.jsonl': jsonl(rows('test', 3, false)), 'validation.jsonl': jsonl(rows('dev', 4)) });
  const read = await loadTask('t', lines);
  assert.equal(read.test.length, 4);
  assert.match(read.warnings?.[0] ?? '', /test\.jsonl has no labels \(its first row has no "label"\)/);
});

test('a labelled test split is used even with a validation split beside it; without one, or with several, an unlabelled test split is refused as before', async () => {
  const both = folder({ 'train.jsonl': jsonl(rows('train', 6)), 'test.jsonl': jsonl(rows('test', 2)), 'validation.jsonl': jsonl(rows('dev', 4)) });
  const task = await loadTask('t', both);
  assert.deepEqual([task.test.length, task.warnings], [2, []]);

  const alone = folder({ 'train.jsonl': jsonl(rows('train', 6)), 'test.jsonl': jsonl(rows('test', 2, false)) });
  await rejectsWith(loadTask('t', alone), 'test.jsonl, line 1: missing "label"');
  const two = folder({ 'train.jsonl': jsonl(rows('train', 6)), 'test.jsonl': jsonl(rows('test', 2, false)), 'validation.jsonl': jsonl(rows('v', 2)), 'dev.jsonl': jsonl(rows('d', 2)) });
  await rejectsWith(loadTask('t', two), 'test.jsonl, line 1: missing "label"');
  const noTest = folder({ 'train.jsonl': jsonl(rows('train', 6)), 'validation.jsonl': jsonl(rows('v', 2)), 'dev.jsonl': jsonl(rows('d', 2)) });
  assert.ok(!hasTaskSplits(noTest), 'two validation splits: which to test on cannot be told');
  await rejectsWith(loadTask('t', noTest), 'has no test file', 'to test on one of those splits, name it with test split (e.g. test split dev), or rename it test.jsonl');

  // The training split is never replaced: one without labels is refused.
  const unlabelledTrain = folder({ 'train.jsonl': jsonl(rows('train', 6, false)), 'validation.jsonl': jsonl(rows('v', 2)) });
  await rejectsWith(loadTask('t', unlabelledTrain), 'train.jsonl, line 1: missing "label"');
});

test("--test-split names the split tested on: MNLI's validation_matched, or validation beside a labelled test split; nothing else is guessed", async () => {
  const mnli = folder({ 'train.jsonl': jsonl(rows('train', 6)), 'validation_matched.jsonl': jsonl(rows('m', 4)), 'validation_mismatched.jsonl': jsonl(rows('mm', 2)), 'test_matched.jsonl': jsonl(rows('tm', 2, false)) });
  const e = await rejectsWith(loadTask('mnli', mnli), 'has no test file', 'to test on one of those splits, name it with test split (e.g. test split validation_matched), or rename it test.jsonl');
  assert.match(messageIn(e, cliFlag), /name it with --test-split \(e\.g\. --test-split validation_matched\)/);
  const matched = await loadTask('mnli', mnli, { testSplit: 'validation_matched' });
  assert.deepEqual([matched.test.map((t) => t.text), matched.warnings], [['m 0', 'm 1', 'm 2', 'm 3'], []]);

  const both = folder({ 'train.jsonl': jsonl(rows('train', 6)), 'test.jsonl': jsonl(rows('test', 2)), 'validation.jsonl': jsonl(rows('dev', 4)) });
  assert.equal((await loadTask('t', both, { testSplit: 'validation' })).test.length, 4);
  await rejectsWith(loadTask('t', both, { testSplit: 'dev' }), 'has no dev file');
  // Named, an unlabelled split is refused: the option says which split, so nothing replaces it.
  const unlabelled = folder({ 'train.jsonl': jsonl(rows('train', 6)), 'test.jsonl': jsonl(rows('test', 2, false)), 'validation.jsonl': jsonl(rows('dev', 4)) });
  await rejectsWith(loadTask('t', unlabelled, { testSplit: 'test' }), 'test.jsonl, line 1: missing "label"');

  const file = path.join(both, 'train.jsonl');
  await assert.rejects(loadTask('t', file, { testSplit: 'validation' }), /test split validation: task "t" is one file .*; test split names a split of a task folder/);
  await assert.rejects(loadTask('t', both, { testSplit: 'train' }), /test split train: that is the training split/);
  await assert.rejects(loadTask('t', both, { testSplit: '../x' }), /test split \.\.\/x: a split is named by letters/);
});
