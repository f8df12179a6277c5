/**
 * Protocol-buffer wire format, read and written field by field.
 *
 * Why hand-written: ProbeScale edits ONNX graphs whose initializers can be gigabytes. The
 * generated decoders on npm (protobufjs, onnx-proto) materialise every message, drop fields
 * they do not know, and copy `raw_data`. Here a message is a list of fields that point into
 * the source (a byte range), so untouched fields, unknown ones included, are written back
 * verbatim and weight bytes are streamed from the source file, never held in memory.
 */
import * as fs from 'node:fs';
import { OnnxParseError } from '../errors';

export const enum WireType {
  Varint = 0,
  I64 = 1,
  Len = 2,
  I32 = 5,
}

/** A random-access byte source: a whole buffer, or a file read on demand. */
export interface ByteSource {
  readonly size: number;
  /** Bytes [pos, pos+len). May return a view; callers must not mutate it. */
  read(pos: number, len: number): Buffer;
  /** Where the bytes come from, for error messages. */
  readonly label: string;
  /** File path when the source is a file (lets writers stream ranges without loading them). */
  readonly path?: string;
}

export class BufferSource implements ByteSource {
  constructor(
    private readonly buf: Buffer,
    readonly label = 'buffer',
  ) {}
  get size(): number {
    return this.buf.length;
  }
  read(pos: number, len: number): Buffer {
    if (pos < 0 || pos + len > this.buf.length) throw new OnnxParseError(`${this.label}: read past the end (offset ${pos}, length ${len}, size ${this.buf.length}); the file is truncated or not an ONNX model.`);
    return this.buf.subarray(pos, pos + len);
  }
}

/**
 * Reads a file lazily through a small window; weight payloads are skipped by offset and
 * never read while parsing.
 */
export class FileSource implements ByteSource {
  readonly size: number;
  private readonly fd: number;
  private win: Buffer = Buffer.alloc(0);
  private winPos = 0;
  /** Bytes read from disk so far (tests check that weights are skipped, not read). */
  bytesRead = 0;
  private static readonly WINDOW = 1 << 12;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }
  get label(): string {
    return this.path;
  }
  read(pos: number, len: number): Buffer {
    if (pos < 0 || pos + len > this.size) throw new OnnxParseError(`${this.path}: read past the end (offset ${pos}, length ${len}, size ${this.size}); the file is truncated or not an ONNX model.`);
    if (pos >= this.winPos && pos + len <= this.winPos + this.win.length) return this.win.subarray(pos - this.winPos, pos - this.winPos + len);
    // Small windows: skipping over a large raw_data payload then costs no I/O at all.
    const n = Math.max(len, Math.min(FileSource.WINDOW, this.size - pos));
    const b = Buffer.allocUnsafe(n);
    fs.readSync(this.fd, b, 0, n, pos);
    this.bytesRead += n;
    if (n <= FileSource.WINDOW) {
      this.win = b;
      this.winPos = pos;
    }
    return b.subarray(0, len);
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

/** One field of a message as it lies in the source. */
export interface Field {
  num: number;
  wt: WireType;
  /** Offset of the tag (start of the whole field). */
  start: number;
  /** Offset just past the field. */
  end: number;
  /** For Len fields: the payload range; for others equal to the value range. */
  valStart: number;
  valEnd: number;
  /** Varint value (Number: ONNX varints we interpret are far below 2^53; negatives come back via int64 helpers). */
  varint?: number;
}

function readVarintAt(src: ByteSource, pos: number, limit: number): { value: number; next: number; big?: bigint } {
  let result = 0;
  let mul = 1;
  let p = pos;
  const avail = Math.min(10, limit - pos);
  const bytes = src.read(pos, Math.max(0, avail));
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    p++;
    result += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) {
      if (i >= 7) {
        // Possibly a negative int64 (10 bytes) or a value beyond 2^53: decode exactly.
        let big = 0n;
        for (let j = i; j >= 0; j--) big = (big << 7n) | BigInt(bytes[j] & 0x7f);
        big = BigInt.asIntN(64, big);
        return { value: Number(big), next: p, big };
      }
      return { value: result, next: p };
    }
  }
  throw new OnnxParseError(`${src.label}: malformed varint at offset ${pos}; the file is not a valid protobuf (ONNX) model.`);
}

/** Parses the fields of the message in [start, end). Payloads are not read. */
export function parseFields(src: ByteSource, start: number, end: number): Field[] {
  const fields: Field[] = [];
  let pos = start;
  while (pos < end) {
    const tag = readVarintAt(src, pos, end);
    const num = Math.floor(tag.value / 8);
    const wt = (tag.value & 7) as WireType;
    if (num === 0) throw new OnnxParseError(`${src.label}: field number 0 at offset ${pos}; the file is not a valid ONNX model.`);
    let p = tag.next;
    switch (wt) {
      case WireType.Varint: {
        const v = readVarintAt(src, p, end);
        fields.push({ num, wt, start: pos, end: v.next, valStart: p, valEnd: v.next, varint: v.value });
        p = v.next;
        break;
      }
      case WireType.I64:
        fields.push({ num, wt, start: pos, end: p + 8, valStart: p, valEnd: p + 8 });
        p += 8;
        break;
      case WireType.I32:
        fields.push({ num, wt, start: pos, end: p + 4, valStart: p, valEnd: p + 4 });
        p += 4;
        break;
      case WireType.Len: {
        const l = readVarintAt(src, p, end);
        const vs = l.next;
        const ve = vs + l.value;
        if (ve > end) throw new OnnxParseError(`${src.label}: field ${num} at offset ${pos} claims ${l.value} bytes but its message ends at ${end}; the file is truncated or corrupt.`);
        fields.push({ num, wt, start: pos, end: ve, valStart: vs, valEnd: ve });
        p = ve;
        break;
      }
      default:
        throw new OnnxParseError(`${src.label}: unsupported wire type ${wt} at offset ${pos} (groups are not used by ONNX); the file is not a valid ONNX model.`);
    }
    pos = p;
  }
  if (pos !== end) throw new OnnxParseError(`${src.label}: message overruns its bounds at offset ${pos}.`);
  return fields;
}

