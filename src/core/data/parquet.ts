// Task rows from Parquet, as the Hugging Face Hub serves datasets (`data/train-00000-of-00002.parquet`,
// refs/convert/parquet's `default/train/0000.parquet`) and pandas, polars or DuckDB write them.
// hyparquet (pure JavaScript, snappy built in) reads them: no native module to build, and it reads
// a row group at a time, so only the rows a caller keeps are held. gzip, brotli, lz4 and zstd come
// from hyparquet-compressors' pure-JavaScript decoders (and fzstd), taken one by one: its index
// instantiates a WebAssembly snappy when it is loaded, which fails under `ulimit -v` before the
// CLI can relaunch itself, and would cost every command that never reads Parquet. Rows get the checks and messages of JSON lines; a ClassLabel column's
// integers are read as the names the datasets metadata gives them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AsyncBuffer, Compressors, FileMetaData, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { decompressBrotli } from 'hyparquet-compressors/src/brotli.js';
import { gunzip } from 'hyparquet-compressors/src/gzip.js';
import { decompressLz4, decompressLz4Raw } from 'hyparquet-compressors/src/lz4.js';
import { decompress as decompressZstd } from 'fzstd';
import { DatasetError } from '../errors';
import { diskBytes } from '../util/diskErrors';
import { notAFile, orAdvice } from '../util/fileKind';
import { firstInvalidUtf8, isParquet, requireUnchanged, Row, toRow, UnlabelledSplitError } from './rows';
import { checkRowGroupPages } from './parquetPages';
import { damage } from './damage';
import { ColumnMap, columnReading, ColumnReading, columnsHint, fileColumns, findColumns, STANDARD } from './columns';

/** One split's Parquet files, in row order, and how messages name them together. */
export interface ParquetSplit {
  display: string;
  files: string[];
}

/** A folder's names; none where it cannot be read (the caller says what is missing). */
export function listing(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The Parquet files of `split` in `dir`, each way of keeping them found (its own entry when
 * several are there): `train.parquet`; the Hub's shards `train-00000-of-00002.parquet` …; a
 * folder `train/` of them (refs/convert/parquet). Shards are read in name order.
 */
export function parquetSplitsIn(dir: string, split: string): ParquetSplit[] {
  const names = listing(dir);
  const found: ParquetSplit[] = [];
  if (names.includes(`${split}.parquet`)) found.push({ display: path.join(dir, `${split}.parquet`), files: [path.join(dir, `${split}.parquet`)] });
  const shards = names.filter((n) => n.startsWith(`${split}-`) && isParquet(n)).sort();
  if (shards.length) found.push({ display: shards.length === 1 ? path.join(dir, shards[0]) : path.join(dir, `${split}-*.parquet`), files: shards.map((n) => path.join(dir, n)) });
  const sub = path.join(dir, split);
  const inSub = names.includes(split) ? listing(sub).filter(isParquet).sort() : [];
  if (inSub.length) found.push({ display: path.join(sub, inSub.length === 1 ? inSub[0] : '*.parquet'), files: inSub.map((n) => path.join(sub, n)) });
  return found;
}

const compressors: Compressors = {
  GZIP: (input, length) => gunzip(input, new Uint8Array(length)),
  BROTLI: decompressBrotli,
  ZSTD: (input) => decompressZstd(input),
  LZ4: decompressLz4,
  LZ4_RAW: decompressLz4Raw,
};

/** Bytes of a string column that are not UTF-8, kept so that the row they are in can be named (hyparquet would decode them to U+FFFD). */
class NotUtf8 {
  constructor(readonly bytes: Uint8Array) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const parsers = {
  stringFromBytes: (bytes: Uint8Array | undefined): unknown => {
    // Not bytes in a damaged file: left as they are, for the row checks to refuse as not text.
    if (!(bytes instanceof Uint8Array)) return bytes;
    try {
      return utf8.decode(bytes);
    } catch {
      return new NotUtf8(bytes);
    }
  },
};

/** Refuses a cell of bytes that are not UTF-8, naming the first bad byte. */
function requireUtf8(at: string, cell: Record<string, unknown>): void {
  for (const [column, value] of Object.entries(cell)) {
    if (!(value instanceof NotUtf8)) continue;
    const bytes = Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength);
    const i = firstInvalidUtf8(bytes);
    throw new DatasetError(
      `${at}: "${column}" is not valid UTF-8: byte 0x${bytes[i].toString(16).padStart(2, '0')} at offset ${i} of its value; it looks like latin-1 or Windows-1252. ` +
        'Decode the column before writing the file (pandas: df["${column}"] = df["${column}"].str.decode("cp1252")), or give the rows as UTF-8 JSON lines.',
    );
  }
}

const UNREADABLE = 'Write it again with pandas, pyarrow, polars or DuckDB, or give the rows as JSON lines.';

/** The file's bytes as hyparquet asks for them, a range at a time (its own node reader is not in the types this build resolves). */
function fileBuffer(file: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(end - start);
      const fd = await fs.promises.open(file, 'r');
      try {
        const { bytesRead } = await fd.read(bytes, 0, bytes.length, start);
        if (bytesRead !== bytes.length) throw new Error(`${bytes.length - bytesRead} bytes fewer than the file's size said`);
      } finally {
        await fd.close();
      }
      return bytes.buffer;
    },
  };
}

