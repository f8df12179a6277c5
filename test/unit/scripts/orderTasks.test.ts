import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tasksDir, tempDir } from '../../helpers';

type Row = { text: string; label: number };
const rows = (file: string): Row[] => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
/** A sentence and its swapped version share their words: the key a sentence keeps whatever the order. */
const wordBag = (t: string) => t.toLowerCase().replace(/[^a-z' ]/g, '').split(' ').sort().join(' ');

test('the Austen word-order tasks are rebuilt byte for byte by their seeded script', () => {
  const out = tempDir('ps-order-');
  try {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-order-tasks.mjs'), '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const task of ['austen_bshift', 'austen_coordinv']) {
      for (const part of ['train', 'test']) {
        assert.ok(fs.readFileSync(path.join(out, task, `${part}.jsonl`)).equals(fs.readFileSync(path.join(tasksDir, task, `${part}.jsonl`))), `${task}/${part}.jsonl`);
      }
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('austen_coordinv: large enough to test something, balanced, and no sentence in both splits', () => {
  const train = rows(path.join(tasksDir, 'austen_coordinv', 'train.jsonl'));
  const test_ = rows(path.join(tasksDir, 'austen_coordinv', 'test.jsonl'));
  assert.ok(train.length >= 2000 && test_.length >= 800, `${train.length} train, ${test_.length} test rows`);
  for (const [name, split] of [['train', train], ['test', test_]] as const) {
    const ones = split.filter((r) => r.label === 1).length;
    assert.ok(split.every((r) => r.label === 0 || r.label === 1), `${name}: labels 0 and 1 only`);
    assert.ok(Math.abs(split.length - 2 * ones) <= 1, `${name}: ${split.length - ones} label 0 vs ${ones} label 1`);
    assert.ok(split.every((r) => /[,;] (and|but|or|so|yet|nor|for) /.test(r.text)), `${name}: every row has a conjunction to swap at`);
    assert.equal(new Set(split.map((r) => wordBag(r.text))).size, split.length, `${name}: each sentence once`);
  }
  const inTrain = new Set(train.map((r) => wordBag(r.text)));
  const shared = test_.filter((r) => inTrain.has(wordBag(r.text)));
  assert.deepEqual(shared, [], 'no test sentence (in either order) is a training sentence');
});
