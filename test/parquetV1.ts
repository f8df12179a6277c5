// Parquet with version-1 data pages, what pyarrow (and so the Hugging Face Hub) writes by default.
// hyparquet-writer writes version-2 pages only, and no version-1 writer can be installed here
// (neither pyarrow nor DuckDB is in Debian's archive), so this rewrites a hyparquet-writer file: each
// version-2 page's levels get their 4-byte lengths and go, before its values, into one compressed
// section under a version-1 header; dictionary pages are copied; the footer's offsets follow.
import { FileMetaData, parquetMetadata, snappyUncompress } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getSchemaPath } from 'hyparquet/src/schema.js';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';

const MAGIC = new TextEncoder().encode('PAR1');

/** Changes a version-1 page's uncompressed section (levels with their lengths, then values) of column `column`: damage, for tests. */
export type SectionEdit = (section: Uint8Array, column: string) => Uint8Array;

/** One column chunk of `file` written to `out` with version-1 data pages; its metadata updated. */
function rewriteChunk(file: Uint8Array, meta: FileMetaData, chunk: FileMetaData['row_groups'][number]['columns'][number], out: ByteWriter, edit?: SectionEdit): void {
  const m = chunk.meta_data!;
  const path = getSchemaPath(meta.schema, m.path_in_schema);
  const levels = [getMaxRepetitionLevel(path), getMaxDefinitionLevel(path)];
  const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
  const bytes = file.subarray(start, start + Number(m.total_compressed_size));
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  const chunkStart = out.offset;
  let uncompressed = 0;
  m.dictionary_page_offset = undefined;
  m.data_page_offset = -1n;
  while (reader.offset < bytes.byteLength) {
    const pageStart = reader.offset;
    const h = parquetHeader(reader);
    const body = bytes.subarray(reader.offset, reader.offset + h.compressed_page_size);
    reader.offset += h.compressed_page_size;
    if (h.type !== 'DATA_PAGE_V2') {
      m.dictionary_page_offset = BigInt(out.offset);
      uncompressed += h.uncompressed_page_size + (reader.offset - pageStart - h.compressed_page_size);
      out.appendBytes(bytes.subarray(pageStart, reader.offset));
      continue;
    }
    if (m.data_page_offset < 0n) m.data_page_offset = BigInt(out.offset);
    const v2 = h.data_page_header_v2!;
    const levelBytes = v2.repetition_levels_byte_length + v2.definition_levels_byte_length;
    let values = body.subarray(levelBytes);
    if (v2.is_compressed !== false && m.codec === 'SNAPPY' && values.length) {
      const raw = new Uint8Array(h.uncompressed_page_size - levelBytes);
      snappyUncompress(values, raw);
      values = raw;
    }
    const section = new ByteWriter();
    const streams = [body.subarray(0, v2.repetition_levels_byte_length), body.subarray(v2.repetition_levels_byte_length, levelBytes)];
    streams.forEach((s, i) => {
      if (!levels[i]) return;
      section.appendUint32(s.length);
      section.appendBytes(s);
    });
    section.appendBytes(values);
    const raw = edit ? edit(section.getBytes(), m.path_in_schema.join('.')) : section.getBytes();
    const packed = m.codec === 'SNAPPY' ? snappyCompress(raw) : raw;
    const headerStart = out.offset;
    writePageHeader(out, {
      type: 'DATA_PAGE',
      uncompressed_page_size: raw.length,
      compressed_page_size: packed.length,
      data_page_header: { num_values: v2.num_values, encoding: v2.encoding, definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
    });
    uncompressed += out.offset - headerStart + raw.length;
    out.appendBytes(packed);
  }
  m.total_compressed_size = BigInt(out.offset - chunkStart);
  m.total_uncompressed_size = BigInt(uncompressed);
  m.encoding_stats = undefined;
  m.statistics = undefined;
  m.size_statistics = undefined;
  chunk.file_offset = BigInt(chunkStart);
  chunk.offset_index_offset = chunk.column_index_offset = undefined;
  chunk.offset_index_length = chunk.column_index_length = undefined;
}

/** `file` (a Parquet file with version-2 data pages) with version-1 data pages, each section changed by `edit` where given. */
export function toVersion1Pages(file: Uint8Array, edit?: SectionEdit): Uint8Array {
  const meta = parquetMetadata(file.slice().buffer);
  const out = new ByteWriter();
  out.appendBytes(MAGIC);
  for (const group of meta.row_groups) {
    const groupStart = out.offset;
    for (const chunk of group.columns) rewriteChunk(file, meta, chunk, out, edit);
    group.file_offset = BigInt(groupStart);
    group.total_compressed_size = BigInt(out.offset - groupStart);
  }
  const footer = out.offset;
  writeMetadata(out, meta);
  out.appendUint32(out.offset - footer);
  out.appendBytes(MAGIC);
  return out.getBytes();
}
