// Task data in Arrow, as Hugging Face datasets keeps it on disk: load_dataset's cache
// (`glue-train.arrow`, sharded `imdb-train-00000-of-00002.arrow`) and save_to_disk folders
// (`train/data-00000-of-00001.arrow` beside state.json), written here as datasets writes them:
// IPC streams with plain Utf8 and Int64 columns and the `huggingface` schema metadata.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType, Field, Float64, Int64, List, RecordBatch, Schema, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { loadTask } from '../../../../src/core/data/dataset';
import { hasTaskSplits } from '../../../../src/core/data/splits';
import { rejectsWith, tempDir } from '../../../helpers';

const tmp = tempDir('probescale-arrow-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const fresh = () => fs.mkdtempSync(path.join(tmp, `d${counter++}-`));

type Columns = Record<string, unknown[]>;

const typeOf = (v: unknown): DataType => (typeof v === 'bigint' ? new Int64() : typeof v === 'number' ? new Float64() : Array.isArray(v) ? new List(new Field('item', new Utf8(), true)) : new Utf8());

/** Writes `cols` as an Arrow IPC stream (or file) of record batches of `batchRows` rows; `names` makes `labelColumn` a ClassLabel. */
function write(file: string, cols: Columns, opts: { names?: string[]; labelColumn?: string; batchRows?: number; format?: 'stream' | 'file' } = {}): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const n = Object.values(cols)[0].length;
  const step = opts.batchRows ?? 1000;
  const features = Object.fromEntries(Object.keys(cols).map((c) => [c, c === (opts.labelColumn ?? 'label') && opts.names ? { names: opts.names, _type: 'ClassLabel' } : { dtype: 'string', _type: 'Value' }]));
  const metadata = new Map([['huggingface', JSON.stringify({ info: { features } })]]);
  let schema: Schema | undefined;
  const batches: RecordBatch[] = [];
  for (let s = 0; s < n; s += step) {
    const part = new Table(Object.fromEntries(Object.entries(cols).map(([c, vs]) => [c, vectorFromArray(vs.slice(s, s + step), typeOf(vs.find((v) => v !== null)))])));
    schema ??= new Schema(part.schema.fields, metadata);
    batches.push(...part.batches.map((b) => new RecordBatch(schema as Schema, b.data)));
  }
  fs.writeFileSync(file, tableToIPC(new Table(batches), opts.format ?? 'stream'));
  return file;
}

