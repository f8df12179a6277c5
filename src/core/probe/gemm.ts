/**
 * The products probe fitting spends its time in: out = A·Bᵀ for a fixed float32 A (the features,
 * or their transpose) and a float64 B that changes every call (weights, residuals). Two kernels
 * give bit-for-bit the same numbers (each output a sum over l in order, s += x·w, x promoted to
 * float64, a multiply then an add): WebAssembly SIMD (gemm.wat, two rows per f64x2 lane pair) and
 * the JavaScript `gemmNT` below, the fallback where WebAssembly SIMD is missing.
 * `PROBESCALE_GEMM=js` forces the JavaScript kernel, `PROBESCALE_GEMM=wasm` insists on WebAssembly.
 */
import { BadInputError } from '../errors';
import { softLimit } from '../util/processLimits';
import { GEMM_WASM_BASE64 } from './gemmWasm';

export type GemmKernel = 'js' | 'wasm';

/**
 * A fixed A (rows×len) that multiplies B's transpose: write B (row-major, rowsB×len) into `b`,
 * then `product(rowsB)` is A·Bᵀ, rows×rowsB row-major. Multipliers made together share `b` and
 * the product's memory: a product is valid until the next one, and `b` must be written again.
 */
export interface NTMultiplier {
  readonly kernel: GemmKernel;
  readonly b: Float64Array;
  product(rowsB: number): Float64Array;
  /** Done with it: a WebAssembly memory goes to the thread's spare for the next fit; product() then throws. */
  release(): void;
}

/** A float32 matrix: `data` row-major rows×len, or, with `transposed`, len×rows (A is its transpose). */
export interface FixedMatrix {
  data: Float32Array;
  rows: number;
  len: number;
  transposed?: boolean;
}

/** The kernel `PROBESCALE_GEMM` asks for: 'js', 'wasm', or undefined (WebAssembly where it runs). */
export function gemmSetting(env: NodeJS.ProcessEnv = process.env): GemmKernel | undefined {
  const raw = env.PROBESCALE_GEMM;
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'js' || raw === 'wasm') return raw;
  throw new BadInputError(`PROBESCALE_GEMM=${raw} is not a kernel; set it to js (the JavaScript kernel) or wasm (WebAssembly SIMD), or unset it to use WebAssembly where it runs.`);
}

/**
 * One multiplier per matrix, all times B's of at most `maxRowsB` rows. On WebAssembly the matrices
 * are packed once into one memory that lives as long as the multipliers (so: one objective);
 * a memory that cannot be had (address space, 4 GiB) falls back to JavaScript unless `kernel` is 'wasm'.
 */
export function ntMultipliers(mats: FixedMatrix[], maxRowsB: number, kernel: GemmKernel | undefined = gemmSetting()): NTMultiplier[] {
  if (tryWasm(kernel)) {
    const module = gemmModule();
    const made = module && wasmMultipliers(module, mats, maxRowsB);
    if (made) return made;
    if (kernel === 'wasm') {
      throw new BadInputError(`PROBESCALE_GEMM=wasm, but ${module ? `a WebAssembly memory for ${wasmLayout(mats, maxRowsB).end} bytes could not be had` : "this Node's WebAssembly has no SIMD"}; set PROBESCALE_GEMM=js or unset it to use the JavaScript kernel.`);
    }
  }
  return jsMultipliers(mats, maxRowsB);
}

/** Whether to try WebAssembly for `kernel` (the setting, or undefined: where memories are welcome). */
function tryWasm(kernel: GemmKernel | undefined): boolean {
  return kernel === 'wasm' || (kernel === undefined && wasmMemoriesWelcome());
}

/** The kernel fits on this thread get when nothing fails: `PROBESCALE_GEMM`, else WebAssembly where it runs. */
export function defaultGemmKernel(): GemmKernel {
  return gemmSetting() ?? (wasmMemoriesWelcome() && gemmModule() ? 'wasm' : 'js');
}

const TRAP_HANDLER_OFF = '--disable-wasm-trap-handler';
let welcome: boolean | undefined;

/**
 * Whether to make WebAssembly memories by default. Not under an address-space limit (`ulimit -v`)
 * unless Node's WebAssembly trap handler is off (the CLI relaunches itself so, cli/relaunch.ts):
 * with it on, each memory reserves about 10 GiB of the limit, and a memory that cannot be had costs
 * a full garbage collection (about 80 ms) before it fails. Nor after one memory failed, on this thread.
 */
