// A task's training and test rows: read from a folder's train and test files, or split from one
// file stratified by label. A file larger than a string can hold is read streamed (streamRows.ts):
// every row is checked and counted, but only the rows the limits keep are held.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatasetError } from '../errors';
import { Rng } from '../util/rng';
import { somethingAt } from '../util/fileKind';
import { isDecimal } from '../util/decimal';
import { diskBytes } from '../util/diskErrors';
import { datasetsHint, EXTENSIONS, isParquet, openTaskFile, readRows, requireUnchanged, Row, TaskFileType, UnlabelledSplitError } from './rows';
import { streaming, streamRows } from './streamRows';
import { ColumnReading } from './columns';
import { ArrowSplit, arrowBytes, arrowRows, arrowSplitsIn, isArrow } from './arrow';
import { ParquetSplit, parquetRows, parquetSplitsIn, parquetTextBytes, refuseUnheldParquet, requireOneLabelKind } from './parquet';

/** Where one split's rows are: a text file (JSON lines, CSV, TSV), or Parquet files read in order. */
interface SplitSource {
  file: string;
  parquet?: ParquetSplit;
  arrow?: ArrowSplit;
}

type Limit = 'limitTrain' | 'limitTest';
export type Limits = Partial<Record<Limit, number>>;

/** A row's place, for messages. */
interface At {
  file: string;
  line: number;
  at?: string;
}

/** How many rows there are and how many lack a text_pair; the first row with one and the first without. */
export interface Pairing {
  rows: number;
  without: number;
  firstWith?: At;
  firstWithout?: At;
}

/** What all the rows of a file say, however few are held: each label's row count and first line, and the pairing. */
interface Tally {
  labels: Map<string, { count: number; line: number; at?: string }>;
  pairing: Pairing;
}

/** A task's rows before the limits (or, from a file read streamed, the first rows they keep), and what all its rows say. */
export interface Splits {
  train: Row[];
  test: Row[];
  trainFile: string;
  testFile: string;
  splitFrom: 'folder' | 'file';
  /** The labels of the whole training split. */
  trainLabels: Set<string>;
  /** The first test row, in file order, whose label the training split never has, and how many test rows have such labels. */
  unseen?: { label: string; line: number; at?: string; count: number };
  pairing: Pairing;
  /** Rows in the task's files, held or not. */
  rowCount: number;
  /** Why the test rows come from the folder's validation split, when they do (for the task's warnings). */
  testFromValidation?: string;
}

function countPairing(p: Pairing, file: string, r: Row): void {
  p.rows++;
  if (r.textPair !== undefined) p.firstWith ??= { file, line: r.line, at: r.at };
  else {
    p.without++;
    p.firstWithout ??= { file, line: r.line, at: r.at };
  }
}

function countRow(t: Tally, file: string, r: Row): void {
  const seen = t.labels.get(r.label);
  if (seen) seen.count++;
  else t.labels.set(r.label, { count: 1, line: r.line, at: r.at });
  countPairing(t.pairing, file, r);
}

/** A task folder's splits; `testSplit` names the split tested on (default test, else the one validation split, said). */
export async function readFolderSplits(folder: string, limits: Limits, reading: ColumnReading, testSplit?: string): Promise<Splits> {
  const dir = hubDataFolder(folder);
  const trainSource = findSplitFile(dir, 'train');
  const held = testSplit === undefined ? validationSource(dir) : undefined;
  let testSource = findSplitFile(dir, testSplit ?? 'test', held);
  let testFromValidation = testSource === held ? `${dir} has no test split; testing on ${held.file}, its validation split` : undefined;
  const labelKinds = (test: SplitSource) => requireOneLabelKind([trainSource.parquet, test.parquet].filter((p) => p !== undefined), reading);
  await labelKinds(testSource);
  // GLUE's test splits have no labels; its validation split is what papers report on.
  const readTest = () =>
    readPart(testSource, limits, 'limitTest', reading).catch(async (e: unknown) => {
      if (!(e instanceof UnlabelledSplitError) || held === undefined || testSource === held) throw e;
      testFromValidation = `${testSource.file} has no labels (${e.why}); testing on ${held.file}, the validation split beside it`;
      testSource = held;
      await labelKinds(held);
      return readPart(held, limits, 'limitTest', reading);
    });
  // Both read at once; where both fail, the training split's error is the one said, whichever came first.
  const testOutcome = readTest().then(
    (v) => ({ v }),
    (e: unknown) => ({ e }),
  );
  const train = await readPart(trainSource, limits, 'limitTrain', reading);
  const tested = await testOutcome;
  if ('e' in tested) throw tested.e;
  const test = tested.v;
  const [trainFile, testFile] = [trainSource.file, testSource.file];
  const trainLabels = new Set(train.tally.labels.keys());
  const [a, b] = [train.tally.pairing, test.tally.pairing];
  return {
    train: train.rows,
    test: test.rows,
    trainFile,
    testFile,
    splitFrom: 'folder',
    trainLabels,
    unseen: unseenLabels(test.tally, trainLabels),
    pairing: { rows: a.rows + b.rows, without: a.without + b.without, firstWith: a.firstWith ?? b.firstWith, firstWithout: a.firstWithout ?? b.firstWithout },
    rowCount: a.rows + b.rows,
    ...(testFromValidation ? { testFromValidation } : {}),
  };
}

