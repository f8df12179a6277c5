// The page headers of the column chunks a row group is read from, checked before hyparquet decodes
// them. hyparquet trusts them: a damaged header whose level lengths or value counts are missing
// turns its read offset into NaN, and its RLE decoder then loops forever without reading a byte
// (found by fuzzing, test/fuzz.ts); a count of billions allocates arrays of that length. A
// synchronous loop cannot be cancelled, so a damaged file would hang the CLI and the extension's
// worker. Here every header is parsed with hyparquet's own reader, and each count and length must
// be a whole number that fits the chunk it is in. A version-2 page keeps its repetition and
// definition levels uncompressed before its values; their runs are walked too, since an RLE run
// longer than the page makes hyparquet grow an array past V8's limit, which aborts the process.
// (The same in a compressed section, a version-1 page's levels or dictionary indices, is not
// checked: that would decompress every page twice.)
import type { AsyncBuffer, ColumnMetaData, FileMetaData, PageHeader, RowGroup } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getSchemaPath } from 'hyparquet/src/schema.js';

/** Largest uncompressed page read (writers default to 1 MiB pages; the format allows 2 GiB). */
export const MAX_PAGE_BYTES = 2 ** 30;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** What is wrong with one page header, `room` bytes of its chunk left after it; null when nothing is. */
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

/** Bits a level up to `max` takes (hyparquet's bitWidth). */
const bitWidth = (max: number) => 32 - Math.clz32(max);

/**
 * What is wrong with an RLE/bit-packed hybrid stream of levels (`bytes`, `width` bits each) read
 * into `count` values, or null: an RLE run must not run past `count` (bit-packed runs are cut by
 * hyparquet itself), and no run may end outside the stream.
 */
function levelsProblem(bytes: Uint8Array, width: number, count: number): string | null {
  let at = 0;
  let seen = 0;
  while (seen < count && at < bytes.byteLength) {
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.byteLength || shift > 28) return 'a level run header past the end of its levels';
      const b = bytes[at++];
      header |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    header >>>= 0;
    if (header & 1) {
      const groups = header >>> 1;
      seen += 8 * groups;
      at += groups * width;
    } else {
      const run = header >>> 1;
      if (seen + run > count) return `a level run of ${run} values where ${count - seen} remain`;
      seen += run;
      at += (width + 7) >> 3;
    }
  }
  return at > bytes.byteLength ? 'a level run past the end of its levels' : null;
}

/** Bit widths of a column's repetition and definition levels. */
interface LevelWidths {
  repetition: number;
  definition: number;
}

/** A version-2 data page's level streams (uncompressed, first in its data), checked; null when sound. */
function pageLevelsProblem(h: PageHeader, data: Uint8Array, widths: LevelWidths): string | null {
  const v2 = h.data_page_header_v2!;
  const rep = data.subarray(0, v2.repetition_levels_byte_length);
  const def = data.subarray(v2.repetition_levels_byte_length, v2.repetition_levels_byte_length + v2.definition_levels_byte_length);
  return (widths.repetition ? levelsProblem(rep, widths.repetition, v2.num_values) : null) ?? (widths.definition ? levelsProblem(def, widths.definition, v2.num_values) : null);
}

/** Values the data pages of one chunk hold, or what is wrong with them. */
function chunkValues(bytes: Uint8Array, widths: LevelWidths): number | string {
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
    const problem = pageProblem(h, bytes.byteLength - reader.offset) ?? (h.type === 'DATA_PAGE_V2' ? pageLevelsProblem(h, bytes.subarray(reader.offset, reader.offset + h.compressed_page_size), widths) : null);
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
export async function checkRowGroupPages(buffer: AsyncBuffer, metadata: FileMetaData, group: RowGroup, columns: readonly string[]): Promise<void> {
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (!meta || !columns.includes(meta.path_in_schema[0])) continue;
    const name = JSON.stringify(meta.path_in_schema.join('.'));
    const [start, end] = chunkRange(meta);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start || end > buffer.byteLength) {
      throw new Error(`column ${name}'s chunk, bytes ${start}–${end}, is not inside the file's ${buffer.byteLength} bytes`);
    }
    const path = getSchemaPath(metadata.schema, meta.path_in_schema);
    const widths = { repetition: bitWidth(getMaxRepetitionLevel(path)), definition: bitWidth(getMaxDefinitionLevel(path)) };
    const values = chunkValues(new Uint8Array(await buffer.slice(start, end)), widths);
    if (typeof values === 'string') throw new Error(`column ${name}: ${values}`);
    if (values !== Number(meta.num_values)) throw new Error(`column ${name}'s pages hold ${values} values where its metadata counts ${meta.num_values}`);
  }
}