async function openParquet(file: string): Promise<{ buffer: AsyncBuffer; metadata: FileMetaData }> {
  const bad = notAFile(file);
  if (bad) throw new DatasetError(`${file} ${orAdvice(bad, '. Put the rows in a plain Parquet file there')}.`);
  const size = (await fs.promises.stat(file)).size;
  if (size === 0) throw new DatasetError(`${file} is empty. ${UNREADABLE}`);
  try {
    const buffer = fileBuffer(file, size);
    const metadata = await parquetMetadataAsync(buffer);
    // Read here so that a damaged schema is refused as the file's, not thrown later from a column lookup.
    parquetSchema(metadata);
    return { buffer, metadata };
  } catch (e) {
    throw new DatasetError(`${file} cannot be read as Parquet (${damage(e, 'its metadata (at the end of the file)')}). ${UNREADABLE}`);
  }
}


/** The file's columns that rows are made of, the label's physical type, and the names of its classes when datasets wrote it (a ClassLabel). */
interface Columns {
  map: ColumnMap;
  read: string[];
  labelType?: string;
  labelNames?: string[];
}

const columnNames = (metadata: FileMetaData) => parquetSchema(metadata).children.map((c) => c.element.name);

function columnsOf(file: string, metadata: FileMetaData, reading: ColumnReading): Columns {
  const names = columnNames(metadata);
  const map = fileColumns(reading, file, names);
  for (const [role, need] of [['text', map.text], ['label', map.label]] as const) {
    if (!names.includes(need)) {
      const message = `${file} has no "${need}" column (its columns: ${names.join(', ') || 'none'}). Rows need a "text" and a "label" column (and "text_pair" for pairs)${columnsHint(names, role)}.`;
      throw role === 'label' ? new UnlabelledSplitError(message, `no "${need}" column`) : new DatasetError(message);
    }
  }
  const read = [map.text, map.label, ...(map.textPair !== undefined && names.includes(map.textPair) ? [map.textPair] : [])];
  return { map, read, labelType: labelType(metadata, map.label), labelNames: classLabelNames(metadata, map.label) };
}

function labelType(metadata: FileMetaData, column: string): string | undefined {
  return parquetSchema(metadata).children.find((c) => c.element.name === column)?.element.type;
}

/**
 * Refuses files of a task (shards of a split, or train beside test) where one names its label's
 * classes (a ClassLabel) and another has plain integers: 0 and "neg" would be two classes, or a
 * test label unseen in training. Names in another order are fine: each file's integers are read
 * through its own names.
 */
