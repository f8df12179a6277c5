/**
 * Mutation fuzzing of the readers that take bytes from users' disks: the ONNX graph reader, the
 * safetensors header reader, the feature-cache decoder, and task files in Parquet and Arrow (read
 * as a task folder is, through loadTask). Seeded, so a failure reproduces. Used by
 * test/unit/core/fuzz.test.ts (a few thousand cases) and scripts/fuzz.mjs (as many as asked for).
 * Every input must either be accepted or refused with a ProbeScaleError, quickly.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProbeScaleError } from '../src/core/errors';
import { encodeFeatures, decodeFeatures } from '../src/core/extract/featureCache';
import { readSafetensorsHeader } from '../src/core/model/safetensors';
import { findBlocks } from '../src/core/onnx/blocks';
import { checkValuesDefined } from '../src/core/onnx/integrity';
import { OnnxModel } from '../src/core/onnx/model';
import { writePrunedOnnx } from '../src/core/prune/surgery';
import { BufferSource, WireType, parseFields } from '../src/core/onnx/wire';
import { Rng } from '../src/core/util/rng';
import { loadTask } from '../src/core/data/dataset';
import { readPytorchCheckpoint } from '../src/core/model/pytorchCheckpoint';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { toVersion1Pages } from './parquetV1';
import { Table, tableToIPC, vectorFromArray, Utf8, Int64, Schema, RecordBatch } from 'apache-arrow';

export interface FuzzTarget {
  name: string;
  seed: Buffer;
  /** Offsets where mutations matter most (field tags, headers); mutations pick near one half the time. */
  hotspots: number[];
  /** Reads the bytes as the product would; throws (or rejects) on refusal. */
  read(bytes: Buffer): void | Promise<void>;
  /** Its own mutations (structure-aware ones, test/jsonFuzz.ts), in place of byte mutations of `seed`. */
  mutate?(rng: Rng): { what: string; bytes: Buffer };
}

export interface FuzzFinding {
  target: string;
  iteration: number;
  mutation: string;
  error: string;
}

export interface FuzzSummary {
  target: string;
  iterations: number;
  accepted: number;
  refused: number;
  crashes: FuzzFinding[];
  slowestMs: number;
}

/** Offsets of every field tag in the first `depth` message levels (raw weight payloads skipped). */
function fieldOffsets(buf: Buffer, depth: number): number[] {
  const src = new BufferSource(buf);
  const out: number[] = [];
  const walk = (start: number, end: number, d: number) => {
    let fields;
    try {
      fields = parseFields(src, start, end);
    } catch {
      return;
    }
    for (const f of fields) {
      out.push(f.start, f.valStart);
      if (d > 1 && f.wt === WireType.Len && f.valEnd - f.valStart < 4096) walk(f.valStart, f.valEnd, d - 1);
      else if (d > 1 && f.wt === WireType.Len && f.num === 7) walk(f.valStart, f.valEnd, d - 1); // the graph
    }
  };
  walk(0, buf.length, depth);
  return out;
}

/** Every byte of the model-level fields other than the graph (opsets, producer, metadata such as the block record). */
function smallTopLevelBytes(buf: Buffer): number[] {
  const out: number[] = [];
  for (const f of parseFields(new BufferSource(buf), 0, buf.length)) if (f.num !== 7) for (let i = f.start; i < f.end; i++) out.push(i);
  return out;
}

export function onnxTarget(file: string, name = 'onnx'): FuzzTarget {
  const seed = fs.readFileSync(file);
  return {
    name,
    seed,
    hotspots: [...fieldOffsets(seed, 4), ...smallTopLevelBytes(seed)],
    read(bytes) {
      const m = OnnxModel.fromBuffer(bytes, 'fuzzed.onnx');
      checkValuesDefined(m);
      findBlocks(m, 'fuzzed.onnx');
    },
  };
}

/** A small valid safetensors file made from the fixture's smallest tensors (keeps each case cheap to write). */
export function safetensorsTarget(file: string, scratchDir: string): FuzzTarget {
  const h = readSafetensorsHeader(file);
  const src = fs.readFileSync(file);
  const small = h.tensors.filter((t) => t.end - t.begin <= 512).slice(0, 12);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Buffer[] = [];
  let off = 0;
  for (const t of small) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.end - t.begin] };
    parts.push(src.subarray(h.dataOffset + t.begin, h.dataOffset + t.end));
    off += t.end - t.begin;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const seed = Buffer.concat([len, json, ...parts]);
  const hotspots = Array.from({ length: 8 + json.length }, (_, i) => i);
  return fileTarget('safetensors', seed, hotspots, path.join(scratchDir, 'fuzzed.safetensors'), (f) => void readSafetensorsHeader(f));
}

