import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask, parseTaskSpec, sortLabels } from '../../../../src/core/data/dataset';
import { BadInputError } from '../../../../src/core/errors';
import { rejectsWith, tasksDir, tempDir } from '../../../helpers';

const tmp = tempDir('probescale-data-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
/** Writes `files` (name -> content) into a fresh temp folder and returns it. */
function folder(files: Record<string, string>): string {
  const dir = path.join(tmp, `d${counter++}`);
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}
function file(name: string, content: string): string {
  return path.join(folder({ [name]: content }), name);
}
function jsonl(rows: object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
function readJsonl(p: string): { text: string; label: string | number }[] {
  return fs
    .readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { text: string; label: string | number });
}

test('folder with train.jsonl and test.jsonl (sentlen)', async () => {
  const dir = path.join(tasksDir, 'sentlen');
  const t = await loadTask('sentlen', dir);
  const train = readJsonl(path.join(dir, 'train.jsonl'));
  const test = readJsonl(path.join(dir, 'test.jsonl'));
  assert.equal(t.name, 'sentlen');
  assert.equal(t.source, path.resolve(dir));
  assert.equal(t.splitFrom, 'folder');
  assert.deepEqual(t.labels, ['0', '1', '2', '3', '4', '5']);
  assert.equal(t.train.length, train.length);
  assert.equal(t.test.length, test.length);
  assert.deepEqual(t.train[0], { text: train[0].text, label: String(train[0].label) });
  assert.equal(t.trainY.length, t.train.length);
  for (let i = 0; i < t.train.length; i++) assert.equal(t.labels[t.trainY[i]], t.train[i].label);
  for (let i = 0; i < t.test.length; i++) assert.equal(t.labels[t.testY[i]], t.test[i].label);
});

test('--limit-train/--limit-test keep the first rows in file order', async () => {
  const dir = path.join(tasksDir, 'sentlen');
  const full = await loadTask('sentlen', dir);
  const t = await loadTask('sentlen', dir, { limitTrain: 25, limitTest: 7 });
  assert.deepEqual(t.train, full.train.slice(0, 25));
  assert.deepEqual(t.test, full.test.slice(0, 7));
  assert.deepEqual(Array.from(t.trainY), Array.from(full.trainY.slice(0, 25)));
  assert.deepEqual(t.labels, full.labels);
  await assert.rejects(loadTask('sentlen', dir, { limitTrain: 0 }), BadInputError);
  await assert.rejects(loadTask('sentlen', dir, { limitTest: 1.5 }), BadInputError);
});

test('labels sort numerically when all are integers, else by code unit', () => {
  assert.deepEqual(sortLabels(['10', '2', '-1', '1']), ['-1', '1', '2', '10']);
  assert.deepEqual(sortLabels(['b', 'B', '10', 'a', '2']), ['10', '2', 'B', 'a', 'b']);
  assert.deepEqual(sortLabels(['1.5', '10', '2']), ['1.5', '10', '2']);
});

// 60 / 23 / 7 examples of three labels, interleaved.
const counts: Record<string, number> = { neg: 60, pos: 23, neu: 7 };
const mixed: { text: string; label: string }[] = [];
for (let i = 0; mixed.length < 90; i++) {
  for (const [label, n] of Object.entries(counts)) if (i < n) mixed.push({ text: `example ${i} of ${label}`, label });
}

test('a single JSONL file is split stratified, seeded, in file order', async () => {
  const p = file('all.jsonl', jsonl(mixed));
  const a = await loadTask('mixed', p, { seed: 3 });
  assert.equal(a.splitFrom, 'file');
  assert.equal(a.source, p);
  assert.deepEqual(a.labels, ['neg', 'neu', 'pos']);
  assert.equal(a.train.length + a.test.length, mixed.length);
  for (const [label, n] of Object.entries(counts)) {
    const inTest = a.test.filter((e) => e.label === label).length;
    assert.ok(Math.abs(inTest - n * 0.2) <= 1, `${label}: ${inTest} of ${n} in test`);
  }
  const key = (e: { text: string }) => e.text;
  assert.equal(new Set([...a.train, ...a.test].map(key)).size, mixed.length);
  const order = new Map(mixed.map((e, i) => [e.text, i]));
  for (const part of [a.train, a.test]) {
    const idx = part.map((e) => order.get(e.text) as number);
    assert.deepEqual(idx, [...idx].sort((x, y) => x - y));
  }

  const again = await loadTask('mixed', p, { seed: 3 });
  assert.deepEqual(again.test.map(key), a.test.map(key));
  const other = await loadTask('mixed', p, { seed: 4 });
  assert.notDeepEqual(other.test.map(key), a.test.map(key));

  const third = await loadTask('mixed', p, { testFraction: 0.5 });
  for (const [label, n] of Object.entries(counts)) {
    const inTest = third.test.filter((e) => e.label === label).length;
    assert.ok(Math.abs(inTest - n * 0.5) <= 1, `${label}: ${inTest} of ${n} in test`);
  }
  await assert.rejects(loadTask('mixed', p, { testFraction: 1 }), BadInputError);

  const limited = await loadTask('mixed', p, { seed: 3, limitTrain: 10, limitTest: 4 });
  assert.deepEqual(limited.train, a.train.slice(0, 10));
  assert.deepEqual(limited.test, a.test.slice(0, 4));
});

test('a label with one example stays in train', async () => {
  const rows = [...mixed, { text: 'the only one', label: 'rare' }];
  const t = await loadTask('rare', file('rare.jsonl', jsonl(rows)), { testFraction: 0.6 });
  assert.ok(t.train.some((e) => e.label === 'rare'));
  assert.ok(!t.test.some((e) => e.label === 'rare'));
});

test('JSONL: numeric labels become strings, text_pair is read, blank lines and CRLF are fine', async () => {
  const dir = folder({
    'train.jsonl': '{"text": "a", "text_pair": "b", "label": 1}\r\n\r\n{"text": "c", "text_pair": "f", "label": 10}\r\n{"text": "d", "text_pair": "g", "label": 2}\r\n',
    'test.jsonl': '{"text": "e", "text_pair": "h", "label": 2}',
  });
  const t = await loadTask('num', dir);
  assert.deepEqual(t.labels, ['1', '2', '10']);
  assert.deepEqual(t.train[0], { text: 'a', textPair: 'b', label: '1' });
  assert.deepEqual(Array.from(t.trainY), [0, 2, 1]);
  assert.deepEqual(Array.from(t.testY), [1]);
});

test('CSV with quoted commas, quotes and newlines, a text_pair column and extra columns', async () => {
  const csv =
    'id,text,label,text_pair\r\n' +
    '1,"Hello, world",pos,"second, part"\r\n' +
    '2,"She said ""hi""\nand left",neg,y\r\n' +
    '\r\n' +
    '3,plain text,pos,"z\n"\r\n' +
    '4,"tab\tinside",neg,x\r\n';
  const dir = folder({ 'train.csv': csv, 'test.csv': 'text,label,text_pair\n"a, b",neg,u\nc,pos,v\n' });
  const t = await loadTask('csv', dir);
  assert.deepEqual(t.labels, ['neg', 'pos']);
  assert.deepEqual(t.train, [
    { text: 'Hello, world', textPair: 'second, part', label: 'pos' },
    { text: 'She said "hi"\nand left', textPair: 'y', label: 'neg' },
    { text: 'plain text', textPair: 'z\n', label: 'pos' },
    { text: 'tab\tinside', textPair: 'x', label: 'neg' },
  ]);
  assert.deepEqual(t.test, [
    { text: 'a, b', textPair: 'u', label: 'neg' },
    { text: 'c', textPair: 'v', label: 'pos' },
  ]);
});

test('TSV with quoted tabs and newlines; a single TSV file is split', async () => {
  const lines = ['text\tlabel', '"a\tb\nc"\tx', 'She said "hi"\ty', '"quoted ""q"""\tx'];
  for (let i = 0; i < 20; i++) lines.push(`row ${i}\t${i % 2 ? 'x' : 'y'}`);
  const p = file('all.tsv', lines.join('\n'));
  const t = await loadTask('tsv', p, { testFraction: 0.25 });
  const all = [...t.train, ...t.test];
  assert.equal(all.length, 23);
  assert.ok(all.some((e) => e.text === 'a\tb\nc' && e.label === 'x'));
  assert.ok(all.some((e) => e.text === 'She said "hi"' && e.label === 'y'));
  assert.ok(all.some((e) => e.text === 'quoted "q"' && e.label === 'x'));
  assert.deepEqual(t.labels, ['x', 'y']);
});

test('errors name the file and line: bad JSON, missing or empty text, missing label', async () => {
  const good = '{"text": "ok", "label": "a"}\n{"text": "ok too", "label": "b"}\n';
  let p = file('train.jsonl', good + '{"text": "x", "label": }\n');
  await rejectsWith(loadTask('t', p), p, 'line 3', 'not valid JSON');
  p = file('train.jsonl', good + '[1, 2]\n');
  await rejectsWith(loadTask('t', p), p, 'line 3', 'JSON object');
  p = file('train.jsonl', good + '\n{"label": "a"}\n');
  await rejectsWith(loadTask('t', p), p, 'line 4', 'missing "text"');
  p = file('train.jsonl', '{"text": "  ", "label": "a"}\n' + good);
  await rejectsWith(loadTask('t', p), p, 'line 1', '"text" is empty');
  p = file('train.jsonl', good + '{"text": 5, "label": "a"}\n');
  await rejectsWith(loadTask('t', p), p, 'line 3', '"text" must be a string');
  p = file('train.jsonl', good + '{"text": "x"}\n');
  await rejectsWith(loadTask('t', p), p, 'line 3', 'missing "label"');
  p = file('train.jsonl', good + '{"text": "x", "label": null}\n');
  await rejectsWith(loadTask('t', p), p, 'line 3', 'missing "label"');

  // CSV lines count the header and the lines inside quoted fields.
  p = file('data.csv', 'text,label\n"two\nlines",a\nb text,b\n\nno label,\n');
  await rejectsWith(loadTask('t', p), p, 'line 6', 'missing "label"');
  p = file('data.csv', 'text,label\n"two\nlines",a\n"",b\n');
  await rejectsWith(loadTask('t', p), p, 'line 4', '"text" is empty');
  p = file('data.csv', 'words,label\nx,a\n');
  await rejectsWith(loadTask('t', p), p, 'line 1', 'no "text" column');
  p = file('data.csv', 'text,label\nx,a\n"open quote,b\n');
  await rejectsWith(loadTask('t', p), p, /Quote Not Closed/, 'double quotes');
  p = file('data.tsv', 'text\tlabel\nx\ta\ny\tb\tz\n');
  await rejectsWith(loadTask('t', p), p, /line 3/, 'Invalid Record Length');
});

test('errors: unknown extension, empty file, missing train or test file', async () => {
  let p = file('data.txt', 'text,label\nx,a\n');
  await rejectsWith(loadTask('t', p), p, 'unknown file type ".txt"', '.jsonl, .csv, .tsv, .parquet or .arrow');
  p = file('data.jsonl', '\n  \n');
  await rejectsWith(loadTask('t', p), p, 'is empty');
  p = file('data.csv', 'text,label\n');
  await rejectsWith(loadTask('t', p), p, 'no examples');

  let dir = folder({ 'test.jsonl': '{"text": "x", "label": "a"}\n' });
  await rejectsWith(loadTask('t', dir), dir, 'no train file', 'train.jsonl, train.csv, train.tsv or train.parquet');
  dir = folder({ 'train.jsonl': jsonl(mixed) });
  await rejectsWith(loadTask('t', dir), dir, 'no test file');
  dir = folder({ 'train.jsonl': jsonl(mixed), 'train.csv': 'text,label\n', 'test.jsonl': jsonl(mixed) });
  await rejectsWith(loadTask('t', dir), dir, 'several train files');
  const missing = path.join(tmp, 'does-not-exist');
  await rejectsWith(loadTask('t', missing), missing, 'does not exist');
});

test('errors: a test label unseen in train, fewer than 2 classes', async () => {
  let dir = folder({
    'train.jsonl': jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }]),
    'test.jsonl': jsonl([{ text: 'c', label: 'x' }, { text: 'd', label: 'z' }]),
  });
  await rejectsWith(loadTask('t', dir), path.join(dir, 'test.jsonl'), 'line 2', 'label "z"', path.join(dir, 'train.jsonl'));

  dir = folder({
    'train.jsonl': jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'x' }]),
    'test.jsonl': jsonl([{ text: 'c', label: 'x' }]),
  });
  await rejectsWith(loadTask('t', dir), path.join(dir, 'train.jsonl'), 'at least 2 classes');

  const p = file('one.csv', 'text,label\na,x\nb,x\nc,x\n');
  await rejectsWith(loadTask('t', p), p, 'at least 2 classes');

  const sorted = file('sorted.jsonl', jsonl([...mixed].sort((a, b) => (a.label < b.label ? -1 : 1))));
  await rejectsWith(loadTask('t', sorted, { limitTrain: 5 }), sorted, 'training-row limit 5', 'at least 2 classes');
});

