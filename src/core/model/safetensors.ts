/*
 * Safetensors is an 8-byte little-endian header length, a JSON header and a flat data buffer, so it is read and
 * written by hand here rather than through a dependency. Only the header is parsed; tensor bytes are streamed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prunedModernBertConfig } from './modernBert';
import { BadInputError, throwIfAborted, UnsupportedModelError } from '../errors';
import { layerCountKey } from './layerCount';
import { notAFile, orAdvice, readRange } from '../util/fileKind';
import { firstDuplicateKey } from '../util/jsonKeys';

/** Parsed header of a safetensors file. Offsets `begin`/`end` are relative to `dataOffset`. */
export interface SafetensorsHeader {
  /** Tensors in header order. */
  tensors: { name: string; dtype: string; shape: number[]; begin: number; end: number }[];
  metadata?: Record<string, string>;
  /** Absolute file offset of the data buffer: 8 + header length. */
  dataOffset: number;
}

/** Bits per element of every dtype the format defines (the reference implementation's `Dtype`, safetensors 0.6). */
const DTYPE_BITS: ReadonlyMap<string, number> = new Map([
  ['F4', 4], ['F6_E2M3', 6], ['F6_E3M2', 6],
  ['BOOL', 8], ['U8', 8], ['I8', 8], ['F8_E5M2', 8], ['F8_E4M3', 8], ['F8_E8M0', 8], ['F8_E4M3FNUZ', 8], ['F8_E5M2FNUZ', 8],
  ['I16', 16], ['U16', 16], ['F16', 16], ['BF16', 16], ['I32', 32], ['U32', 32], ['F32', 32],
  ['C64', 64], ['F64', 64], ['I64', 64], ['U64', 64],
]);
/** Bytes per element of `dtype` (whole-byte dtypes; sub-byte ones are refused where rows are cut). */
export function dtypeBytes(dtype: string): number {
  const bits = DTYPE_BITS.get(dtype);
  if (bits === undefined || bits % 8 !== 0) throw new BadInputError(`safetensors dtype ${dtype} does not hold whole bytes per element; its rows cannot be cut.`);
  return bits / 8;
}
/** The format caps headers at 100 MB; anything larger is a corrupt length. */
const MAX_HEADER = 100_000_000;
const COPY_CHUNK = 4 << 20;