/** A target whose reader takes a file: each case is written to `scratch` first. */
function fileTarget(name: string, seed: Buffer, hotspots: number[], scratch: string, read: (file: string) => void): FuzzTarget {
  return {
    name,
    seed,
    hotspots,
    read(bytes) {
      fs.writeFileSync(scratch, bytes);
      read(scratch);
    },
  };
}

/**
 * A PyTorch checkpoint torch.save wrote (the smaller shard of the sharded tiny-bert fixture): its
 * pickle (data.pkl) and its zip directory are the hotspots, read by pytorchCheckpoint.ts.
 */
export function pytorchTarget(file: string, scratchDir: string, name = 'pytorch-checkpoint'): FuzzTarget {
  const seed = fs.readFileSync(file);
  const zip = seed.readUInt32LE(0) === 0x04034b50;
  // A zip: its pickle (data.pkl) and its directory. The format before PyTorch 1.6: the pickles at its start and the first storage counts.
  const pickleEnd = zip ? seed.indexOf(Buffer.from('PK\x03\x04', 'latin1'), 4) : Math.min(seed.length, 4096);
  const directory = zip ? seed.lastIndexOf(Buffer.from('PK\x01\x02', 'latin1')) : seed.length;
  const hotspots = [...Array.from({ length: pickleEnd }, (_, i) => i), ...Array.from({ length: seed.length - directory }, (_, i) => directory + i)];
  return fileTarget(name, seed, hotspots, path.join(scratchDir, `${name}.bin`), (f) => void readPytorchCheckpoint(f, scratchDir));
}

export function featureCacheTarget(): FuzzTarget {
  const f32 = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(i * k));
  const seed = encodeFeatures({ n: 5, dim: 8, layers: [0, 1, 2], pooled: { mean: [f32(40, 1), f32(40, 2), f32(40, 3)] }, cosine: [f32(5, 4), f32(5, 5)] });
  const headerEnd = seed.indexOf('}') + 1;
  return { name: 'feature-cache', seed, hotspots: Array.from({ length: headerEnd }, (_, i) => i), read: (b) => void decodeFeatures(b) };
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x22, 0x2d, 0x30, 0x39, 0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x2c];

/** One mutation of `seed`: a description and the mutated bytes (a fresh buffer; the seed is untouched). */
export function mutate(t: FuzzTarget, rng: Rng): { what: string; bytes: Buffer } {
  const n = t.seed.length;
  const pos = () => (rng.next() < 0.5 && t.hotspots.length ? Math.min(n - 1, t.hotspots[rng.int(t.hotspots.length)] + rng.int(4)) : rng.int(n));
  const kind = rng.int(6);
  if (kind === 0) {
    const p = rng.int(n);
    return { what: `truncate at ${p}`, bytes: t.seed.subarray(0, p) };
  }
  const b = Buffer.from(t.seed);
  if (kind === 1) {
    const p = pos();
    const v = INTERESTING[rng.int(INTERESTING.length)];
    b[p] = v;
    return { what: `byte ${p} := ${v}`, bytes: b };
  }
  if (kind === 2) {
    const p = pos();
    const bit = rng.int(8);
    b[p] ^= 1 << bit;
    return { what: `flip bit ${bit} of byte ${p}`, bytes: b };
  }
  if (kind === 3) {
    const p = pos();
    const k = 1 + rng.int(9);
    for (let i = p; i < Math.min(n, p + k); i++) b[i] = 0xff;
    return { what: `${k} bytes 0xff at ${p}`, bytes: b };
  }
  if (kind === 4) {
    const p = pos();
    const ins = Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)));
    return { what: `insert ${ins.toString('hex')} at ${p}`, bytes: Buffer.concat([b.subarray(0, p), ins, b.subarray(p)]) };
  }
  const p = pos();
  const q = Math.min(n, p + 1 + rng.int(64));
  return { what: `delete [${p}, ${q})`, bytes: Buffer.concat([b.subarray(0, p), b.subarray(q)]) };
}

/** JavaScript's own words for a failure inside a decoder, which no message to a user should carry. */
export const INTERNAL_WORDS = /Cannot read properties|Cannot destructure|is not a function|argument must be|is not iterable|Invalid (typed )?array length|outside the bounds|not safe to convert/;

