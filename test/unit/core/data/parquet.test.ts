// Task data in Parquet, as the Hugging Face Hub, pandas, polars and DuckDB write it: read with the
// checks of JSON lines. Files are written here with hyparquet-writer (another library than the
// reader), in the layouts the Hub uses.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { execFileSync, spawnSync } from 'node:child_process';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { loadTask } from '../../../../src/core/data/dataset';
import { hasTaskSplits } from '../../../../src/core/data/splits';
import { setStreamingForTests } from '../../../../src/core/data/streamRows';
import { rejectsWith, tempDir } from '../../../helpers';

const tmp = tempDir('probescale-parquet-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const fresh = () => fs.mkdtempSync(path.join(tmp, `d${counter++}-`));

interface Rows {
  text: (string | null)[];
  label: (bigint | number | string | boolean | null)[];
  text_pair?: (string | null)[];
  [column: string]: unknown[] | undefined;
}

/** Writes `rows` as one Parquet file; `names` makes the label a datasets ClassLabel, as the Hub's files have it. */
function write(file: string, rows: Rows | Record<string, unknown[]>, opts: { names?: string[]; labelColumn?: string; codec?: 'SNAPPY' | 'GZIP' | 'BROTLI' | 'ZSTD' | 'UNCOMPRESSED'; rowGroupSize?: number } = {}): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const typeOf = (v: unknown) => (typeof v === 'bigint' ? 'INT64' : typeof v === 'boolean' ? 'BOOLEAN' : typeof v === 'number' ? 'DOUBLE' : v instanceof Uint8Array ? 'BYTE_ARRAY' : Array.isArray(v) ? undefined : 'STRING');
  const columnData = Object.entries(rows).map(([name, data]) => ({ name, data: data as never[], type: typeOf((data as unknown[]).find((v) => v !== null)) as 'STRING' }));
  const kvMetadata = opts.names ? [{ key: 'huggingface', value: JSON.stringify({ info: { features: { text: { dtype: 'string', _type: 'Value' }, [opts.labelColumn ?? 'label']: { names: opts.names, _type: 'ClassLabel' } } } }) }] : [];
  const bytes = parquetWriteBuffer({ columnData, kvMetadata, codec: opts.codec ?? 'SNAPPY', compressors: { GZIP: (b: Uint8Array) => new Uint8Array(zlib.gzipSync(b)), BROTLI: (b: Uint8Array) => new Uint8Array(zlib.brotliCompressSync(b)), ZSTD: (b: Uint8Array) => new Uint8Array(execFileSync('zstd', ['-q', '-c'], { input: b })) }, rowGroupSize: opts.rowGroupSize ?? 1000 });
  fs.writeFileSync(file, new Uint8Array(bytes));
  return file;
}