export function fieldString(src: ByteSource, f: Field): string {
  return src.read(f.valStart, f.valEnd - f.valStart).toString('utf8');
}

export function fieldBytes(src: ByteSource, f: Field): Buffer {
  return src.read(f.valStart, f.valEnd - f.valStart);
}

/** Repeated int64 that may be packed (Len) or not (Varint). */
export function readInt64s(src: ByteSource, fields: Field[], num: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.num !== num) continue;
    if (f.wt === WireType.Varint) out.push(f.varint!);
    else if (f.wt === WireType.Len) {
      let p = f.valStart;
      while (p < f.valEnd) {
        const v = readVarintAt(src, p, f.valEnd);
        out.push(v.value);
        p = v.next;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing: a message is serialised as a list of chunks, each either fresh bytes or a range of
// the source. Ranges are copied by streaming, so weights never pass through a JS buffer whole.

export type Chunk = Buffer | { src: ByteSource; start: number; end: number };

export function chunkLength(c: Chunk): number {
  return Buffer.isBuffer(c) ? c.length : c.end - c.start;
}

export function encodeVarint(v: number | bigint): Buffer {
  let big = typeof v === 'bigint' ? v : BigInt(v);
  if (big < 0n) big = BigInt.asUintN(64, big);
  const bytes: number[] = [];
  do {
    let b = Number(big & 0x7fn);
    big >>= 7n;
    if (big !== 0n) b |= 0x80;
    bytes.push(b);
  } while (big !== 0n);
  return Buffer.from(bytes);
}

export function tag(num: number, wt: WireType): Buffer {
  return encodeVarint(num * 8 + wt);
}

/** Builds a message from fresh fields and kept source ranges. */
export class MessageWriter {
  readonly chunks: Chunk[] = [];
  private len = 0;

  get length(): number {
    return this.len;
  }
  private push(c: Chunk): void {
    if (chunkLength(c) === 0) return;
    this.chunks.push(c);
    this.len += chunkLength(c);
  }
  /** Copies a field exactly as it was in the source (unknown fields included). */
  raw(src: ByteSource, f: Field): this {
    this.push({ src, start: f.start, end: f.end });
    return this;
  }
  varint(num: number, v: number | bigint): this {
    this.push(tag(num, WireType.Varint));
    this.push(encodeVarint(v));
    return this;
  }
  string(num: number, s: string): this {
    return this.bytes(num, Buffer.from(s, 'utf8'));
  }
  bytes(num: number, b: Buffer): this {
    this.push(tag(num, WireType.Len));
    this.push(encodeVarint(b.length));
    this.push(b);
    return this;
  }
  float(num: number, v: number): this {
    this.push(tag(num, WireType.I32));
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
    return this;
  }
  /** Embeds a sub-message (its chunks are referenced, not copied). */
  message(num: number, m: MessageWriter): this {
    this.push(tag(num, WireType.Len));
    this.push(encodeVarint(m.length));
    for (const c of m.chunks) this.push(c);
    return this;
  }
  /** Embeds a Len field whose payload is a source range (e.g. a kept sub-message). */
  lenRange(num: number, src: ByteSource, start: number, end: number): this {
    this.push(tag(num, WireType.Len));
    this.push(encodeVarint(end - start));
    this.push({ src, start, end });
    return this;
  }
}

/** Writes chunks to a file, streaming source ranges through a reusable buffer. */
export function writeChunks(file: string, chunks: Chunk[]): number {
  const fd = fs.openSync(file, 'w');
  const inputs = new Map<string, number>();
  let total = 0;
  try {
    const scratch = Buffer.allocUnsafe(1 << 22);
    for (const c of chunks) {
      if (Buffer.isBuffer(c)) {
        fs.writeSync(fd, c);
        total += c.length;
        continue;
      }
      const path = c.src.path;
      let fdIn = path === undefined ? undefined : inputs.get(path);
      if (path !== undefined && fdIn === undefined) {
        fdIn = fs.openSync(path, 'r');
        inputs.set(path, fdIn);
      }
      for (let p = c.start; p < c.end; ) {
        const n = Math.min(scratch.length, c.end - p);
        if (fdIn !== undefined) {
          fs.readSync(fdIn, scratch, 0, n, p);
          fs.writeSync(fd, scratch, 0, n);
        } else {
          fs.writeSync(fd, c.src.read(p, n));
        }
        p += n;
      }
      total += c.end - c.start;
    }
  } finally {
    for (const f of inputs.values()) fs.closeSync(f);
    fs.closeSync(fd);
  }
  return total;
}

/** Concatenates chunks into one buffer (for small graphs, tests, and in-memory ORT sessions). */
export function chunksToBuffer(chunks: Chunk[]): Buffer {
  return Buffer.concat(chunks.map((c) => (Buffer.isBuffer(c) ? c : c.src.read(c.start, c.end - c.start))));
}
