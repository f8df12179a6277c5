/**
 * The feature cache file format. A cache entry is only a speed-up, so any doubt about one
 * (truncated, overwritten, from an older version) makes it a miss, never a wrong number:
 *
 *   "PSFC0002" | u32 header length | header JSON | spaces to a multiple of 4 | float32 payload
 *
 * The header records the payload's byte length and SHA-256, and its shape (n, dim, layers,
 * poolings, cosine) is checked against that length before anything is allocated.
 */
import * as crypto from 'node:crypto';
import { ProbeScaleError } from '../errors';
import { POOLINGS, type Pooling } from '../onnx/edit';

/** Pooled features of n examples at each hidden state (what the extractor computes and the cache stores). */
export interface LayerFeatures {
  n: number;
  dim: number;
  /** Hidden-state index of each entry (0 = embeddings, L = final). */
  layers: number[];
  /** Per layer, n×dim row-major. */
  pooled: Partial<Record<Pooling, Float32Array[]>>;
  /** Per l = 1..L: per-example masked mean cos(h_{l-1}, h_l); empty for pruned graphs. */
  cosine: Float32Array[];
}

const MAGIC = Buffer.from('PSFC0002', 'latin1');
const MAX_HEADER = 1 << 20;

/** A cache entry that cannot be trusted; the caller re-extracts. */
export class CacheEntryError extends ProbeScaleError {
  constructor(message: string) {
    super('bad-cache-entry', message);
  }
}

interface Header {
  n: number;
  dim: number;
  layers: number[];
  poolings: Pooling[];
  cosine: number;
  bytes: number;
  sha256: string;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function checkHeader(h: unknown): Header {
  const x = h as Partial<Header> | null;
  const ok =
    typeof x === 'object' &&
    x !== null &&
    isCount(x.n) &&
    isCount(x.dim) &&
    isCount(x.cosine) &&
    isCount(x.bytes) &&
    typeof x.sha256 === 'string' &&
    Array.isArray(x.layers) &&
    x.layers.every(isCount) &&
    Array.isArray(x.poolings) &&
    x.poolings.every((p) => POOLINGS.includes(p));
  if (!ok) throw new CacheEntryError(`header ${JSON.stringify(h).slice(0, 200)} is malformed`);
  return x as Header;
}

export function encodeFeatures(f: LayerFeatures): Buffer {
  const poolings = Object.keys(f.pooled) as Pooling[];
  const arrays = [...poolings.flatMap((p) => f.pooled[p]!), ...f.cosine];
  const payload = Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  const sha256 = crypto.createHash('sha256').update(payload).digest('hex');
  const json = Buffer.from(JSON.stringify({ n: f.n, dim: f.dim, layers: f.layers, poolings, cosine: f.cosine.length, bytes: payload.length, sha256 }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const pad = Buffer.alloc((4 - ((MAGIC.length + 4 + json.length) % 4)) % 4, 0x20);
  return Buffer.concat([MAGIC, len, json, pad, payload]);
}

/** Reads an entry written by `encodeFeatures`; throws CacheEntryError naming what is wrong. */
export function decodeFeatures(buf: Buffer): LayerFeatures {
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new CacheEntryError('not a ProbeScale feature cache entry of this version');
  const hlen = buf.readUInt32LE(MAGIC.length);
  const hstart = MAGIC.length + 4;
  if (hlen > MAX_HEADER || hstart + hlen > buf.length) throw new CacheEntryError(`header length ${hlen} exceeds the file (${buf.length} bytes)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.subarray(hstart, hstart + hlen).toString('utf8'));
  } catch (e) {
    throw new CacheEntryError(`header is not JSON (${(e as Error).message})`);
  }
  const h = checkHeader(parsed);
  const start = hstart + hlen + ((4 - ((hstart + hlen) % 4)) % 4);
  const floats = h.poolings.length * h.layers.length * h.n * h.dim + h.cosine * h.n;
  if (h.bytes !== 4 * floats) throw new CacheEntryError(`header declares ${h.bytes} bytes but its shape needs ${4 * floats}`);
  if (buf.length - start !== h.bytes) throw new CacheEntryError(`payload is ${buf.length - start} bytes, header declares ${h.bytes} (truncated or overwritten)`);
  const payload = buf.subarray(start);
  if (crypto.createHash('sha256').update(payload).digest('hex') !== h.sha256) throw new CacheEntryError('payload checksum does not match its header');
  let off = 0;
  const take = (len: number) => {
    const a = new Float32Array(len);
    Buffer.from(a.buffer).set(payload.subarray(off, off + 4 * len));
    off += 4 * len;
    return a;
  };
  const pooled: Partial<Record<Pooling, Float32Array[]>> = {};
  for (const p of h.poolings) pooled[p] = h.layers.map(() => take(h.n * h.dim));
  const cosine = Array.from({ length: h.cosine }, () => take(h.n));
  return { n: h.n, dim: h.dim, layers: h.layers, pooled, cosine };
}