export async function requireOneLabelKind(splits: ParquetSplit[], reading: ColumnReading): Promise<void> {
  const column = reading.given.label ?? STANDARD.label;
  let named: { file: string; names: string[] } | undefined;
  let plain: string | undefined;
  for (const file of splits.flatMap((s) => s.files)) {
    const { metadata } = await openParquet(file);
    const names = classLabelNames(metadata, column);
    if (names) named ??= { file, names };
    else if (['INT32', 'INT64'].includes(labelType(metadata, column) ?? '')) plain ??= file;
    if (named && plain) {
      throw new DatasetError(
        `${plain} has plain integers as labels while ${named.file} names them (ClassLabel: ${named.names.map((n) => JSON.stringify(n)).join(', ')}); ` +
          'an integer cannot be matched to a name. Write both with the same label feature (datasets: ds.cast_column("${column}", ClassLabel(names=[…])) before to_parquet), or give the labels as names in both.',
      );
    }
  }
}

function classLabelNames(metadata: FileMetaData, column: string): string[] | undefined {
  return classLabelNamesIn(metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface')?.value, column);
}

/** A column's class names from the `huggingface` metadata datasets writes in Parquet and Arrow files ({"info": {"features": {"label": {"_type": "ClassLabel", "names": […]}}}}). */
export function classLabelNamesIn(hf: string | undefined, column: string): string[] | undefined {
  if (!hf) return undefined;
  try {
    const features = (JSON.parse(hf) as { info?: { features?: Record<string, { _type?: string; names?: unknown } | undefined> } }).info?.features;
    const label = features && Object.hasOwn(features, column) ? features[column] : undefined;
    return label?._type === 'ClassLabel' && Array.isArray(label.names) && label.names.every((n) => typeof n === 'string') ? (label.names as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** A cell's label as JSON lines would give it: integers as numbers (BigInt from INT64 within 2^53), a ClassLabel's as its name. */
export function labelOf(at: string, value: unknown, names: string[] | undefined, type: string | undefined, first: boolean): unknown {
  if ((type === 'FLOAT' || type === 'DOUBLE') && typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) {
    throw new DatasetError(
      `${at}: label ${value} is not a whole number in a floating-point label column: a score to regress on (as STS-B's), where a probe learns classes. ` +
        'Bin the scores into classes first (pandas: df["label"] = df["label"].round().astype(int)), or give each class as an integer or a name.',
    );
  }
  const int = typeof value === 'bigint' ? (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : String(value)) : value;
  if (!names || typeof int !== 'number' || !Number.isInteger(int)) return int;
  if (int === -1) {
    const message =
      `${at}: label -1, which datasets writes for a row without a label (GLUE's test splits have none). ` +
      'Use a split with labels as the test split (a validation split beside an unlabelled test split is used instead of it), or drop the unlabelled rows.';
    throw first ? new UnlabelledSplitError(message, 'label -1 from its first row: unlabelled') : new DatasetError(message);
  }
  if (int < 0 || int >= names.length) throw new DatasetError(`${at}: label ${int} is not one of the ${names.length} classes the file's ClassLabel names (0 to ${names.length - 1}). Fix the label.`);
  return names[int];
}

/** Bytes of text the split's text columns hold uncompressed (what holding all its rows costs, about). */
export async function parquetTextBytes(split: ParquetSplit, reading: ColumnReading): Promise<number> {
  let bytes = 0;
  for (const file of split.files) {
    const { metadata } = await openParquet(file);
    const { map } = findColumns(file, columnNames(metadata), reading.given);
    for (const g of metadata.row_groups) {
      for (const c of g.columns) if ([map.text, map.textPair].includes(c.meta_data?.path_in_schema[0] ?? '')) bytes += Number(c.meta_data!.total_uncompressed_size);
    }
  }
  return bytes;
}

/**
 * The split's rows a row group at a time, each checked as a JSON line is (messages name the file
 * and its 1-based row); `line` numbers rows across the split's files in order. A file that changes
 * while it is read is refused.
 */
export async function* parquetRows(split: ParquetSplit, reading: ColumnReading = columnReading()): AsyncGenerator<Row[]> {
  requireEveryShard(split);
  let before = 0;
  for (const file of split.files) {
    const stat = await fs.promises.stat(file);
    const { buffer, metadata } = await openParquet(file);
    const columns = columnsOf(file, metadata, reading);
    let start = 0;
    for (const g of metadata.row_groups) {
      const end = start + Number(g.num_rows);
      let cells: Record<string, unknown>[];
      try {
        await checkRowGroupPages(buffer, metadata, g, columns.read, compressors);
        cells = await parquetReadObjects({ file: buffer, metadata, columns: columns.read, rowStart: start, rowEnd: end, compressors, parsers });
      } catch (e) {
        throw new DatasetError(`${file}, rows ${start + 1}–${end}: cannot be read as Parquet (${damage(e, 'the data of these rows')}). ${UNREADABLE}`);
      }
      yield cells.map((cell, i) => {
        const at = `${file}, row ${start + i + 1}`;
        requireUtf8(at, cell);
        const row = toRow(file, start + i + 1, { ...cell, [columns.map.label]: labelOf(at, cell[columns.map.label], columns.labelNames, columns.labelType, before + start + i === 0) }, columns.map);
        row.line = before + start + i + 1;
        if (split.files.length > 1) row.at = at;
        return row;
      });
      start = end;
    }
    before += start;
    await requireUnchanged(file, stat);
  }
  if (before === 0) throw new DatasetError(`${split.display} has no rows. It needs one example per row, with a "text" and a "label".`);
}

/**
 * Refuses the Hub's shards (`train-00000-of-00003.parquet` …) when one is missing, or when shards
 * of two sets are mixed (two downloads of one split): either would leave out or repeat rows, unsaid.
 */
function requireEveryShard(split: ParquetSplit): void {
  const shards = split.files.flatMap((f) => {
    const m = /^(.*)-(\d+)-of-(\d+)\.parquet$/i.exec(path.basename(f));
    return m ? [{ file: f, prefix: m[1], index: Number(m[2]), of: Number(m[3]), width: m[2].length, ofWidth: m[3].length }] : [];
  });
  if (shards.length === 0) return;
  const other = shards.find((s) => s.of !== shards[0].of);
  if (other) {
    const [a, b] = [shards[0], other].sort((x, y) => x.of - y.of);
    throw new DatasetError(
      `${path.basename(a.file)} and ${path.basename(b.file)} are shards of two sets (of ${a.of} and of ${b.of}) in ${path.dirname(a.file)}, as two downloads of the split leave them. Keep one set.`,
    );
  }
  const have = new Set(shards.map((s) => s.index));
  const missing = Array.from({ length: shards[0].of }, (_, i) => i).filter((i) => !have.has(i));
  if (missing.length === 0) return;
  const { prefix, of, width, ofWidth } = shards[0];
  const name = (i: number) => `${prefix}-${String(i).padStart(width, '0')}-of-${String(of).padStart(ofWidth, '0')}.parquet`;
  throw new DatasetError(
    `${path.dirname(shards[0].file)} has no ${name(missing[0])} (${missing.length} of the ${of} shards ${missing.length === 1 ? 'is' : 'are'} missing)` +
      `; its rows would be left out. Download the split again (e.g. huggingface-cli download --repo-type dataset …), or remove the other shards.`,
  );
}

/** Refuses a split whose text is more than `holdAtMost` bytes when no limit says which rows to keep. */
export async function refuseUnheldParquet(split: ParquetSplit, holdAtMost: number, limits: string[], reading: ColumnReading): Promise<void> {
  if (limits.length === 0) return;
  const bytes = await parquetTextBytes(split, reading);
  if (bytes <= holdAtMost) return;
  throw new DatasetError(
    `${split.display} holds ${diskBytes(bytes)} of text, more than ${diskBytes(holdAtMost)}, and without ${limits.map((p) => `{{${p}}}`).join(' and ')} every row of it would be held. ` +
      `Pass ${limits.map((p) => `{{${p}}} N`).join(' and ')} to keep only the first N rows (the file is then read a row group at a time).`,
  );
}
