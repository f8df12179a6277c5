/**
 * The weights of a Hugging Face model folder as safetensors: one `model.safetensors`, or shards
 * `model-0000x-of-0000y.safetensors` listed by `model.safetensors.index.json`; where it has none,
 * PyTorch's `pytorch_model.bin` (or its shards and `pytorch_model.bin.index.json`), read without
 * running its pickle (pytorchCheckpoint.ts). Only headers are read; each tensor is located by file
 * and byte range so a graph can reference it in place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError } from '../errors';
import { SafetensorsHeader, TensorReplacer, readSafetensorsHeader, writePrunedSafetensors } from './safetensors';
import { readPytorchCheckpoint } from './pytorchCheckpoint';
import { notAFile, orAdvice, somethingAt } from '../util/fileKind';
import { firstDuplicateKey } from '../util/jsonKeys';
import { readUtf8 } from '../util/textFile';

export interface WeightTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute path of the file holding the bytes. */
  file: string;
  /** Absolute byte offset of the tensor in `file`, and its length in bytes. */
  offset: number;
  length: number;
}

export interface WeightSet {
  /** The weight files (safetensors, or PyTorch checkpoints where `pytorch`), absolute paths, in index order. */
  files: string[];
  tensors: Map<string, WeightTensor>;
  /** True where the files are PyTorch checkpoints (pytorch_model.bin), not safetensors. */
  pytorch?: boolean;
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
export const PYTORCH_FILE = 'pytorch_model.bin';
export const PYTORCH_INDEX = 'pytorch_model.bin.index.json';

/** True when `dir` holds safetensors weights (one file or an index). */
export function hasSafetensors(dir: string): boolean {
  return somethingAt(path.join(dir, SINGLE_FILE)) || somethingAt(path.join(dir, INDEX_FILE));
}

/**
 * True when a commit of the model in `dir` writes its weights: it has safetensors, or the graph was
 * built from its PyTorch checkpoint. Beside an ONNX export a pytorch_model.bin is left unread: it is
 * not checked against the export, and a checkpoint that cannot be read must not stop a commit of the
 * export that worked before.
 */
export function writesWeights(dir: string, graphFrom: 'onnx' | 'safetensors'): boolean {
  return hasSafetensors(dir) || (graphFrom === 'safetensors' && hasWeights(dir));
}

/** True when `dir` holds weights a graph can be built from: safetensors, else a PyTorch checkpoint. */
export function hasWeights(dir: string): boolean {
  return hasSafetensors(dir) || somethingAt(path.join(dir, PYTORCH_FILE)) || somethingAt(path.join(dir, PYTORCH_INDEX));
}

/** The tensor names encoders' word embeddings end with (ModernBERT: tok_embeddings; T5: shared.weight, never under a head here). */
const WORD_EMBEDDINGS = ['embeddings.word_embeddings.weight', 'embeddings.tok_embeddings.weight'];

/**
 * Which tensors belong to the encoder where the weights are a model with a task head: those under
 * the encoder's prefix (`bert.`, `roberta.`, `distilbert.`, `electra.`), not the head's
 * (`classifier.`, `lm_head.`, `cls.`, …). Undefined where the weights have no prefix (a base model:
 * nothing to leave out).
 */
export function encoderTensors(weights: WeightSet): ((name: string) => boolean) | undefined {
  const ends = (n: string) => WORD_EMBEDDINGS.find((w) => n.endsWith(w));
  const word = [...weights.tensors.keys()].filter(ends).sort((a, b) => a.length - b.length)[0];
  const prefix = word?.slice(0, -ends(word)!.length) ?? '';
  return prefix ? (name) => name.startsWith(prefix) : undefined;
}

export function openWeights(dir: string): WeightSet {
  const single = path.join(dir, SINGLE_FILE);
  if (somethingAt(single)) return { files: [single], tensors: tensorsOf(single, null) };
  const indexFile = path.join(dir, INDEX_FILE);
  if (somethingAt(indexFile)) return { ...shards(dir, indexFile, '.safetensors', (abs, names) => tensorsOf(abs, names)) };
  const bin = path.join(dir, PYTORCH_FILE);
  if (somethingAt(bin)) return { files: [bin], tensors: checkpointTensors(bin, dir, null), pytorch: true };
  const binIndex = path.join(dir, PYTORCH_INDEX);
  if (somethingAt(binIndex)) return { ...shards(dir, binIndex, '.bin', (abs, names) => checkpointTensors(abs, dir, names)), pytorch: true };
  throw new BadInputError(`${dir} has neither ${SINGLE_FILE} nor ${INDEX_FILE} (nor PyTorch's ${PYTORCH_FILE}).`);
}

/** The tensors of a PyTorch checkpoint file (only `wanted` when given; each must be there). */
function checkpointTensors(file: string, dir: string, wanted: Set<string> | null): Map<string, WeightTensor> {
  const bad = notAFile(file);
  if (bad) throw new BadInputError(`${file} ${orAdvice(bad, "; put the model's weights there (download or copy them again)")}.`);
  const all = readPytorchCheckpoint(file, dir);
  if (!wanted) return all;
  const out = new Map<string, WeightTensor>();
  for (const name of wanted) {
    const t = all.get(name);
    if (!t) throw new BadInputError(`${file}: the index says it holds tensor '${name}', but the checkpoint has no such tensor; re-download the shard.`);
    out.set(name, t);
  }
  return out;
}

/** Every shard an index names (each in the same folder, ending in `ext`), read by `read`. */
function shards(dir: string, indexFile: string, ext: string, read: (abs: string, names: Set<string>) => Map<string, WeightTensor>): Omit<WeightSet, 'pytorch'> {
  const map = readIndex(indexFile);
  const byFile = new Map<string, Set<string>>();
  for (const [name, file] of Object.entries(map)) {
    if (path.basename(file) !== file || !file.endsWith(ext)) throw new BadInputError(`${indexFile}: tensor '${name}' points to '${file}'; shards must be ${ext} files in the same folder.`);
    let names = byFile.get(file);
    if (!names) byFile.set(file, (names = new Set()));
    names.add(name);
  }
  const files: string[] = [];
  const tensors = new Map<string, WeightTensor>();
  for (const [file, names] of byFile) {
    const abs = path.join(dir, file);
    if (!somethingAt(abs)) throw new BadInputError(`${indexFile} lists shard ${file} (tensor '${[...names][0]}'), which is missing from ${dir}; download every shard.`);
    files.push(abs);
    for (const [name, t] of read(abs, names)) tensors.set(name, t);
  }
  return { files, tensors };
}

function readIndex(file: string): Record<string, string> {
  const bad = notAFile(file);
  if (bad) throw new BadInputError(`${file} ${orAdvice(bad, `; download the model's ${path.basename(file)} again`)}.`);
  let json: unknown;
  const text = readUtf8(file);
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BadInputError(`${file} is not valid JSON (${(e as Error).message}); re-download it.`);
  }
  // JSON.parse keeps the last of two shards named for one tensor; which one is meant cannot be told.
  const dup = firstDuplicateKey(text, json);
  if (dup?.at === 'weight_map') throw new BadInputError(`${file}: its weight_map names tensor '${dup.key}' twice; re-download it.`);
  const map = (json as { weight_map?: unknown })?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map) || Object.keys(map).length === 0 || Object.values(map).some((v) => typeof v !== 'string')) {
    const found = map === undefined ? 'none' : JSON.stringify(map).slice(0, 80);
    throw new BadInputError(`${file} has no weight_map object of tensor name → shard file (found ${found}); re-download it.`);
  }
  return map as Record<string, string>;
}