/** The names of a held-out split with labels that a folder may have beside (or instead of) its test split. */
const VALIDATION = ['validation', 'valid', 'dev', 'val'];

/** The folder's one validation split (validation.jsonl, validation-00000-of-00001.parquet, dev.tsv …); none when it has none or several. */
function validationSource(dir: string): SplitSource | undefined {
  const found = VALIDATION.flatMap((name) => splitSources(dir, name));
  return found.length === 1 ? found[0] : undefined;
}

/**
 * Where a task folder's splits are read from: a dataset repository's root (README.md beside
 * data/train-….parquet, as the Hub keeps datasets) is read from its data/ folder, when the folder
 * has no split files of its own; any other folder from itself.
 */
export function hubDataFolder(dir: string): string {
  const data = path.join(dir, 'data');
  const has = (d: string, split: string) => splitSources(d, split).length > 0;
  return !has(dir, 'train') && !has(dir, 'test') && has(data, 'train') ? data : dir;
}

/** Whether `dir` (or its data/ folder, as a dataset repository keeps it) has a train split and a test (or validation) split to read. */
export function hasTaskSplits(dir: string): boolean {
  const d = hubDataFolder(dir);
  return splitSources(d, 'train').length > 0 && (splitSources(d, 'test').length > 0 || validationSource(d) !== undefined);
}

/** The rows of one split (read streamed or a row group at a time: only the first that `limits[limit]` keeps), and what all of them say. */
async function readPart(source: SplitSource, limits: Limits, limit: Limit, reading: ColumnReading): Promise<{ rows: Row[]; tally: Tally }> {
  const { file, parquet, arrow } = source;
  const tally: Tally = { labels: new Map(), pairing: { rows: 0, without: 0 } };
  let batches: AsyncIterable<Row[]>;
  if (parquet) {
    await refuseUnheldParquet(parquet, streaming.holdAtMost, limits[limit] === undefined ? [limit] : [], reading);
    batches = parquetRows(parquet, reading);
  } else if (arrow) {
    await refuseUnheldArrow(arrow, limits[limit] === undefined ? [limit] : []);
    batches = arrowRows(arrow, reading);
  } else {
    const { ext, before } = await openTaskFile(file);
    if (before.size <= streaming.streamAbove) {
      const rows = await readRows(file, ext, before, reading);
      for (const r of rows) countRow(tally, file, r);
      return { rows, tally };
    }
    refuseUnheld(file, before.size, ext, limits, [limit]);
    batches = streamRows(file, ext, before, reading);
  }
  const keep = limits[limit] ?? Infinity;
  const rows: Row[] = [];
  for await (const batch of batches) {
    for (const r of batch) {
      countRow(tally, file, r);
      if (rows.length < keep) rows.push(r);
    }
  }
  return { rows, tally };
}

function unseenLabels(test: Tally, trainLabels: Set<string>): Splits['unseen'] {
  let first: { label: string; line: number; at?: string } | undefined;
  let count = 0;
  for (const [label, seen] of test.labels) {
    if (trainLabels.has(label)) continue;
    count += seen.count;
    if (first === undefined || seen.line < first.line) first = { label, line: seen.line, at: seen.at };
  }
  return first && { ...first, count };
}

/**
 * Without a limit every row of a split is held; the rows of a file larger than a string can hold
 * (about 512 MiB) do not fit. Refused, saying which limits let it be read streamed.
 */
