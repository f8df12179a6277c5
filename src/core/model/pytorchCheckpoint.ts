/**
 * The tensors of a PyTorch checkpoint (`pytorch_model.bin`, torch.save's zip format since PyTorch
 * 1.6), located by file and byte range like a safetensors file's, so a graph references them in
 * place and nothing is copied or converted.
 *
 * Why our own reader: a checkpoint is a zip of raw storages plus `data.pkl`, a Python pickle of the
 * state dict. A general unpickler runs whatever the pickle names (a checkpoint from the Hub can hold
 * `os.system`), and the zip libraries on npm extract entries rather than say where an entry's bytes
 * lie. Here the pickle is read by a small interpreter that knows only what torch.save writes for a
 * state dict (OrderedDict, `torch._utils._rebuild_tensor_v2`, the storage classes) and refuses any
 * other name without calling anything; the zip's central directory gives each storage's offset.
 */
import * as fs from 'node:fs';
import { BadInputError, ProbeScaleError, UnsupportedModelError } from '../errors';

/** A tensor located in the checkpoint file (weights.ts's WeightTensor, which this module does not import: weights.ts imports it). */
export interface CheckpointTensor {
  name: string;
  dtype: string;
  shape: number[];
  file: string;
  offset: number;
  length: number;
}

/** PyTorch storage classes (and dtypes, for `_rebuild_tensor_v3`) → safetensors dtype names. */
const STORAGE_DTYPES: Record<string, string> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
  float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const MAX_PICKLE = 256 * 1024 * 1024;
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** The advice every refusal here ends with. */
export const CONVERT = (dir: string) =>
  `Convert it once with Python: python -c "from transformers import AutoModel as M; M.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)" (writes model.safetensors).`;

interface ZipEntry {
  /** Offset of the entry's bytes in the file, and their length. */
  offset: number;
  length: number;
  method: number;
}

/** The tensors of `file` by name (tied weights: several names, one byte range). */
export function readPytorchCheckpoint(file: string, dir: string): Map<string, CheckpointTensor> {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const refuse = (why: string) => new UnsupportedModelError(`${file} ${why}. ${CONVERT(dir)}`);
    if (size >= 4 && readAt(fd, 0, 4).readUInt32LE(0) !== 0x04034b50) {
      if (readAt(fd, 0, Math.min(size, 2)).equals(Buffer.from([0x80, 0x02]))) return legacyTensors(fd, size, file, refuse);
      throw refuse('is not a PyTorch checkpoint (no zip archive, nor the stream of pickles PyTorch wrote before 1.6); the file is damaged or not what its name says');
    }
    const entries = zipEntries(fd, size, refuse);
    const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (!pkl) throw refuse('holds no data.pkl; it is not a checkpoint torch.save wrote');
    const prefix = pkl.slice(0, -'data.pkl'.length);
    const pickle = entries.get(pkl)!;
    if (pickle.method !== 0) throw refuse('stores data.pkl compressed; torch.save stores it as is');
    // A state dict's pickle names tensors only: a few hundred bytes each (20 MB for 100,000 tensors).
    if (pickle.length > MAX_PICKLE) throw refuse(`has a data.pkl of ${pickle.length.toLocaleString('en-US')} bytes, more than a state dict of tensors holds (at most ${MAX_PICKLE.toLocaleString('en-US')} read)`);
    // Newer torch.save writes the byte order of the storages; ProbeScale (and every graph) reads little-endian.
    const order = entries.get(`${prefix}byteorder`);
    if (order && readAt(fd, order.offset, Math.min(order.length, 16)).toString('utf8').trim() !== 'little') throw refuse('holds its tensors big-endian (its byteorder entry says so); ProbeScale reads little-endian weights');
    const { value: state } = unpickle(readAt(fd, pickle.offset, pickle.length), 0, file, refuse);
    return tensorsOf(state, (key) => entries.get(`${prefix}data/${key}`), file, refuse);
  } catch (e) {
    // A damaged file reads past a buffer or puts a value where another kind belongs; a failing disk (a system error) is not that.
    if (e instanceof ProbeScaleError || (e as NodeJS.ErrnoException).syscall !== undefined) throw e;
    throw new UnsupportedModelError(`${file} is damaged: its zip directory or its pickles do not read as torch.save writes them. Download it again.`);
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const n = fs.readSync(fd, b, 0, len, pos);
  return n === len ? b : b.subarray(0, n);
}

