// The page headers of the column chunks a row group is read from, checked before hyparquet decodes
// them. hyparquet trusts them: a damaged header whose level lengths or value counts are missing
// turns its read offset into NaN, and its RLE decoder then loops forever without reading a byte
// (found by fuzzing, test/fuzz.ts); a count of billions allocates arrays of that length. A
// synchronous loop cannot be cancelled, so a damaged file would hang the CLI and the extension's
// worker. Here every header is parsed with hyparquet's own reader, and each count and length must
// be a whole number that fits the chunk it is in.
import type { AsyncBuffer, ColumnMetaData, PageHeader, RowGroup } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';

/** Largest uncompressed page read (writers default to 1 MiB pages; the format allows 2 GiB). */
export const MAX_PAGE_BYTES = 2 ** 30;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** What is wrong with one page header at `at` bytes into a chunk of `room` bytes, or null. */
function pageProblem(h: PageHeader, room: number): string | null {
  if (!isCount(h.compressed_page_size) || h.compressed_page_size > room) return `a compressed size of ${String(h.compressed_page_size)} bytes where ${room} remain`;
  if (!isCount(h.uncompressed_page_size) || h.uncompressed_page_size > MAX_PAGE_BYTES) return `an uncompressed size of ${String(h.uncompressed_page_size)} bytes`;
  if (h.type === 'DATA_PAGE' && !isCount(h.data_page_header?.num_values)) return 'a data page without a value count';
  if (h.type === 'DICTIONARY_PAGE' && !isCount(h.dictionary_page_header?.num_values)) return 'a dictionary page without a value count';
  if (h.type === 'DATA_PAGE_V2') {
    const v2 = h.data_page_header_v2;
    if (!v2 || ![v2.num_values, v2.num_nulls, v2.num_rows, v2.definition_levels_byte_length, v2.repetition_levels_byte_length].every(isCount)) return 'a data page (v2) without its counts and level lengths';
    if (v2.num_nulls > v2.num_values) return `${v2.num_nulls} nulls among ${v2.num_values} values`;
    const levels = v2.definition_levels_byte_length + v2.repetition_levels_byte_length;
    if (levels > h.compressed_page_size || levels > h.uncompressed_page_size) return `${levels} bytes of levels in a page of ${h.compressed_page_size}`;
  }
  return null;
}

/** Values the data pages of one chunk hold, or what is wrong with them. */
function chunkValues(bytes: Uint8Array): number | string {
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  let values = 0;
  while (reader.offset < bytes.byteLength) {
    const at = reader.offset;
    let h: PageHeader;
    try {
      h = parquetHeader(reader);
    } catch (e) {
      return `the page header at byte ${at} cannot be read (${(e as Error).message})`;
    }
    const problem = pageProblem(h, bytes.byteLength - reader.offset);
    if (problem) return `the page at byte ${at} has ${problem}`;
    values += h.type === 'DATA_PAGE' ? h.data_page_header!.num_values : h.type === 'DATA_PAGE_V2' ? h.data_page_header_v2!.num_values : 0;
    reader.offset += h.compressed_page_size;
  }
  return values;
}

/** The byte range hyparquet reads a column chunk from (its dictionary first where it has one). */
function chunkRange(meta: ColumnMetaData): [number, number] {
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
  return [start, start + Number(meta.total_compressed_size)];
}

/**
 * Throws an Error naming the column and what is wrong when a chunk of `columns` in row group
 * `group` lies outside the file or its pages do not add up to the values its metadata counts.
 */
export async function checkRowGroupPages(buffer: AsyncBuffer, group: RowGroup, columns: readonly string[]): Promise<void> {
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (!meta || !columns.includes(meta.path_in_schema[0])) continue;
    const name = JSON.stringify(meta.path_in_schema.join('.'));
    const [start, end] = chunkRange(meta);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start || end > buffer.byteLength) {
      throw new Error(`column ${name}'s chunk, bytes ${start}–${end}, is not inside the file's ${buffer.byteLength} bytes`);
    }
    const values = chunkValues(new Uint8Array(await buffer.slice(start, end)));
    if (typeof values === 'string') throw new Error(`column ${name}: ${values}`);
    if (values !== Number(meta.num_values)) throw new Error(`column ${name}'s pages hold ${values} values where its metadata counts ${meta.num_values}`);
  }
}
