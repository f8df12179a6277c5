/**
 * Structure-aware fuzzing of a model folder's model.safetensors: each case changes one or two
 * entries of its header (another dtype, with the data converted or not; another shape; the entry
 * deleted, renamed, moved to another block or given twice; its data offsets moved; the metadata
 * changed), writes a valid safetensors file around them, and opens the folder as a job does: the
 * model (its graph built from the safetensors, or its ONNX export checked against them), two
 * texts run through it, and a pruned folder written, which must open from its own safetensors. Byte mutations mostly stop at the header's
 * JSON; these reach the graph builder, the checks against the export and the pruned writer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelInfo, graphVocabRows, openModel } from '../src/core/model/modelInfo';
import { TextTokenizer, loadTokenizer } from '../src/core/data/tokenize';
import { checkCompensableModel } from '../src/core/compensate/build';
import { compensationSource } from '../src/core/compensate/source';
import { buildVariant } from '../src/core/compensate/variant';
import { calibrationSet } from '../src/core/compensate/calibrate';
import { Extractor } from '../src/core/extract/extractor';
import { writePrunedFolder } from '../src/core/commit/prunedFolder';
import { Rng } from '../src/core/util/rng';
import type { FuzzTarget } from './fuzz';

type Entry = { dtype: unknown; shape: unknown; data_offsets: unknown };
type Header = Record<string, Entry | Record<string, unknown>>;

const DTYPES = ['F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'BOOL', 'F8_E4M3', 'F32', 'X', ''];
const CONVERTIBLE = ['F16', 'BF16', 'F64'] as const;

/** The header and data of a safetensors file. */
function split(bytes: Buffer): { header: Header; data: Buffer } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Header, data: bytes.subarray(8 + n) };
}

/** A safetensors file: the header's length, the header (padded to 8 bytes, as the format asks) and the data. */
function join(header: Header, data: Buffer): Buffer {
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

function toHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | (mant >>> 13);
}

/** The tensor `name` stored as `dtype` (values converted from F32), every entry's offsets laid out anew. */
function convert(header: Header, data: Buffer, name: string, dtype: (typeof CONVERTIBLE)[number]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const [key, e] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const [a, b] = (e as Entry).data_offsets as [number, number];
    let bytes = data.subarray(a, b);
    if (key === name) {
      const v = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      if (dtype === 'F64') bytes = Buffer.from(Float64Array.from(v).buffer);
      else if (dtype === 'F16') bytes = Buffer.from(Uint16Array.from(v, toHalf).buffer);
      else bytes = Buffer.from(Uint16Array.from(new Uint32Array(v.buffer), (u) => u >>> 16).buffer);
      (e as Entry).dtype = dtype;
    }
    (e as Entry).data_offsets = [at, at + bytes.length];
    parts.push(bytes);
    at += bytes.length;
  }
  return Buffer.concat(parts);
}

/** One change of `header` (in place), maybe of `data` too; returns its description and the data. */
function change(header: Header, data: Buffer, rng: Rng): { what: string; data: Buffer } {
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names[rng.int(names.length)];
  const e = header[name] as Entry;
  const shape = [...(e.shape as number[])];
  const [a, b] = e.data_offsets as [number, number];
  switch (rng.int(8)) {
    case 0: {
      e.dtype = DTYPES[rng.int(DTYPES.length)];
      return { what: `${name} dtype ${e.dtype}, data unchanged`, data };
    }
    case 1: {
      const dtype = CONVERTIBLE[rng.int(CONVERTIBLE.length)];
      if (e.dtype !== 'F32') break;
      return { what: `${name} stored as ${dtype}`, data: convert(header, data, name, dtype) };
    }
    case 2: {
      const i = rng.int(Math.max(1, shape.length));
      const shapes = [shape.map((d, j) => (j === i ? d + 1 : d)), shape.map((d, j) => (j === i ? d - 1 : d)), shape.map((d, j) => (j === i ? 0 : d)), [...shape].reverse(), [...shape, 1], shape.slice(1), [shape.reduce((x, y) => x * y, 1)], [-1, ...shape.slice(1)], [1.5]];
      e.shape = shapes[rng.int(shapes.length)];
      return { what: `${name} shape [${String(e.shape)}]`, data };
    }
    case 3:
      delete header[name];
      return { what: `${name} deleted`, data };
    case 4: {
      const to = [name.replace(/^[a-z_]+\./, ''), `model.${name}`, name.replace(/layer\.(\d+)/, 'layer.9'), name.replace(/layer\.(\d+)/, 'layer.01'), name.replace('weight', 'gamma'), name.toUpperCase()][rng.int(6)];
      delete header[name];
      header[to] = e;
      return { what: `${name} renamed ${to}`, data };
    }
    case 5: {
      const offsets = [[b, a], [a, b + 4], [a + 4, b + 4], [0, b - a], [a, data.length + 4], [a + 0.5, b], [-4, b], [String(a), b], [a]];
      e.data_offsets = offsets[rng.int(offsets.length)];
      return { what: `${name} data_offsets ${JSON.stringify(e.data_offsets)}`, data };
    }
    case 6: {
      const to = name.replace(/layer\.(\d+)/, (_, k) => `layer.${Number(k) + 1}`);
      header[to === name ? `${name}.copy` : to] = { ...e, shape: [...shape] };
      return { what: `${name} given again as ${to === name ? `${name}.copy` : to}`, data };
    }
    case 7: {
      const metadata = [undefined, { format: 'tf' }, { format: 1 }, {}, 'pt', { format: 'pt', extra: { nested: true } }][rng.int(6)];
      if (metadata === undefined) delete header.__metadata__;
      else header.__metadata__ = metadata as Record<string, unknown>;
      return { what: `__metadata__ ${JSON.stringify(metadata)}`, data };
    }
  }
  return { what: 'no change', data };
}