const texts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} sentence ${i}`);
const ids = (n: number, classes = 2) => Array.from({ length: n }, (_, i) => BigInt(i % classes));

test("load_dataset's cache folder (GLUE's SST-2): sentence read as text, ClassLabel names, the unlabelled test split replaced by validation", async () => {
  const cache = fresh();
  const names = ['negative', 'positive'];
  write(path.join(cache, 'glue-train.arrow'), { sentence: texts('train', 30), label: ids(30), idx: ids(30, 30) }, { names, batchRows: 7 });
  write(path.join(cache, 'glue-validation.arrow'), { sentence: texts('dev', 8), label: ids(8), idx: ids(8, 8) }, { names });
  write(path.join(cache, 'glue-test.arrow'), { sentence: texts('test', 5), label: Array(5).fill(-1n), idx: ids(5, 5) }, { names });
  fs.writeFileSync(path.join(cache, 'dataset_info.json'), '{}');
  fs.writeFileSync(path.join(cache, 'cache-0123abcd.arrow'), 'a cache of a map(), not a split');
  assert.ok(hasTaskSplits(cache));
  const task = await loadTask('sst2', cache, { limitTrain: 20 });
  assert.deepEqual(task.labels, names);
  assert.deepEqual(task.train.map((e) => e.text), texts('train', 20), 'the first rows, across record batches');
  assert.deepEqual([task.test.map((e) => e.text), task.test.map((e) => e.label)], [texts('dev', 8), ids(8).map((v) => names[Number(v)])]);
  assert.ok(task.warnings?.some((w) => /glue-test\.arrow has no labels \(label -1 from its first row: unlabelled\); testing on .*glue-validation\.arrow/.test(w)), task.warnings?.join(' | '));
  assert.ok(task.warnings?.some((w) => w.includes('"sentence" as text')));

  // The same rows as JSON lines give the same task.
  const jsonl = fresh();
  for (const [split, prefix, n] of [['train', 'train', 30], ['test', 'dev', 8]] as const) {
    fs.writeFileSync(path.join(jsonl, `${split}.jsonl`), texts(prefix, n).map((text, i) => JSON.stringify({ text, label: names[i % 2] })).join('\n'));
  }
  const same = await loadTask('sst2', jsonl, { limitTrain: 20 });
  assert.deepEqual([same.train, same.test, same.labels], [task.train.map(({ text, label }) => ({ text, label })), task.test.map(({ text, label }) => ({ text, label })), task.labels]);
});

test("a sharded cache split and save_to_disk folders (in state.json's order): rows in order, numbered across files, each shard named in messages", async () => {
  const cache = fresh();
  write(path.join(cache, 'imdb-train-00000-of-00002.arrow'), { text: texts('a', 6), label: ids(6) });
  write(path.join(cache, 'imdb-train-00001-of-00002.arrow'), { text: texts('b', 6), label: ids(6) });
  write(path.join(cache, 'imdb-test.arrow'), { text: texts('t', 4), label: ids(4) });
  const imdb = await loadTask('imdb', cache);
  assert.deepEqual(imdb.train.map((e) => e.text), [...texts('a', 6), ...texts('b', 6)]);

  const saved = fresh();
  fs.writeFileSync(path.join(saved, 'dataset_dict.json'), JSON.stringify({ splits: ['train', 'test'] }));
  write(path.join(saved, 'train', 'data-00000-of-00002.arrow'), { text: texts('second', 3), label: ids(3) });
  write(path.join(saved, 'train', 'data-00001-of-00002.arrow'), { text: texts('first', 3), label: ids(3) });
  fs.writeFileSync(path.join(saved, 'train', 'state.json'), JSON.stringify({ _data_files: [{ filename: 'data-00001-of-00002.arrow' }, { filename: 'data-00000-of-00002.arrow' }] }));
  write(path.join(saved, 'test', 'data-00000-of-00001.arrow'), { text: texts('t', 4), label: ids(4) }, { format: 'file' });
  const task = await loadTask('saved', saved);
  assert.deepEqual(task.train.map((e) => e.text), [...texts('first', 3), ...texts('second', 3)], "state.json's order");
  assert.equal(task.test.length, 4, 'the IPC file format (ARROW1) is read too');

  write(path.join(saved, 'train', 'data-00000-of-00002.arrow'), { text: [...texts('second', 2), ''], label: ids(3) });
  await rejectsWith(loadTask('saved', saved), /train\/data-00000-of-00002\.arrow, row 3: "text" is empty/);
});

test('one .arrow file is split stratified; one split saved alone says how to use it', async () => {
  const dir = fresh();
  const file = write(path.join(dir, 'data-00000-of-00001.arrow'), { text: texts('x', 20), label: ids(20) });
  fs.writeFileSync(path.join(dir, 'state.json'), '{}');
  const task = await loadTask('one', file);
  assert.equal(task.train.length + task.test.length, 20);
  assert.equal(task.splitFrom, 'file');
  await rejectsWith(loadTask('one', dir), 'has no train file', "It is one split saved by datasets' save_to_disk: pass one of its .arrow files to split it");
});

test('Arrow as a hostile user gives it: damaged, empty, not Arrow, float scores, tokenized lists, columns under other names', async () => {
  const split = (train: Columns, testCols: Columns = { text: texts('t', 2), label: ids(2) }, opts = {}) => {
    const dir = fresh();
    write(path.join(dir, 'train.arrow'), train, opts);
    write(path.join(dir, 'test.arrow'), testCols);
    return dir;
  };
  const good = split({ text: texts('a', 6), label: ids(6) });
  const bytes = fs.readFileSync(path.join(good, 'train.arrow'));
  fs.writeFileSync(path.join(good, 'train.arrow'), bytes.subarray(0, bytes.length - 40));
  await rejectsWith(loadTask('t', good), /train\.arrow cannot be read as an Arrow stream \(.*\)\. Save it again with datasets/);
  fs.writeFileSync(path.join(good, 'train.arrow'), 'text,label\nnot arrow,0\n');
  await rejectsWith(loadTask('t', good), /train\.arrow cannot be read as an Arrow stream/);
  fs.writeFileSync(path.join(good, 'train.arrow'), '');
  await rejectsWith(loadTask('t', good), 'train.arrow is empty');

  await rejectsWith(loadTask('t', split({ text: texts('a', 4), label: [0.5, 1.25, 2, 3] })), 'train.arrow, row 1: label 0.5 is not a whole number', 'Bin the scores');
  await rejectsWith(loadTask('t', split({ text: [['a', 'b'], ['c']], label: ids(2) })), 'train.arrow, row 1: "text" must be a string, got a list. Join its items');
  await rejectsWith(loadTask('t', split({ review: texts('a', 4), label: ids(4) })), 'train.arrow has no "text" column (its columns: review, label)', 'to read "review" as the text, pass task columns text=review');
  const named = await loadTask('t', split({ review: texts('a', 4), stars: ids(4) }, { review: texts('t', 2), stars: ids(2) }), { columns: { text: 'review', label: 'stars' } });
  assert.deepEqual(named.labels, ['0', '1']);
  const coarse = fresh();
  for (const s of ['train', 'test']) write(path.join(coarse, `trec-${s}.arrow`), { text: texts(s, 6), coarse_label: ids(6, 3), fine_label: ids(6, 6) }, { names: ['ABBR', 'ENTY', 'DESC'], labelColumn: 'coarse_label' });
  assert.deepEqual((await loadTask('trec', coarse, { columns: { label: 'coarse_label' } })).labels, ['ABBR', 'DESC', 'ENTY']);
});

test("a cache folder is named by its dataset_info.json (dataset and config), since its own name is a hash", async () => {
  const { cachedDatasetName } = await import('../../../../src/core/data/arrow');
  const dir = fresh();
  assert.equal(cachedDatasetName(dir), undefined);
  fs.writeFileSync(path.join(dir, 'dataset_info.json'), JSON.stringify({ builder_name: 'parquet', dataset_name: 'glue', config_name: 'sst2' }));
  assert.equal(cachedDatasetName(dir), 'glue_sst2');
  fs.writeFileSync(path.join(dir, 'dataset_info.json'), JSON.stringify({ builder_name: 'imdb', config_name: 'default' }));
  assert.equal(cachedDatasetName(dir), 'imdb');
  fs.writeFileSync(path.join(dir, 'dataset_info.json'), '{not json');
  assert.equal(cachedDatasetName(dir), undefined);
});

test("the column types datasets writes besides string and int64: large_string text, int32 and bool labels", async () => {
  const { Bool, Int32, LargeUtf8 } = await import('apache-arrow');
  const dir = fresh();
  for (const [split, n] of [['train', 6], ['test', 4]] as const) {
    const t = new Table({ text: vectorFromArray(texts(split, n), new LargeUtf8()), label: vectorFromArray(Array.from({ length: n }, (_, i) => i % 2), new Int32()), flag: vectorFromArray(Array.from({ length: n }, (_, i) => i % 2 === 0), new Bool()) });
    fs.writeFileSync(path.join(dir, `x-${split}.arrow`), tableToIPC(t, 'stream'));
  }
  const ints = await loadTask('t', dir);
  assert.deepEqual([ints.labels, ints.train.map((e) => e.text)], [['0', '1'], texts('train', 6)]);
  const bools = await loadTask('t', dir, { columns: { label: 'flag' } });
  assert.deepEqual(bools.labels, ['false', 'true']);
});