function refuseUnheld(file: string, size: number, ext: TaskFileType, limits: Limits, needs: Limit[]): void {
  const missing = needs.filter((p) => limits[p] === undefined);
  if (size <= streaming.holdAtMost || missing.length === 0) return;
  const keep = `head -n ${ext === 'jsonl' ? '100000' : '100001'} ${file} > smaller/${path.basename(file)}${ext === 'jsonl' ? '' : ' (the header and 100,000 lines: fewer rows where a quoted field spans lines)'}`;
  const which = missing.map((p) => (p === 'limitTrain' ? 'training' : 'test')).join(' and ');
  throw new DatasetError(
    `${file} is ${diskBytes(size)}, more than a string can hold (${diskBytes(streaming.holdAtMost)}), and without ${missing.map((p) => `{{${p}}}`).join(' and ')} every ${which} row of it would be held. ` +
      `Pass ${missing.map((p) => `{{${p}}} N`).join(' and ')} to keep only the first N ${which} rows (the file is then read in chunks), or keep the rows you need in a smaller file (e.g. ${keep}).`,
  );
}

/** Refuses Arrow files of more than a string's worth of bytes when `missing` limits would have every row held. */
async function refuseUnheldArrow(split: ArrowSplit, missing: Limit[]): Promise<void> {
  if (missing.length === 0) return;
  const bytes = await arrowBytes(split);
  if (bytes <= streaming.holdAtMost) return;
  throw new DatasetError(
    `${split.display} is ${diskBytes(bytes)}, more than ${diskBytes(streaming.holdAtMost)}, and without ${missing.map((p) => `{{${p}}}`).join(' and ')} every row of it would be held. ` +
      `Pass ${missing.map((p) => `{{${p}}} N`).join(' and ')} to keep only the first N rows (the file is then read a record batch at a time).`,
  );
}

/** Each row's label as an id into `names` (ids in order of first appearance), 4 bytes a row. */
class LabelIds {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  private ids = new Int32Array(1024);
  private length = 0;

  push(label: string): void {
    let id = this.index.get(label);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(label);
      this.index.set(label, id);
    }
    if (this.length === this.ids.length) {
      const grown = new Int32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.length++] = id;
  }

  idOf(label: string): number {
    return this.index.get(label) as number;
  }

  get values(): Int32Array {
    return this.ids.subarray(0, this.length);
  }
}

/** The rows of one file, split stratified by label with a seeded shuffle (see stratifiedTestRows). */
export async function splitOneFile(file: string, testFraction: number, seed: number, limits: Limits, reading: ColumnReading): Promise<Splits> {
  let batches: () => AsyncIterable<Row[]>;
  let unchanged: () => Promise<void>;
  if (isParquet(file)) {
    const parquet = { display: file, files: [file] };
    if ((await parquetTextBytes(parquet, reading)) <= streaming.holdAtMost) {
      const rows: Row[] = [];
      for await (const batch of parquetRows(parquet, reading)) rows.push(...batch);
      return splitRows(file, rows, testFraction, seed);
    }
    await refuseUnheldParquet(parquet, streaming.holdAtMost, (['limitTrain', 'limitTest'] as const).filter((p) => limits[p] === undefined), reading);
    const before = await fs.promises.stat(file);
    [batches, unchanged] = [() => parquetRows(parquet, reading), () => requireUnchanged(file, before)];
  } else if (isArrow(file)) {
    const arrow = { display: file, files: [file] };
    if ((await arrowBytes(arrow)) <= streaming.holdAtMost) {
      const rows: Row[] = [];
      for await (const batch of arrowRows(arrow, reading)) rows.push(...batch);
      return splitRows(file, rows, testFraction, seed);
    }
    await refuseUnheldArrow(arrow, (['limitTrain', 'limitTest'] as const).filter((p) => limits[p] === undefined));
    const before = await fs.promises.stat(file);
    [batches, unchanged] = [() => arrowRows(arrow, reading), () => requireUnchanged(file, before)];
  } else {
    const { ext, before } = await openTaskFile(file);
    if (before.size <= streaming.streamAbove) return splitRows(file, await readRows(file, ext, before, reading), testFraction, seed);
    refuseUnheld(file, before.size, ext, limits, ['limitTrain', 'limitTest']);
    [batches, unchanged] = [() => streamRows(file, ext, before, reading), () => requireUnchanged(file, before)];
  }
  const labels = new LabelIds();
  const pairing: Pairing = { rows: 0, without: 0 };
  for await (const batch of batches()) {
    for (const r of batch) {
      labels.push(r.label);
      countPairing(pairing, file, r);
    }
  }
  const inTest = holdOut(file, labels, testFraction, seed);
  await streaming.betweenPasses?.(file);
  const { train, test } = await keepSplit(batches, unchanged, inTest, limits);
  return { train, test, trainFile: file, testFile: file, splitFrom: 'file', trainLabels: new Set(labels.names), pairing, rowCount: inTest.length };
}

