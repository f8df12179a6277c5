// Task files larger than a string can hold are read streamed, keeping only the rows the limits keep.
// The threshold and the chunk size are lowered here, so files of a few KB are streamed in chunks of
// a few bytes (multi-byte characters, CRLF pairs and quoted newlines cut across chunks).
import { test, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask, LoadTaskOptions, TaskData } from '../../../../src/core/data/dataset';
import { setStreamingForTests, StreamSettings } from '../../../../src/core/data/streamRows';
import { DatasetError } from '../../../../src/core/errors';
import { tempDir } from '../../../helpers';

const tmp = tempDir('probescale-stream-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let restore = (): void => undefined;
afterEach(() => restore());

let counter = 0;
function folder(files: Record<string, string | Buffer>): string {
  const dir = path.join(tmp, `d${counter++}`);
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

const WORDS = ['naïve café', 'emoji 😀 row', '日本語のテキスト', 'plain ascii', 'ünïcödé ß', 'with, comma', 'quote "in" it', 'tab\there', 'two\r\nlines', 'cr\ronly', 'Ω≈ç√'];
const ENDINGS = ['\n', '\r\n', '\r\n', '\n', '\r'];

/** `n` rows with distinct texts (no duplicate warnings) over 3 labels, some with text_pair when `pairs`. */
function rows(n: number, from: number, pairs = false): { text: string; label: string; text_pair?: string }[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const row = { text: `${WORDS[i % WORDS.length]} ${i}`, label: ['neg', 'pos', 'mixed'][(i * 7) % 3] };
    return pairs ? { ...row, text_pair: `pair ${WORDS[(i + 3) % WORDS.length]}` } : row;
  });
}

const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;
/** The rows in `ext`, lines ended by a mix of LF, CRLF and CR, with a BOM and blank lines. */
function write(ext: string, data: ReturnType<typeof rows>): string {
  const cols = data.some((r) => r.text_pair !== undefined) ? ['text', 'text_pair', 'label'] : ['text', 'label'];
  const sep = ext === 'tsv' ? '\t' : ',';
  const lines =
    ext === 'jsonl'
      ? data.map((r) => JSON.stringify(r))
      : [cols.join(sep), ...data.map((r) => cols.map((c) => quote(String((r as Record<string, string>)[c]))).join(sep))];
  let out = '\ufeff';
  lines.forEach((l, i) => {
    out += l + ENDINGS[i % ENDINGS.length];
    if (i % 9 === 4) out += ENDINGS[(i + 1) % ENDINGS.length];
  });
  return out;
}

/** The task loaded whole, then streamed in chunks of each size: every result is the same. */
async function sameStreamed(taskPath: string, opts: LoadTaskOptions): Promise<TaskData> {
  const whole = await loadTask('t', taskPath, opts);
  for (const highWaterMark of [1, 2, 3, 5, 64, 4096]) {
    restore = setStreamingForTests({ streamAbove: 16, highWaterMark });
    assert.deepEqual(await loadTask('t', taskPath, opts), whole, `chunks of ${highWaterMark} bytes, ${JSON.stringify(opts)}`);
    restore();
  }
  return whole;
}

const LIMITS: LoadTaskOptions[] = [{}, { limitTrain: 7, limitTest: 3 }, { limitTrain: 10 }, { limitTest: 2 }];

for (const ext of ['jsonl', 'csv', 'tsv']) {
  test(`a ${ext} folder read streamed gives what it gives read whole, with and without limits`, async () => {
    const dir = folder({ [`train.${ext}`]: write(ext, rows(40, 0)), [`test.${ext}`]: write(ext, rows(12, 100)) });
    for (const opts of LIMITS) {
      const t = await sameStreamed(dir, opts);
      assert.equal(t.train.length, opts.limitTrain ?? 40);
    }
  });

  test(`one ${ext} file read streamed is split into the same rows as read whole, with and without limits`, async () => {
    const file = path.join(folder({ [`all.${ext}`]: write(ext, rows(60, 0)) }), `all.${ext}`);
    for (const opts of [...LIMITS, { limitTrain: 5, limitTest: 4, seed: 3, testFraction: 0.3 }]) {
      const t = await sameStreamed(file, opts);
      assert.equal(t.splitFrom, 'file');
      assert.ok(t.train.some((r) => r.text.includes('\n')) || ext === 'jsonl' || opts.limitTrain, 'a quoted newline is read');
    }
  });

  test(`a ${ext} pair task read streamed gives what it gives read whole`, async () => {
    const dir = folder({ [`train.${ext}`]: write(ext, rows(30, 0, true)), [`test.${ext}`]: write(ext, rows(9, 50, true)) });
    const t = await sameStreamed(dir, { limitTrain: 8, limitTest: 4 });
    assert.ok(t.train.every((r) => r.textPair !== undefined));
  });
}

