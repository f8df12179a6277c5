// Task rows from Arrow IPC streams, as Hugging Face datasets keeps them on disk: the cache that
// load_dataset fills (`glue-train.arrow`, `glue-train-00000-of-00002.arrow` in
// ~/.cache/huggingface/datasets/…/<hash>/) and the folders save_to_disk writes
// (`train/data-00000-of-00001.arrow` beside dataset_info.json and state.json). apache-arrow (the
// project's own JavaScript implementation) reads them a record batch at a time from a file stream,
// so only the rows a caller keeps are held; it is loaded on first use, since most runs read no Arrow.
// Rows get the checks and messages of JSON lines; a ClassLabel's integers are read as its names,
// from the `huggingface` schema metadata datasets writes, as in Parquet.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataType, RecordBatch } from 'apache-arrow';
import { DatasetError } from '../errors';
import { fileColumns, ColumnReading, columnsHint } from './columns';
import { classLabelNamesIn, labelOf, listing } from './parquet';
import { requireUnchanged, Row, toRow, UnlabelledSplitError } from './rows';
import { damage } from './damage';

/** One split's Arrow files, in row order, and how messages name them together. */
export interface ArrowSplit {
  display: string;
  files: string[];
}

export const isArrow = (name: string): boolean => /\.arrow$/i.test(name);

/**
 * The Arrow files of `split` in `dir`, each way of keeping them found (its own entry when several
 * are there): `train.arrow`; the datasets cache's `<builder>-train.arrow` or its shards
 * `<builder>-train-00000-of-00002.arrow`; a save_to_disk folder `train/` of `data-….arrow` files
 * (in the order its state.json lists, else by name).
 */
export function arrowSplitsIn(dir: string, split: string): ArrowSplit[] {
  const names = listing(dir);
  const found: ArrowSplit[] = [];
  if (names.includes(`${split}.arrow`)) found.push({ display: path.join(dir, `${split}.arrow`), files: [path.join(dir, `${split}.arrow`)] });
  const cache = new RegExp(`^(.+)-${split.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(-\\d+-of-\\d+)?\\.arrow$`);
  const byBuilder = new Map<string, string[]>();
  for (const n of names.filter((n) => cache.test(n)).sort()) {
    const builder = (cache.exec(n) as RegExpExecArray)[1];
    byBuilder.set(builder, [...(byBuilder.get(builder) ?? []), n]);
  }
  for (const [builder, files] of byBuilder) {
    found.push({ display: files.length === 1 ? path.join(dir, files[0]) : path.join(dir, `${builder}-${split}-*.arrow`), files: files.map((n) => path.join(dir, n)) });
  }
  const sub = path.join(dir, split);
  const inSub = names.includes(split) ? savedOrder(sub, listing(sub).filter(isArrow)) : [];
  if (inSub.length) found.push({ display: path.join(sub, inSub.length === 1 ? inSub[0] : '*.arrow'), files: inSub.map((n) => path.join(sub, n)) });
  return found;
}

/** A save_to_disk folder's Arrow files in the order its state.json lists them (`_data_files`), else by name. */
function savedOrder(dir: string, files: string[]): string[] {
  try {
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { _data_files?: { filename?: unknown }[] };
    const listed = (state._data_files ?? []).map((f) => f.filename).filter((f): f is string => typeof f === 'string' && files.includes(f));
    if (listed.length === files.length) return listed;
  } catch {
    // No state.json (or not datasets'): name order, as datasets names the shards.
  }
  return [...files].sort();
}

const READ_AGAIN = 'Save it again with datasets (save_to_disk, or to_parquet), or give the rows as JSON lines.';

/** An Arrow value as JSON lines would give it: a list as an array, a string as itself. */
function plain(v: unknown): unknown {
  return v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && typeof (v as { toArray?: unknown }).toArray === 'function' ? Array.from(v as Iterable<unknown>) : v;
}

/** The label column's type as labelOf reads it: floating point or not. */
function labelType(type: DataType | undefined): string | undefined {
  return type !== undefined && String(type).startsWith('Float') ? 'DOUBLE' : undefined;
}

/**
 * The split's rows a record batch at a time, each checked as a JSON line is (messages name the file
 * and its 1-based row); `line` numbers rows across the split's files in order. A file that changes
 * while it is read is refused.
 */
