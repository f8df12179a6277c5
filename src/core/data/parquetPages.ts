// The page headers of the column chunks a row group is read from, checked before hyparquet decodes
// them. hyparquet trusts them: a damaged header whose level lengths or value counts are missing
// turns its read offset into NaN, and its RLE decoder then loops forever without reading a byte
// (found by fuzzing, test/fuzz.ts); a count of billions allocates arrays of that length. A
// synchronous loop cannot be cancelled, so a damaged file would hang the CLI and the extension's
// worker. Here every header is parsed with hyparquet's own reader, and each count and length must
// be a whole number that fits the chunk it is in. The RLE/bit-packed streams inside the pages are
// walked too: an RLE run longer than its page makes hyparquet grow an array past V8's limit, which
// aborts the process, and a bit-packed run of zero-bit values spins without reading a byte. Those
// streams are the levels and, in dictionary-encoded pages, the value indices; in version-1 pages
// (what pyarrow, and so the Hub, writes by default) they are inside the compressed data, so such a
// page is decompressed here as well as by hyparquet: only as far as its levels where its values are
// plain and it is snappy (snappyPrefix.ts), whole otherwise (RESULTS §6, twenty-fifth session, has
// the cost). The alternative, a bound check in hyparquet's readRle, is not ours to make.
import type { AsyncBuffer, ColumnMetaData, Compressors, FileMetaData, PageHeader, ParquetType, RowGroup } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getSchemaPath } from 'hyparquet/src/schema.js';
import { damage } from './damage';
import { SnappyPrefix } from './snappyPrefix';

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
 * What is wrong with an RLE/bit-packed hybrid stream (`bytes`, `width` bits a value) read into
 * `count` values, or null. An RLE run must not run past `count`, a bit-packed run not past it by
 * more than the 7 values that pad its last group of 8, no run may end outside the stream, and the
 * runs must cover `count`. Where `levels` is given, its `nulls` counts the values below its `max`
 * (definition levels: the nulls), without holding the values.
 */
function hybridProblem(bytes: Uint8Array, width: number, count: number, what: string, levels?: { max: number; nulls: number }): string | null {
  if (width > 32) return `${what} of ${width} bits each`;
  let at = 0;
  let seen = 0;
  while (seen < count && at < bytes.byteLength) {
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.byteLength || shift > 28) return `a run header past the end of its ${what}`;
      const b = bytes[at++];
      header |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    header >>>= 0;
    const run = header & 1 ? 8 * (header >>> 1) : header >>> 1;
    if (header & 1 ? seen + run >= count + 8 : seen + run > count) return `a run of ${run} ${what} where ${count - seen} remain`;
    if (header & 1) {
      const end = at + (run / 8) * width;
      if (levels && end <= bytes.byteLength) for (let i = 0; i < run && seen + i < count; i++) if (bitsAt(bytes, at, i * width, width) < levels.max) levels.nulls++;
      at = end;
    } else {
      if (levels && at < bytes.byteLength && bytes[at] < levels.max) levels.nulls += run;
      at += (width + 7) >> 3;
    }
    seen += run;
  }
  if (at > bytes.byteLength) return `a run past the end of its ${what}`;
  // hyparquet reads on past the stream's end until it has `count` values.
  return seen < count ? `${what} that end after ${seen} of ${count} values` : null;
}

/** The `width`-bit value (a level: its low 8 bits) `bit` bits after byte `at`, least significant bit first. */
function bitsAt(bytes: Uint8Array, at: number, bit: number, width: number): number {
  let v = 0;
  for (let i = 0; i < Math.min(width, 8); i++) {
    const b = bit + i;
    v |= ((bytes[at + (b >> 3)] >> (b & 7)) & 1) << i;
  }
  return v;
}

/** What reading a column's pages needs to know about it. */
interface ColumnFacts {
  type: ParquetType;
  codec: ColumnMetaData['codec'];
  maxRepetition: number;
  maxDefinition: number;
  compressors: Compressors;
}

const isHybrid = (encoding: string) => encoding === 'RLE' || encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY';

/**
 * What is wrong with the values stream of a page (its bytes after the levels), `present` values
 * in it, read as hyparquet reads it, or null. Only the hybrid encodings are walked: booleans in
 * RLE (a 4-byte length first) and dictionary indices (a bit width first).
 */
function valuesProblem(data: Uint8Array, encoding: string, present: number, facts: ColumnFacts): string | null {
  if (encoding === 'RLE' && facts.type === 'BOOLEAN') {
    if (data.byteLength < 4) return 'a boolean stream without its length';
    const length = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
    if (4 + length > data.byteLength) return `a boolean stream of ${length} bytes where ${data.byteLength - 4} remain`;
    return hybridProblem(data.subarray(4, 4 + length), 1, present, 'values');
  }
  if (encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') {
    if (!present) return null;
    if (!data.byteLength) return 'dictionary indices without their bit width';
    return hybridProblem(data.subarray(1), data[0], present, 'dictionary indices');
  }
  return null;
}

