// The first bytes of a snappy-compressed Parquet page, without decompressing the rest. The page
// checks (parquetPages.ts) need only a version-1 page's levels, at its start, where its values are
// plain; decompressing the whole page for them, and again in hyparquet, made pyarrow's files a third
// slower to read (RESULTS §6, twenty-fifth session). hyparquet's decoder fills a whole page, so this
// is our own, after the format's description (google/snappy, format_description.txt): a varint of
// the uncompressed length, then literals and back-references, each checked against both buffers.

/** Decompresses `input` progressively into a buffer of `total` bytes; throws an Error on damage. */
export class SnappyPrefix {
  private readonly out: Uint8Array;
  private pos = 0;
  private written = 0;

  constructor(
    private readonly input: Uint8Array,
    total: number,
  ) {
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= input.byteLength || shift > 28) throw new Error('snappy data without its length');
      const b = input[this.pos++];
      length += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    if (length !== total) throw new Error(`snappy data of ${length} bytes where the page header says ${total}`);
    this.out = new Uint8Array(total);
  }

  /** The first `n` bytes (all of them where fewer), decompressing as far as needed. */
  bytes(n: number): Uint8Array {
    const want = Math.min(n, this.out.byteLength);
    while (this.written < want) this.element();
    return this.out.subarray(0, want);
  }

  /** Little-endian integer of `size` bytes at the read position. */
  private int(size: number): number {
    if (this.pos + size > this.input.byteLength) throw new Error('snappy data cut short');
    let v = 0;
    for (let i = 0; i < size; i++) v += this.input[this.pos++] * 2 ** (8 * i);
    return v;
  }

  /** Decodes one literal or copy. */
  private element(): void {
    const tag = this.int(1);
    const kind = tag & 3;
    let length: number;
    if (kind === 0) {
      length = (tag >>> 2) + 1;
      if (length > 60) length = this.int(length - 60) + 1;
      if (this.pos + length > this.input.byteLength) throw new Error('a snappy literal past the end of its data');
      this.put(length);
      this.out.set(this.input.subarray(this.pos, this.pos + length), this.written);
      this.pos += length;
    } else {
      length = kind === 1 ? ((tag >>> 2) & 7) + 4 : (tag >>> 2) + 1;
      const offset = kind === 1 ? ((tag >>> 5) << 8) | this.int(1) : this.int(kind === 2 ? 2 : 4);
      if (offset === 0 || offset > this.written) throw new Error(`a snappy copy from ${offset} bytes back, ${this.written} written`);
      this.put(length);
      // Byte by byte: a copy may overlap what it writes (a run).
      for (let i = 0; i < length; i++) this.out[this.written + i] = this.out[this.written - offset + i];
    }
    this.written += length;
  }

  /** Refuses `length` more bytes where the page has no room for them. */
  private put(length: number): void {
    if (this.written + length > this.out.byteLength) throw new Error(`snappy data longer than the page's ${this.out.byteLength} bytes`);
  }
}
