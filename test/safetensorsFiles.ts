/** Safetensors files read and written for tests, independently of the module under test. */
import * as fs from 'node:fs';

/** Raw bytes of every tensor, read independently of the module under test. */
export interface RawEntry {
  data_offsets: [number, number];
  dtype: string;
  shape: number[];
}

export function tensorBytes(file: string): { header: Record<string, RawEntry>; bytes: Map<string, Buffer>; headerLen: number } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const bytes = new Map<string, Buffer>();
  for (const [name, t] of Object.entries<RawEntry>(header)) {
    if (name === '__metadata__') continue;
    bytes.set(name, buf.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]));
  }
  return { header, bytes, headerLen: n };
}

export function writeSafetensors(file: string, tensors: [string, string, number[], Buffer][], metadata?: Record<string, string>): void {
  const json: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const [name, dtype, shape, data] of tensors) {
    json[name] = { dtype, shape, data_offsets: [off, off + data.length] };
    off += data.length;
  }
  const h = Buffer.from(JSON.stringify(json));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, h, ...tensors.map((t) => t[3])]));
}
