// The rows of one task file: its type, its bytes as UTF-8 text, and each JSONL line or CSV/TSV
// record as a checked row. Read whole here (readRows); streamRows.ts reads a large file in chunks
// with the same checks and messages.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CsvError as StreamCsvError } from 'csv-parse';
import { parse as parseCsv, CsvError } from 'csv-parse/sync';
import { DatasetError } from '../errors';
import { notAFile, orAdvice } from '../util/fileKind';
import { firstDuplicateKey } from '../util/jsonKeys';
import { ColumnMap, columnReading, ColumnReading, columnsHint, fileColumns, STANDARD } from './columns';

/** One labelled example. */
export interface Example {
  text: string;
  /** Second text of a pair task (e.g. premise/hypothesis); absent for single-text tasks. */
  textPair?: string;
  label: string;
}

export interface Row extends Example {
  /** 1-based line where the row starts in its file, for error messages (a split of several files counts across them). */
  line: number;
  /** Where the row is when its split has several files (a Parquet shard and its own row); messages say this instead. */
  at?: string;
}

export const EXTENSIONS = ['jsonl', 'csv', 'tsv'] as const;
export type TaskFileType = (typeof EXTENSIONS)[number];

/**
 * What to do with a folder datasets wrote that holds no split named train or test, as a sentence
 * ('' for anything else): one Dataset's save_to_disk (its Arrow files beside state.json), or a
 * DatasetDict's whose splits have other names.
 */
export function datasetsHint(dir: string): string {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return '';
  }
  if (names.includes('state.json') && names.some((n) => /\.arrow$/i.test(n))) {
    return ` It is one split saved by datasets' save_to_disk: pass one of its .arrow files to split it, or save a DatasetDict with train and test splits (d.save_to_disk).`;
  }
  if (names.includes('dataset_dict.json')) return ` It is a DatasetDict saved by datasets' save_to_disk; its splits are ${names.filter((n) => n !== 'dataset_dict.json').join(', ') || 'none'}.`;
  return '';
}

/** Where a row of `file` (a split's file, or the name of its several files) is, for messages. */
export function rowPlace(file: string, r: { line: number; at?: string }): string {
  return r.at ?? placeOf(file, r.line);
}

export const isParquet = (name: string): boolean => /\.parquet$/i.test(name);

/** Where row `line` (1-based) of a task file is, for messages: a line of a text file, a row of a Parquet or Arrow file. */
export function placeOf(file: string, line: number): string {
  return `${file}, ${/\.(parquet|arrow)$/i.test(file) ? 'row' : 'line'} ${line}`;
}

/** The file's type by extension, once it is known to be a plain file; and its size and time before reading. */
export async function openTaskFile(file: string): Promise<{ ext: TaskFileType; before: fs.Stats }> {
  const ext = path.extname(file).slice(1).toLowerCase();
  if (!(EXTENSIONS as readonly string[]).includes(ext)) {
    throw new DatasetError(`${file}: unknown file type "${path.extname(file) || '(none)'}". Use .jsonl, .csv, .tsv, .parquet or .arrow.`);
  }
  // A folder, a pipe (reading it waits for a writer, for ever) or a link that loops: say which, before reading.
  const bad = notAFile(file);
  if (bad) throw new DatasetError(`${file} ${orAdvice(bad, `. Put the examples in a plain ${ext} file there`)}.`);
  const before = await fs.promises.stat(file).catch((e: Error) => {
    throw cannotRead(file, e);
  });
  return { ext: ext as TaskFileType, before };
}

export function cannotRead(file: string, e: unknown): DatasetError {
  return e instanceof DatasetError ? e : new DatasetError(`${file} cannot be read: ${(e as Error).message}`);
}

/** Refuses a file whose size or time is not what it was before it was read (`read`: the bytes read, when all were). */
export async function requireUnchanged(file: string, before: fs.Stats, read?: number): Promise<void> {
  const after = await fs.promises.stat(file);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || (read !== undefined && read !== after.size)) {
    const got = read === undefined ? '' : `, ${read} read`;
    throw new DatasetError(`${file} changed while it was read (${before.size} bytes before${got}, ${after.size} after); run again once whatever writes it has finished.`);
  }
}

