// Types for modules imported by path: the pure-JavaScript decoders of hyparquet-compressors, imported one by one
// (src/core/data/parquet.ts says why); the package types only its index.
declare module 'hyparquet-compressors/src/gzip.js' {
  export function gunzip(input: Uint8Array, output?: Uint8Array): Uint8Array;
}
declare module 'hyparquet-compressors/src/brotli.js' {
  export function decompressBrotli(input: Uint8Array, outputLength: number): Uint8Array;
}
declare module 'hyparquet-compressors/src/lz4.js' {
  export function decompressLz4(input: Uint8Array, outputLength: number): Uint8Array;
  export function decompressLz4Raw(input: Uint8Array, outputLength: number): Uint8Array;
}
// hyparquet's page-header reader (src/core/data/parquetPages.ts checks headers with it); the package
// types its subpaths only for `node16`/`bundler` module resolution.
declare module 'hyparquet/src/column.js' {
  import type { PageHeader } from 'hyparquet';
  export function parquetHeader(reader: { view: DataView; offset: number }): PageHeader;
}
declare module 'hyparquet/src/schema.js' {
  import type { SchemaElement, SchemaTree } from 'hyparquet';
  export function getSchemaPath(schema: SchemaElement[], name: string[]): SchemaTree[];
  export function getMaxDefinitionLevel(schemaPath: SchemaTree[]): number;
  export function getMaxRepetitionLevel(schemaPath: SchemaTree[]): number;
}
declare module 'hyparquet/src/datapage.js' {
  import type { CompressionCodec, Compressors } from 'hyparquet';
  export function decompressPage(compressedBytes: Uint8Array, uncompressedPageSize: number, codec: CompressionCodec, compressors: Compressors | undefined): Uint8Array;
}