/** Reads and validates the header of a safetensors file without reading tensor data. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const bad = notAFile(file);
  if (bad) throw new BadInputError(`${file} ${orAdvice(bad, "; put the model's safetensors weights there (download or copy them again)")}.`);
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = readHeaderBytes(file, fd, size);
    const json = parseHeaderJson(file, buf.toString('utf8'));
    const dataOffset = 8 + buf.length;
    const dataLen = size - dataOffset;
    const header: SafetensorsHeader = { tensors: [], dataOffset };
    for (const [name, v] of Object.entries(json)) {
      if (name === '__metadata__') header.metadata = checkMetadata(file, v);
      else header.tensors.push(tensorEntry(file, name, v, dataLen));
    }
    refuseBeyondData(file, header.tensors, dataLen);
    return header;
  } finally {
    fs.closeSync(fd);
  }
}

/** The header's bytes, after the 8-byte length that precedes them; `size` is the file's. */
function readHeaderBytes(file: string, fd: number, size: number): Buffer {
  const lenBuf = Buffer.alloc(8);
  if (fs.readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new BadInputError(`${file} is not a safetensors file: shorter than 8 bytes`);
  const len = lenBuf.readBigUInt64LE(0);
  if (len > BigInt(Math.min(MAX_HEADER, size - 8))) {
    throw new BadInputError(`${file} is not a safetensors file: header length ${len} exceeds the file (${size} bytes)`);
  }
  const n = Number(len);
  const buf = Buffer.alloc(n);
  if (fs.readSync(fd, buf, 0, n, 8) !== n) throw new BadInputError(`${file}: could not read its ${n}-byte header`);
  return buf;
}

/** The header text parsed: a JSON object without a name given twice. */
function parseHeaderJson(file: string, text: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BadInputError(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  refuseDuplicateKey(file, text, json);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BadInputError(`${file}: header is not a JSON object`);
  return json as Record<string, unknown>;
}

/** `__metadata__`, which the format makes a map of strings; a pruned copy carries it over, so a bad one would be written on. */
function checkMetadata(file: string, v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new BadInputError(`${file}: its __metadata__ is ${JSON.stringify(v).slice(0, 80)}, not an object of strings as the safetensors format requires; re-save the file (in Python, save_file(tensors, path, metadata={"format": "pt"})).`);
  }
  return v as Record<string, string>;
}

/** One tensor's header entry, checked: a dtype, a shape of sizes, offsets in order that span what the shape needs. */
function tensorEntry(file: string, name: string, v: unknown, dataLen: number): SafetensorsHeader['tensors'][number] {
  const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const offs = t?.data_offsets;
  if (
    typeof t?.dtype !== 'string' ||
    !Array.isArray(t.shape) ||
    !t.shape.every((d) => Number.isInteger(d) && d >= 0) ||
    !Array.isArray(offs) ||
    offs.length !== 2 ||
    !offs.every((o) => Number.isInteger(o)) ||
    offs[0] < 0 ||
    offs[1] < offs[0]
  ) {
    throw new BadInputError(`${file}: tensor '${name}' has a malformed entry ${JSON.stringify(v)} (data buffer is ${dataLen} bytes)`);
  }
  const shape = t.shape as number[];
  const bits = DTYPE_BITS.get(t.dtype);
  if (bits === undefined) {
    // No reader loads such a file (the reference implementation refuses the header), so a pruned copy of it would not load either.
    throw new BadInputError(
      `${file}: tensor '${name}' has dtype ${JSON.stringify(t.dtype.slice(0, 40))}, which the safetensors format does not define (it defines ${[...DTYPE_BITS.keys()].join(', ')}); the file is damaged or was written by another tool: save the weights again with safetensors (in Python, save_file or save_pretrained).`,
    );
  }
  if (shape.reduce((a, b) => a * b, 1) * bits !== (offs[1] - offs[0]) * 8) {
    throw new BadInputError(`${file}: tensor '${name}' (${t.dtype} [${shape.join(', ')}]) spans ${offs[1] - offs[0]} bytes, which does not match its shape`);
  }
  return { name, dtype: t.dtype, shape, begin: offs[0], end: offs[1] };
}

/**
 * Two entries under one name: JSON.parse would keep the last and drop the other unseen, so which
 * bytes a tensor reads would depend on the order a writer happened to use.
 */
function refuseDuplicateKey(file: string, text: string, parsed: unknown): void {
  const dup = firstDuplicateKey(text, parsed);
  if (!dup) return;
  const where = dup.at === '' ? `its header names '${dup.key}' twice` : `the header's entry '${dup.at}' gives "${dup.key}" twice`;
  throw new BadInputError(`${file}: ${where}; a header holds one entry per name, and which one is meant cannot be told. Download the file again or re-save it (in Python, safetensors' save_file).`);
}

/**
 * A tensor past the end of the data: a truncated file (the tensors tile the data from 0 without
 * gaps, as every writer lays them out, and only the end is missing) or a malformed entry.
 */
function refuseBeyondData(file: string, tensors: { name: string; begin: number; end: number }[], dataLen: number): void {
  const beyond = tensors.find((t) => t.end > dataLen);
  if (!beyond) return;
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin);
  const tiled = sorted.every((t, i) => t.begin === (i === 0 ? 0 : sorted[i - 1].end));
  if (tiled) throw new BadInputError(`${file} is truncated: its header describes ${sorted[sorted.length - 1].end} bytes of tensor data (tensor '${beyond.name}' ends at byte ${beyond.end}), the file holds ${dataLen}; download or copy the file again.`);
  throw new BadInputError(`${file}: tensor '${beyond.name}' has a malformed entry (data_offsets [${beyond.begin}, ${beyond.end}]; data buffer is ${dataLen} bytes)`);
}

/** Block scopes of Hugging Face encoders, optionally under a prefix such as `roberta.` or `bert.`. */
const BLOCK_RE = /(^|\.)(encoder\.layer|transformer\.layer|encoder\.block|layers)\.(\d+)\./;

/**
 * Index of the transformer block a tensor belongs to, from Hugging Face names: `encoder.layer.N.` (BERT, RoBERTa,
 * ELECTRA, XLM-R, with any prefix), `transformer.layer.N.` (DistilBERT), `encoder.block.N.` (T5 encoder),
 * `layers.N.`; null for tensors outside the blocks (embeddings, final norm, heads, a T5 decoder).
 */
export function blockIndexOf(name: string): number | null {
  const m = BLOCK_RE.exec(name);
  return m ? Number(m[3]) : null;
}

/**
 * Name of a tensor in the pruned model that keeps the sorted blocks `kept`: block kept[i] becomes block i,
 * tensors outside the blocks keep their name, and tensors of dropped blocks give null.
 */
export function renameForKept(name: string, kept: number[]): string | null {
  const m = BLOCK_RE.exec(name);
  if (!m) return name;
  const i = kept.indexOf(Number(m[3]));
  if (i < 0) return null;
  const at = m.index + m[1].length + m[2].length + 1;
  return name.slice(0, at) + String(i) + name.slice(at + m[3].length);
}

/** T5 computes its relative position bias in block 0 only and shares it with every later block. */
const RELATIVE_BIAS_RE = /\.relative_attention_bias\./;