/** The rows of a file read whole, into one string. */
export async function readRows(file: string, ext: TaskFileType, before: fs.Stats, columns: ColumnReading = columnReading()): Promise<Row[]> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
    await requireUnchanged(file, before, bytes.length);
  } catch (e) {
    throw cannotRead(file, e);
  }
  refuseUtf16(file, bytes);
  let content = decodeUtf8(file, bytes);
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1);
  content = oneLineEnding(content);
  if (content.trim() === '') throw emptyFile(file, ext);
  const rows = ext === 'jsonl' ? parseJsonl(file, content, columns) : parseDelimited(file, content, ext === 'tsv' ? '\t' : ',', columns);
  if (rows.length === 0) throw noExamples(file);
  return rows;
}

/**
 * One line ending: files edited on Windows and Unix mix CRLF and LF (and old Mac files use CR), which the CSV
 * reader, taking the first line's ending for all, would otherwise read as fields running into the next line.
 */
export function oneLineEnding(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

export function emptyFile(file: string, ext: TaskFileType): DatasetError {
  return new DatasetError(`${file} is empty. It needs one example per ${ext === 'jsonl' ? 'line' : 'row, after a header row'}.`);
}

export function noExamples(file: string): DatasetError {
  return new DatasetError(`${file} has a header but no examples. Add one row per example below the header.`);
}

const RESAVE = 'Save the file as UTF-8 (most editors: "Save with encoding" → UTF-8).';

/** Refuses UTF-16 (a byte-order mark, or a zero byte among the first 4096 bytes of `head`, the file's start). */
export function refuseUtf16(file: string, head: Buffer): void {
  const bom16 = head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff));
  const nul = head.subarray(0, 4096).indexOf(0);
  if (bom16 || nul >= 0) throw new DatasetError(`${file} is encoded as UTF-16 (${bom16 ? 'byte-order mark' : `zero byte at offset ${nul}`}), not UTF-8. ${RESAVE}`);
}

/** The file's text; bytes that are not UTF-8 (latin-1, Windows-1252) are named as an encoding problem. */
function decodeUtf8(file: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw notUtf8(file, bytes, firstInvalidUtf8(bytes));
  }
}

