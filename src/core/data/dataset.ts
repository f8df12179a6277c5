import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseCsv, CsvError } from 'csv-parse/sync';
import { BadInputError, badValue, DatasetError } from '../errors';
import { Rng } from '../util/rng';
import { notAFile, somethingAt } from '../util/fileKind';
import { isDecimal } from '../util/decimal';
import { firstDuplicateKey } from '../util/jsonKeys';
import { diskBytes } from '../util/diskErrors';

const MAX_STRING_LENGTH = bufferConstants.MAX_STRING_LENGTH;

/** One labelled example. */
export interface Example {
  text: string;
  /** Second text of a pair task (e.g. premise/hypothesis); absent for single-text tasks. */
  textPair?: string;
  label: string;
}

/** A task ready for probing: examples, the label set and the label ids. */
export interface TaskData {
  name: string;
  /** Distinct labels of the training split, sorted numerically when all are integers, else lexicographically (by code unit). */
  labels: string[];
  train: Example[];
  test: Example[];
  /** `trainY[i]` is the index in `labels` of `train[i].label`. */
  trainY: Int32Array;
  testY: Int32Array;
  /** Absolute path of the folder or file the task came from. */
  source: string;
  /** 'folder' when train and test files were given, 'file' when one file was split. */
  splitFrom?: 'folder' | 'file';
  /** What looks wrong in the data but does not stop a run (test rows that repeat training rows, one text with two labels); for the log. */
  warnings?: string[];
}

/** Options for {@link loadTask}. */
export interface LoadTaskOptions {
  /** Seed of the stratified split of a single file (default 0). */
  seed?: number;
  /** Share of each label held out for testing when a single file is given (default 0.2). */
  testFraction?: number;
  /** Keep only the first N training rows, in file order (after the split when a single file is given). */
  limitTrain?: number;
  /** Keep only the first N test rows, in file order (after the split when a single file is given). */
  limitTest?: number;
}

const EXTENSIONS = ['jsonl', 'csv', 'tsv'] as const;
const SPEC_HELP = 'Write tasks as NAME=PATH or NAME=PATH:WEIGHT, e.g. sentlen=data/tasks/sentlen:2.';

interface Row extends Example {
  /** 1-based line where the row starts in its file, for error messages. */
  line: number;
}

/**
 * Parses a `--task` argument: `NAME=PATH` or `NAME=PATH:WEIGHT` (weight defaults to 1 and must be > 0).
 * Only a trailing `:<number>` is a weight, so Windows paths such as `C:\data\sst2` stay whole.
 * @throws BadInputError on a malformed spec or a weight that is not a positive number.
 */
/** Device names Windows reserves in every folder; a task named so could not be written there. */
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/**
 * A task name becomes a folder name (classifiers/<name>/), so it must be one safe on every
 * system: no separators, not '.' or '..', no leading dot, no reserved device name.
 */
export function checkTaskName(name: string, spec = name): void {
  if (!/^[A-Za-z0-9_][\w.-]*$/.test(name) || name.length > 100 || RESERVED.test(name)) {
    throw new BadInputError(`task name "${name}" in "${spec}" is not a safe folder name: use up to 100 letters, digits, "_", "-" or "." (not first), not a reserved name like CON or NUL. ${SPEC_HELP}`);
  }
}

export function parseTaskSpec(spec: string): { name: string; path: string; weight: number } {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new BadInputError(`task "${spec}" has no "=". ${SPEC_HELP}`);
  const name = spec.slice(0, eq).trim();
  let rest = asGiven(spec.slice(eq + 1));
  checkTaskName(name, spec);
  let weight = 1;
  // A suffix after the last ':' is a weight unless the whole text names an existing path (a
  // colon in a file name) or it holds a path separator (C:\data on Windows).
  const m = /:([^:/\\]*)$/.exec(rest);
  if (m && !fs.existsSync(rest)) {
    weight = isDecimal(m[1]) ? Number(m[1]) : NaN;
    rest = asGiven(rest.slice(0, m.index));
    if (!Number.isFinite(weight) || weight <= 0) {
      throw new BadInputError(`task "${name}" has weight "${m[1]}"; a weight must be a number > 0, as in ${name}=${rest}:0.5. ${SPEC_HELP}`);
    }
  }
  if (rest === '') throw new BadInputError(`task "${name}" has no path. ${SPEC_HELP}`);
  return { name, path: rest, weight };
}

