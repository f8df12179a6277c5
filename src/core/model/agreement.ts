/**
 * A folder holding both an ONNX export and safetensors weights is run from the export, but a
 * commit writes both, pruned, into the new folder. When they are two different models (an export
 * of one checkpoint beside the weights of a fine-tune), the committed folder would hold one model
 * as ONNX and another as safetensors. The layer-norm parameters outside the blocks, a few hundred
 * numbers that every fine-tune changes, tell the two apart cheaply.
 */
import * as path from 'node:path';
import { BadInputError, ProbeScaleError } from '../errors';
import { readFloat32 } from '../compensate/structure';
import { DataType, OnnxModel } from '../onnx/model';
import { WeightSet, WeightTensor, openWeights } from './weights';
import { readRange } from '../util/fileKind';
import { blockIndexOf } from './safetensors';
import { buildEncoderGraph, WeightsMismatchError } from './encoderGraph';
import { halfToFloat32 } from '../util/half';

/** Norms by name: BERT's, T5's, ModernBERT's (embeddings.norm, final_norm) and NomicBERT's (emb_ln). */
const NORM = /(LayerNorm|layer_norm|layernorm|embeddings\.norm|final_norm|emb_ln)\.(weight|bias)$/;
/** Norm tensors compared (those outside the blocks: the embeddings' and the final norm); each is one hidden-size vector. */
const COMPARED = 4;
/** Relative agreement expected of a copy stored at the safetensors file's precision (half an ulp, with room). */
const TOLERANCE: Record<string, number> = { F32: 1e-6, F16: 2e-3, BF16: 1e-2 };

/** The values of a F32, F16 or BF16 safetensors tensor as float64; null for other dtypes. */
function readWeights(t: WeightTensor): Float64Array | null {
  if (!(t.dtype in TOLERANCE)) return null;
  const bytes = readRange(t.file, t.offset, t.length);
  if (t.dtype === 'F32') return Float64Array.from({ length: t.length / 4 }, (_, i) => bytes.readFloatLE(4 * i));
  return Float64Array.from(halfToFloat32(bytes, t.dtype as 'F16' | 'BF16'));
}

/** The safetensors tensor an ONNX initializer was exported from: the same name, or it under a prefix such as `roberta.`. */
function counterpart(weights: WeightSet, name: string): WeightTensor | undefined {
  const exact = weights.tensors.get(name);
  if (exact) return exact;
  for (const [n, t] of weights.tensors) if (n.endsWith(`.${name}`)) return t;
  return undefined;
}

/**
 * Refuses an ONNX export and safetensors weights in one folder that are different models (see the file
 * comment), and weights that cannot be read or do not hold the model config.json describes.
 * @throws BadInputError naming the first tensor that differs, and what to do.
 */
export function checkExportMatchesWeights(dir: string, model: OnnxModel, onnxFile: string, config: Record<string, unknown>): void {
  let weights: WeightSet;
  try {
    weights = openWeights(dir);
  } catch (e) {
    // Read here, not left to the commit: it would copy them after the whole run, or fail there.
    if (e instanceof ProbeScaleError) throw new BadInputError(`${e.message} ${COPIED} Fix them, or move them away to use and commit the ONNX export alone.`);
    throw e;
  }
  checkWeightsHoldModel(dir, config, weights);
  let compared = 0;
  for (const [name, init] of model.initializers) {
    if (compared >= COMPARED) break;
    // Outside the blocks only: a pruned export keeps each kept block's original names, its safetensors renumbers them.
    if (!NORM.test(name) || blockIndexOf(name) !== null || init.dataType !== DataType.FLOAT) continue;
    const st = counterpart(weights, name);
    const b = st && readWeights(st);
    if (!st || !b) continue;
    const a = readFloat32(model, init);
    compared++;
    const tol = TOLERANCE[st.dtype];
    const i = a.length !== b.length ? -1 : a.findIndex((x, j) => !(Math.abs(x - b[j]) <= tol * Math.max(1, Math.abs(x))));
    if (i === -1 && a.length === b.length) continue;
    const what = a.length !== b.length ? `has ${a.length} values in the export and ${b.length} in ${path.basename(st.file)}` : `differs at element ${i}: ${a[i]} in the export, ${b[i]} in ${path.basename(st.file)}`;
    throw new BadInputError(
      `${dir}: ${path.relative(dir, onnxFile)} and ${path.basename(st.file)} are different models (tensor '${name}' ${what}); a commit would write both into the pruned folder. ` +
        `Keep the one you mean: remove or move away the safetensors weights to use the export, or pass {{from}} safetensors to build the graph from the weights.`,
    );
  }
}

/**
 * Refuses safetensors weights beside an export that lack a tensor config.json implies, hold one in
 * another shape, or hold blocks it does not declare: the export runs, but a commit copies the
 * weights, pruned, into the new folder, where PyTorch would fail to load them or fill what is
 * missing with random values. Checked by building the graph those weights describe (in memory; no
 * weight is read). Architectures ProbeScale does not build from safetensors, and configs it cannot
 * read, are not judged here.
 */
const COPIED = 'A commit copies the safetensors weights beside the ONNX export, pruned, into the new folder, where PyTorch could not load them as this model.';

function checkWeightsHoldModel(dir: string, config: Record<string, unknown>, weights: WeightSet): void {
  try {
    buildEncoderGraph(config, weights, 'probescale');
  } catch (e) {
    if (!(e instanceof WeightsMismatchError)) return;
    throw new BadInputError(
      `${dir}: the safetensors weights beside the ONNX export do not hold the model config.json describes: ${e.message} ${COPIED} Re-download or re-save the weights (save_pretrained), or move them away to use and commit the ONNX export alone.`,
    );
  }
}

