// Types for hyparquet-writer's modules imported by path (test/parquetV1.ts); the package types its
// subpaths only for `node16`/`bundler` module resolution.
declare module 'hyparquet-writer/src/metadata.js' {
  import type { FileMetaData } from 'hyparquet';
  import type { ByteWriter } from 'hyparquet-writer';
  export function writeMetadata(writer: ByteWriter, metadata: FileMetaData): void;
}
declare module 'hyparquet-writer/src/datapage.js' {
  import type { PageHeader } from 'hyparquet';
  import type { ByteWriter } from 'hyparquet-writer';
  export function writePageHeader(writer: ByteWriter, header: PageHeader): void;
}
declare module 'hyparquet-writer/src/snappy.js' {
  export function snappyCompress(input: Uint8Array): Uint8Array;
}