/**
 * A path with the spaces around it dropped (`s= data/x`), unless it names something as given:
 * a folder `t ` (trailing space) was read as `t`, another folder when both exist.
 */
function asGiven(p: string): string {
  return p !== p.trim() && fs.existsSync(p) ? p : p.trim();
}

/**
 * Loads a labelled task from a folder holding `train` and `test` files (`.jsonl`, `.csv` or `.tsv`), or
 * from one such file, which is then split stratified by label with a seeded shuffle.
 *
 * JSONL rows are objects with `text`, optional `text_pair` and `label` (string, number or boolean; stringified). CSV/TSV files
 * start with a header naming the same columns; quoted fields may hold delimiters, quotes ("") and newlines.
 * Label ids index into `labels`, which come from the whole training split (before `limitTrain`), so ids
 * do not depend on the limits.
 *
 * @throws DatasetError naming the file (and line) for unreadable, malformed or unusable data.
 * @throws BadInputError for invalid options.
 */
export async function loadTask(name: string, taskPath: string, opts: LoadTaskOptions = {}): Promise<TaskData> {
  const { seed, testFraction } = checkLoadOptions(opts);
  const source = path.resolve(taskPath);
  const stat = await fs.promises.stat(source).catch(() => null);
  if (stat === null) {
    const why = somethingAt(source) ? (notAFile(source) ?? 'cannot be read') : 'does not exist';
    throw new DatasetError(
      `task "${name}": ${source} ${why}. Pass a folder with train and test files (.jsonl, .csv or .tsv) or a single such file.`,
    );
  }
  const split = stat.isDirectory() ? await readFolderSplits(source) : await splitOneFile(source, testFraction, seed);
  const { trainFile, testFile, splitFrom } = split;

  requireTwoClasses(split.train, trainFile, '');
  const parts = [{ file: trainFile, rows: split.train }, { file: testFile, rows: split.test }];
  requireOnePairing(name, parts);
  const warnings = duplicateWarnings(name, parts[0], parts[1]);
  const labels = sortLabels(new Set(split.train.map((r) => r.label)));
  const index = new Map(labels.map((l, i) => [l, i] as const));
  requireSeenLabels(split.test, index, testFile, trainFile);

  const train = opts.limitTrain === undefined ? split.train : split.train.slice(0, opts.limitTrain);
  if (opts.limitTrain !== undefined) {
    requireTwoClasses(train, trainFile, ` (after {{limitTrain}} ${opts.limitTrain}, which keeps the first rows in file order)`);
  }
  const test = opts.limitTest === undefined ? split.test : split.test.slice(0, opts.limitTest);
  return {
    name,
    labels,
    train: train.map(toExample),
    test: test.map(toExample),
    trainY: Int32Array.from(train, (r) => index.get(r.label) as number),
    testY: Int32Array.from(test, (r) => index.get(r.label) as number),
    source,
    splitFrom,
    warnings,
  };
}

/** The seed and test fraction of `opts` with their defaults, once every option is checked. */
function checkLoadOptions(opts: LoadTaskOptions): { seed: number; testFraction: number } {
  const seed = opts.seed ?? 0;
  const testFraction = opts.testFraction ?? 0.2;
  if (!Number.isInteger(seed)) throw new BadInputError(`seed must be an integer, got ${seed}.`);
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new BadInputError(`test fraction must be between 0 and 1 (exclusive), got ${testFraction}; 0.2 holds out a fifth.`);
  }
  checkLimit('limitTrain', opts.limitTrain);
  checkLimit('limitTest', opts.limitTest);
  return { seed, testFraction };
}

