/*
 * Eighth session, hostile data: task files as users make them. Each case failed (crashed, hung,
 * misled or gave a silent wrong result) before its fix; see docs/RESULTS.md §6.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask, requireCrossValidation } from '../../../../src/core/data/dataset';
import { DatasetError } from '../../../../src/core/errors';
import { tempDir } from '../../../helpers';

const tmp = tempDir('probescale-hostile-data-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
/** A fresh folder holding `files` (name → content, or a function that makes the entry at that path). */
function folder(files: Record<string, string | Buffer | ((p: string) => void)>): string {
  const dir = path.join(tmp, `d${counter++}`);
  fs.mkdirSync(dir);
  for (const [name, c] of Object.entries(files)) {
    const p = path.join(dir, name);
    if (typeof c === 'function') c(p);
    else fs.writeFileSync(p, c);
  }
  return dir;
}
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const TEST = jsonl([{ text: 'd', label: 'x' }, { text: 'e', label: 'y' }]);

async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof DatasetError, `expected DatasetError, got ${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

test('CSV with mixed CRLF/LF/CR line endings reads every row, with the right line numbers', async () => {
  // Before: the reader took CRLF from the first line and read "a,x\nb,y" as one 3-field record ("Invalid Record Length").
  const dir = folder({ 'train.csv': 'text,label\r\na,x\nb,y\r\nc,x\rd,y\n', 'test.csv': 'text,label\n"q\r\nw",x\ne,y\n' });
  const t = await loadTask('t', dir);
  assert.deepEqual(t.train.map((e) => [e.text, e.label]), [['a', 'x'], ['b', 'y'], ['c', 'x'], ['d', 'y']]);
  assert.deepEqual(t.test.map((e) => e.text), ['q\nw', 'e']);
  // A bad row after a quoted CRLF is named at its own line (4), not one further.
  await rejectsWith(loadTask('t', folder({ 'train.csv': 'text,label\r\n"q\r\nw",x\r\n,y\r\n', 'test.csv': 'text,label\nc,x\n' })), /train\.csv, line 4: "text" is empty/);
});

test('JSONL with old-Mac CR line endings reads every row', async () => {
  const t = await loadTask('t', folder({ 'train.jsonl': jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }]).replace(/\n/g, '\r'), 'test.jsonl': TEST }));
  assert.equal(t.train.length, 2);
});

test('labels that differ only in surrounding spaces or Unicode form are one class', async () => {
  // Before: "a, x" in a CSV made the label " x", a third class beside "x" (silently), and "café" typed two ways made two.
  const t = await loadTask('t', folder({ 'train.csv': 'text,label\na, x\nb,x\nc,caf\u00e9\nd,cafe\u0301\n', 'test.csv': 'text,label\ne,x \n' }));
  assert.deepEqual(t.labels, ['caf\u00e9', 'x']);
  assert.deepEqual([...t.trainY], [1, 1, 0, 0]);
});

test('a JSON label too large to be read exactly is refused, naming the line', async () => {
  // Before: 12345678901234567890 and …891 both became "12345678901234567000", one class.
  const dir = folder({ 'train.jsonl': '{"text":"a","label":12345678901234567890}\n{"text":"b","label":12345678901234567891}\n', 'test.jsonl': TEST });
  await rejectsWith(loadTask('t', dir), /train\.jsonl, line 1: label 12345678901234567000 is too large for a JSON number to hold exactly.*Write it as a string/);
});

test('a text pair with one side missing is refused in CSV, TSV and JSONL alike, naming both lines', async () => {
  // Before: warned only; the row without text_pair was encoded as a single text among pairs and scored with them.
  await rejectsWith(
    loadTask('t', folder({ 'train.csv': 'text,text_pair,label\na,p,x\nb,,y\n', 'test.csv': 'text,text_pair,label\nc,q,x\n' })),
    /task "t": 1 of 3 rows have no "text_pair" \(first: .*train\.csv, line 3\) while the others have one \(first: .*train\.csv, line 2\); a pair task needs both texts in every row.*Fill in the missing text_pair, or drop it from every row/,
  );
  await rejectsWith(loadTask('t', folder({ 'train.tsv': 'text\ttext_pair\tlabel\na\tp\tx\nb\tq\ty\n', 'test.tsv': 'text\ttext_pair\tlabel\nc\t \tx\n' })), /1 of 3 rows have no "text_pair" \(first: .*test\.tsv, line 2\)/);
  const pairs = jsonl([{ text: 'a', text_pair: 'p', label: 'x' }, { text: 'b', text_pair: 'q', label: 'y' }]);
  await rejectsWith(loadTask('t', folder({ 'train.jsonl': pairs, 'test.jsonl': TEST })), /2 of 4 rows have no "text_pair" \(first: .*test\.jsonl, line 1\)/);
  for (const missing of [{}, { text_pair: null }, { text_pair: '' }]) {
    await rejectsWith(loadTask('t', folder({ 'train.jsonl': pairs, 'test.jsonl': jsonl([{ text: 'c', label: 'x', ...missing }]) })), /1 of 3 rows have no "text_pair"/);
  }
  // So is one file that mixes them.
  const rows = Array.from({ length: 10 }, (_, i) => ({ text: `t${i}`, label: i % 2 ? 'x' : 'y', ...(i === 3 ? {} : { text_pair: `p${i}` }) }));
  await rejectsWith(loadTask('t', path.join(folder({ 'all.jsonl': jsonl(rows) }), 'all.jsonl')), /1 of 10 rows have no "text_pair" \(first: .*all\.jsonl, line 4\)/);
  const both = await loadTask('t', folder({ 'train.jsonl': pairs, 'test.jsonl': jsonl([{ text: 'c', text_pair: 'r', label: 'x' }]) }));
  assert.deepEqual(both.warnings, []);
  // A text_pair column left empty in every row is a single-text task.
  const single = await loadTask('t', folder({ 'train.csv': 'text,text_pair,label\na,,x\nb,,y\n', 'test.csv': 'text,label\nc,x\n' }));
  assert.equal(single.train[0].textPair, undefined);
});

test('a JSONL row that gives a key twice is refused, naming the line and the key', async () => {
  // Before: the last "label" was read and the other dropped unseen.
  const train = '{"text": "a", "label": "x"}\n{"text": "b", "label": "x", "label": "y"}\n{"text": "c", "label": "y"}\n';
  await rejectsWith(loadTask('t', folder({ 'train.jsonl': train, 'test.jsonl': TEST })), /train\.jsonl, line 2: "label" is given twice; which one is meant cannot be told\. Keep one\./);
  // A key repeated in a nested object is named with where it is; the same key in two rows is fine.
  await rejectsWith(loadTask('t', folder({ 'train.jsonl': '{"text": "a", "label": "x", "meta": {"id": 1, "id": 2}}\n{"text": "b", "label": "y"}\n', 'test.jsonl': TEST })), /line 1: "id" is given twice \(under "meta"\)/);
});

test('links that loop or lead nowhere, folders and pipes named like task files are named for what they are', async () => {
  const cases: [Record<string, string | ((p: string) => void)>, RegExp][] = [
    // Before: "has no train file" (existsSync is false for a broken link).
    [{ 'train.jsonl': (p) => fs.symlinkSync(p, p), 'test.jsonl': TEST }, /train\.jsonl is a symbolic link that leads back to itself through a loop of links/],
    [{ 'train.jsonl': (p) => fs.symlinkSync(path.join(tmp, 'nowhere.jsonl'), p), 'test.jsonl': TEST }, /train\.jsonl is a symbolic link to .*nowhere\.jsonl, which does not exist/],
    // Before: "cannot be read: EISDIR: illegal operation on a directory, read".
    [{ 'train.jsonl': (p) => fs.mkdirSync(p), 'test.jsonl': TEST }, /train\.jsonl is a folder, not a file/],
    // Before: the read waited for a writer for ever.
    [{ 'train.jsonl': (p) => execFileSync('mkfifo', [p]), 'test.jsonl': TEST }, /train\.jsonl is a named pipe, not a file/],
    // Before: "has no train file", with nothing said about the file that is almost it.
    [{ 'Train.JSONL': TEST, 'test.jsonl': TEST }, /has no train file\..* It has Train\.JSONL: rename it/],
  ];
  for (const [files, re] of cases) await rejectsWith(loadTask('t', folder(files)), re);
  const loop = path.join(folder({}), 'loop');
  fs.symlinkSync(loop, loop);
  // Before: "does not exist".
  await rejectsWith(loadTask('t', loop), /task "t": .*loop is a symbolic link that leads back to itself/);
});

test('a file that changes while it is read is refused, not half read', async () => {
  const dir = folder({ 'train.jsonl': jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }]), 'test.jsonl': TEST });
  const real = fs.promises.readFile;
  // Another program appends a row just as the read ends (the file on disk really changes).
  fs.promises.readFile = (async (...args: Parameters<typeof real>) => {
    const bytes = await real(...args);
    if (String(args[0]).endsWith('train.jsonl')) fs.appendFileSync(String(args[0]), '{"text":"c","la');
    return bytes;
  }) as typeof real;
  try {
    await rejectsWith(loadTask('t', dir), /train\.jsonl changed while it was read \(\d+ bytes before, \d+ read, \d+ after\); run again once whatever writes it has finished/);
  } finally {
    fs.promises.readFile = real;
  }
});

test('test rows that repeat training rows, and one text with two labels, are warned about', async () => {
  const t = await loadTask('t', folder({
    'train.jsonl': jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }, { text: 'a', label: 'y' }]),
    'test.jsonl': jsonl([{ text: 'b', label: 'y' }, { text: 'c', label: 'x' }]),
  }));
  assert.equal(t.warnings?.length, 2, JSON.stringify(t.warnings));
  assert.match(t.warnings![0], /task "t": 1 row repeats a text with another label \("a" is "x" at .*train\.jsonl, line 1 and "y" at .*train\.jsonl, line 3\)/);
  assert.match(t.warnings![1], /task "t": 1 of 2 test rows repeat a training text \(.*test\.jsonl, line 1 = .*train\.jsonl, line 2\)/);
  const clean = await loadTask('t', folder({ 'train.jsonl': jsonl([{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }]), 'test.jsonl': TEST }));
  assert.deepEqual(clean.warnings, []);
});

test('a label with one training row is refused before extraction, by name (10,000 classes)', async () => {
  // Before: after extracting every feature, "class 0 has only 1 training example … or pass a fixed C" (a fixed C did not help).
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ text: `t${i}`, label: `c${i}` }));
  const t = await loadTask('t', folder({ 'train.jsonl': jsonl(rows), 'test.jsonl': jsonl(rows.slice(0, 3)) }));
  assert.equal(t.labels.length, 10_000);
  assert.throws(() => requireCrossValidation(t, 5), (e: Error) => e instanceof DatasetError && /label "c0" has only 1 training row \(10000 of its 10000 labels have 1\); each probe is scored by 5-fold cross-validation/.test(e.message));
  // One file of 10,000 one-row labels: the message says why nothing is held out.
  const one = path.join(folder({ 'all.jsonl': jsonl(rows) }), 'all.jsonl');
  await rejectsWith(loadTask('t', one), /10000 rows are too few .*each of its 10000 labels is split on its own, and the largest has 1 row/);
  const two = await loadTask('t', folder({ 'train.jsonl': jsonl([...rows.slice(0, 3), ...rows.slice(0, 3)]), 'test.jsonl': jsonl(rows.slice(0, 1)) }));
  requireCrossValidation(two, 5);
  const four = await loadTask('t', folder({ 'train.jsonl': jsonl([...rows.slice(0, 2), ...rows.slice(0, 2)]), 'test.jsonl': jsonl(rows.slice(0, 1)) }));
  assert.throws(() => requireCrossValidation(four, 5), /task "t" .* has 4 training rows; 5-fold cross-validation needs at least 5/);
});

test('a task file larger than a string can hold is refused before it is read without the limit that keeps its rows', async () => {
  // Sparse: no disk used. Before: Node's "Cannot create a string longer than …" (or, past 2 GiB, "File size … is greater than 2 GiB").
  const big = (p: string) => {
    fs.writeFileSync(p, '');
    fs.truncateSync(p, 600 * 2 ** 20);
  };
  const dir = folder({ 'train.jsonl': big, 'test.jsonl': TEST });
  const t0 = Date.now();
  await assert.rejects(loadTask('big', dir), (e: unknown) => {
    assert.ok(e instanceof DatasetError, String(e));
    assert.match(e.template, /train\.jsonl is 629\.1 MB, more than a string can hold \(536\.9 MB\), and without \{\{limitTrain\}\} every training row of it would be held\. Pass \{\{limitTrain\}\} N to keep only the first N training rows \(the file is then read in chunks\), or keep the rows you need in a smaller file \(e\.g\. head -n 100000 .*train\.jsonl > smaller\/train\.jsonl\)\./);
    // The test file is small: its limit is not asked for.
    assert.ok(!e.template.includes('{{limitTest}}'), e.template);
    return true;
  });
  assert.ok(Date.now() - t0 < 2000, 'refused without reading the file');
  // With the limit it is read in chunks, and its zeros are named from the first 4096 bytes.
  await assert.rejects(loadTask('big', dir, { limitTrain: 10 }), /train\.jsonl is encoded as UTF-16 \(zero byte at offset 0\)/);
  assert.ok(Date.now() - t0 < 2000, 'refused without reading the file');
});