/** Where decoding `bytes` (which start at a character) fails: its first invalid byte, or a character cut by the end. */
export function firstInvalidUtf8(bytes: Buffer): number {
  let at = 0;
  // The decoder does not say where: the longest prefix it takes, found by halving steps.
  for (let step = 1 << 16; step >= 1; step >>= 1) {
    while (at + step <= bytes.length && isUtf8Prefix(bytes.subarray(0, at + step))) at += step;
  }
  if (at === bytes.length && at > 0) {
    // Every byte is taken, so the last character is cut short by the end: name its first byte.
    while (at > 1 && (bytes[at - 1] & 0xc0) === 0x80) at--;
    return at - 1;
  }
  // `at` is where decoding fails; a cut multi-byte sequence before it is where the bad character starts.
  while (at > 0 && bytes[at - 1] >= 0xc0 && bytes[at] < 0x80) at--;
  return at;
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

/** The error for the byte `bytes[at]`, where `bytes` are the file's from `offset` on, starting on line `line`. */
export function notUtf8(file: string, bytes: Buffer, at: number, offset = 0, line = 1): DatasetError {
  let lines = line;
  for (let i = bytes.indexOf(0x0a); i >= 0 && i < at; i = bytes.indexOf(0x0a, i + 1)) lines++;
  const byte = bytes[at].toString(16).padStart(2, '0');
  return new DatasetError(`${file} is not valid UTF-8: byte 0x${byte} at offset ${offset + at} (line ${lines}); it looks like latin-1 or Windows-1252. ${RESAVE}`);
}

function parseJsonl(file: string, content: string, columns: ColumnReading): Row[] {
  const rows: Row[] = [];
  const lines = content.split('\n');
  const read = jsonlReader(file, columns);
  for (let i = 0; i < lines.length; i++) {
    const row = read(i + 1, lines[i]);
    if (row) rows.push(row);
  }
  return rows;
}

/** What turns a JSONL file's lines into rows, read with the columns of its first object (fileColumns). */
export function jsonlReader(file: string, columns: ColumnReading): (n: number, text: string) => Row | undefined {
  let map: ColumnMap | undefined;
  return (n, text) => {
    const rec = jsonlRecord(file, n, text);
    if (rec === undefined) return undefined;
    if (map === undefined) {
      map = fileColumns(columns, file, Object.keys(rec));
      // A first row without a label: the split has none (toRow says so, in its words).
      if (!Object.hasOwn(rec, map.label)) {
        try {
          toRow(file, n, rec, map);
        } catch (e) {
          throw e instanceof DatasetError ? new UnlabelledSplitError(e.template, `its first row has no "${map.label}"`) : e;
        }
      }
    }
    return toRow(file, n, rec, map);
  };
}

/** The object of JSONL line `n` (1-based), or undefined for a blank line. */
function jsonlRecord(file: string, n: number, text: string): Record<string, unknown> | undefined {
  const line = text.trim();
  if (line === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new DatasetError(`${file}, line ${n}: not valid JSON (${(e as Error).message}). Each line must be one object like {"text": "...", "label": "..."}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DatasetError(`${file}, line ${n}: expected a JSON object like {"text": "...", "label": "..."}.`);
  }
  // JSON.parse keeps the last of two values under one key: a row with two labels would be read with one, unsaid.
  const dup = firstDuplicateKey(line, value);
  if (dup) throw new DatasetError(`${file}, line ${n}: "${dup.key}" is given twice${dup.at ? ` (under "${dup.at}")` : ''}; which one is meant cannot be told. Keep one.`);
  return value as Record<string, unknown>;
}

function parseDelimited(file: string, content: string, delimiter: string, columns: ColumnReading): Row[] {
  const read = delimitedReader(file, delimiter, columns);
  const rows: Row[] = [];
  for (const p of parseRecords(file, content, delimiter)) {
    const row = read(p);
    if (row) rows.push(row);
  }
  return rows;
}

/** A record as csv-parse gives it with `info: true`: its fields and the line it ends on. */
export type Parsed = { record: string[]; info: { lines: number; empty_lines: number } };

/** How csv-parse reads a task file, whole or streamed. */
export function csvOptions(delimiter: string) {
  return { delimiter, info: true, skip_empty_lines: true, relax_quotes: true } as const;
}

// csv-parse's types do not model `info: true` (they promise string[][]); the shape is checked instead.
export const isParsed = (r: unknown): r is Parsed => typeof r === 'object' && r !== null && 'record' in r && 'info' in r;

/** The records of a CSV/TSV text, header first. */
function parseRecords(file: string, content: string, delimiter: string): Parsed[] {
  try {
    const raw: unknown = parseCsv(content, csvOptions(delimiter));
    if (!Array.isArray(raw) || !raw.every(isParsed)) throw new Error('csv-parse returned rows without their line info');
    return raw;
  } catch (e) {
    throw csvFailure(file, delimiter, e);
  }
}

/** A CSV/TSV parse error, said with how to quote. */
export function csvFailure(file: string, delimiter: string, e: unknown): DatasetError {
  if (e instanceof DatasetError) return e;
  // The streaming and the sync parser each have their own CsvError class.
  const detail = e instanceof CsvError || e instanceof StreamCsvError ? e.message : String(e);
  return new DatasetError(
    `${file}: ${detail}. Wrap fields that hold ${delimiter === '\t' ? 'tabs' : 'commas'}, quotes or newlines in double quotes ` + 'and double the quotes inside ("").',
  );
}

/**
 * What turns a CSV/TSV file's records, header first and in order, into rows: undefined for the
 * header (whose columns it checks), then each record as a row with the line it starts on.
 */
export function delimitedReader(file: string, delimiter: string, reading: ColumnReading): (p: Parsed) => Row | undefined {
  let columns: { text: number; label: number; pair: number; map: ColumnMap } | undefined;
  let prevEnd = 0;
  let prevEmpty = 0;
  return ({ record, info }) => {
    // csv-parse reports the line a record ends on; skipped blank lines sit between records.
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    if (columns === undefined) {
      columns = headerColumns(file, record, delimiter, reading);
      return undefined;
    }
    const { map } = columns;
    return toRow(
      file,
      line,
      {
        [map.text]: record[columns.text],
        [map.label]: record[columns.label] === '' ? undefined : record[columns.label],
        ...(map.textPair !== undefined && columns.pair >= 0 ? { [map.textPair]: record[columns.pair] } : {}),
      },
      map,
    );
  };
}

function headerColumns(file: string, record: string[], delimiter: string, reading: ColumnReading): { text: number; label: number; pair: number; map: ColumnMap } {
  const header = record.map((h) => h.trim());
  const map = fileColumns(reading, file, header);
  return {
    text: headerColumn(file, header, map.text, delimiter, 'text'),
    label: headerColumn(file, header, map.label, delimiter, 'label'),
    pair: map.textPair === undefined ? -1 : headerColumn(file, header, map.textPair, delimiter),
    map,
  };
}

/** The index of the header's column `col` (-1 when absent and it has no required `role`); named twice or missing is an error. */
function headerColumn(file: string, header: string[], col: string, delimiter: string, role?: 'text' | 'label'): number {
  const at = header.flatMap((h, i) => (h === col ? [i] : []));
  if (at.length > 1) throw new DatasetError(`${file}, line 1: the header names "${col}" ${at.length} times. Keep one.`);
  if (at.length === 0 && role) {
    const message =
      `${file}, line 1: the header has no "${col}" column (found: ${header.join(', ')}). ` +
      `The first row must name the columns: text${delimiter === '\t' ? '\\t' : ','}label (text_pair optional)${columnsHint(header, role)}.`;
    throw role === 'label' ? new UnlabelledSplitError(message, `no "${col}" column`) : new DatasetError(message);
  }
  return at.length ? at[0] : -1;
}

/** ` (its keys: "a", "b")` for a JSON line without an expected key: what the CSV header's "found:" says for a file of columns. */
function keysOf(rec: Record<string, unknown>): string {
  const keys = Object.keys(rec);
  return keys.length ? ` (its keys: ${keys.slice(0, 8).map((k) => JSON.stringify(k)).join(', ')}${keys.length > 8 ? ', …' : ''})` : '';
}

/**
 * A split whose rows carry no labels at all (no label column, or datasets' -1 from its first row
 * on, as GLUE's test splits have it): a task folder's test split then falls back to its validation
 * split (splits.ts). `why` says which, in a few words.
 */
export class UnlabelledSplitError extends DatasetError {
  constructor(
    message: string,
    readonly why: string,
  ) {
    super(message);
    // What users see (the CLI's "DatasetError: …") is a DatasetError's; the class is for the fallback only.
    this.name = 'DatasetError';
  }
}

/** The row of record `rec`, read through `map` (the file's columns, columns.ts); each value checked, messages naming the column. */
export function toRow(file: string, line: number, rec: Record<string, unknown>, map: ColumnMap = STANDARD): Row {
  const at = placeOf(file, line);
  const [textCol, labelCol] = [JSON.stringify(map.text), JSON.stringify(map.label)];
  const text = rec[map.text];
  if (text === undefined || text === null) {
    const hint = Object.hasOwn(rec, map.text) ? '' : `${keysOf(rec)}. Every example needs a non-empty ${textCol}${columnsHint(Object.keys(rec), 'text')}`;
    throw new DatasetError(`${at}: missing ${textCol}${hint || `. Every example needs a non-empty ${textCol}`}.`);
  }
  if (typeof text !== 'string') {
    // A list is what tokenized datasets hold (list<string> in Parquet, an array in JSON).
    const list = Array.isArray(text) ? ' a list. Join its items into one string per row' : ` ${typeof text}`;
    throw new DatasetError(`${at}: ${textCol} must be a string, got${list}.`);
  }
  if (text.trim() === '') throw new DatasetError(`${at}: ${textCol} is empty. Remove the row or fill in its text.`);

  const label = rec[map.label];
  if (label === undefined || label === null || (typeof label === 'string' && label.trim() === '')) {
    const hint = Object.hasOwn(rec, map.label) ? '' : `${keysOf(rec)}. Every example needs a label (a string or a number)${columnsHint(Object.keys(rec), 'label')}`;
    throw new DatasetError(`${at}: missing ${labelCol}${hint || '. Every example needs a label (a string or a number)'}.`);
  }
  if (typeof label === 'number' && !Number.isFinite(label)) throw new DatasetError(`${at}: ${labelCol} must be a finite number or a string.`);
  if (typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'boolean') {
    // A list of labels is a multi-label row (go_emotions' labels, a tag set): say what a single-label probe needs instead.
    const multi = Array.isArray(label)
      ? `a list (${JSON.stringify(label).slice(0, 60)}): a row with several labels. ProbeScale's probes pick one class per text; give each row one label, or make one task per label whose rows say yes or no (1 where the list holds it, else 0)`
      : typeof label;
    throw new DatasetError(`${at}: ${labelCol} must be a string or a number, got ${multi}.`);
  }

  const pair = map.textPair === undefined ? undefined : rec[map.textPair];
  if (pair !== undefined && pair !== null && typeof pair !== 'string') {
    throw new DatasetError(`${at}: ${JSON.stringify(map.textPair)} must be a string, got ${typeof pair}.`);
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