test('parseTaskSpec: NAME=PATH[:WEIGHT], Windows drive letters, bad specs', () => {
  assert.deepEqual(parseTaskSpec('sst2=data/sst2'), { name: 'sst2', path: 'data/sst2', weight: 1 });
  assert.deepEqual(parseTaskSpec('sst2=data/sst2:2.5'), { name: 'sst2', path: 'data/sst2', weight: 2.5 });
  assert.deepEqual(parseTaskSpec('a=C:\\data\\sst2'), { name: 'a', path: 'C:\\data\\sst2', weight: 1 });
  assert.deepEqual(parseTaskSpec('a=C:\\data\\sst2:3'), { name: 'a', path: 'C:\\data\\sst2', weight: 3 });
  assert.deepEqual(parseTaskSpec('a=C:/x.jsonl:.5'), { name: 'a', path: 'C:/x.jsonl', weight: 0.5 });
  assert.throws(() => parseTaskSpec('a=/data/x:abc'), /weight "abc"; a weight must be a number > 0, as in a=\/data\/x:0.5/);
  assert.deepEqual(parseTaskSpec('a=b=c'), { name: 'a', path: 'b=c', weight: 1 });
  for (const bad of ['noequals', '=data/x', 'a=', 'a=data:0', 'a=data:-1', 'a=:2', 'bad name=x']) {
    assert.throws(() => parseTaskSpec(bad), BadInputError, bad);
  }
});