function wasmMemoriesWelcome(): boolean {
  if (welcome === undefined) {
    const trapHandlerOff = process.execArgv.includes(TRAP_HANDLER_OFF) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(TRAP_HANDLER_OFF);
    welcome = trapHandlerOff || typeof softLimit('Max address space') !== 'number';
  }
  return welcome;
}

function jsMultipliers(mats: FixedMatrix[], maxRowsB: number): NTMultiplier[] {
  const { b, out } = sharedSizes(mats, maxRowsB);
  const B = new Float64Array(b);
  const product = new Float64Array(out);
  return mats.map((m) => {
    const rows = m.rows | 0;
    const len = m.len | 0;
    let A = m.data;
    if (m.transposed) {
      A = new Float32Array(rows * len);
      for (let i = 0; i < len; i++) for (let j = 0; j < rows; j++) A[j * len + i] = m.data[i * rows + j];
    }
    return {
      kernel: 'js',
      b: B.subarray(0, maxRowsB * len),
      product(rowsB: number): Float64Array {
        const rb = checkRowsB(rowsB, maxRowsB);
        gemmNT(A, rows, B, rb, len, product);
        return product.subarray(0, rows * rb);
      },
      release(): void {},
    };
  });
}

function checkRowsB(rowsB: number, maxRowsB: number): number {
  if (!Number.isInteger(rowsB) || rowsB < 0 || rowsB > maxRowsB) throw new RangeError(`B has ${rowsB} rows; this multiplier was made for 0 to ${maxRowsB}`);
  return rowsB | 0;
}

/** Elements of the shared B and of the shared product (whose rows the WebAssembly kernel pads to a multiple of 8). */
function sharedSizes(mats: FixedMatrix[], maxRowsB: number, padded = false): { b: number; out: number } {
  let b = 0;
  let out = 0;
  for (const m of mats) {
    b = Math.max(b, maxRowsB * m.len);
    out = Math.max(out, (padded ? padRows(m.rows) : m.rows) * maxRowsB);
  }
  return { b, out };
}

// The few WebAssembly declarations used here (the project's lib settings carry none).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmInstance {
  readonly exports: {
    gemm(a: number, quads: number, b: number, rb: number, len: number, out: number): void;
    subnt(a: number, lda: number, ra: number, b: number, ldb: number, rb: number, len: number, out: number, ldo: number): void;
  };
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: { env: { memory: WasmMemory } }) => WasmInstance;
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemory;
};

let compiled: object | null | undefined;