/** A task's rows before the limits, and the files they came from. */
interface Splits {
  train: Row[];
  test: Row[];
  trainFile: string;
  testFile: string;
  splitFrom: 'folder' | 'file';
}

async function readFolderSplits(dir: string): Promise<Splits> {
  const trainFile = findSplitFile(dir, 'train');
  const testFile = findSplitFile(dir, 'test');
  const [train, test] = await Promise.all([readRows(trainFile), readRows(testFile)]);
  return { train, test, trainFile, testFile, splitFrom: 'folder' };
}

/** The rows of one file, split stratified by label with a seeded shuffle. */
async function splitOneFile(file: string, testFraction: number, seed: number): Promise<Splits> {
  const rows = await readRows(file);
  requireTwoClasses(rows, file, '');
  const { train, test } = stratifiedSplit(rows, testFraction, seed);
  if (test.length === 0) {
    // Each label is split on its own: many labels of one or two rows hold nothing out, however many rows there are.
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
    const largest = Math.max(...counts.values());
    throw new DatasetError(
      `${file}: ${rows.length} rows are too few to hold out ${testFraction * 100}% of each label for testing ` +
        `(each of its ${counts.size} labels is split on its own, and the largest has ${largest} row${largest === 1 ? '' : 's'}). ` +
        'Add rows, or give a folder with train and test files.',
    );
  }
  return { train, test, trainFile: file, testFile: file, splitFrom: 'file' };
}

/** Refuses test rows whose label the training split (before any limit) never has. */
function requireSeenLabels(test: Row[], index: Map<string, number>, testFile: string, trainFile: string): void {
  const unseen = test.filter((r) => !index.has(r.label));
  if (unseen.length > 0) {
    const first = unseen[0];
    throw new DatasetError(
      `${testFile}, line ${first.line}: label "${first.label}" does not occur in ${trainFile}` +
        (unseen.length > 1 ? ` (${unseen.length} test rows have labels unseen in training)` : '') +
        '. A probe cannot learn a label it never sees: add training examples for it or drop those test rows.',
    );
  }
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

/**
 * Splits rows stratified by label: each label's rows are shuffled (seeded) and round(n * testFraction) of
 * them go to test, always leaving at least one in train. Both parts keep the file's order.
 */
function stratifiedSplit<T extends { label: string }>(rows: T[], testFraction: number, seed: number): { train: T[]; test: T[] } {
  const byLabel = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const list = byLabel.get(r.label);
    if (list) list.push(i);
    else byLabel.set(r.label, [i]);
  });
  const rng = new Rng(seed);
  const inTest = new Uint8Array(rows.length);
  for (const label of sortLabels(byLabel.keys())) {
    const idx = rng.shuffle((byLabel.get(label) as number[]).slice());
    const k = Math.min(Math.round(idx.length * testFraction), idx.length - 1);
    for (let j = 0; j < k; j++) inTest[idx[j]] = 1;
  }
  return { train: rows.filter((_, i) => !inTest[i]), test: rows.filter((_, i) => inTest[i]) };
}

function findSplitFile(dir: string, split: 'train' | 'test'): string {
  // somethingAt, not existsSync: a link that loops or leads nowhere is named as such by readRows, not called missing.
  const found = EXTENSIONS.map((e) => path.join(dir, `${split}.${e}`)).filter(somethingAt);
  if (found.length === 0) {
    // Names differ only in case (Train.JSONL) or extension (train.json): say which file to rename.
    const near = fs.readdirSync(dir).filter((f) => f.toLowerCase().startsWith(`${split}.`));
    throw new DatasetError(
      `${dir} has no ${split} file. Put ${split}.jsonl, ${split}.csv or ${split}.tsv there, or pass a single file to split it.` +
        (near.length ? ` It has ${near.join(', ')}: rename it (names are case-sensitive; a .json file of one object per line is .jsonl).` : ''),
    );
  }
  if (found.length > 1) {
    throw new DatasetError(`${dir} has several ${split} files (${found.map((f) => path.basename(f)).join(', ')}). Keep one.`);
  }
  return found[0];
}