/**
 * A target over a copy of the model folder `source` in `scratchDir`, without its onnx/ folder
 * unless `withOnnx` (then the export is what runs, and the safetensors are what it is checked
 * against and what a pruned folder copies). With `compensated`, an accepted model is also compensated
 * as optimize --compensate all does: its standalone copy written, a bridge and narrowed blocks fitted.
 */
export function safetensorsTarget(name: string, source: string, scratchDir: string, withOnnx: boolean, compensated = false): FuzzTarget {
  const dir = path.join(scratchDir, name);
  fs.cpSync(source, dir, { recursive: true, filter: (f) => withOnnx || path.basename(f) !== 'onnx' });
  const file = path.join(dir, 'model.safetensors');
  const seed = fs.readFileSync(file);
  const cache = path.join(scratchDir, `${name}-graphs`);
  const pruned = path.join(scratchDir, `${name}-pruned`);
  return {
    name,
    seed,
    hotspots: [],
    mutate(rng) {
      const { header, data: original } = split(seed);
      let data = original;
      const whats: string[] = [];
      for (let k = 1 + rng.int(2); k > 0; k--) {
        const c = change(header, data, rng);
        data = c.data;
        whats.push(c.what);
      }
      return { what: whats.join('; '), bytes: join(header, data) };
    },
    async read(bytes) {
      fs.writeFileSync(file, bytes);
      try {
        const info = openModel(dir, { graphCacheDir: cache });
        try {
          const tok = await loadTokenizer(dir, { maxLength: 16, embeddingRows: graphVocabRows(info.model) });
          const ex = await Extractor.create(info, tok, { poolings: ['mean'], cacheDir: null, threads: 1 });
          try {
            await ex.extract([{ text: 'a short text' }, { text: 'another one, longer than the first' }], 'fuzz');
          } finally {
            await ex.release();
          }
          if (compensated) await compensateOnce(info, tok);
          fs.mkdirSync(pruned);
          await writePrunedFolder(info, info.numLayers > 1 ? [0, info.numLayers - 1] : [0], pruned, {}, {});
        } finally {
          info.model.close();
        }
        // What was accepted and pruned must open from its own safetensors, where their dtypes are
        // ones ProbeScale reads: a commit must not write weights PyTorch cannot load as the model.
        if (Object.entries(split(bytes).header).every(([k, e]) => k === '__metadata__' || ['F32', 'F16', 'BF16'].includes((e as Entry).dtype as string))) {
          try {
            openModel(pruned, { from: 'safetensors', graphCacheDir: cache }).model.close();
          } catch (e) {
            throw new Error(`the pruned folder of an accepted model does not open from its safetensors: ${(e as Error).message}`);
          }
        }
      } finally {
        fs.writeFileSync(file, seed);
        fs.rmSync(cache, { recursive: true, force: true });
        fs.rmSync(pruned, { recursive: true, force: true });
      }
    },
  };
}

const CALIBRATION_TEXTS = ['a short text', 'another one, longer than the first', 'the third text of the set', 'four', 'and a fifth one, the last but one', 'six words make this text whole'];

/**
 * BERT-style: a bridge over block 1 and blocks 0 and the last narrowed to one head and 8 FFN neurons.
 * T5: block 0, which makes the position bias, dropped, a bridge into block 1 and one over the middle,
 * both kept blocks narrowed the same way, and the word table factorised to rank 4. Fitted on six texts.
 */
async function compensateOnce(info: ModelInfo, tok: TextTokenizer): Promise<void> {
  checkCompensableModel(info);
  const source = compensationSource(info);
  try {
    const last = info.numLayers - 1;
    if (last < 2) return;
    const set = calibrationSet(tok, CALIBRATION_TEXTS, { batchSize: 3, heldFraction: 0.34 });
    const t5 = info.architecture.includes('t5');
    const [kept, spec] = t5 ? [[1, last], { bridges: true, heads: 1, ffnWidth: 8, embeddingRank: 4 }] : [[0, last], { bridges: true, heads: 1, ffnWidth: 8 }];
    const v = await buildVariant(source.info, set, kept, spec, { batchSize: 3, threads: 1 }, {});
    v.dispose();
  } finally {
    source.dispose();
  }
}

/** The safetensors targets over the tiny BERT, RoBERTa, MPNet, ModernBERT, DeBERTa and NomicBERT fixtures, with their graph built from the weights and with their ONNX export. */
export function safetensorsTargets(repoRoot: string, scratchDir: string): FuzzTarget[] {
  return ['tiny-bert', 'tiny-roberta', 'tiny-mpnet', 'tiny-modernbert', 'tiny-deberta-v3', 'tiny-nomic-bert'].flatMap((f) => {
    const source = path.join(repoRoot, 'test', 'fixtures', f);
    return [safetensorsTarget(`safetensors-${f}`, source, scratchDir, false), safetensorsTarget(`safetensors-${f}-onnx`, source, scratchDir, true)];
  });
}

/** Header changes to the tiny BERT, RoBERTa, MPNet, T5 (relu and gated) and ModernBERT weights, each accepted model compensated from its graph built from them. */
export function compensatedSafetensorsTargets(repoRoot: string, scratchDir: string): FuzzTarget[] {
  return ['tiny-bert', 'tiny-roberta', 'tiny-mpnet', 'tiny-t5-encoder', 'tiny-t5-gated', 'tiny-modernbert', 'tiny-deberta-v3', 'tiny-nomic-bert'].map((f) => safetensorsTarget(`safetensors-compensated-${f}`, path.join(repoRoot, 'test', 'fixtures', f), scratchDir, false, true));
}