/** The kernel's module, compiled once per thread; null where WebAssembly or its SIMD is missing. */
function gemmModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(GEMM_WASM_BASE64, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Rows of A are padded to a multiple of this (the kernel's row blocks). */
const ROW_BLOCK = 8;

const padRows = (rows: number) => Math.ceil(rows / ROW_BLOCK) * ROW_BLOCK;
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Memory layout (bytes): each packed A, then one B region and one product region that all multipliers share. */
function wasmLayout(mats: FixedMatrix[], maxRowsB: number): { a: number[]; b: number; out: number; end: number } {
  const a: number[] = [];
  let at = 0;
  for (const m of mats) {
    a.push(at);
    at += align16(padRows(m.rows) * m.len * 4);
  }
  const sizes = sharedSizes(mats, maxRowsB, true);
  const out = at + align16(sizes.b * 8);
  return { a, b: at, out, end: out + sizes.out * 8 };
}

/**
 * The thread's spare memory. Fits run one after another on a thread, and V8 frees a dropped
 * memory only at a later garbage collection: before the spare, 200 objectives of 4000 × 256 made
 * and dropped one by one peaked 86 MB above the JavaScript kernel, 40 of 40000 × 256 (82 MB
 * each) 237 MB above it. A released memory waits here for the next fit it is large enough for.
 */
let spare: WasmMemory | null = null;
let made = 0;

/** WebAssembly memories made on this thread so far (tests check that fits reuse the spare). */
export function wasmMemoriesMade(): number {
  return made;
}

function takeMemory(pages: number): WasmMemory {
  if (spare && spare.buffer.byteLength >= pages * PAGE) {
    const m = spare;
    spare = null;
    return m;
  }
  const m = new WebAssembly.Memory({ initial: pages, maximum: pages });
  made++;
  return m;
}

/** Bytes of the spare memory this thread holds for its next fit (0: none). */
export function spareMemoryBytes(): number {
  return spare?.buffer.byteLength ?? 0;
}

/** Lets the spare go (at the end of a job: the extension's job worker outlives its jobs). */
export function dropSpareMemory(): void {
  spare = null;
}

/** Keeps the larger of `memory` and the spare for the next fit. */
function giveBack(memory: WasmMemory): void {
  if (memory !== spare && (!spare || memory.buffer.byteLength > spare.buffer.byteLength)) spare = memory;
}

function wasmMultipliers(module: object, mats: FixedMatrix[], maxRowsB: number): NTMultiplier[] | null {
  const layout = wasmLayout(mats, maxRowsB);
  const pages = Math.ceil(layout.end / PAGE);
  if (pages > MAX_PAGES) return null;
  let memory: WasmMemory;
  let instance: WasmInstance;
  try {
    memory = takeMemory(pages);
    instance = new WebAssembly.Instance(module, { env: { memory } });
  } catch {
    welcome = false;
    return null;
  }
  const f32 = new Float32Array(memory.buffer);
  let released = false;
  return mats.map((m, i) => {
    packA(m, f32, layout.a[i] / 4);
    const rows = m.rows | 0;
    const len = m.len | 0;
    const quads = padRows(rows) / 4;
    return {
      kernel: 'wasm',
      b: new Float64Array(memory.buffer, layout.b, maxRowsB * len),
      product(rowsB: number): Float64Array {
        if (released) throw new Error('this multiplier was released; make a new one (its memory may hold another fit by now)');
        const rb = checkRowsB(rowsB, maxRowsB);
        instance.exports.gemm(layout.a[i], quads, layout.b, rb, len, layout.out);
        return new Float64Array(memory.buffer, layout.out, rows * rb);
      },
      release(): void {
        released = true;
        giveBack(memory);
      },
    };
  });
}

/** A into "row quads" at f32 index `at`: (row r, l) goes to ((r >> 2)·len + l)·4 + (r & 3); padding rows are set to 0 (a reused memory holds the last fit's numbers). */
function packA(m: FixedMatrix, f32: Float32Array, at: number): void {
  const rows = m.rows | 0;
  const len = m.len | 0;
  const src = m.data;
  if (m.transposed) {
    // src is len×rows: src[l·rows + r] = A[r, l].
    for (let l = 0; l < len; l++) {
      const so = l * rows;
      for (let r = 0; r < rows; r++) f32[at + ((r >> 2) * len + l) * 4 + (r & 3)] = src[so + r];
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const so = r * len;
      const d = at + (r >> 2) * len * 4 + (r & 3);
      for (let l = 0; l < len; l++) f32[d + l * 4] = src[so + l];
    }
  }
  for (let r = rows; r < padRows(rows); r++) {
    const d = at + (r >> 2) * len * 4 + (r & 3);
    for (let l = 0; l < len; l++) f32[d + l * 4] = 0;
  }
}

/**
 * out[a·rb + b] = Σ_l A[a·L + l]·B[b·L + l] for row-major A (ra×L) and B (rb×L). Register-blocked
 * 4×2 (each loaded value feeds two or four multiply-adds; measured ~2× faster than plain dot products
 * in V8); the summation order is fixed, so results are reproducible.
 */
export function gemmNT(A: Float32Array, rowsA: number, B: Float64Array, rowsB: number, len: number, out: Float64Array): void {
  // Callers may hold sizes as boxed doubles (e.g. from `arr.map(Number)`); int32 locals keep V8's
  // index arithmetic in integers, which halves the time of this loop.
  const ra = rowsA | 0;
  const rb = rowsB | 0;
  const L = len | 0;
  let a = 0;
  for (; a + 3 < ra; a += 4) {
    const a0 = a * L;
    const a1 = a0 + L;
    const a2 = a1 + L;
    const a3 = a2 + L;
    const o0 = a * rb;
    const o1 = o0 + rb;
    const o2 = o1 + rb;
    const o3 = o2 + rb;
    let b = 0;
    for (; b + 1 < rb; b += 2) {
      const b0 = b * L;
      const b1 = b0 + L;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let l = 0; l < L; l++) {
        const w0 = B[b0 + l];
        const w1 = B[b1 + l];
        const x0 = A[a0 + l];
        const x1 = A[a1 + l];
        const x2 = A[a2 + l];
        const x3 = A[a3 + l];
        s00 += x0 * w0;
        s01 += x0 * w1;
        s10 += x1 * w0;
        s11 += x1 * w1;
        s20 += x2 * w0;
        s21 += x2 * w1;
        s30 += x3 * w0;
        s31 += x3 * w1;
      }
      out[o0 + b] = s00;
      out[o0 + b + 1] = s01;
      out[o1 + b] = s10;
      out[o1 + b + 1] = s11;
      out[o2 + b] = s20;
      out[o2 + b + 1] = s21;
      out[o3 + b] = s30;
      out[o3 + b + 1] = s31;
    }
    if (b < rb) {
      const b0 = b * L;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let l = 0; l < L; l++) {
        const w = B[b0 + l];
        s0 += A[a0 + l] * w;
        s1 += A[a1 + l] * w;
        s2 += A[a2 + l] * w;
        s3 += A[a3 + l] * w;
      }
      out[o0 + b] = s0;
      out[o1 + b] = s1;
      out[o2 + b] = s2;
      out[o3 + b] = s3;
    }
  }
  for (; a < ra; a++) {
    const a0 = a * L;
    const o0 = a * rb;
    let b = 0;
    for (; b + 1 < rb; b += 2) {
      const b0 = b * L;
      const b1 = b0 + L;
      let s0 = 0;
      let s1 = 0;
      for (let l = 0; l < L; l++) {
        const x = A[a0 + l];
        s0 += x * B[b0 + l];
        s1 += x * B[b1 + l];
      }
      out[o0 + b] = s0;
      out[o0 + b + 1] = s1;
    }
    if (b < rb) {
      const b0 = b * L;
      let s = 0;
      for (let l = 0; l < L; l++) s += A[a0 + l] * B[b0 + l];
      out[o0 + b] = s;
    }
  }
}