/** The file's text; UTF-16 and bytes that are not UTF-8 (latin-1, Windows-1252) are named as an encoding problem. */
function decodeUtf8(file: string, bytes: Buffer): string {
  const resave = 'Save the file as UTF-8 (most editors: "Save with encoding" → UTF-8).';
  const bom16 = bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
  const nul = bytes.subarray(0, 4096).indexOf(0);
  if (bom16 || nul >= 0) throw new DatasetError(`${file} is encoded as UTF-16 (${bom16 ? 'byte-order mark' : `zero byte at offset ${nul}`}), not UTF-8. ${resave}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    let at = 0;
    // Find the first invalid byte for the message (the decoder does not say where).
    for (let step = 1 << 16; step >= 1; step >>= 1) {
      while (at + step <= bytes.length && isUtf8Prefix(bytes.subarray(0, at + step))) at += step;
    }
    // `at` is where decoding fails; a cut multi-byte sequence before it is where the bad character starts.
    while (at > 0 && bytes[at - 1] >= 0xc0 && bytes[at] < 0x80) at--;
    const line = bytes.subarray(0, at).toString('utf8').split('\n').length;
    throw new DatasetError(`${file} is not valid UTF-8: byte 0x${bytes[at]?.toString(16).padStart(2, '0')} at offset ${at} (line ${line}); it looks like latin-1 or Windows-1252. ${resave}`);
  }
}

/** True when `b` is valid UTF-8 up to a possibly cut last character. */
function isUtf8Prefix(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * A task file is read whole into one string, and a string holds at most MAX_STRING_LENGTH
 * characters (about 512 MiB): a larger file failed with Node's "File size … is greater than 2 GiB"
 * or "Cannot create a string longer than …", saying nothing of what to do.
 */
function refuseTooLarge(file: string, size: number, ext: string): void {
  if (size <= MAX_STRING_LENGTH) return;
  const keep = ext === 'jsonl' ? `head -n 100000 ${file} > smaller/${path.basename(file)}` : `head -n 100001 ${file} > smaller/${path.basename(file)} (the header and 100,000 rows)`;
  throw new DatasetError(`${file} is ${diskBytes(size)}; ProbeScale reads a task file whole, and at most ${diskBytes(MAX_STRING_LENGTH)}. Keep the rows you need in a smaller file (e.g. ${keep}); {{limitTrain}} alone does not help, as the whole file is read first.`);
}

async function readRows(file: string): Promise<Row[]> {
  const ext = path.extname(file).slice(1).toLowerCase();
  if (!(EXTENSIONS as readonly string[]).includes(ext)) {
    throw new DatasetError(`${file}: unknown file type "${path.extname(file) || '(none)'}". Use .jsonl, .csv or .tsv.`);
  }
  // A folder, a pipe (reading it waits for a writer, for ever) or a link that loops: say which, before reading.
  const bad = notAFile(file);
  if (bad) throw new DatasetError(`${file} ${bad}. Put the examples in a plain ${ext} file there.`);
  let bytes: Buffer;
  try {
    const before = await fs.promises.stat(file);
    refuseTooLarge(file, before.size, ext);
    bytes = await fs.promises.readFile(file);
    const after = await fs.promises.stat(file);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || bytes.length !== after.size) {
      throw new DatasetError(`${file} changed while it was read (${before.size} bytes before, ${bytes.length} read, ${after.size} after); run again once whatever writes it has finished.`);
    }
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(`${file} cannot be read: ${(e as Error).message}`);
  }
  let content = decodeUtf8(file, bytes);
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1);
  // One line ending: files edited on Windows and Unix mix CRLF and LF (and old Mac files use CR), which the CSV
  // reader, taking the first line's ending for all, would otherwise read as fields running into the next line.
  content = content.replace(/\r\n?/g, '\n');
  if (content.trim() === '') {
    throw new DatasetError(`${file} is empty. It needs one example per ${ext === 'jsonl' ? 'line' : 'row, after a header row'}.`);
  }
  const rows = ext === 'jsonl' ? parseJsonl(file, content) : parseDelimited(file, content, ext === 'tsv' ? '\t' : ',');
  if (rows.length === 0) {
    throw new DatasetError(`${file} has a header but no examples. Add one row per example below the header.`);
  }
  return rows;
}

function parseJsonl(file: string, content: string): Row[] {
  const rows: Row[] = [];
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(
        `${file}, line ${i + 1}: not valid JSON (${(e as Error).message}). Each line must be one object like {"text": "...", "label": "..."}.`,
      );
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DatasetError(`${file}, line ${i + 1}: expected a JSON object like {"text": "...", "label": "..."}.`);
    }
    // JSON.parse keeps the last of two values under one key: a row with two labels would be read with one, unsaid.
    const dup = firstDuplicateKey(line, value);
    if (dup) throw new DatasetError(`${file}, line ${i + 1}: "${dup.key}" is given twice${dup.at ? ` (under "${dup.at}")` : ''}; which one is meant cannot be told. Keep one.`);
    rows.push(toRow(file, i + 1, value as Record<string, unknown>));
  }
  return rows;
}

function parseDelimited(file: string, content: string, delimiter: string): Row[] {
  const parsed = parseRecords(file, content, delimiter);
  if (parsed.length === 0) return [];
  const header = parsed[0].record.map((h) => h.trim());
  const columns = {
    text: headerColumn(file, header, 'text', delimiter, true),
    label: headerColumn(file, header, 'label', delimiter, true),
    pair: headerColumn(file, header, 'text_pair', delimiter, false),
  };
  return recordRows(file, parsed, columns);
}

/** A record as csv-parse gives it with `info: true`: its fields and the line it ends on. */
type Parsed = { record: string[]; info: { lines: number; empty_lines: number } };

/** The records of a CSV/TSV text, header first; a parse error is said with how to quote. */
function parseRecords(file: string, content: string, delimiter: string): Parsed[] {
  try {
    // csv-parse's types do not model `info: true` (they promise string[][]); the shape is checked instead.
    const raw: unknown = parseCsv(content, { delimiter, info: true, skip_empty_lines: true, relax_quotes: true });
    const isParsed = (x: unknown): x is Parsed[] => Array.isArray(x) && x.every((r) => typeof r === 'object' && r !== null && 'record' in r && 'info' in r);
    if (!isParsed(raw)) throw new Error('csv-parse returned rows without their line info');
    return raw;
  } catch (e) {
    const detail = e instanceof CsvError ? e.message : String(e);
    throw new DatasetError(
      `${file}: ${detail}. Wrap fields that hold ${delimiter === '\t' ? 'tabs' : 'commas'}, quotes or newlines in double quotes ` +
        'and double the quotes inside ("").',
    );
  }
}

/** The index of the header's column `col` (-1 when absent and not `required`); named twice or missing is an error. */
function headerColumn(file: string, header: string[], col: string, delimiter: string, required: boolean): number {
  const at = header.flatMap((h, i) => (h === col ? [i] : []));
  if (at.length > 1) throw new DatasetError(`${file}, line 1: the header names "${col}" ${at.length} times. Keep one.`);
  if (at.length === 0 && required) {
    throw new DatasetError(
      `${file}, line 1: the header has no "${col}" column (found: ${header.join(', ')}). ` +
        `The first row must name the columns: text${delimiter === '\t' ? '\\t' : ','}label (text_pair optional).`,
    );
  }
  return at.length ? at[0] : -1;
}

/** The records after the header as rows, each with the line it starts on. */
function recordRows(file: string, parsed: Parsed[], columns: { text: number; label: number; pair: number }): Row[] {
  const rows: Row[] = [];
  let prevEnd = parsed[0].info.lines;
  let prevEmpty = parsed[0].info.empty_lines;
  for (let r = 1; r < parsed.length; r++) {
    const { record, info } = parsed[r];
    // csv-parse reports the line a record ends on; skipped blank lines sit between records.
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    rows.push(
      toRow(file, line, {
        text: record[columns.text],
        label: record[columns.label] === '' ? undefined : record[columns.label],
        ...(columns.pair >= 0 ? { text_pair: record[columns.pair] } : {}),
      }),
    );
  }
  return rows;
}

function toRow(file: string, line: number, rec: Record<string, unknown>): Row {
  const at = `${file}, line ${line}`;
  const text = rec.text;
  if (text === undefined || text === null) throw new DatasetError(`${at}: missing "text". Every example needs a non-empty "text".`);
  if (typeof text !== 'string') throw new DatasetError(`${at}: "text" must be a string, got ${typeof text}.`);
  if (text.trim() === '') throw new DatasetError(`${at}: "text" is empty. Remove the row or fill in its text.`);

  const label = rec.label;
  if (label === undefined || label === null || (typeof label === 'string' && label.trim() === '')) {
    throw new DatasetError(`${at}: missing "label". Every example needs a label (a string or a number).`);
  }
  if (typeof label === 'number' && !Number.isFinite(label)) throw new DatasetError(`${at}: "label" must be a finite number or a string.`);
  if (typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'boolean') {
    throw new DatasetError(`${at}: "label" must be a string or a number, got ${Array.isArray(label) ? 'an array' : typeof label}.`);
  }

  const pair = rec.text_pair;
  if (pair !== undefined && pair !== null && typeof pair !== 'string') {
    throw new DatasetError(`${at}: "text_pair" must be a string, got ${typeof pair}.`);
  }
  if (typeof label === 'number' && !Number.isSafeInteger(label) && Number.isInteger(label)) {
    throw new DatasetError(`${at}: label ${label} is too large for a JSON number to hold exactly (two such labels can be read as one). Write it as a string: "label": "…".`);
  }
  // Surrounding spaces ("a, spam" in a CSV) and Unicode normal forms (é typed two ways) would otherwise make two classes of one.
  const labelText = String(label).trim().normalize('NFC');
  const row: Row = { text, label: labelText, line };
  if (typeof pair === 'string' && pair.trim() !== '') row.textPair = pair;
  return row;
}

/**
 * A task is a single-text task or a pair task, never both: a row without `text_pair` among rows with one
 * (a missing CSV/TSV cell, a JSONL key dropped, null, or empty in any format) would be encoded as one text
 * where the others are two, with other token types and no second segment, and the probe would score a
 * mix of two inputs. Python `transformers` refuses such a batch too, so it is refused, not warned about.
 */
function requireOnePairing(name: string, parts: { file: string; rows: Row[] }[]): void {
  const all = parts.flatMap(({ file, rows }) => rows.map((r) => ({ file, r })));
  const withPair = all.find((x) => x.r.textPair !== undefined);
  const without = all.filter((x) => x.r.textPair === undefined);
  if (withPair === undefined || without.length === 0) return;
  throw new DatasetError(
    `task "${name}": ${without.length} of ${all.length} rows have no "text_pair" (first: ${without[0].file}, line ${without[0].r.line}) while the others have one (first: ${withPair.file}, line ${withPair.r.line}); ` +
      'a pair task needs both texts in every row (an empty cell, "" or null counts as none). Fill in the missing text_pair, or drop it from every row for a single-text task.',
  );
}

/** Warnings about repeated texts: test rows that repeat a training row, and one text given two labels. */
function duplicateWarnings(name: string, train: { file: string; rows: Row[] }, test: { file: string; rows: Row[] }): string[] {
  const key = (r: Row) => (r.textPair === undefined ? r.text : `${r.text}\u0000${r.textPair}`);
  const quote = (t: string) => JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
  const out: string[] = [];
  const seen = new Map<string, { r: Row; file: string }>();
  const conflicts: string[] = [];
  for (const part of [train, test]) {
    for (const r of part.rows) {
      const first = seen.get(key(r));
      if (!first) seen.set(key(r), { r, file: part.file });
      else if (first.r.label !== r.label) conflicts.push(`${quote(r.text)} is "${first.r.label}" at ${first.file}, line ${first.r.line} and "${r.label}" at ${part.file}, line ${r.line}`);
    }
  }
  if (conflicts.length > 0) {
    out.push(`task "${name}": ${conflicts.length} row${conflicts.length > 1 ? 's repeat a text' : ' repeats a text'} with another label (${conflicts[0]}); no probe can get both right. Fix the labels or remove the duplicates.`);
  }
  const inTrain = new Map<string, Row>();
  for (const r of train.rows) if (!inTrain.has(key(r))) inTrain.set(key(r), r);
  const repeated = test.rows.filter((r) => inTrain.has(key(r)));
  if (repeated.length > 0) {
    const r = repeated[0];
    out.push(
      `task "${name}": ${repeated.length} of ${test.rows.length} test rows repeat a training text (${test.file}, line ${r.line} = ${train.file}, line ${inTrain.get(key(r))!.line}); ` +
        'their scores reward memory as well as the layer. Remove them from one split for a clean test.',
    );
  }
  return out;
}

function toExample(r: Row): Example {
  return r.textPair === undefined ? { text: r.text, label: r.label } : { text: r.text, textPair: r.textPair, label: r.label };
}

/**
 * Every probe is scored by k-fold cross-validation on the training rows, stratified by label, which needs
 * k rows and 2 of each label. Checked when the task is loaded, before the features are extracted, and
 * naming the labels: the folds themselves only know label ids, and only after extraction.
 * @throws DatasetError naming the task, its source, the first short label and what to do.
 */
export function requireCrossValidation(task: TaskData, folds: number): void {
  const counts = new Array<number>(task.labels.length).fill(0);
  for (const y of task.trainY) counts[y]++;
  const single = task.labels.filter((_, i) => counts[i] === 1);
  const fix = 'Add training rows for it, or remove the label (and its test rows); {{limitTrain}}, when given, keeps only the first rows.';
  if (single.length > 0) {
    throw new DatasetError(
      `task "${task.name}" (${task.source}): label "${single[0]}" has only 1 training row${single.length > 1 ? ` (${single.length} of its ${task.labels.length} labels have 1)` : ''}; ` +
        `each probe is scored by ${folds}-fold cross-validation on the training rows, which needs at least 2 rows of every label. ${fix}`,
    );
  }
  if (task.train.length < folds) {
    throw new DatasetError(`task "${task.name}" (${task.source}) has ${task.train.length} training rows; ${folds}-fold cross-validation needs at least ${folds}. Add training rows.`);
  }
}

function requireTwoClasses(rows: Row[], file: string, why: string): void {
  const labels = new Set(rows.map((r) => r.label));
  if (labels.size < 2) {
    const found = labels.size === 0 ? 'no labels' : `only the label "${[...labels][0]}"`;
    throw new DatasetError(`${file} has ${found}${why}; a probe needs at least 2 classes. Add examples of another label.`);
  }
}

function checkLimit(param: 'limitTrain' | 'limitTest', n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw badValue(param, n, 'give a positive integer.');
}
