// Task files whose columns are not text / text_pair / label: the names GLUE-style datasets use are
// found (and said), other names are given with --columns (probescale.taskColumns), in every format.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../../../../src/core/data/dataset';
import { findColumns, parseColumns } from '../../../../src/core/data/columns';
import { setStreamingForTests } from '../../../../src/core/data/streamRows';
import { DatasetError, messageIn } from '../../../../src/core/errors';
import { cliFlag } from '../../../../src/cli/main';
import { rejectsWith, tempDir } from '../../../helpers';

const tmp = tempDir('probescale-columns-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

/** A task folder with train and test files of `rows(split)`, as JSON lines or with a header. */
function folder(ext: 'jsonl' | 'csv' | 'tsv', rows: (split: string) => Record<string, string | number>[]): string {
  const dir = fs.mkdtempSync(path.join(tmp, `t${counter++}-`));
  for (const split of ['train', 'test']) {
    const recs = rows(split);
    const sep = ext === 'tsv' ? '\t' : ',';
    const text =
      ext === 'jsonl'
        ? recs.map((r) => JSON.stringify(r)).join('\n')
        : [Object.keys(recs[0]).join(sep), ...recs.map((r) => Object.values(r).map((v) => (ext === 'csv' ? `"${String(v)}"` : String(v))).join(sep))].join('\n');
    fs.writeFileSync(path.join(dir, `${split}.${ext}`), text + '\n');
  }
  return dir;
}

const sst2 = (split: string) => Array.from({ length: 8 }, (_, i) => ({ idx: i, sentence: `${split} sentence ${i}`, label: i % 2 }));
const rte = (split: string) => Array.from({ length: 8 }, (_, i) => ({ sentence1: `${split} first ${i}`, sentence2: `${split} second ${i}`, label: i % 2 ? 'entailment' : 'not_entailment', idx: i }));

test("GLUE's column names are read without being given, and the run says how it read them", async () => {
  const single = await loadTask('sst2', folder('jsonl', sst2));
  assert.deepEqual(
    single.train.map((e) => e.text),
    sst2('train').map((r) => r.sentence),
  );
  assert.deepEqual(single.labels, ['0', '1']);
  assert.ok(single.train.every((e) => e.textPair === undefined));
  const said = single.warnings?.find((w) => w.includes('"sentence" as text'));
  assert.ok(said, `a warning names the column: ${single.warnings?.join(' | ')}`);
  assert.match(messageIn(new DatasetError(said), cliFlag), /--columns/, 'and how to name others');

  for (const ext of ['jsonl', 'csv', 'tsv'] as const) {
    const pair = await loadTask('rte', folder(ext, rte));
    assert.deepEqual(
      pair.test.map((e) => [e.text, e.textPair]),
      rte('test').map((r) => [r.sentence1, r.sentence2]),
      ext,
    );
    assert.ok(pair.warnings?.some((w) => w.includes('"sentence1" as text and "sentence2" as text_pair')), ext);
  }

  // QNLI: question and sentence are a pair, not a single sentence.
  const qnli = await loadTask('qnli', folder('csv', (s) => Array.from({ length: 6 }, (_, i) => ({ question: `${s} q${i}?`, sentence: `${s} s${i}.`, label: i % 2 }))));
  assert.deepEqual([qnli.train[0].text, qnli.train[0].textPair], ['train q0?', 'train s0.']);

  // A text column wins over every dataset name, and nothing is said.
  const both = await loadTask('both', folder('jsonl', (s) => Array.from({ length: 6 }, (_, i) => ({ text: `${s} t${i}`, sentence: `${s} s${i}`, label: i % 2 }))));
  assert.equal(both.train[0].text, 'train t0');
  assert.ok(!both.warnings?.some((w) => w.includes(' as text')));
});

test('--columns names other columns, in JSON lines, CSV and TSV, and nothing is said about them', async () => {
  const reviews = (split: string) => Array.from({ length: 9 }, (_, i) => ({ body: `${split} review ${i}`, title: `title ${i}`, stars: 1 + (i % 3) }));
  for (const ext of ['jsonl', 'csv', 'tsv'] as const) {
    const task = await loadTask('reviews', folder(ext, reviews), { columns: { text: 'body', label: 'stars' } });
    assert.deepEqual(task.labels, ['1', '2', '3'], ext);
    assert.deepEqual(
      task.test.map((e) => e.text),
      reviews('test').map((r) => r.body),
      ext,
    );
    assert.deepEqual(task.warnings ?? [], [], ext);
    const pair = await loadTask('reviews', folder(ext, reviews), { columns: { text: 'title', textPair: 'body', label: 'stars' } });
    assert.deepEqual([pair.train[1].text, pair.train[1].textPair], ['title 1', 'train review 1'], ext);
  }
  // Only the label named: the text is still found (here GLUE's sentence).
  const label = await loadTask('l', folder('jsonl', (s) => sst2(s).map(({ sentence, label }) => ({ sentence, sentiment: label }))), { columns: { label: 'sentiment' } });
  assert.deepEqual(label.labels, ['0', '1']);
});

test('a named column the file lacks is refused naming it, the role and the columns the file has', async () => {
  const dir = folder('csv', sst2);
  const e = await rejectsWith(loadTask('sst2', dir, { columns: { text: 'review' } }), '.csv has no column "review"', 'as text', '"idx", "sentence", "label"');
  assert.match(messageIn(e, cliFlag), /--columns names as text/);
  await rejectsWith(loadTask('sst2', folder('jsonl', sst2), { columns: { label: 'stars' } }), 'has no column "stars"', 'as label', 'leave label out to read "label"');
});

test('a file without a text column says which column looks like one, and how to name it', async () => {
  const e = await rejectsWith(
    loadTask('r', folder('csv', (s) => Array.from({ length: 4 }, (_, i) => ({ review: `${s} ${i}`, label: i % 2 })))),
    'the header has no "text" column',
    'to read "review" as the text',
  );
  assert.match(messageIn(e, cliFlag), /pass --columns text=review/);
  await rejectsWith(loadTask('r', folder('jsonl', (s) => Array.from({ length: 4 }, (_, i) => ({ words: `${s} ${i}`, label: i % 2 })))), 'missing "text"', 'name the text column with task columns text=COLUMN');
  await rejectsWith(loadTask('r', folder('jsonl', (s) => Array.from({ length: 4 }, (_, i) => ({ text: `${s} ${i}`, y: i % 2 })))), 'missing "label"', 'name the label column with task columns label=COLUMN');
});

test('every row is read with its file\'s columns: a later JSON line without them is named with the column', async () => {
  const dir = folder('jsonl', sst2);
  fs.appendFileSync(path.join(dir, 'train.jsonl'), JSON.stringify({ text: 'other', label: 0 }) + '\n');
  await rejectsWith(loadTask('sst2', dir), 'train.jsonl, line 9: missing "sentence"', '(its keys: "text", "label")');
  const typed = folder('jsonl', (s) => sst2(s).map((r, i) => (s === 'test' && i === 2 ? { ...r, sentence: 7 } : r)));
  await rejectsWith(loadTask('sst2', typed), 'test.jsonl, line 3: "sentence" must be a string, got number');
});

test('files read streamed, and one file split in two, find the same columns', async () => {
  const dir = folder('jsonl', rte);
  const whole = await loadTask('rte', dir);
  const restore = setStreamingForTests({ streamAbove: 64, highWaterMark: 17 });
  try {
    const streamed = await loadTask('rte', dir);
    assert.deepEqual(streamed.train, whole.train);
    assert.deepEqual(streamed.warnings, whole.warnings);
    const csv = folder('csv', (s) => Array.from({ length: 9 }, (_, i) => ({ body: `${s} review ${i}`, stars: 1 + (i % 3) })));
    const named = await loadTask('reviews', csv, { columns: { text: 'body', label: 'stars' } });
    assert.equal(named.train[4].text, 'train review 4');
  } finally {
    restore();
  }
  const one = await loadTask('rte', path.join(dir, 'train.jsonl'));
  assert.equal(one.train.length + one.test.length, 8);
  assert.ok(one.train.every((e) => e.textPair?.includes('second')));
  assert.ok(one.warnings?.some((w) => w.includes('"sentence1" as text')));
});

test('findColumns: what is named, then text, then pairs before single sentences', () => {
  assert.deepEqual(findColumns('f', ['text', 'label', 'text_pair']).map, { text: 'text', label: 'label', textPair: 'text_pair' });
  assert.deepEqual(findColumns('f', ['premise', 'hypothesis', 'label']), { map: { text: 'premise', label: 'label', textPair: 'hypothesis' }, guessed: '"premise" as text and "hypothesis" as text_pair' });
  assert.deepEqual(findColumns('f', ['question', 'passage', 'label']).map.textPair, 'passage');
  assert.deepEqual(findColumns('f', ['sentence', 'label']).map, { text: 'sentence', label: 'label', textPair: undefined });
  assert.deepEqual(findColumns('f', ['sentence1', 'sentence2', 'y'], { label: 'y' }).map, { text: 'sentence1', label: 'y', textPair: 'sentence2' });
  assert.deepEqual(findColumns('f', ['a', 'b', 'text_pair', 'y'], { text: 'a', label: 'y' }), { map: { text: 'a', label: 'y', textPair: 'text_pair' } });
  assert.equal(findColumns('f', ['body']).map.text, 'text', 'nothing found: the reader names what is missing');
});

test('parseColumns reads text=, text_pair= and label= once each and refuses the rest naming the entry', () => {
  assert.deepEqual(parseColumns(' text = sentence , label=coarse_label', '--columns'), { text: 'sentence', label: 'coarse_label' });
  assert.deepEqual(parseColumns('text_pair=hypothesis', '--columns'), { textPair: 'hypothesis' });
  assert.deepEqual(parseColumns('text=a=b', '--columns'), { text: 'a=b' }, 'a column may hold "="');
  assert.throws(() => parseColumns('txt=a', '--columns'), /"txt=a" is not KEY=COLUMN with KEY text, text_pair or label/);
  assert.throws(() => parseColumns('text=', '--columns'), /"text=" is not KEY=COLUMN/);
  assert.throws(() => parseColumns('sentence', '--columns'), /"sentence" is not KEY=COLUMN/);
  assert.throws(() => parseColumns('text=a,text=b', '--columns'), /text is given twice/);
  assert.throws(() => parseColumns('text=a,label=a', '--columns'), /the column "a" is named for two roles/);
});

test('one column read in two roles (--columns text=label leaves the label where it was) is refused naming both', async () => {
  const dir = folder('jsonl', (s) => Array.from({ length: 6 }, (_, i) => ({ body: `${s} ${i}`, label: i % 2 ? 'a' : 'b' })));
  await rejectsWith(loadTask('t', dir, { columns: { text: 'label' } }), 'the column "label" would be read as text and label', 'task columns (e.g. label=COLUMN)');
  await rejectsWith(loadTask('t', dir, { columns: { text: 'body', textPair: 'label' } }), 'the column "label" would be read as text_pair and label');
  assert.equal((await loadTask('t', dir, { columns: { text: 'body' } })).train[0].text, 'train 0');
});