/**
 * Float64 memory for a solver, and the one product it runs there (ridge.ts's blocked Cholesky):
 * `subNT(a, lda, ra, b, ldb, rb, len, out, ldo)` does f64[out + i·ldo + j] −= Σ_l f64[a + i·lda + l]
 * · f64[b + j·ldb + l] for i < ra, j < rb, l < len (element offsets and strides; out must not
 * overlap A or B). WebAssembly and JavaScript give the same bits. On WebAssembly `f64` is the
 * thread's memory (the spare probe fits reuse, so a solve after a solve costs no new memory),
 * given back by release(); JavaScript where WebAssembly SIMD is missing or not welcome, as for
 * the probe fits, and when `elements` do not fit in 4 GiB.
 */
export interface F64Workspace {
  readonly kernel: GemmKernel;
  readonly f64: Float64Array;
  subNT(a: number, lda: number, ra: number, b: number, ldb: number, rb: number, len: number, out: number, ldo: number): void;
  release(): void;
}

/** Sums longer than this are taken in pieces (each piece's B rows stay in cache); either kernel the same. */
const F64_CHUNK = 256;

export function f64Workspace(elements: number, kernel: GemmKernel | undefined = gemmSetting()): F64Workspace {
  const bytes = elements * 8;
  if (tryWasm(kernel)) {
    const module = gemmModule();
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    let made: { memory: WasmMemory; instance: WasmInstance } | null = null;
    if (module && pages <= MAX_PAGES) {
      try {
        const memory = takeMemory(pages);
        made = { memory, instance: new WebAssembly.Instance(module, { env: { memory } }) };
      } catch {
        welcome = false;
      }
    }
    if (made) {
      const { memory, instance } = made;
      const f64 = new Float64Array(memory.buffer, 0, elements);
      const subnt = instance.exports.subnt;
      let released = false;
      return {
        kernel: 'wasm',
        f64,
        subNT(a, lda, ra, b, ldb, rb, len, out, ldo) {
          if (released) throw new Error('this workspace was released; make a new one (its memory may hold another fit by now)');
          for (let l = 0; l < len; l += F64_CHUNK) subnt((a + l) * 8, lda * 8, ra, (b + l) * 8, ldb * 8, rb, Math.min(F64_CHUNK, len - l), out * 8, ldo * 8);
        },
        release() {
          released = true;
          giveBack(memory);
        },
      };
    }
    if (kernel === 'wasm') {
      throw new BadInputError(`PROBESCALE_GEMM=wasm, but ${module ? `a WebAssembly memory for ${bytes} bytes could not be had` : "this Node's WebAssembly has no SIMD"}; set PROBESCALE_GEMM=js or unset it to use the JavaScript kernel.`);
    }
  }
  const f64 = new Float64Array(elements);
  return {
    kernel: 'js',
    f64,
    subNT(a, lda, ra, b, ldb, rb, len, out, ldo) {
      for (let l = 0; l < len; l += F64_CHUNK) subNT64(f64, a + l, lda, ra, b + l, ldb, rb, Math.min(F64_CHUNK, len - l), out, ldo);
    },
    release() {},
  };
}