/** Entries of the zip's central directory (ZIP64 included), with where each entry's data begins. */
function zipEntries(fd: number, size: number, refuse: (why: string) => Error): Map<string, ZipEntry> {
  const tail = readAt(fd, Math.max(0, size - 65_557), Math.min(size, 65_557));
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw refuse('is cut short: its zip directory is missing');
  let count = tail.readUInt16LE(eocd + 10);
  let dirOffset = tail.readUInt32LE(eocd + 16);
  if (dirOffset === 0xffffffff || count === 0xffff) {
    const locator = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]), eocd);
    if (locator < 0) throw refuse('has a damaged zip directory (no ZIP64 locator)');
    const rec = readAt(fd, Number(tail.readBigUInt64LE(locator + 8)), 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== 0x06064b50) throw refuse('has a damaged zip directory (no ZIP64 record)');
    count = Number(rec.readBigUInt64LE(32));
    dirOffset = Number(rec.readBigUInt64LE(48));
  }
  const entries = new Map<string, ZipEntry>();
  let p = dirOffset;
  for (let i = 0; i < count; i++) {
    const h = readAt(fd, p, 46);
    if (h.length < 46 || h.readUInt32LE(0) !== 0x02014b50) throw refuse(`has a damaged zip directory (entry ${i + 1} of ${count})`);
    const [nameLen, extraLen, commentLen] = [h.readUInt16LE(28), h.readUInt16LE(30), h.readUInt16LE(32)];
    const rest = readAt(fd, p + 46, nameLen + extraLen);
    const name = rest.subarray(0, nameLen).toString('utf8');
    let length = h.readUInt32LE(20);
    let local = h.readUInt32LE(42);
    // ZIP64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
    for (let e = nameLen; e + 4 <= rest.length; ) {
      const [id, len] = [rest.readUInt16LE(e), rest.readUInt16LE(e + 2)];
      if (id === 0x0001) {
        let q = e + 4;
        if (h.readUInt32LE(24) === 0xffffffff) q += 8;
        if (length === 0xffffffff) {
          length = Number(rest.readBigUInt64LE(q));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(rest.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    const lh = readAt(fd, local, 30);
    if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) throw refuse(`has a damaged zip entry ${name}`);
    const offset = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    if (offset + length > size) throw refuse(`is cut short: entry ${name} ends at byte ${offset + length} of ${size}`);
    entries.set(name, { offset, length, method: h.readUInt16LE(10) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * The format torch.save wrote before PyTorch 1.6 (`_legacy_save`): five pickles in a row (a magic
 * number, the protocol version, system info, the state dict, the sorted list of storage keys), then
 * each storage in that order as its element count (int64) and its bytes. Older checkpoints on the
 * Hub (2018–2020) are often in it. The pickles are read from the file's first bytes; the storages
 * are located by walking their counts, never read.
 */
function legacyTensors(fd: number, size: number, file: string, refuse: (why: string) => Error): Map<string, CheckpointTensor> {
  // The pickles are small and come first: read 1 MB, and more only where they run past it.
  const limit = Math.min(size, MAX_PICKLE);
  for (let window = Math.min(limit, 1 << 20); ; window = Math.min(limit, window * 8)) {
    try {
      return legacyFrom(readAt(fd, 0, window), fd, size, file, refuse);
    } catch (e) {
      if (window >= limit) throw e;
    }
  }
}

function legacyFrom(head: Buffer, fd: number, size: number, file: string, refuse: (why: string) => Error): Map<string, CheckpointTensor> {
  let at = 0;
  const next = (): Value => {
    const r = unpickle(head, at, file, refuse);
    at = r.end;
    return r.value;
  };
  const magic = next();
  if (magic !== LEGACY_MAGIC) throw refuse('starts with a pickle that is not the magic number of a PyTorch checkpoint');
  next(); // protocol version
  const info = next();
  if (info instanceof Map && info.get('little_endian') === false) throw refuse('holds its tensors big-endian (its system info says so); ProbeScale reads little-endian weights');
  const state = next();
  const keys = next();
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) throw refuse('has no list of storage keys after its state dict');
  // Each storage's dtype, from the tensors that use it.
  const dtypeOf = new Map<string, string>();
  for (const t of state instanceof Map ? state.values() : []) if ((t as PickledTensor)?.kind === 'tensor') dtypeOf.set((t as PickledTensor).storage.key, (t as PickledTensor).storage.dtype);
  const storages = new Map<string, ZipEntry>();
  let pos = at;
  for (const key of keys as string[]) {
    const count = pos + 8 <= size ? Number(readAt(fd, pos, 8).readBigInt64LE(0)) : -1;
    const bytes = DTYPE_BYTES[dtypeOf.get(key) ?? ''];
    if (count < 0 || bytes === undefined || pos + 8 + count * bytes > size) throw refuse(`is cut short or damaged at storage ${key} (byte ${pos} of ${size})`);
    storages.set(key, { offset: pos + 8, length: count * bytes, method: 0 });
    pos += 8 + count * bytes;
  }
  return tensorsOf(state, (key) => storages.get(key), file, refuse);
}

/** torch.serialization.MAGIC_NUMBER, the first pickle of the format before PyTorch 1.6. */
const LEGACY_MAGIC = Number(BigInt('0x1950a86a20f9469cfc6c'));

/** A tensor as the pickle describes it, before its storage is located. */
interface PickledTensor {
  kind: 'tensor';
  storage: { key: string; dtype: string; numel: number };
  offset: number;
  shape: number[];
  stride: number[];
}
type Value = null | boolean | number | string | Value[] | Map<unknown, Value> | PickledTensor | { kind: 'global'; name: string } | { kind: 'storage'; key: string; dtype: string; numel: number };

/** The globals a state dict's pickle may name; anything else is refused unread. */
const ALLOWED = new Set(['collections OrderedDict', 'torch._utils _rebuild_tensor_v2', 'torch._utils _rebuild_tensor_v3', 'torch._utils _rebuild_parameter', ...Object.keys(STORAGE_DTYPES).map((s) => `torch ${s}`)]);

/**
 * Interprets the opcodes torch.save writes for a state dict (pickle protocol 2, and the protocol 4
 * framing a few versions use). Only the globals in ALLOWED are recognised, and "calling" one only
 * builds a plain value here: nothing from the file is ever executed.
 */
function unpickle(data: Buffer, start: number, file: string, refuse: (why: string) => Error): { value: Value; end: number } {
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  const bad = (why: string) => refuse(`has a pickle (data.pkl) ProbeScale does not read: ${why}`);
  const popMark = (): Value[] => {
    const m = marks.pop();
    if (m === undefined) throw bad('a MARK is missing');
    return stack.splice(m);
  };
  const pop = (): Value => {
    if (!stack.length) throw bad('its stack runs empty');
    return stack.pop()!;
  };
  const text = (start: number, len: number) => data.subarray(start, start + len).toString('utf8');
  let p = start;
  for (;;) {
    if (p >= data.length) throw bad('it ends without STOP');
    const op = data[p++];
    switch (op) {
      case 0x80: p++; break; // PROTO
      case 0x95: p += 8; break; // FRAME
      case 0x2e: return { value: pop(), end: p }; // STOP
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(data[p]); p += 1; break; // BININT1
      case 0x4d: stack.push(data.readUInt16LE(p)); p += 2; break; // BININT2
      case 0x4a: stack.push(data.readInt32LE(p)); p += 4; break; // BININT
      case 0x8a: { // LONG1
        const n = data[p++];
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]);
        if (n > 0 && data[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        p += n;
        break;
      }
      case 0x47: stack.push(data.readDoubleBE(p)); p += 8; break; // BINFLOAT
      case 0x58: { const n = data.readUInt32LE(p); stack.push(text(p + 4, n)); p += 4 + n; break; } // BINUNICODE
      case 0x8c: { const n = data[p]; stack.push(text(p + 1, n)); p += 1 + n; break; } // SHORT_BINUNICODE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); asList(stack[stack.length - 1], bad).push(v); break; } // APPEND
      case 0x65: { const vs = popMark(); asList(stack[stack.length - 1], bad).push(...vs); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); asMap(stack[stack.length - 1], bad).set(k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const kv = popMark();
        const m = asMap(stack[stack.length - 1], bad);
        for (let i = 0; i + 1 < kv.length; i += 2) m.set(kv[i], kv[i + 1]);
        break;
      }
      case 0x71: memo.set(data[p], stack[stack.length - 1]); p += 1; break; // BINPUT
      case 0x72: memo.set(data.readUInt32LE(p), stack[stack.length - 1]); p += 4; break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: stack.push(memoGet(memo, data[p], bad)); p += 1; break; // BINGET
      case 0x6a: stack.push(memoGet(memo, data.readUInt32LE(p), bad)); p += 4; break; // LONG_BINGET
      case 0x63: { // GLOBAL "module\nname\n"
        const a = data.indexOf(0x0a, p);
        const b = data.indexOf(0x0a, a + 1);
        stack.push(global(`${text(p, a - p)} ${text(a + 1, b - a - 1)}`, file));
        p = b + 1;
        break;
      }
      case 0x93: { const name = pop(); const mod = pop(); stack.push(global(`${String(mod)} ${String(name)}`, file)); break; } // STACK_GLOBAL
      case 0x51: stack.push(persistent(pop(), bad)); break; // BINPERSID
      case 0x52: { const args = pop(); stack.push(call(pop(), args, bad)); break; } // REDUCE
      case 0x62: pop(); break; // BUILD: an OrderedDict's _metadata, a tensor's state; neither is needed
      default:
        throw bad(`opcode 0x${op.toString(16)} at byte ${p - 1}`);
    }
  }
}

function asMap(v: Value | undefined, bad: (why: string) => Error): Map<unknown, Value> {
  if (!(v instanceof Map)) throw bad('SETITEM on something that is not a dict');
  return v;
}

function asList(v: Value | undefined, bad: (why: string) => Error): Value[] {
  if (!Array.isArray(v)) throw bad('APPEND to something that is not a list');
  return v;
}

function memoGet(memo: Map<number, Value>, i: number, bad: (why: string) => Error): Value {
  if (!memo.has(i)) throw bad(`memo ${i} is read before it is written`);
  return memo.get(i)!;
}

function global(name: string, file: string): Value {
  // No advice to load it in Python: torch.load would run what it names.
  if (!ALLOWED.has(name)) throw new UnsupportedModelError(`${file} has a pickle (data.pkl) that names ${name.replace(' ', '.')}, which a state dict of tensors never needs. Nothing of it was run. A checkpoint that calls other code may be malicious: do not load it with torch.load either; get the weights as model.safetensors from a source you trust.`);
  return { kind: 'global', name };
}

/** A storage reference: ('storage', <storage class>, key, location, numel). */
function persistent(pid: Value, bad: (why: string) => Error): Value {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw bad('a persistent id that is not a storage');
  const cls = pid[1] as { kind?: string; name?: string };
  const dtype = cls?.kind === 'global' ? STORAGE_DTYPES[String(cls.name).split(' ')[1]] : undefined;
  if (!dtype || typeof pid[2] !== 'string' || typeof pid[4] !== 'number') throw bad('a storage of a type it cannot read');
  // The format before 1.6 adds view metadata, set where a storage is a view of another: never in a state dict save_pretrained writes.
  if (pid.length > 5 && pid[5] !== null) throw bad(`storage ${pid[2]} is a view of another storage`);
  return { kind: 'storage', key: pid[2], dtype, numel: pid[4] };
}

function call(fn: Value, args: Value, bad: (why: string) => Error): Value {
  const name = (fn as { kind?: string; name?: string })?.kind === 'global' ? (fn as { name: string }).name : '';
  if (!Array.isArray(args)) throw bad(`REDUCE of ${name} without an argument tuple`);
  if (name === 'collections OrderedDict') return new Map();
  if (name === 'torch._utils _rebuild_parameter') return args[0];
  if (name === 'torch._utils _rebuild_tensor_v2' || name === 'torch._utils _rebuild_tensor_v3') {
    const [storage, offset, shape, stride] = args as [{ kind: string; key: string; dtype: string; numel: number }, number, number[], number[]];
    if (storage?.kind !== 'storage' || typeof offset !== 'number' || !Array.isArray(shape) || !Array.isArray(stride)) throw bad(`${name.replace(' ', '.')} with arguments it cannot read`);
    // v3 names the dtype itself (a storage without a legacy class: UntypedStorage).
    const dtype = name.endsWith('v3') ? STORAGE_DTYPES[String((args[6] as { name?: string })?.name ?? '').split(' ')[1]] : storage.dtype;
    if (!dtype) throw bad(`${name.replace(' ', '.')} of a dtype it cannot read`);
    return { kind: 'tensor', storage: { ...storage, dtype }, offset, shape: shape as number[], stride: stride as number[] };
  }
  throw bad(`it calls ${name.replace(' ', '.') || 'something that is not a known function'}`);
}

/** The state dict's tensors, each located in its storage's zip entry; views that are not contiguous are refused. */
function tensorsOf(state: Value, entry: (key: string) => ZipEntry | undefined, file: string, refuse: (why: string) => Error): Map<string, CheckpointTensor> {
  if (!(state instanceof Map)) throw refuse('holds no state dict (data.pkl is not a dict of tensors); save the model with save_pretrained');
  const out = new Map<string, CheckpointTensor>();
  for (const [name, t] of state) {
    if (typeof name !== 'string' || (t as PickledTensor)?.kind !== 'tensor') continue;
    const { storage, offset, shape, stride } = t as PickledTensor;
    const e = entry(storage.key);
    if (!e) throw refuse(`has no data for storage ${storage.key} (tensor '${name}'); it is cut short`);
    if (e.method !== 0) throw refuse(`stores tensor '${name}' compressed; torch.save stores tensors as they are`);
    const bytes = DTYPE_BYTES[storage.dtype];
    let expect = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (shape[i] !== 1 && stride[i] !== expect) throw new BadInputError(`${file}: tensor '${name}' is a view that is not contiguous (shape [${shape.join(', ')}], stride [${stride.join(', ')}]); save the model again with save_pretrained(..., safe_serialization=True).`);
      expect *= shape[i];
    }
    const length = expect * bytes;
    if ((offset + expect) * bytes > e.length) throw refuse(`gives tensor '${name}' more bytes than its storage holds; it is damaged`);
    out.set(name, { name, dtype: storage.dtype, shape, file, offset: e.offset + offset * bytes, length });
  }
  return out;
}
