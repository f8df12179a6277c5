/**
 * Vocabulary trimming: keep only the word-embedding rows of tokens a task uses.
 *
 * The tokenizer is left as it is (a byte-level BPE cannot drop tokens without breaking its
 * merges); instead the graph gets an id map in front of the word-embedding Gather (or of the
 * com.microsoft EmbedLayerNormalization that ONNX Runtime's optimizer fuses it into): kept ids go to
 * their row in the smaller table, every other id to the row of a kept id (the nearest kept token
 * or the unknown token, pipeline/nearestTokens.ts). Inputs, outputs and
 * the position ids (computed from the original input_ids) are unchanged, so the trimmed model is a
 * drop-in replacement that gives bit-identical outputs on every text made only of kept tokens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../commit/atomicDir';
import { UnsupportedModelError } from '../errors';
import { UnseenTokens } from '../optimize/unseenTokens';

export type { UnseenTokens };
import { BFLOAT16 } from './build';
import { DataType, GraphEdit, NewInitializer, OnnxInitializer, OnnxModel, OnnxNode, int64Initializer } from './model';

const ELEMENT_BYTES: Record<number, number> = { [DataType.FLOAT]: 4, [DataType.FLOAT16]: 2, [BFLOAT16]: 2, [DataType.UINT8]: 1, [DataType.INT8]: 1 };

export const VOCAB_METADATA_KEY = 'probescale.vocab';

export interface WordEmbedding {
  /** The Gather, or a com.microsoft EmbedLayerNormalization (its input 2 is the table, input 0 the ids). */
  node: OnnxNode;
  weight: OnnxInitializer;
  /** The tensor of token ids the node reads: the graph input, or the fused node's int32 cast of it. */
  idsInput: string;
  vocab: number;
  hidden: number;
}

/**
 * ONNX Runtime's transformer optimizer (optimum's --optimize O2–O4) fuses the word, position and
 * token-type lookups, their sum and the LayerNorm into one node reading input_ids cast to int32.
 */
export const FUSED_EMBEDDING = 'EmbedLayerNormalization';

export function isFusedEmbedding(n: OnnxNode): boolean {
  return n.opType === FUSED_EMBEDDING && n.domain === 'com.microsoft';
}

/** The Gather that reads the word-embedding table with the graph's token ids (or the fused node that does). */
export function findWordEmbedding(model: OnnxModel): WordEmbedding {
  const ids = model.runtimeInputs.find((i) => i.name === 'input_ids');
  if (!ids) throw new UnsupportedModelError(`${model.src.label}: no graph input named input_ids, so the word embedding cannot be found for {{vocabTrim}}.`);
  const castOfIds = new Set(model.nodes.filter((n) => n.opType === 'Cast' && n.inputs[0] === ids.name).map((n) => n.outputs[0]));
  for (const n of model.nodes) {
    const fused = isFusedEmbedding(n);
    const [slot, table] = fused ? [0, 2] : [1, 0];
    if (!(fused || n.opType === 'Gather') || !(n.inputs[slot] === ids.name || (fused && castOfIds.has(n.inputs[slot])))) continue;
    const w = model.initializers.get(n.inputs[table]);
    if (w && w.dims.length === 2) return { node: n, weight: w, idsInput: n.inputs[slot], vocab: w.dims[0], hidden: w.dims[1] };
  }
  throw new UnsupportedModelError(`${model.src.label}: no Gather reads a 2-D embedding table with input_ids directly; {{vocabTrim}} cannot trim this graph (was it already trimmed?).`);
}

/** Width of the word embeddings the encoder reads: the table's, or that of the MatMul projecting a factorised table up (compensate/embedding.ts). */
export function wordEmbeddingWidth(model: OnnxModel, e: WordEmbedding = findWordEmbedding(model)): number {
  // The fused node's output is the normalised hidden state, never a factor to project up.
  if (isFusedEmbedding(e.node)) return e.hidden;
  const up = model.nodes.find((n) => n.opType === 'MatMul' && n.inputs[0] === e.node.outputs[0]);
  const w = up ? model.initializers.get(up.inputs[1]) : undefined;
  return w && w.dims.length === 2 && w.dims[0] === e.hidden ? w.dims[1] : e.hidden;
}