/**
 * Damages each byte of `t`'s seed in turn (to 0xff, and with its top bit flipped) and reads it:
 * the refusals whose message carries JavaScript's own words, and how many were refused.
 */
export async function damageEachByte(t: FuzzTarget): Promise<{ refused: number; leaks: string[] }> {
  let refused = 0;
  const leaks: string[] = [];
  for (let at = 0; at < t.seed.length; at++) {
    for (const value of new Set([0xff, t.seed[at] ^ 0x80])) {
      const bytes = Buffer.from(t.seed);
      bytes[at] = value;
      try {
        await t.read(bytes);
      } catch (e) {
        refused++;
        if (INTERNAL_WORDS.test((e as Error).message)) leaks.push(`byte ${at} := ${value}: ${(e as Error).message}`);
      }
    }
  }
  return { refused, leaks };
}

/** Runs `iterations` seeded mutations of `t` (its reader synchronous or not); a finding is any failure that is not a ProbeScaleError. */
export async function fuzz(t: FuzzTarget, iterations: number, seed: number): Promise<FuzzSummary> {
  const rng = new Rng(seed);
  const s: FuzzSummary = { target: t.name, iterations, accepted: 0, refused: 0, crashes: [], slowestMs: 0 };
  for (let i = 0; i < iterations; i++) {
    const { what, bytes } = t.mutate ? t.mutate(rng) : mutate(t, rng);
    const t0 = performance.now();
    try {
      await t.read(bytes);
      s.accepted++;
    } catch (e) {
      record(s, e, i, what);
    }
    s.slowestMs = Math.max(s.slowestMs, performance.now() - t0);
  }
  return s;
}

function record(s: FuzzSummary, e: unknown, iteration: number, mutation: string): void {
  if (e instanceof ProbeScaleError) s.refused++;
  else s.crashes.push({ target: s.target, iteration, mutation, error: `${(e as Error)?.name}: ${(e as Error)?.message}`.slice(0, 300) });
}

/** A task folder whose train split is the fuzzed file (`train.<ext>`) beside a valid test.jsonl. */
function taskFileTarget(name: string, ext: string, seed: Buffer, scratchDir: string): FuzzTarget {
  const dir = fs.mkdtempSync(path.join(scratchDir, `${name}-`));
  const rows = ['a b c', 'd e f', 'g h i', 'j k l'].map((text, i) => JSON.stringify({ text, label: i % 2 ? 'one' : 'zero' }));
  fs.writeFileSync(path.join(dir, 'test.jsonl'), rows.join('\n') + '\n');
  const file = path.join(dir, `train.${ext}`);
  return {
    name,
    seed,
    // The footer (Parquet's metadata and length) and the header (Arrow's schema) hold the lengths and offsets.
    hotspots: [...Array.from({ length: Math.min(512, seed.length) }, (_, i) => i), ...Array.from({ length: Math.min(1024, seed.length) }, (_, i) => seed.length - 1 - i)],
    async read(bytes) {
      fs.writeFileSync(file, bytes);
      await loadTask(name, dir);
    },
  };
}

const TRAIN_TEXTS = Array.from({ length: 24 }, (_, i) => `training text ${i} ${'word '.repeat(i % 4)}`.trim());
const TRAIN_LABELS = Array.from({ length: 24 }, (_, i) => BigInt(i % 2));
const HF_FEATURES = JSON.stringify({ info: { features: { text: { dtype: 'string', _type: 'Value' }, label: { names: ['zero', 'one'], _type: 'ClassLabel' } } } });

/** A train split of 24 rows in Parquet as the Hub writes it (a ClassLabel in its metadata), two row groups. */
export function parquetTarget(scratchDir: string): FuzzTarget {
  const bytes = parquetWriteBuffer({ columnData: [{ name: 'text', data: TRAIN_TEXTS, type: 'STRING' }, { name: 'label', data: TRAIN_LABELS, type: 'INT64' }], kvMetadata: [{ key: 'huggingface', value: HF_FEATURES }], codec: 'SNAPPY', rowGroupSize: 12 });
  return taskFileTarget('parquet', 'parquet', Buffer.from(new Uint8Array(bytes)), scratchDir);
}