/** A page's uncompressed bytes, as many from its start as asked for: snappy (pyarrow's default) decompressed only that far. */
function pageStart(page: Uint8Array, size: number, facts: ColumnFacts): (n: number) => Uint8Array {
  if (facts.codec === 'UNCOMPRESSED') return (n) => page.subarray(0, n);
  if (facts.codec === 'SNAPPY') {
    const snappy = new SnappyPrefix(page, size);
    return (n) => snappy.bytes(n);
  }
  let whole: Uint8Array | undefined;
  return (n) => (whole ??= decompressPage(page, size, facts.codec, facts.compressors)).subarray(0, n);
}

/** A version-1 data page: its levels (each with a 4-byte length first) and its values, checked. */
function pageV1Problem(h: PageHeader, page: Uint8Array, facts: ColumnFacts): string | null {
  const n = h.data_page_header!.num_values;
  const encoding = h.data_page_header!.encoding;
  if (!facts.maxRepetition && !facts.maxDefinition && !isHybrid(encoding)) return null;
  const size = h.uncompressed_page_size;
  const data = pageStart(page, size, facts);
  let at = 0;
  const definition = { max: facts.maxDefinition, nulls: 0 };
  for (const [max, what] of [[facts.maxRepetition, 'repetition levels'], [facts.maxDefinition, 'definition levels']] as const) {
    if (!max) continue;
    if (at + 4 > size) return `${what} without their length`;
    const head = data(at + 4);
    const length = new DataView(head.buffer, head.byteOffset + at, 4).getUint32(0, true);
    at += 4;
    if (at + length > size) return `${what} of ${length} bytes where ${size - at} remain`;
    const problem = hybridProblem(data(at + length).subarray(at), bitWidth(max), n, what, what === 'definition levels' ? definition : undefined);
    if (problem) return problem;
    at += length;
  }
  return isHybrid(encoding) ? valuesProblem(data(size).subarray(at), encoding, n - definition.nulls, facts) : null;
}

/** A version-2 data page: its level streams (uncompressed, first in its data) and its values, checked. */
function pageV2Problem(h: PageHeader, page: Uint8Array, facts: ColumnFacts): string | null {
  const v2 = h.data_page_header_v2!;
  const rep = page.subarray(0, v2.repetition_levels_byte_length);
  const levelBytes = v2.repetition_levels_byte_length + v2.definition_levels_byte_length;
  const def = page.subarray(v2.repetition_levels_byte_length, levelBytes);
  const problem =
    (facts.maxRepetition ? hybridProblem(rep, bitWidth(facts.maxRepetition), v2.num_values, 'repetition levels') : null) ??
    (facts.maxDefinition ? hybridProblem(def, bitWidth(facts.maxDefinition), v2.num_values, 'definition levels') : null);
  if (problem || !isHybrid(v2.encoding)) return problem;
  const size = h.uncompressed_page_size - levelBytes;
  const values = v2.is_compressed !== false && size ? decompressPage(page.subarray(levelBytes), size, facts.codec, facts.compressors) : page.subarray(levelBytes);
  return valuesProblem(values, v2.encoding, v2.num_values - v2.num_nulls, facts);
}

/** Values the data pages of one chunk hold, or what is wrong with them. */
function chunkValues(bytes: Uint8Array, facts: ColumnFacts): number | string {
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  let values = 0;
  while (reader.offset < bytes.byteLength) {
    const at = reader.offset;
    let h: PageHeader;
    try {
      h = parquetHeader(reader);
    } catch (e) {
      return damage(e, `the page header at byte ${at}`, (message) => `the page header at byte ${at} cannot be read (${message})`);
    }
    let problem = pageProblem(h, bytes.byteLength - reader.offset);
    if (!problem && (h.type === 'DATA_PAGE' || h.type === 'DATA_PAGE_V2')) {
      const page = bytes.subarray(reader.offset, reader.offset + h.compressed_page_size);
      try {
        problem = h.type === 'DATA_PAGE' ? pageV1Problem(h, page, facts) : pageV2Problem(h, page, facts);
      } catch (e) {
        problem = damage(e, 'damaged data', (message) => `data that cannot be decompressed (${message})`);
      }
    }
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
export async function checkRowGroupPages(buffer: AsyncBuffer, metadata: FileMetaData, group: RowGroup, columns: readonly string[], compressors: Compressors): Promise<void> {
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (!meta || !columns.includes(meta.path_in_schema[0])) continue;
    const name = JSON.stringify(meta.path_in_schema.join('.'));
    const [start, end] = chunkRange(meta);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start || end > buffer.byteLength) {
      throw new Error(`column ${name}'s chunk, bytes ${start}–${end}, is not inside the file's ${buffer.byteLength} bytes`);
    }
    const path = getSchemaPath(metadata.schema, meta.path_in_schema);
    const facts = { type: meta.type, codec: meta.codec, maxRepetition: getMaxRepetitionLevel(path), maxDefinition: getMaxDefinitionLevel(path), compressors };
    const values = chunkValues(new Uint8Array(await buffer.slice(start, end)), facts);
    if (typeof values === 'string') throw new Error(`column ${name}: ${values}`);
    if (values !== Number(meta.num_values)) throw new Error(`column ${name}'s pages hold ${values} values where its metadata counts ${meta.num_values}`);
  }
}