test('errors: a seed that is not an integer, a file too small to hold out any label, several unseen test labels counted', async () => {
  const p = file('small.jsonl', jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'x' }, { text: 'c', label: 'y' }, { text: 'd', label: 'y' }]));
  await assert.rejects(loadTask('t', p, { seed: 1.5 }), (e: Error) => e instanceof BadInputError && /seed must be an integer, got 1\.5\./.test(e.message));
  await rejectsWith(loadTask('t', p), `${p}: 4 rows are too few to hold out 20% of each label for testing (each of its 2 labels is split on its own, and the largest has 2 rows).`);

  const dir = folder({
    'train.jsonl': jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }]),
    'test.jsonl': jsonl([{ text: 'c', label: 'z' }, { text: 'd', label: 'x' }, { text: 'e', label: 'w' }]),
  });
  await rejectsWith(loadTask('t', dir), `test.jsonl, line 1: label "z" does not occur in ${path.join(dir, 'train.jsonl')} (2 test rows have labels unseen in training).`);
});

// A regression target (STS-B's 0–5 similarity, an averaged rating) was read as classes: a folder
// failed on "label "0.7" has only 1 training row", a single file on "too few rows to hold out 20%
// of each label", and with enough rows it ran as a classification of dozens of near-empty classes.
test('labels that are many fractional numbers (a regression target) are refused as such; a few half-steps and integer labels stay classes', async () => {
  const rows = (n: number, label: (i: number) => string | number) => jsonl(Array.from({ length: n }, (_, i) => ({ text: `text number ${i} ${'x'.repeat(i % 7)}`, label: label(i) })));
  const score = (i: number) => Math.round(((i * 37) % 51) + 0) / 10; // 0.0 … 5.0 in tenths, 51 values
  const continuous = folder({ 'train.jsonl': rows(400, score), 'test.jsonl': rows(60, score) });
  await rejectsWith(loadTask('sts', continuous), /train\.jsonl: its labels are 51 different numbers from 0 to 5, 45 of them with fractions \(e\.g\. "[0-9.]+", /, 'not classes', 'Bin the values into classes');
  await rejectsWith(loadTask('sts', file('sts.jsonl', rows(400, score))), /sts\.jsonl: its labels are 51 different numbers/);
  await rejectsWith(loadTask('sts', file('sts.csv', `text,label\n${Array.from({ length: 400 }, (_, i) => `t${i},${score(i).toFixed(2)}`).join('\n')}\n`)), /sts\.csv: its labels are 51 different numbers .*e\.g\. "[0-9]\.[0-9]0"/);
  // Half-star ratings: 9 values, 4 of them fractional, are classes.
  const stars = (i: number) => 1 + (i % 9) / 2;
  assert.deepEqual((await loadTask('stars', folder({ 'train.jsonl': rows(180, stars), 'test.jsonl': rows(45, stars) }))).labels, ['1', '1.5', '2', '2.5', '3', '3.5', '4', '4.5', '5']);
  // Many integer labels (a 30-topic task with numeric ids) are classes.
  const topic = (i: number) => i % 30;
  assert.equal((await loadTask('topics', folder({ 'train.jsonl': rows(300, topic), 'test.jsonl': rows(60, topic) }))).labels.length, 30);
});

test('a row whose label is a list (a multi-label task) is refused saying what a single-label probe needs', async () => {
  const rows = Array.from({ length: 20 }, (_, i) => ({ text: `text ${i}`, label: i === 7 ? ['joy', 'surprise'] : 'joy' }));
  await rejectsWith(loadTask('emotions', file('emotions.jsonl', jsonl(rows))), /emotions\.jsonl, line 8: "label" must be a string or a number, got a list \(\["joy","surprise"\]\): a row with several labels\. .*one task per label/);
});

test('labels that differ only in letter case are two classes, and the task says so', async () => {
  const label = (i: number) => (i % 3 === 0 ? 'Positive' : i % 3 === 1 ? 'positive' : 'negative');
  const rows = (n: number) => jsonl(Array.from({ length: n }, (_, i) => ({ text: `row ${i}`, label: label(i) })));
  const t = await loadTask('merged', folder({ 'train.jsonl': rows(30), 'test.jsonl': rows(9) }));
  assert.deepEqual(t.labels, ['Positive', 'negative', 'positive']);
  const warnings = t.warnings ?? [];
  assert.ok(
    warnings.some((w) => /task "merged": the labels "Positive" and "positive" differ only in letter case; they are 2 classes, each with part of the rows\. If they mean one class, write them one way\./.test(w)),
    warnings.join('\n'),
  );
  const clean = await loadTask('clean', folder({ 'train.jsonl': jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }]), 'test.jsonl': jsonl([{ text: 'c', label: 'x' }]) }));
  assert.ok(!(clean.warnings ?? []).some((w) => /letter case/.test(w)));
});