/**
 * The same split with version-1 data pages, as pyarrow writes it, its texts dictionary-encoded too.
 * Uncompressed, the mutations land in the definition levels and dictionary indices themselves (in
 * a compressed file most of them break the compression instead); the snappy one is pyarrow's default.
 */
export function parquetV1Target(scratchDir: string, codec: 'UNCOMPRESSED' | 'SNAPPY'): FuzzTarget {
  const v2 = parquetWriteBuffer({ columnData: [{ name: 'text', data: TRAIN_TEXTS, type: 'STRING', encoding: 'RLE_DICTIONARY' }, { name: 'label', data: TRAIN_LABELS, type: 'INT64' }], kvMetadata: [{ key: 'huggingface', value: HF_FEATURES }], codec, rowGroupSize: 12 });
  return taskFileTarget(codec === 'SNAPPY' ? 'parquet-v1' : 'parquet-v1-plain', 'parquet', Buffer.from(toVersion1Pages(new Uint8Array(v2))), scratchDir);
}

/** The same split as an Arrow IPC stream, as datasets caches it, in two record batches. */
export function arrowTarget(scratchDir: string): FuzzTarget {
  const half = (k: number) => new Table({ text: vectorFromArray(TRAIN_TEXTS.slice(12 * k, 12 * k + 12), new Utf8()), label: vectorFromArray(TRAIN_LABELS.slice(12 * k, 12 * k + 12), new Int64()) });
  const schema = new Schema(half(0).schema.fields, new Map([['huggingface', HF_FEATURES]]));
  const batches = [0, 1].flatMap((k) => half(k).batches.map((b) => new RecordBatch(schema, b.data)));
  return taskFileTarget('arrow', 'arrow', Buffer.from(tableToIPC(new Table(batches), 'stream')), scratchDir);
}

/** The byte-reader targets over the repository's fixtures. */
export function allTargets(repoRoot: string): FuzzTarget[] {
  const shm = '/dev/shm';
  const scratch = fs.mkdtempSync(path.join(fs.existsSync(shm) ? shm : os.tmpdir(), 'ps-fuzz-'));
  const fx = (...p: string[]) => path.join(repoRoot, 'test', 'fixtures', ...p);
  // A pruned graph carries its block record as JSON metadata, a second parser to reach.
  const pruned = path.join(scratch, 'pruned.onnx');
  writePrunedOnnx(fx('tiny-bert', 'onnx', 'model.onnx'), pruned, [1, 3]);
  return [onnxTarget(fx('tiny-bert', 'onnx', 'model.onnx')), onnxTarget(pruned, 'onnx-pruned'), safetensorsTarget(fx('tiny-bert', 'model.safetensors'), scratch), pytorchTarget(fx('pytorch', 'tiny-bert-sharded', 'pytorch_model-00002-of-00002.bin'), scratch), pytorchTarget(fx('pytorch', 'hostile', 'legacy.bin'), scratch, 'pytorch-checkpoint-legacy'), featureCacheTarget()];
}

/** The same split as JSON lines, CSV and TSV (quotes, commas and a tab inside a text among them). */
function textTargets(scratchDir: string): FuzzTarget[] {
  const label = (i: number) => (i % 2 ? 'one' : 'zero');
  const texts = TRAIN_TEXTS.map((t, i) => (i % 5 === 0 ? `${t}, "quoted"\ttabbed` : t));
  const quote = (t: string) => `"${t.replace(/"/g, '""')}"`;
  const jsonl = texts.map((text, i) => JSON.stringify({ text, label: label(i) })).join('\n') + '\n';
  const csv = ['text,label', ...texts.map((t, i) => `${quote(t)},${label(i)}`)].join('\n') + '\n';
  const tsv = ['text\tlabel', ...texts.map((t, i) => `${t.replace(/\t/g, ' ')}\t${label(i)}`)].join('\n') + '\n';
  return [taskFileTarget('jsonl', 'jsonl', Buffer.from(jsonl), scratchDir), taskFileTarget('csv', 'csv', Buffer.from(csv), scratchDir), taskFileTarget('tsv', 'tsv', Buffer.from(tsv), scratchDir)];
}

/** The task-file targets (read through loadTask), writing their cases under `scratchDir` (the caller's to remove). */
export function taskFileTargets(scratchDir: string): FuzzTarget[] {
  return [parquetTarget(scratchDir), parquetV1Target(scratchDir, 'UNCOMPRESSED'), parquetV1Target(scratchDir, 'SNAPPY'), arrowTarget(scratchDir), ...textTargets(scratchDir)];
}