/**
 * Writes a safetensors file holding only the blocks `kept` (sorted, renumbered 0..k−1) and every tensor outside
 * the blocks, copying each tensor's bytes from `src` in chunks (the source is never loaded whole). The header keeps
 * `__metadata__` and is padded with spaces to a multiple of 8 bytes. When a T5-style block 0 with a
 * `relative_attention_bias` is dropped, that tensor is copied into the new block 0, which is the only block HF T5
 * reads it from. The file appears at `dst` only when complete. Returns the tensor count and the file size in bytes.
 */
export async function writePrunedSafetensors(
  src: string,
  dst: string,
  kept: number[],
  opts: { signal?: AbortSignal; numBlocks?: number; keep?: (name: string) => boolean; replace?: TensorReplacer; header?: SafetensorsHeader } = {},
): Promise<{ tensors: number; bytes: number }> {
  throwIfAborted(opts.signal);
  // `header` describes another format's file as safetensors would (a PyTorch checkpoint's tensors, dataOffset 0).
  const header = opts.header ?? readSafetensorsHeader(src);
  // One shard of a sharded model may hold only some blocks: the model's count comes from the caller.
  checkKept(kept, opts.numBlocks ?? header.tensors.reduce((mx, t) => Math.max(mx, (blockIndexOf(t.name) ?? -1) + 1), 0), src);
  const pruned = prunedTensors(opts.keep ? header.tensors.filter((t) => opts.keep!(t.name)) : header.tensors, kept);
  const out = opts.replace ? replaced(pruned, opts.replace, src, header.dataOffset) : pruned;
  const { lenBuf, headerBuf, dataBytes } = prunedHeader(out, header.metadata);
  const tmp = path.join(path.dirname(dst), `.${path.basename(dst)}.${process.pid}.partial`);
  const input = await fs.promises.open(src, 'r');
  let output: fs.promises.FileHandle | undefined;
  try {
    output = await fs.promises.open(tmp, 'w');
    await output.write(lenBuf, 0, 8);
    await output.write(headerBuf, 0, headerBuf.length);
    await copyTensors(input, output, out, { src, dataOffset: header.dataOffset, signal: opts.signal });
    await output.close();
    output = undefined;
    await fs.promises.rename(tmp, dst);
  } catch (e) {
    await output?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw e;
  } finally {
    await input.close();
  }
  return { tensors: out.length, bytes: 8 + headerBuf.length + dataBytes };
}

/**
 * A tensor of the source file under its name in the pruned file; `begin`/`end` are still the source's
 * offsets, or with `data` (a replacement) its length.
 */
type PrunedTensor = SafetensorsHeader['tensors'][number] & { data?: Buffer };

/** A tensor written in place of the source's: its dtype, shape and little-endian bytes. */
export interface ReplacedTensor {
  dtype: string;
  shape: number[];
  data: Buffer;
}

/**
 * New contents for a tensor of the pruned file, by its pruned name (`read` gives the source's bytes),
 * or undefined to copy it as it is. Width-narrowed FFNs use it (compensate/safetensors.ts).
 */
export type TensorReplacer = (name: string, source: { dtype: string; shape: number[] }, read: () => Buffer) => ReplacedTensor | undefined;

/** `out` with each tensor `replace` gives new contents held in memory (replacements are one block's FFN at a time in size). */
function replaced(out: PrunedTensor[], replace: TensorReplacer, src: string, dataOffset: number): PrunedTensor[] {
  return out.map((t) => {
    const r = replace(t.name, { dtype: t.dtype, shape: t.shape }, () => readRange(src, dataOffset + t.begin, t.end - t.begin));
    if (!r) return t;
    const bits = DTYPE_BITS.get(r.dtype);
    if (bits === undefined || (r.shape.reduce((a, b) => a * b, 1) * bits) / 8 !== r.data.length) throw new Error(`replacement of ${t.name}: ${r.data.length} bytes do not hold ${r.dtype} [${r.shape.join(', ')}]`);
    return { ...t, dtype: r.dtype, shape: r.shape, data: r.data };
  });
}

/** Takes the kept blocks and the model's block count `L`; returns nothing, or throws naming `src` when one is out of range or out of order. */
function checkKept(kept: number[], L: number, src: string): void {
  for (let i = 0; i < kept.length; i++) {
    if (!Number.isInteger(kept[i]) || kept[i] < 0 || kept[i] >= L) throw new BadInputError(`block ${kept[i]} does not exist in ${src}: it has blocks 0..${L - 1}`);
    if (i > 0 && kept[i] <= kept[i - 1]) throw new BadInputError(`kept blocks '${kept.join(',')}' must be strictly increasing`);
  }
}

