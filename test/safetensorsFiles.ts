/** Safetensors files read and written for tests, independently of the module under test. */
import * as fs from 'node:fs';
import * as path from 'node:path';

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

/**
 * The fixture's weights rounded to values that float32, float16 and bfloat16 all hold exactly
 * (bfloat16 precision, tiny magnitudes flushed to 0), written as F32, F16 and BF16 files.
 */
export function roundedVariants(file: string, scratch: string): Record<'F32' | 'F16' | 'BF16', Buffer> {
  const { header, bytes } = tensorBytes(file);
  const out = { F32: [] as [string, string, number[], Buffer][], F16: [] as [string, string, number[], Buffer][], BF16: [] as [string, string, number[], Buffer][] };
  for (const [name, raw] of bytes) {
    const n = raw.length / 4;
    const f32 = Buffer.alloc(4 * n);
    const f16 = Buffer.alloc(2 * n);
    const bf16 = Buffer.alloc(2 * n);
    for (let i = 0; i < n; i++) {
      let bits = raw.readUInt32LE(4 * i) & 0xffff0000;
      const exp = (bits >>> 23) & 0xff;
      if (exp < 127 - 14) bits = 0;
      f32.writeUInt32LE(bits >>> 0, 4 * i);
      bf16.writeUInt16LE(bits >>> 16, 2 * i);
      f16.writeUInt16LE(bits === 0 ? 0 : ((bits >>> 16) & 0x8000) | ((((bits >>> 23) & 0xff) - 127 + 15) << 10) | ((bits >>> 13) & 0x3ff), 2 * i);
    }
    const shape = header[name].shape;
    out.F32.push([name, 'F32', shape, f32]);
    out.F16.push([name, 'F16', shape, f16]);
    out.BF16.push([name, 'BF16', shape, bf16]);
  }
  const write = (t: [string, string, number[], Buffer][]) => {
    const f = path.join(scratch, `variant-${process.hrtime.bigint()}.safetensors`);
    writeSafetensors(f, t);
    return fs.readFileSync(f);
  };
  return { F32: write(out.F32), F16: write(out.F16), BF16: write(out.BF16) };
}