/** The error of loading `taskPath` whole, which loading it streamed (in chunks of each size) must give too. */
async function sameError(taskPath: string, opts: LoadTaskOptions, expected: RegExp, settings: Partial<StreamSettings> = {}): Promise<string> {
  const whole = await loadTask('t', taskPath, opts).then(
    () => assert.fail('expected an error'),
    (e: Error) => e.message,
  );
  assert.match(whole, expected);
  for (const highWaterMark of [1, 3, 7, 4096]) {
    restore = setStreamingForTests({ streamAbove: 16, highWaterMark, ...settings });
    await assert.rejects(loadTask('t', taskPath, opts), (e: Error) => {
      assert.ok(e instanceof DatasetError, String(e));
      assert.equal(e.message, whole, `chunks of ${highWaterMark} bytes`);
      return true;
    });
    restore();
  }
  return whole;
}

const CSV_ROWS = (from: number, n: number): string => rows(n, from).map((r) => `${quote(r.text)},${r.label}`).join('\n');

test('a malformed row after the rows the limits keep is still refused, naming its line', async () => {
  const good = rows(30, 0).map((r) => JSON.stringify(r));
  const jsonlDir = folder({ 'train.jsonl': [...good, '', '{"text": "x", "label": }', ...good].join('\r\n'), 'test.jsonl': write('jsonl', rows(5, 100)) });
  await sameError(jsonlDir, { limitTrain: 5, limitTest: 2 }, /train\.jsonl, line 32: not valid JSON/);
  const csv = `text,label\n${CSV_ROWS(0, 30)}\n\n"late, no label",\n${CSV_ROWS(40, 5)}\n`;
  await sameError(path.join(folder({ 'all.csv': csv }), 'all.csv'), { limitTrain: 5, limitTest: 2 }, /all\.csv, line 37: missing "label"/);
  const unclosed = `text\tlabel\n${CSV_ROWS(0, 20).replace(/,/g, '\t')}\n"never closed\tneg\n`;
  await sameError(path.join(folder({ 'all.tsv': unclosed }), 'all.tsv'), { limitTrain: 5, limitTest: 2 }, /all\.tsv: Quote Not Closed.*Wrap fields that hold tabs/);
});

test('a test label unseen in training, after the test rows kept, is still refused', async () => {
  const test = write('jsonl', [...rows(10, 100), { text: 'new one', label: 'unseen' }, { text: 'new two', label: 'unseen' }]);
  await sameError(folder({ 'train.jsonl': write('jsonl', rows(30, 0)), 'test.jsonl': test }), { limitTrain: 6, limitTest: 2 }, /test\.jsonl, line 11: label "unseen" does not occur in .*train\.jsonl \(2 test rows/);
});

test('invalid UTF-8 deep in a streamed file is named with its offset and line', async () => {
  // Within the first 4096 bytes (looked at whole for UTF-16 first) and beyond them.
  for (const n of [50, 200]) {
    const head = Buffer.from(write('jsonl', rows(n, 0)));
    const line = head.toString('latin1').split('\n').length;
    const latin1 = Buffer.concat([head, Buffer.from('{"text": "caf'), Buffer.from([0xe9]), Buffer.from('", "label": "pos"}\n')]);
    await sameError(path.join(folder({ 'all.jsonl': latin1 }), 'all.jsonl'), { limitTrain: 5, limitTest: 2 }, new RegExp(`not valid UTF-8: byte 0xe9 at offset ${head.length + 13} \\(line ${line}\\)`));
    const csv = Buffer.concat([Buffer.from(write('csv', rows(n, 0))), Buffer.from('"caf'), Buffer.from([0xe9]), Buffer.from('",pos\n')]);
    await sameError(path.join(folder({ 'all.csv': csv }), 'all.csv'), { limitTrain: 5, limitTest: 2 }, /all\.csv is not valid UTF-8: byte 0xe9/);
    // A character cut by the end of the file: its first byte is named.
    const cut = Buffer.concat([head, Buffer.from('{"text": "x 😀"}').subarray(0, 14)]);
    await sameError(path.join(folder({ 'cut.jsonl': cut }), 'cut.jsonl'), { limitTrain: 5, limitTest: 2 }, new RegExp(`byte 0xf0 at offset ${head.length + 12} \\(line ${line}\\)`));
  }
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(write('jsonl', rows(50, 0)), 'utf16le')]);
  await sameError(path.join(folder({ 'u.jsonl': utf16 }), 'u.jsonl'), { limitTrain: 5, limitTest: 2 }, /u\.jsonl is encoded as UTF-16 \(byte-order mark\)/);
});

