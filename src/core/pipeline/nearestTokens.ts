/**
 * Where a trimmed vocabulary sends the ids it drops. `nearest`: each ordinary dropped token reads
 * the row of the kept token whose source word-embedding row is nearest in cosine, so a word the
 * training texts never used reads a similar word's row instead of the unknown token's; special
 * tokens go to the unknown token. `unknown`: every dropped id reads the unknown token's row.
 * RESULTS §5l measures the two on training rows (split in halves), which is where the default
 * was chosen. The cosines are one MatMul per chunk of dropped rows, run by ONNX Runtime (a
 * 30,522 × 768 table is about 10¹¹ multiply-adds: seconds there, minutes in plain JS).
 */
import * as ort from 'onnxruntime-node';
import { throwIfAborted } from '../errors';
import { GraphBuilder } from '../onnx/build';
import { DataType, OnnxModel } from '../onnx/model';
import { UnseenTokens, WordEmbedding, readRows, unknownTokenMap } from '../onnx/vocab';
import { openSession } from '../runtime/session';

/** Dropped rows scored per run: CHUNK × kept float32 scores at most (64 × 30,522 × 4 B ≈ 8 MB). */
const CHUNK = 64;

/** ORT tensor types of the tables whose rows can be compared as they are stored. */
const TENSOR_TYPE: Partial<Record<number, 'float32' | 'float16'>> = { [DataType.FLOAT]: 'float32', [DataType.FLOAT16]: 'float16' };

/** q [n, h], k [m, h] (one float type) → the index in k of each q row's nearest row by cosine, int64 [n]. */
function nearestGraph(elemType: number): Uint8Array {
  const g = new GraphBuilder();
  g.inputs.push({ name: 'q', elemType, shape: ['n', 'h'] }, { name: 'k', elemType, shape: ['m', 'h'] });
  const unit = (x: string) => {
    const f = g.op('near', 'Cast', [x], { to: DataType.FLOAT });
    const norm = g.op('near', 'Sqrt', [g.op('near', 'ReduceSumSquare', [f], { axes: [1], keepdims: 1 })]);
    return g.op('near', 'Div', [f, g.op('near', 'Max', [norm, g.float(1e-12)])]);
  };
  const scores = g.op('near', 'Gemm', [unit('q'), unit('k')], { transB: 1 });
  g.op('near', 'ArgMax', [scores], { axis: 1, keepdims: 0 }, 'nearest');
  g.outputs.push({ name: 'nearest', elemType: DataType.INT64, shape: ['n'] });
  return g.serialize(13, 'nearest-tokens');
}

/**
 * readsAs[id]: the source id whose row `id` reads after the trim; kept ids read their own. With
 * `nearest`, the candidates are the kept ids other than `unkId`, padding and `special`. Falls
 * back to `unknown` (and says so in `policy`) when the table is not float32 or float16, or no
 * candidate is left.
 */
export async function unseenTokenMap(model: OnnxModel, e: WordEmbedding, kept: number[], unkId: number, exclude: Set<number>, policy: UnseenTokens, signal?: AbortSignal): Promise<{ readsAs: Int32Array; policy: UnseenTokens }> {
  const keep = new Set(kept);
  const readsAs = unknownTokenMap(e.vocab, kept, unkId);
  const type = TENSOR_TYPE[e.weight.dataType];
  const targets = kept.filter((id) => id !== unkId && !exclude.has(id));
  const dropped: number[] = [];
  for (let id = 0; id < e.vocab; id++) if (!keep.has(id) && !exclude.has(id)) dropped.push(id);
  if (policy === 'unknown' || !type || targets.length === 0 || dropped.length === 0) return { readsAs, policy: 'unknown' };
  const tensor = (ids: number[]) => {
    const b = readRows(model, e.weight, ids);
    const own = b.buffer.slice(b.byteOffset, b.byteOffset + b.length); // aligned for the typed array
    const data = type === 'float32' ? new Float32Array(own) : new Uint16Array(own);
    return new ort.Tensor(type, data, [ids.length, e.hidden]);
  };
  const { session } = await openSession(nearestGraph(e.weight.dataType), { provider: 'cpu' });
  try {
    const k = tensor(targets);
    for (let at = 0; at < dropped.length; at += CHUNK) {
      throwIfAborted(signal);
      const ids = dropped.slice(at, at + CHUNK);
      const r = await session.run({ q: tensor(ids), k });
      const best = r.nearest.data as BigInt64Array;
      ids.forEach((id, i) => (readsAs[id] = targets[Number(best[i])]));
    }
  } finally {
    await session.release();
  }
  return { readsAs, policy: 'nearest' };
}