function splitRows(file: string, rows: Row[], testFraction: number, seed: number): Splits {
  const labels = new LabelIds();
  for (const r of rows) labels.push(r.label);
  const inTest = holdOut(file, labels, testFraction, seed);
  const train = rows.filter((_, i) => !inTest[i]);
  const test = rows.filter((_, i) => inTest[i]);
  const pairing: Pairing = { rows: 0, without: 0 };
  for (const r of [...train, ...test]) countPairing(pairing, file, r);
  return { train, test, trainFile: file, testFile: file, splitFrom: 'file', trainLabels: new Set(labels.names), pairing, rowCount: rows.length };
}

/** The second read of a file split streamed: the first rows of each split that the limits keep; it stops once both are full. */
async function keepSplit(batches: () => AsyncIterable<Row[]>, unchanged: () => Promise<void>, inTest: Uint8Array, limits: Limits): Promise<{ train: Row[]; test: Row[] }> {
  const kept = { train: [] as Row[], test: [] as Row[] };
  const want = { train: limits.limitTrain ?? Infinity, test: limits.limitTest ?? Infinity };
  let i = 0;
  read: for await (const batch of batches()) {
    for (const r of batch) {
      const split = inTest[i++] ? 'test' : 'train';
      if (kept[split].length < want[split]) kept[split].push(r);
      if (kept.train.length >= want.train && kept.test.length >= want.test) break read;
    }
  }
  // A full read checks this itself; one stopped early checks the file is the one the first read split.
  await unchanged();
  return kept;
}

/** Which rows go to test (1); refuses a file of one label, or of too few rows to hold any out. */
function holdOut(file: string, labels: LabelIds, testFraction: number, seed: number): Uint8Array {
  requireTwoClasses(labels.names, file, '');
  refuseContinuousLabels(labels.names, file);
  const inTest = stratifiedTestRows(labels, testFraction, seed);
  if (inTest.includes(1)) return inTest;
  // Each label is split on its own: many labels of one or two rows hold nothing out, however many rows there are.
  const counts = rowsByLabel(labels).map((l) => l.length);
  const largest = Math.max(...counts);
  throw new DatasetError(
    `${file}: ${inTest.length} rows are too few to hold out ${testFraction * 100}% of each label for testing ` +
      `(each of its ${counts.length} labels is split on its own, and the largest has ${largest} row${largest === 1 ? '' : 's'}). ` +
      'Add rows, or give a folder with train and test files.',
  );
}

/**
 * A stratified split by label: each label's rows are shuffled (seeded) and round(n * testFraction) of
 * them go to test, always leaving at least one in train. Returns 1 for each row that goes to test.
 */
function stratifiedTestRows(labels: LabelIds, testFraction: number, seed: number): Uint8Array {
  const byLabel = rowsByLabel(labels);
  const rng = new Rng(seed);
  const inTest = new Uint8Array(labels.values.length);
  for (const label of sortLabels(labels.names)) {
    const idx = rng.shuffle(byLabel[labels.idOf(label)]);
    const k = Math.min(Math.round(idx.length * testFraction), idx.length - 1);
    for (let j = 0; j < k; j++) inTest[idx[j]] = 1;
  }
  return inTest;
}

/** The row indices of each label id, in file order. */
function rowsByLabel(labels: LabelIds): Int32Array[] {
  const ids = labels.values;
  const counts = new Int32Array(labels.names.length);
  for (const id of ids) counts[id]++;
  const lists = Array.from(counts, (c) => new Int32Array(c));
  const filled = new Int32Array(labels.names.length);
  ids.forEach((id, i) => {
    lists[id][filled[id]++] = i;
  });
  return lists;
}

/** Sorts labels numerically when every label is an integer, else by code unit (locale-independent). */
export function sortLabels(labels: Iterable<string>): string[] {
  const all = [...labels];
  const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  if (all.length > 0 && all.every((l) => /^[+-]?\d+$/.test(l))) {
    return all.sort((a, b) => {
      const d = BigInt(a) - BigInt(b);
      return d < 0n ? -1 : d > 0n ? 1 : byCodeUnit(a, b);
    });
  }
  return all.sort(byCodeUnit);
}