test('a file changed between the two reads of a streamed split is refused', async () => {
  const file = path.join(folder({ 'all.jsonl': write('jsonl', rows(60, 0)) }), 'all.jsonl');
  restore = setStreamingForTests({ streamAbove: 16, highWaterMark: 64, betweenPasses: (f) => fs.appendFileSync(f, '{"text": "late", "label": "pos"}\n') });
  await assert.rejects(loadTask('t', file, { limitTrain: 5, limitTest: 2 }), /all\.jsonl changed while it was read \(\d+ bytes before, \d+ after\); run again once/);
  await assert.rejects(loadTask('t', file, {}), /all\.jsonl changed while it was read \(\d+ bytes before, \d+ read, \d+ after\)/);
});

test('a file too large to hold is refused without the limits that keep its rows, naming them', async () => {
  const file = path.join(folder({ 'all.csv': write('csv', rows(60, 0)) }), 'all.csv');
  restore = setStreamingForTests({ streamAbove: 16, holdAtMost: 1000 });
  const refused = (opts: LoadTaskOptions, template: RegExp) =>
    assert.rejects(loadTask('t', file, opts), (e: unknown) => {
      assert.ok(e instanceof DatasetError, String(e));
      assert.match(e.template, template);
      return true;
    });
  await refused({}, /all\.csv is \d\.\d kB, more than a string can hold \(1\.0 kB\), and without \{\{limitTrain\}\} and \{\{limitTest\}\} every training and test row of it would be held\. Pass \{\{limitTrain\}\} N and \{\{limitTest\}\} N to keep only the first N training and test rows .*head -n 100001 .*all\.csv > smaller\/all\.csv \(the header and 100,000 lines: fewer rows where a quoted field spans lines\)/);
  await refused({ limitTrain: 3 }, /without \{\{limitTest\}\} every test row of it would be held\. Pass \{\{limitTest\}\} N to keep/);
  assert.equal((await loadTask('t', file, { limitTrain: 3, limitTest: 2 })).test.length, 2);
});

test('in a folder, one limit is enough when the other split\'s file is small enough to hold', async () => {
  const dir = folder({ 'train.jsonl': write('jsonl', rows(40, 0)), 'test.jsonl': write('jsonl', rows(6, 100)) });
  const whole = await loadTask('t', dir, { limitTrain: 9 });
  restore = setStreamingForTests({ streamAbove: 1000, holdAtMost: 1000, highWaterMark: 5 });
  assert.deepEqual(await loadTask('t', dir, { limitTrain: 9 }), whole);
  await assert.rejects(loadTask('t', dir, { limitTest: 2 }), (e: DatasetError) => /without \{\{limitTrain\}\} every training row/.test(e.template) && !e.template.includes('{{limitTest}}'));
});

test('read streamed, repeated texts are warned about among the rows read, and the warning says so', async () => {
  const train = write('jsonl', [...rows(20, 0), { text: 'same', label: 'pos' }, ...rows(20, 30)]);
  const dir = folder({ 'train.jsonl': train, 'test.jsonl': write('jsonl', [{ text: 'same', label: 'neg' }, ...rows(5, 100)]) });
  restore = setStreamingForTests({ streamAbove: 16, highWaterMark: 7 });
  const t = await loadTask('t', dir, { limitTrain: 30, limitTest: 3 });
  assert.deepEqual(t.warnings, [
    `task "t" (among the 33 rows read of its 47; the rest of a file this large is not compared): 1 row repeats a text with another label ("same" is "pos" at ${dir}/train.jsonl, line 22 and "neg" at ${dir}/test.jsonl, line 1); no probe can get both right. Fix the labels or remove the duplicates.`,
    `task "t" (among the 33 rows read of its 47; the rest of a file this large is not compared): 1 of 3 test rows repeat a training text (${dir}/test.jsonl, line 1 = ${dir}/train.jsonl, line 22); their scores reward memory as well as the layer. Remove them from one split for a clean test.`,
  ]);
});