const texts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} text number ${i} ${'word '.repeat(i % 5)}`.trim());
const ids = (n: number, classes = 2) => Array.from({ length: n }, (_, i) => BigInt(i % classes));

test("a dataset repository's root: data/ shards in order, ClassLabel integers read as their names, the same rows as JSON lines", async () => {
  const repo = fresh();
  fs.writeFileSync(path.join(repo, 'README.md'), '---\nlicense: mit\n---\n');
  const train = texts('train', 30);
  write(path.join(repo, 'data', 'train-00000-of-00002.parquet'), { text: train.slice(0, 17), label: ids(17) }, { names: ['neg', 'pos'], rowGroupSize: 5 });
  write(path.join(repo, 'data', 'train-00001-of-00002.parquet'), { text: train.slice(17), label: ids(13).map((v) => 1n - v) }, { names: ['neg', 'pos'] });
  write(path.join(repo, 'data', 'test-00000-of-00001.parquet'), { text: texts('test', 6), label: ids(6) }, { names: ['neg', 'pos'] });
  const task = await loadTask('t', repo);
  assert.deepEqual(task.labels, ['neg', 'pos']);
  assert.deepEqual(task.train.map((e) => e.text), train);
  const want = [...ids(17), ...ids(13).map((v) => 1n - v)].map((v) => (v === 0n ? 'neg' : 'pos'));
  assert.deepEqual(task.train.map((e) => e.label), want);
  assert.deepEqual([...task.testY], [0, 1, 0, 1, 0, 1]);

  // The same rows as JSON lines give the same task.
  const jsonl = fresh();
  fs.writeFileSync(path.join(jsonl, 'train.jsonl'), train.map((text, i) => JSON.stringify({ text, label: want[i] })).join('\n'));
  fs.writeFileSync(path.join(jsonl, 'test.jsonl'), texts('test', 6).map((text, i) => JSON.stringify({ text, label: i % 2 ? 'pos' : 'neg' })).join('\n'));
  const same = await loadTask('t', jsonl);
  assert.deepEqual({ ...task, source: '', splitFrom: undefined }, { ...same, source: '', splitFrom: undefined });

  // Limits keep the first rows across the shards, in name order.
  const limited = await loadTask('t', repo, { limitTrain: 20 });
  assert.deepEqual(limited.train.map((e) => e.text), train.slice(0, 20));
  assert.ok(hasTaskSplits(repo) && hasTaskSplits(path.join(repo, 'data')));
});

test('train.parquet and test.parquet; refs/convert/parquet folders; every codec hyparquet-compressors reads; labels without ClassLabel as written', async () => {
  // Node 20 has no zstd compressor; the zstd command writes the frames Parquet's ZSTD holds, where it is installed.
  const zstd = spawnSync('zstd', ['--version']).status === 0;
  const codecs: ('SNAPPY' | 'GZIP' | 'BROTLI' | 'ZSTD' | 'UNCOMPRESSED')[] = ['SNAPPY', 'GZIP', 'BROTLI', 'UNCOMPRESSED', ...(zstd ? (['ZSTD'] as const) : [])];
  for (const codec of codecs) {
    const dir = fresh();
    write(path.join(dir, 'train.parquet'), { text: texts('a', 12), label: ['x', 'y', 'x', 'y', 'x', 'y', 'x', 'y', 'x', 'y', 'x', 'y'] }, { codec });
    write(path.join(dir, 'test.parquet'), { text: texts('b', 4), label: ['y', 'x', 'y', 'x'] }, { codec });
    const task = await loadTask('t', dir);
    assert.deepEqual(task.labels, ['x', 'y'], codec);
    assert.equal(task.train[3].text, texts('a', 12)[3]);
  }
  const converted = fresh();
  write(path.join(converted, 'default', 'train', '0000.parquet'), { text: texts('a', 10), label: ids(10, 3) });
  write(path.join(converted, 'default', 'test', '0000.parquet'), { text: texts('b', 3), label: ids(3, 3) });
  const task = await loadTask('t', path.join(converted, 'default'));
  assert.deepEqual(task.labels, ['0', '1', '2']);
  assert.equal(task.train.length, 10);
});

test('a pair task: text_pair read as the second text', async () => {
  const dir = fresh();
  write(path.join(dir, 'train.parquet'), { text: texts('p', 8), text_pair: texts('h', 8), label: ids(8, 2) }, { names: ['entailment', 'contradiction'] });
  write(path.join(dir, 'test.parquet'), { text: texts('p', 2), text_pair: texts('q', 2), label: ids(2, 2) }, { names: ['entailment', 'contradiction'] });
  const task = await loadTask('t', dir);
  assert.equal(task.train[5].textPair, texts('h', 8)[5]);
  assert.equal(task.test[1].label, 'contradiction');
});

test('one Parquet file is split stratified, seeded, as the same rows in JSON lines are', async () => {
  const dir = fresh();
  const t = texts('s', 40);
  const labels = t.map((_, i) => (i % 3 === 0 ? 'a' : 'b'));
  const file = write(path.join(dir, 'all.parquet'), { text: t, label: labels }, { rowGroupSize: 7 });
  fs.writeFileSync(path.join(dir, 'all.jsonl'), t.map((text, i) => JSON.stringify({ text, label: labels[i] })).join('\n'));
  const a = await loadTask('t', file, { seed: 3 });
  const b = await loadTask('t', path.join(dir, 'all.jsonl'), { seed: 3 });
  assert.equal(a.splitFrom, 'file');
  assert.deepEqual([a.train, a.test], [b.train, b.test]);

  // Larger than what is held: refused without limits, read twice a row group at a time with them.
  const restore = setStreamingForTests({ holdAtMost: 200 });
  try {
    await rejectsWith(loadTask('t', file, { seed: 3 }), /all\.parquet holds .* of text, more than 200 B, and without training-row limit and test-row limit every row/);
    const c = await loadTask('t', file, { seed: 3, limitTrain: 5, limitTest: 2 });
    assert.deepEqual([c.train, c.test], [b.train.slice(0, 5), b.test.slice(0, 2)]);
  } finally {
    restore();
  }
});

test("GLUE's unlabelled test split (-1), a ClassLabel out of range, a row without text: named by file and row", async () => {
  const dir = fresh();
  write(path.join(dir, 'train-00000-of-00001.parquet'), { text: texts('a', 6), label: ids(6) }, { names: ['neg', 'pos'] });
  write(path.join(dir, 'test-00000-of-00001.parquet'), { text: texts('b', 3), label: [-1n, -1n, -1n] }, { names: ['neg', 'pos'] });
  await rejectsWith(loadTask('t', dir), /test-00000-of-00001\.parquet, row 1: label -1, which datasets writes for a row without a label \(GLUE's test splits have none\)\. Use a split with labels as the test split \(a validation split beside an unlabelled test split is used instead of it\)/);
  // With a validation split beside it (GLUE's layout), that split is the test split, and the run says why.
  write(path.join(dir, 'validation-00000-of-00001.parquet'), { text: texts('v', 4), label: ids(4) }, { names: ['neg', 'pos'] });
  const glue = await loadTask('t', dir);
  assert.deepEqual([glue.test.map((e) => e.text), glue.test.map((e) => e.label)], [texts('v', 4), ['neg', 'pos', 'neg', 'pos']]);
  assert.ok(glue.warnings?.some((w) => /test-00000-of-00001\.parquet has no labels \(label -1 from its first row: unlabelled\); testing on .*validation-00000-of-00001\.parquet, the validation split beside it\./.test(w)), glue.warnings?.join(' | '));
  // A test split labelled from its first row with a -1 later is refused at that row, not swapped for the validation split.
  write(path.join(dir, 'test-00000-of-00001.parquet'), { text: texts('b', 3), label: [0n, -1n, 1n] }, { names: ['neg', 'pos'] });
  await rejectsWith(loadTask('t', dir), /test-00000-of-00001\.parquet, row 2: label -1/);

  const bad = fresh();
  write(path.join(bad, 'train.parquet'), { text: texts('a', 6), label: [0n, 1n, 0n, 1n, 5n, 0n] }, { names: ['neg', 'pos'] });
  write(path.join(bad, 'test.parquet'), { text: texts('b', 2), label: ids(2) }, { names: ['neg', 'pos'] });
  await rejectsWith(loadTask('t', bad), /train\.parquet, row 5: label 5 is not one of the 2 classes the file's ClassLabel names \(0 to 1\)/);

  const shards = fresh();
  write(path.join(shards, 'train-00000-of-00002.parquet'), { text: texts('a', 4), label: ids(4) });
  write(path.join(shards, 'train-00001-of-00002.parquet'), { text: ['fine', null, 'fine'], label: ids(3) });
  write(path.join(shards, 'test.parquet'), { text: texts('b', 2), label: ids(2) });
  await rejectsWith(loadTask('t', shards), /train-00001-of-00002\.parquet, row 2: missing "text"\. Every example needs a non-empty "text"/);
});

test("GLUE's columns read as they are, a validation split but no test, two train sources, a file that is not Parquet: what to do, said", async () => {
  const glue = fresh();
  write(path.join(glue, 'train.parquet'), { idx: [0n, 1n], sentence: ['a', 'b'], label: ids(2) });
  write(path.join(glue, 'test.parquet'), { idx: [0n], sentence: ['c'], label: [0n] });
  const sst2 = await loadTask('t', glue);
  assert.deepEqual([sst2.train.map((e) => e.text), sst2.test[0].text], [['a', 'b'], 'c']);
  const review = fresh();
  write(path.join(review, 'train.parquet'), { review: ['a', 'b'], label: ids(2) });
  write(path.join(review, 'test.parquet'), { review: ['c'], label: [0n] });
  await rejectsWith(loadTask('t', review), /(train|test)\.parquet has no "text" column \(its columns: review, label\)\. Rows need a "text" and a "label" column \(and "text_pair" for pairs\); to read "review" as the text, pass task columns text=review\./);

  const validation = fresh();
  write(path.join(validation, 'train-00000-of-00001.parquet'), { text: texts('a', 4), label: ids(4) });
  write(path.join(validation, 'validation-00000-of-00001.parquet'), { text: texts('b', 2), label: ids(2) });
  const fromValidation = await loadTask('t', validation);
  assert.deepEqual(fromValidation.test.map((e) => e.text), texts('b', 2), 'the validation split is the test split');
  assert.ok(fromValidation.warnings?.some((w) => /has no test split; testing on .*validation-00000-of-00001\.parquet, its validation split/.test(w)));

  const two = fresh();
  write(path.join(two, 'train.parquet'), { text: texts('a', 4), label: ids(4) });
  fs.writeFileSync(path.join(two, 'train.jsonl'), '{"text": "a", "label": 0}\n');
  write(path.join(two, 'test.parquet'), { text: texts('b', 2), label: ids(2) });
  await rejectsWith(loadTask('t', two), /has several train files \(train\.jsonl, train\.parquet\)\. Keep one\./);

  const junk = fresh();
  fs.writeFileSync(path.join(junk, 'train.parquet'), 'text,label\nnot parquet at all,0\n');
  write(path.join(junk, 'test.parquet'), { text: texts('b', 2), label: ids(2) });
  await rejectsWith(loadTask('t', junk), /train\.parquet cannot be read as Parquet \(.*\)\. Write it again with pandas, pyarrow, polars or DuckDB, or give the rows as JSON lines\./);
});

test('shards or splits whose files name their classes differently (ClassLabel in one, plain integers in another) are refused naming both', async () => {
  const shards = fresh();
  write(path.join(shards, 'train-00000-of-00002.parquet'), { text: texts('a', 6), label: ids(6) }, { names: ['neg', 'pos'] });
  write(path.join(shards, 'train-00001-of-00002.parquet'), { text: texts('c', 6), label: ids(6) });
  write(path.join(shards, 'test.parquet'), { text: texts('b', 2), label: ids(2) }, { names: ['neg', 'pos'] });
  // Before: four classes, 0, 1, neg and pos.
  await rejectsWith(loadTask('t', shards), /train-00001-of-00002\.parquet has plain integers as labels while .*train-00000-of-00002\.parquet names them \(ClassLabel: "neg", "pos"\)/);

  for (const namedIn of ['train', 'test']) {
    const dir = fresh();
    write(path.join(dir, 'train.parquet'), { text: texts('a', 6), label: ids(6) }, namedIn === 'train' ? { names: ['neg', 'pos'] } : {});
    write(path.join(dir, 'test.parquet'), { text: texts('b', 2), label: ids(2) }, namedIn === 'test' ? { names: ['neg', 'pos'] } : {});
    const plain = namedIn === 'train' ? 'test' : 'train';
    await rejectsWith(loadTask('t', dir), new RegExp(`${plain}\\.parquet has plain integers as labels while .*${namedIn}\\.parquet names them \\(ClassLabel: "neg", "pos"\\).*Write both with the same label feature`));
  }

  // Names in another order are each file's own: its integers are read through them.
  const order = fresh();
  write(path.join(order, 'train.parquet'), { text: texts('a', 6), label: ids(6) }, { names: ['neg', 'pos'] });
  write(path.join(order, 'test.parquet'), { text: texts('b', 2), label: ids(2) }, { names: ['pos', 'neg'] });
  assert.deepEqual((await loadTask('t', order)).test.map((e) => e.label), ['pos', 'neg']);
  // Plain strings beside a ClassLabel are names already.
  const strings = fresh();
  write(path.join(strings, 'train.parquet'), { text: texts('a', 6), label: ids(6) }, { names: ['neg', 'pos'] });
  write(path.join(strings, 'test.parquet'), { text: texts('b', 2), label: ['pos', 'neg'] });
  assert.deepEqual((await loadTask('t', strings)).testY, Int32Array.from([1, 0]));
});

test('text bytes that are not UTF-8 are refused naming the file, row and byte, not read as U+FFFD', async () => {
  const enc = new TextEncoder();
  for (const binary of [false, true]) {
    const dir = fresh();
    const t: (string | Uint8Array)[] = texts('a', 6).map((s) => (binary ? enc.encode(s) : s));
    t[3] = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b]); // "café ok" in latin-1
    write(path.join(dir, 'train.parquet'), { text: t as string[], label: ids(6) });
    write(path.join(dir, 'test.parquet'), { text: texts('b', 2), label: ids(2) });
    await rejectsWith(loadTask('t', dir), /train\.parquet, row 4: "text" is not valid UTF-8: byte 0xe9 at offset 3 of its value; it looks like latin-1 or Windows-1252\. /);
  }
  // Binary text that is UTF-8 is read as text.
  const ok = fresh();
  write(path.join(ok, 'train.parquet'), { text: texts('a', 6).map((s) => enc.encode(s)) as unknown as string[], label: ids(6) });
  write(path.join(ok, 'test.parquet'), { text: texts('b', 2), label: ids(2) });
  assert.equal((await loadTask('t', ok)).train[2].text, texts('a', 6)[2]);
});

test('a lost shard, or shards of two downloads mixed, are refused naming them', async () => {
  const gap = fresh();
  write(path.join(gap, 'train-00000-of-00003.parquet'), { text: texts('a', 6), label: ids(6) });
  write(path.join(gap, 'train-00002-of-00003.parquet'), { text: texts('c', 6), label: ids(6) });
  write(path.join(gap, 'test-00000-of-00001.parquet'), { text: texts('b', 2), label: ids(2) });
  await rejectsWith(loadTask('t', gap), /has no train-00001-of-00003\.parquet \(1 of the 3 shards is missing\)/);
  const last = fresh();
  write(path.join(last, 'train-00000-of-00002.parquet'), { text: texts('a', 6), label: ids(6) });
  write(path.join(last, 'test-00000-of-00001.parquet'), { text: texts('b', 2), label: ids(2) });
  await rejectsWith(loadTask('t', last), /has no train-00001-of-00002\.parquet \(1 of the 2 shards is missing\)/);
  const mixed = fresh();
  write(path.join(mixed, 'train-00000-of-00002.parquet'), { text: texts('a', 6), label: ids(6) });
  write(path.join(mixed, 'train-00001-of-00002.parquet'), { text: texts('c', 6), label: ids(6) });
  write(path.join(mixed, 'train-00000-of-00001.parquet'), { text: texts('d', 6), label: ids(6) });
  write(path.join(mixed, 'test-00000-of-00001.parquet'), { text: texts('b', 2), label: ids(2) });
  await rejectsWith(loadTask('t', mixed), /train-00000-of-00001\.parquet and train-00000-of-00002\.parquet are shards of two sets \(of 1 and of 2\)/);
});

test('a split of Parquet files without a row is refused, as an empty JSON lines file is', async () => {
  const dir = fresh();
  write(path.join(dir, 'train.parquet'), { text: texts('a', 6), label: ids(6) });
  write(path.join(dir, 'test.parquet'), { text: [], label: [] });
  // Before: read as a task of no test rows.
  await rejectsWith(loadTask('t', dir), /test\.parquet has no rows\. It needs one example per row/);
  // A shard without rows among others is fine.
  const shards = fresh();
  write(path.join(shards, 'train-00000-of-00002.parquet'), { text: texts('a', 6), label: ids(6) });
  write(path.join(shards, 'train-00001-of-00002.parquet'), { text: [], label: [] });
  write(path.join(shards, 'test.parquet'), { text: texts('b', 2), label: ids(2) });
  assert.equal((await loadTask('t', shards)).train.length, 6);
});

test("a floating-point label column: whole numbers are classes, a score (STS-B's 3.8) is refused saying to bin it", async () => {
  const dir = fresh();
  write(path.join(dir, 'train.parquet'), { text: texts('a', 6), label: [3.8, 4.2, 1, 0.5, 2.25, 5] });
  write(path.join(dir, 'test.parquet'), { text: texts('b', 2), label: [3.8, 4.2] });
  // Before: six classes, one a row.
  await rejectsWith(loadTask('t', dir), /train\.parquet, row 1: label 3\.8 is not a whole number in a floating-point label column: a score to regress on \(as STS-B's\).*round/);
  // pandas writes integer labels with a missing value as float64: 0.0 and 1.0 are the classes 0 and 1.
  const whole = fresh();
  write(path.join(whole, 'train.parquet'), { text: texts('a', 6), label: [0, 1, 0, 1, 0, 1] });
  write(path.join(whole, 'test.parquet'), { text: texts('b', 2), label: [1, 0] });
  assert.deepEqual((await loadTask('t', whole)).labels, ['0', '1']);
});

test('both splits bad: the training split’s error is said, however much sooner the test split failed', async () => {
  // Before: the split that failed first in time was said (the test above named test.parquet in one
  // run of npm test and train.parquet in the next); here the test split fails at once, train late.
  const dir = fresh();
  const n = 20000;
  write(path.join(dir, 'train.parquet'), { text: texts('a', n), label: Array.from({ length: n }, (_, i) => (i === n - 1 ? 3.8 : i % 2)) }, { rowGroupSize: 1000 });
  write(path.join(dir, 'test.parquet'), { text: texts('b', 2), label: [3.8, 1] });
  for (let i = 0; i < 3; i++) await rejectsWith(loadTask('t', dir), new RegExp(`train\\.parquet, row ${n}: label 3\\.8 is not a whole number`));
});

test('messages over all rows name Parquet rows as rows; a list of tokens as text is named as a list', async () => {
  const dir = fresh();
  write(path.join(dir, 'train.parquet'), { text: texts('a', 6), label: ['x', 'y', 'x', 'y', 'x', 'y'] });
  write(path.join(dir, 'test.parquet'), { text: texts('b', 2), label: ['x', 'z'] });
  await rejectsWith(loadTask('t', dir), /test\.parquet, row 2: label "z" does not occur in/);
  const pairs = fresh();
  write(path.join(pairs, 'train.parquet'), { text: texts('a', 6), text_pair: ['p', 'p', null, 'p', 'p', 'p'], label: ids(6) });
  write(path.join(pairs, 'test.parquet'), { text: texts('b', 2), text_pair: ['p', 'p'], label: ids(2) });
  await rejectsWith(loadTask('t', pairs), /\(first: .*train\.parquet, row 3\) while the others have one \(first: .*train\.parquet, row 1\)/);
  const tokens = fresh();
  write(path.join(tokens, 'train.parquet'), { text: texts('a', 6).map((s) => s.split(' ')) as unknown as string[], label: ids(6) });
  write(path.join(tokens, 'test.parquet'), { text: texts('b', 2), label: ids(2) });
  await rejectsWith(loadTask('t', tokens), /train\.parquet, row 1: "text" must be a string, got a list\. /);
});

test('train naming its classes (a ClassLabel) beside test rows of integers in another format: the mismatch is said, not just "label 0 does not occur"', async () => {
  const dir = fresh();
  write(path.join(dir, 'train.parquet'), { text: texts('a', 6), label: ids(6) }, { names: ['neg', 'pos'] });
  fs.writeFileSync(path.join(dir, 'test.jsonl'), '{"text": "b one", "label": 0}\n{"text": "b two", "label": 1}\n');
  await rejectsWith(
    loadTask('t', dir),
    /test\.jsonl, line 1: label "0" does not occur in .*train\.parquet .*; the training labels are names \("neg", "pos"\) and these test labels are integers: give both splits the labels the same way \(names in both, or integers in both\)\./,
  );
});

test('messages over all rows of a sharded split name the shard and its own row, not the split and a row counted across shards', async () => {
  const dir = fresh();
  write(path.join(dir, 'train-00000-of-00001.parquet'), { text: texts('a', 6), label: ['x', 'y', 'x', 'y', 'x', 'y'] });
  write(path.join(dir, 'test-00000-of-00002.parquet'), { text: texts('b', 4), label: ['x', 'y', 'x', 'y'] });
  write(path.join(dir, 'test-00001-of-00002.parquet'), { text: ['b new 1', texts('a', 6)[2], 'b new 3'], label: ['x', 'x', 'z'] });
  // Before: ".../test-*.parquet, row 7: label "z" does not occur".
  await rejectsWith(loadTask('t', dir), /test-00001-of-00002\.parquet, row 3: label "z" does not occur in .*train-00000-of-00001\.parquet\./);
  fs.rmSync(path.join(dir, 'test-00001-of-00002.parquet'));
  write(path.join(dir, 'test-00001-of-00002.parquet'), { text: ['b new 1', texts('a', 6)[2]], label: ['x', 'x'] });
  const task = await loadTask('t', dir);
  assert.match(task.warnings!.join('\n'), /test rows repeat a training text \(.*test-00001-of-00002\.parquet, row 2 = .*train-00000-of-00001\.parquet, row 3\)/);
});

test("GLUE's Parquet columns (QNLI's question and sentence) are read as a pair, and --columns names a ClassLabel under another name", async () => {
  const repo = fresh();
  const n = 8;
  const qnli = (s: string) => ({ question: texts(`${s} question`, n), sentence: texts(`${s} sentence`, n), label: ids(n), idx: ids(n, n) });
  write(path.join(repo, 'data', 'train-00000-of-00001.parquet'), qnli('train'), { names: ['entailment', 'not_entailment'] });
  write(path.join(repo, 'data', 'validation-00000-of-00001.parquet'), qnli('dev'), { names: ['entailment', 'not_entailment'] });
  fs.renameSync(path.join(repo, 'data', 'validation-00000-of-00001.parquet'), path.join(repo, 'data', 'test-00000-of-00001.parquet'));
  const task = await loadTask('qnli', repo);
  assert.deepEqual(task.labels, ['entailment', 'not_entailment']);
  assert.deepEqual([task.test[1].text, task.test[1].textPair, task.test[1].label], [qnli('dev').question[1], qnli('dev').sentence[1], 'not_entailment']);
  assert.ok(task.warnings?.some((w) => w.includes('"question" as text and "sentence" as text_pair')));

  // TREC keeps its classes as coarse_label and fine_label: the one named is read through its own names.
  const trec = fresh();
  for (const split of ['train', 'test']) {
    write(path.join(trec, `${split}.parquet`), { text: texts(split, 9), coarse_label: ids(9, 3), fine_label: ids(9, 9) }, { names: ['ABBR', 'ENTY', 'DESC'], labelColumn: 'coarse_label' });
  }
  const coarse = await loadTask('trec', trec, { columns: { label: 'coarse_label' } });
  assert.deepEqual(coarse.labels, ['ABBR', 'DESC', 'ENTY']);
  assert.deepEqual(coarse.warnings ?? [], []);
  await rejectsWith(loadTask('trec', trec), 'has no "label" column', 'its columns: text, coarse_label, fine_label', 'name the label column with task columns label=COLUMN');
});