export function requireTwoClasses(labelsOfRows: Iterable<string>, file: string, why: string): void {
  const labels = new Set(labelsOfRows);
  if (labels.size < 2) {
    const found = labels.size === 0 ? 'no labels' : `only the label "${[...labels][0]}"`;
    throw new DatasetError(`${file} has ${found}${why}; a probe needs at least 2 classes. Add examples of another label.`);
  }
}

/** Distinct fractional values from which numeric labels read as a measured score, not as classes. */
export const CONTINUOUS_LABEL_VALUES = 20;

/**
 * Refuses a regression target (STS-B's similarity scores, a rating averaged over raters): labels
 * that are all numbers, some with fractions, taking many values. A probe would treat each value
 * as its own class, and the task failed later on a value with one row, or ran as a classification
 * of dozens of near-empty classes. Half-star ratings (a few fractional values) stay classes.
 */
export function refuseContinuousLabels(labels: Iterable<string>, file: string): void {
  const distinct = [...new Set(labels)];
  if (distinct.length < CONTINUOUS_LABEL_VALUES || !distinct.every((l) => isDecimal(l))) return;
  const fractional = distinct.filter((l) => !Number.isInteger(Number(l)));
  if (fractional.length === 0) return;
  const values = distinct.map(Number);
  throw new DatasetError(
    `${file}: its labels are ${distinct.length} different numbers from ${Math.min(...values)} to ${Math.max(...values)}, ${fractional.length} of them with fractions (e.g. ${fractional.slice(0, 3).map((l) => `"${l}"`).join(', ')}): a continuous target, as a similarity score or an averaged rating is, not classes. ` +
      'ProbeScale fits classifiers, which would take each value as a class of its own. Bin the values into classes first (e.g. thresholds you choose, or whole numbers) and give those as labels.',
  );
}

/** Each way `dir` holds `split`'s rows: a text file, Parquet files (several when the split is given twice). */
function splitSources(dir: string, split: string): SplitSource[] {
  // somethingAt, not existsSync: a link that loops or leads nowhere is named as such by readRows, not called missing.
  const text = EXTENSIONS.map((e) => path.join(dir, `${split}.${e}`)).filter(somethingAt);
  return [...text.map((file) => ({ file })), ...parquetSplitsIn(dir, split).map((p) => ({ file: p.display, parquet: p })), ...arrowSplitsIn(dir, split).map((a) => ({ file: a.display, arrow: a }))];
}

/** The split's source; a test split missing is read from `validation`, the folder's validation split, when there is one. */
function findSplitFile(dir: string, split: string, validation?: SplitSource): SplitSource {
  const found = splitSources(dir, split);
  if (found.length === 0 && validation) return validation;
  if (found.length === 0) {
    const names = fs.readdirSync(dir);
    // Names differ only in case (Train.JSONL) or extension (train.json): say which file to rename.
    const near = names.filter((f) => f.toLowerCase().startsWith(`${split}.`));
    // The Hub's datasets have validation rows with labels where GLUE's test rows have none.
    const held = split !== 'train' ? names.filter((f) => new RegExp(`^(${VALIDATION.join('|')})([._-]|$)`, 'i').test(f)) : [];
    throw new DatasetError(
      `${dir} has no ${split} file. Put ${split}.jsonl, ${split}.csv, ${split}.tsv or ${split}.parquet there (or the Hub's shards ${split}-00000-of-00001.parquet …, or datasets' ${split}/data-00000-of-00001.arrow), or pass a single file to split it.` +
        (near.length
          ? ` It has ${near.join(', ')}: rename it (names are case-sensitive; a .json file of one object per line is .jsonl).`
          : held.length
            ? ` It has ${held.slice(0, 2).join(', ')}${held.length > 2 ? ', …' : ''}: to test on one of those splits, name it with {{testSplit}} (e.g. {{testSplit}} ${(/^[a-z_]+/i.exec(held[0]) as RegExpExecArray)[0]}), or rename it ${held[0].replace(/^[a-z_]+/i, 'test')}.`
            : datasetsHint(dir)),
    );
  }
  if (found.length > 1) {
    throw new DatasetError(`${dir} has several ${split} files (${found.map((f) => path.relative(dir, f.file)).join(', ')}). Keep one.`);
  }
  return found[0];
}