/**
 * The tensors of one file (only `wanted` when given; each must be there), after checking that no two
 * tensors share bytes: a graph referencing overlapping ranges would silently read the wrong numbers.
 */
function tensorsOf(file: string, wanted: Set<string> | null): Map<string, WeightTensor> {
  const header = readSafetensorsHeader(file);
  const sorted = header.tensors.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      throw new BadInputError(`${file}: tensors '${sorted[i - 1].name}' (bytes ${sorted[i - 1].begin}–${sorted[i - 1].end}) and '${sorted[i].name}' (from byte ${sorted[i].begin}) overlap; the file is corrupt, re-download or re-save it.`);
    }
  }
  const out = new Map<string, WeightTensor>();
  for (const t of header.tensors) {
    if (wanted && !wanted.has(t.name)) continue;
    out.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, file, offset: header.dataOffset + t.begin, length: t.end - t.begin });
  }
  for (const name of wanted ?? []) {
    if (!out.has(name)) throw new BadInputError(`${file}: the index says it holds tensor '${name}', but its header has no such tensor; re-download the shard.`);
  }
  return out;
}

/**
 * Prunes a sharded model's weights into `outDir`: each shard keeps its name and holds its kept
 * tensors renumbered (writePrunedSafetensors), shards left empty are dropped, and a new index maps
 * every tensor to its shard. Returns the files written, relative to `outDir`.
 */
export async function writePrunedShards(dir: string, outDir: string, kept: number[], numBlocks: number, opts: { signal?: AbortSignal; keep?: (name: string) => boolean; replace?: TensorReplacer } = {}): Promise<string[]> {
  const weights = openWeights(dir);
  const weightMap: Record<string, string> = {};
  const written: string[] = [];
  let totalSize = 0;
  for (const f of weights.files) {
    // A PyTorch shard (pytorch_model-00001-of-00002.bin) is written as the safetensors shard save_pretrained names model-00001-of-00002.safetensors.
    const name = weights.pytorch ? path.basename(f).replace(/^pytorch_model/, 'model').replace(/\.bin$/, '.safetensors') : path.basename(f);
    const dst = path.join(outDir, name);
    await writePrunedSafetensors(f, dst, kept, { ...opts, numBlocks, header: weights.pytorch ? checkpointHeader(weights, f) : undefined });
    const header = readSafetensorsHeader(dst);
    if (header.tensors.length === 0) {
      fs.rmSync(dst);
      continue;
    }
    for (const t of header.tensors) weightMap[t.name] = name;
    totalSize += header.tensors.reduce((a, t) => a + t.end - t.begin, 0);
    written.push(name);
  }
  fs.writeFileSync(path.join(outDir, INDEX_FILE), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + '\n');
  return [...written, INDEX_FILE];
}

/**
 * The tensors of PyTorch checkpoint `file` as a safetensors header would list them (offsets from the
 * file's start, `dataOffset` 0), so that the safetensors writer copies them from the checkpoint.
 * Tied weights (several names over one storage) are written once per name.
 */
export function checkpointHeader(weights: WeightSet, file: string): SafetensorsHeader {
  const tensors = [...weights.tensors.values()].filter((t) => t.file === file).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, begin: t.offset, end: t.offset + t.length }));
  return { tensors, metadata: { format: 'pt' }, dataOffset: 0 };
}