/** Bytes of rows `rows` (in order) of a 2-D initializer stored as raw data, inline or external. */
export function readRows(model: OnnxModel, t: OnnxInitializer, rows: number[]): Buffer {
  const elem = ELEMENT_BYTES[t.dataType];
  if (!elem) throw new UnsupportedModelError(`${model.src.label}: embedding ${t.name} has element type ${t.dataType}; {{vocabTrim}} handles float32, float16, bfloat16, uint8 and int8 tables.`);
  const rowBytes = elem * t.dims[1];
  const out = Buffer.alloc(rowBytes * rows.length);
  if (t.external) {
    if (!model.baseDir) throw new UnsupportedModelError(`${model.src.label}: external data without a folder`);
    const fd = fs.openSync(path.join(model.baseDir, t.external.location), 'r');
    try {
      rows.forEach((r, i) => fs.readSync(fd, out, i * rowBytes, rowBytes, t.external!.offset + r * rowBytes));
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
  const range = model.rawDataRange(t);
  if (!range || range.end - range.start !== rowBytes * t.dims[0]) throw new UnsupportedModelError(`${model.src.label}: embedding ${t.name} is not stored as raw_data; {{vocabTrim}} needs raw tensor bytes.`);
  rows.forEach((r, i) => model.src.read(range.start + r * rowBytes, rowBytes).copy(out, i * rowBytes));
  return out;
}

/**
 * Dequantized tables (uint8/int8 → DequantizeLinear) stay valid after dropping rows only when the
 * scale and zero point are per tensor.
 */
function checkQuantization(model: OnnxModel, e: WordEmbedding): void {
  if (e.weight.dataType === DataType.FLOAT || e.weight.dataType === DataType.FLOAT16 || e.weight.dataType === BFLOAT16) return;
  const out = e.node.outputs[0];
  for (const n of model.nodes) {
    if (!n.inputs.includes(out) || n.opType !== 'DequantizeLinear') continue;
    for (const p of n.inputs.slice(1)) {
      const t = model.initializers.get(p);
      if (t && t.dims.reduce((a, d) => a * d, 1) !== 1) throw new UnsupportedModelError(`${model.src.label}: the quantized embedding ${e.weight.name} has per-row scales; {{vocabTrim}} handles per-tensor quantization only.`);
    }
  }
}

/**
 * The edit that keeps rows `kept` (sorted, distinct source ids) of the word-embedding table and
 * sends every id to the row of `readsAs[id]` (a kept id: its own for kept ids; for dropped ones the
 * unknown token or a nearest kept token, pipeline/nearestTokens.ts).
 */
export function vocabTrimEdit(model: OnnxModel, kept: number[], readsAs: ArrayLike<number>, note: VocabNote): { edit: GraphEdit; embedding: WordEmbedding } {
  const e = findWordEmbedding(model);
  checkQuantization(model, e);
  const newIndex = new Map(kept.map((id, i) => [id, i]));
  if (!newIndex.has(note.unkId)) throw new UnsupportedModelError(`{{vocabTrim}}: the unknown token (id ${note.unkId}) must be kept.`);
  for (const id of kept) if (!(Number.isInteger(id) && id >= 0 && id < e.vocab)) throw new UnsupportedModelError(`{{vocabTrim}}: token id ${id} is outside the vocabulary of ${e.vocab}.`);
  if (readsAs.length !== e.vocab) throw new UnsupportedModelError(`{{vocabTrim}}: the id map has ${readsAs.length} entries for a vocabulary of ${e.vocab}.`);
  const map = Array.from({ length: e.vocab }, (_, id) => {
    const row = newIndex.get(readsAs[id]);
    if (row === undefined || (newIndex.has(id) && readsAs[id] !== id)) throw new UnsupportedModelError(`{{vocabTrim}}: token id ${id} would read id ${readsAs[id]}, which is not kept or moves a kept id.`);
    return row;
  });
  const mapName = 'probescale/vocab/map';
  const idsName = 'probescale/vocab/input_ids';
  const table: NewInitializer = { name: e.weight.name, dataType: e.weight.dataType, dims: [kept.length, e.hidden], data: readRows(model, e.weight, kept) };
  const remap = { name: 'probescale/vocab/remap', opType: 'Gather', inputs: [mapName, e.idsInput], outputs: [idsName] };
  // The fused node takes int32 ids (its cast of input_ids); the Gather's output has the map's type.
  const mapTensor = isFusedEmbedding(e.node) ? int32Initializer(mapName, map) : int64Initializer(mapName, map, [e.vocab]);
  const at = isFusedEmbedding(e.node) ? model.nodes.indexOf(e.node) : 0;
  const edit: GraphEdit = {
    nodes: [...model.nodes.slice(0, at), remap, ...model.nodes.slice(at)],
    renameInputs: (n, input) => (n === e.node && input === e.idsInput ? idsName : input),
    keepInitializer: (name) => name !== e.weight.name,
    newInitializers: [mapTensor, table],
    // Absent `unseen` means the unknown token's row (the only map before nearest tokens).
    metadata: { [VOCAB_METADATA_KEY]: JSON.stringify({ sourceVocab: e.vocab, kept: kept.length, unkId: note.unkId, ...(note.unseen === 'nearest' ? { unseen: note.unseen } : {}) }) },
  };
  return { edit, embedding: e };
}

function int32Initializer(name: string, values: number[]): NewInitializer {
  return { name, dataType: DataType.INT32, dims: [values.length], data: Buffer.from(Int32Array.from(values).buffer) };
}

/** What the trimmed graph's metadata records beside the sizes. */
export interface VocabNote {
  unkId: number;
  /** How dropped ids were sent to kept rows (pipeline/nearestTokens.ts). */
  unseen: UnseenTokens;
}


/** readsAs for the `unknown` policy: kept ids read their own row, every other id the unknown token's. */
export function unknownTokenMap(vocab: number, kept: number[], unkId: number): Int32Array {
  const keep = new Set(kept);
  return Int32Array.from({ length: vocab }, (_, id) => (keep.has(id) ? id : unkId));
}

/** Rewrites an ONNX file in place (through a sibling temporary file) with its vocabulary trimmed. */
export function trimVocabFile(file: string, kept: number[], readsAs: ArrayLike<number>, note: VocabNote): void {
  const model = OnnxModel.open(file);
  writeFileAtomic(file, (tmp) => {
    try {
      model.write(tmp, vocabTrimEdit(model, kept, readsAs, note).edit);
    } finally {
      model.close();
    }
  });
}