export async function* arrowRows(split: ArrowSplit, reading: ColumnReading): AsyncGenerator<Row[]> {
  const { RecordBatchReader } = await import('apache-arrow');
  const { checkArrowMessages } = await import('./arrowMessages');
  let before = 0;
  for (const file of split.files) {
    const stat = await fs.promises.stat(file);
    if (stat.size === 0) throw new DatasetError(`${file} is empty. ${READ_AGAIN}`);
    const stream = fs.createReadStream(file);
    let reader: Awaited<ReturnType<typeof RecordBatchReader.from>>;
    try {
      await checkArrowMessages(file);
      reader = await RecordBatchReader.from(stream);
      await reader.open();
      // A stream cut before its schema message opens as a reader without one.
      if (!reader.schema) throw new Error('it ends before its schema');
    } catch (e) {
      stream.destroy();
      throw new DatasetError(`${file} cannot be read as an Arrow stream (${damage(e, 'its schema or first message')}). ${READ_AGAIN}`);
    }
    try {
      const names = reader.schema.fields.map((f) => f.name);
      const map = fileColumns(reading, file, names);
      for (const [role, need] of [['text', map.text], ['label', map.label]] as const) {
        if (names.includes(need)) continue;
        const message = `${file} has no "${need}" column (its columns: ${names.join(', ') || 'none'}). Rows need a "text" and a "label" column (and "text_pair" for pairs)${columnsHint(names, role)}.`;
        throw role === 'label' ? new UnlabelledSplitError(message, `no "${need}" column`) : new DatasetError(message);
      }
      const classes = classLabelNamesIn(reader.schema.metadata.get('huggingface'), map.label);
      const type = labelType(reader.schema.fields.find((f) => f.name === map.label)?.type);
      const pair = map.textPair !== undefined && names.includes(map.textPair) ? map.textPair : undefined;
      let start = 0;
      for await (const batch of batches(reader, file)) {
        const [text, label, second] = [batch.getChild(map.text), batch.getChild(map.label), pair === undefined ? null : batch.getChild(pair)];
        const rows: Row[] = [];
        for (let i = 0; i < batch.numRows; i++) {
          const at = `${file}, row ${start + i + 1}`;
          const rec: Record<string, unknown> = { [map.text]: plain(text?.get(i)), [map.label]: labelOf(at, plain(label?.get(i)), classes, type, before + start + i === 0) };
          if (pair !== undefined) rec[pair] = plain(second?.get(i));
          const row = toRow(file, start + i + 1, rec, map);
          row.line = before + start + i + 1;
          if (split.files.length > 1) row.at = at;
          rows.push(row);
        }
        start += batch.numRows;
        yield rows;
      }
      before += start;
    } finally {
      stream.destroy();
    }
    await requireUnchanged(file, stat);
  }
  if (before === 0) throw new DatasetError(`${split.display} has no rows. It needs one example per row, with a "text" and a "label".`);
}

/** The reader's record batches; a stream cut short or damaged is named with its file. */
async function* batches(reader: AsyncIterable<RecordBatch>, file: string): AsyncGenerator<RecordBatch> {
  const it = reader[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<RecordBatch>;
    try {
      next = await it.next();
    } catch (e) {
      throw new DatasetError(`${file} cannot be read as an Arrow stream (${damage(e, 'a record batch')}). ${READ_AGAIN}`);
    }
    if (next.done) return;
    yield next.value;
  }
}

/** Bytes of the split's files (what holding all its rows costs, about). */
export async function arrowBytes(split: ArrowSplit): Promise<number> {
  let bytes = 0;
  for (const f of split.files) bytes += (await fs.promises.stat(f)).size;
  return bytes;
}

/**
 * The name datasets gives the data in a cache folder (load_dataset's `…/<hash>/`, whose own name says
 * nothing): `dataset_name` (or `builder_name`) and a `config_name` other than default, from its
 * dataset_info.json; undefined where there is none.
 */
export function cachedDatasetName(dir: string): string | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'dataset_info.json'), 'utf8')) as Record<string, unknown>;
    const name = [info.dataset_name, info.builder_name].find((n): n is string => typeof n === 'string' && n !== '');
    if (name === undefined) return undefined;
    const config = typeof info.config_name === 'string' && info.config_name !== '' && info.config_name !== 'default' ? `_${info.config_name}` : '';
    return name + config;
  } catch {
    return undefined;
  }
}