/** Takes the source's tensors and the kept blocks; returns the pruned file's tensors, renamed, in source order. */
function prunedTensors(tensors: SafetensorsHeader['tensors'], kept: number[]): PrunedTensor[] {
  const out: PrunedTensor[] = [];
  const names = new Set<string>();
  for (const t of tensors) {
    const name = renameForKept(t.name, kept);
    if (name === null) continue;
    out.push({ ...t, name });
    names.add(name);
  }
  if (kept.length > 0 && kept[0] !== 0) {
    for (const t of tensors) {
      // Block 0 is dropped, so its name is free in the pruned file unless the new block 0 brought its own bias.
      if (blockIndexOf(t.name) === 0 && RELATIVE_BIAS_RE.test(t.name) && !names.has(t.name)) {
        out.push({ ...t });
        names.add(t.name);
      }
    }
  }
  // Source order keeps the copy a forward scan of the file.
  return out.sort((a, b) => a.begin - b.begin || a.end - b.end);
}

/** Takes the pruned tensors and the source's metadata; returns the 8-byte length, the space-padded header and the data size. */
function prunedHeader(out: PrunedTensor[], metadata: SafetensorsHeader['metadata']): { lenBuf: Buffer; headerBuf: Buffer; dataBytes: number } {
  const json: Record<string, unknown> = {};
  if (metadata) json.__metadata__ = metadata;
  let offset = 0;
  for (const t of out) {
    const size = t.data ? t.data.length : t.end - t.begin;
    json[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let headerText = JSON.stringify(json);
  const headerBytes = Buffer.byteLength(headerText, 'utf8');
  headerText += ' '.repeat((8 - (headerBytes % 8)) % 8);
  const headerBuf = Buffer.from(headerText, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBuf.length));
  return { lenBuf, headerBuf, dataBytes: offset };
}

/** Takes the open source and output files and the pruned tensors; appends each tensor's bytes in chunks, or throws when the source ends early or `signal` aborts. */
async function copyTensors(input: fs.promises.FileHandle, output: fs.promises.FileHandle, out: PrunedTensor[], from: { src: string; dataOffset: number; signal?: AbortSignal }): Promise<void> {
  const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(1, out.reduce((mx, t) => Math.max(mx, t.end - t.begin), 0))));
  for (const t of out) {
    if (t.data) {
      throwIfAborted(from.signal);
      await output.write(t.data, 0, t.data.length);
      continue;
    }
    let pos = from.dataOffset + t.begin;
    const end = from.dataOffset + t.end;
    while (pos < end) {
      throwIfAborted(from.signal);
      const want = Math.min(chunk.length, end - pos);
      const { bytesRead } = await input.read(chunk, 0, want, pos);
      if (bytesRead !== want) throw new BadInputError(`${from.src} is truncated: tensor '${t.name}' ends past the end of the file`);
      await output.write(chunk, 0, want);
      pos += want;
    }
  }
}

/**
 * A copy of a Hugging Face `config.json` object with the encoder's block count set to `kept.length`
 * (bert/roberta/electra/xlm-roberta: num_hidden_layers; distilbert: n_layers; t5: num_layers, leaving the decoder
 * as it was). Unknown model types are accepted when exactly one of those keys is present.
 */
/** Keys of config.json that describe a task head's labels, which the encoder under it does not have. */
const HEAD_KEYS = ['id2label', 'label2id', 'problem_type', 'num_labels', 'finetuning_task'];

/**
 * config.json of a folder keeping `kept` blocks. `headless`: the source graph ends in a task head
 * that the pruned graph leaves out, so architectures name the base model
 * (BertForSequenceClassification → BertModel) and the head's labels go.
 */
export function prunedConfig(config: Record<string, unknown>, kept: number[], headless = false): Record<string, unknown> {
  const copy = structuredClone(config);
  if (headless) {
    for (const k of HEAD_KEYS) delete copy[k];
    if (Array.isArray(copy.architectures)) copy.architectures = copy.architectures.map((a) => (typeof a === 'string' ? a.replace(/For[A-Za-z]+$/, 'Model') : a));
  }
  const key = layerCountKey(config);
  if (!key) throw new UnsupportedModelError(`model_type '${String(config.model_type ?? '')}': cannot tell which config field holds the number of layers`);
  // T5Config defaults num_decoder_layers to num_layers, so pin it before shrinking the encoder.
  if (key === 'num_layers' && copy.num_decoder_layers == null && typeof config.num_layers === 'number') copy.num_decoder_layers = config.num_layers;
  // ModernBERT picks each layer's attention kind by its index: the pruned layers keep theirs, listed.
  if (config.model_type === 'modernbert') Object.assign(copy, prunedModernBertConfig(config, kept, Number(config[key])));
  copy[key] = kept.length;
  return copy;
}