/** One f64 dot product in gemm.wat's order (even l, odd l, their sum, the odd last), taken from out. */
function dotSub(f: Float64Array, a: number, b: number, len: number, o: number): void {
  let s0 = 0;
  let s1 = 0;
  const L = len & ~1;
  for (let l = 0; l < L; l += 2) {
    s0 += f[a + l] * f[b + l];
    s1 += f[a + l + 1] * f[b + l + 1];
  }
  let t = s0 + s1;
  if (len & 1) t += f[a + L] * f[b + L];
  f[o] -= t;
}

/** gemm.wat's subnt in JavaScript (element offsets and strides): the same loops, the same bits. */
export function subNT64(f: Float64Array, a: number, lda: number, ra: number, b: number, ldb: number, rb: number, len: number, out: number, ldo: number): void {
  const L = len & ~1;
  const odd = len & 1;
  const ra4 = ra & ~3;
  const rb2 = rb & ~1;
  let i = 0;
  for (; i < ra4; i += 4) {
    const p0 = a + i * lda;
    const p1 = p0 + lda;
    const p2 = p1 + lda;
    const p3 = p2 + lda;
    for (let j = 0; j < rb2; j += 2) {
      const q0 = b + j * ldb;
      const q1 = q0 + ldb;
      // sRC_e / sRC_o: row R of the four, column C of the two, even / odd l.
      let s00e = 0, s00o = 0, s01e = 0, s01o = 0, s10e = 0, s10o = 0, s11e = 0, s11o = 0;
      let s20e = 0, s20o = 0, s21e = 0, s21o = 0, s30e = 0, s30o = 0, s31e = 0, s31o = 0;
      for (let l = 0; l < L; l += 2) {
        const w0e = f[q0 + l];
        const w0o = f[q0 + l + 1];
        const w1e = f[q1 + l];
        const w1o = f[q1 + l + 1];
        let xe = f[p0 + l];
        let xo = f[p0 + l + 1];
        s00e += xe * w0e;
        s00o += xo * w0o;
        s01e += xe * w1e;
        s01o += xo * w1o;
        xe = f[p1 + l];
        xo = f[p1 + l + 1];
        s10e += xe * w0e;
        s10o += xo * w0o;
        s11e += xe * w1e;
        s11o += xo * w1o;
        xe = f[p2 + l];
        xo = f[p2 + l + 1];
        s20e += xe * w0e;
        s20o += xo * w0o;
        s21e += xe * w1e;
        s21o += xo * w1o;
        xe = f[p3 + l];
        xo = f[p3 + l + 1];
        s30e += xe * w0e;
        s30o += xo * w0o;
        s31e += xe * w1e;
        s31o += xo * w1o;
      }
      const sums = [s00e + s00o, s01e + s01o, s10e + s10o, s11e + s11o, s20e + s20o, s21e + s21o, s30e + s30o, s31e + s31o];
      for (let r = 0; r < 4; r++) {
        for (let c = 0; c < 2; c++) {
          let t = sums[r * 2 + c];
          if (odd) t += f[a + (i + r) * lda + L] * f[b + (j + c) * ldb + L];
          f[out + (i + r) * ldo + j + c] -= t;
        }
      }
    }
    if (rb2 < rb) for (let r = 0; r < 4; r++) dotSub(f, a + (i + r) * lda, b + rb2 * ldb, len, out + (i + r) * ldo + rb2);
  }
  for (; i < ra; i++) for (let j = 0; j < rb; j++) dotSub(f, a + i * lda, b + j * ldb, len, out + i * ldo + j);
}
