/**
 * model.safetensors for a compensated winner, where a Hugging Face config can say what the model is:
 * blocks removed (the layer count) and every kept block's FFN narrowed to one width (intermediate_size,
 * DistilBERT's hidden_dim), its neurons' rows taken from the source and its output projection
 * refitted. Nothing else has a config key: bridges, a factorised word table, FFN widths that differ
 * by block, narrowed attention (transformers 5 removed `pruned_heads`, PR #41417: a checkpoint with
 * fewer heads no longer loads) and T5's refits (they add a bias its projections do not have). Then no
 * checkpoint is written and the note says why.
 */
import { ModelInfo } from '../model/modelInfo';
import { BUILDABLE } from '../model/encoderGraph';
import { modernBertTransformersGap } from '../model/modernBert';
import { ReplacedTensor, TensorReplacer, dtypeBytes, renameForKept } from '../model/safetensors';
import { PYTORCH_FILE, hasWeights, openWeights, writesWeights } from '../model/weights';
import { CompensationPlan, Narrowing } from './graph';
import { committedGraphName } from '../commit/outputSize';

export interface Checkpoint {
  /** config.json keys the narrowed FFNs change (written with or without weights: the config describes the graph too). */
  config?: Record<string, number>;
  /** New contents of the narrowed tensors; absent where no model.safetensors is written. */
  replace?: TensorReplacer;
  /** What the folder holds for PyTorch, in words: the checkpoint, or why there is none. */
  note: string;
}

/** Where to turn instead, naming the committed graph (T5: onnx/encoder_model.onnx). */
const useOnnx = (graph: string) => `Use onnx/${graph} (ONNX Runtime, transformers.js) or the classifiers/ folders`;

const noWeights = (graph: string, pytorch: boolean) =>
  pytorch
    ? `No model.safetensors: the graph came from the source's ONNX export, and its weights are PyTorch's ${PYTORCH_FILE}, which ProbeScale writes as safetensors only when it builds the graph from them (re-run with --from safetensors). ${useOnnx(graph)}.`
    : `No model.safetensors: the source folder has none (only its ONNX export), so there are no PyTorch weights to write. ${useOnnx(graph)}.`;

/** The card's sentence where no checkpoint is written, `why` naming what has no config key. */
export const noCheckpoint = (why: string, graph = 'model.onnx') => `No model.safetensors: ${why}, which a Hugging Face config cannot express, so a PyTorch checkpoint of this model would compute something else. ${useOnnx(graph)}; for PyTorch, re-run optimize with --compensate none.`;

/** FFN tensor names after pruning (block j of the kept ones), by family: [up, down] module paths and the width key. */
const FFN: Record<'bert' | 'distilbert', { block: RegExp; key: string }> = {
  bert: { block: /(?:^|\.)encoder\.layer\.(\d+)\.(intermediate|output)\.dense\.(weight|bias)$/, key: 'intermediate_size' },
  distilbert: { block: /(?:^|\.)transformer\.layer\.(\d+)\.ffn\.(lin1|lin2)\.(weight|bias)$/, key: 'hidden_dim' },
};

/** What the compensated `plan` of `source` can be written as for PyTorch: a checkpoint, or the reason there is none. */
export function checkpointOf(source: ModelInfo, plan: CompensationPlan): Checkpoint {
  const family = BUILDABLE[source.architecture];
  const graph = committedGraphName('model.onnx', source.architecture);
  const none = (why: string) => ({ note: noCheckpoint(why, graph) });
  if ([...plan.bridges.keys()].length) return none('least-squares bridges between blocks');
  if (plan.embedding) return none('a factorised word-embedding table');
  if (family === 't5' && plan.narrow.size) return none("T5's refitted projections (each refit adds a bias the T5 projections do not have)");
  const gap = family === 'modernbert' ? modernBertTransformersGap(source.config, plan.kept, source.numLayers) : null;
  if (family === 'modernbert' && gap) return none(`ModernBERT layers that transformers would run otherwise (${gap})`);
  if (family === 'modernbert' && plan.narrow.size) return none("ModernBERT's refitted projections (each refit adds a bias, and ModernBERT sets one bias flag for all its projections)");
  if (family === 'nomic' && plan.narrow.size) return none("NomicBERT's refitted projections (each refit adds a bias, and NomicBERT sets one bias switch for all its out_proj or fc2 projections) and narrowed widths (its code rounds n_inner up to a multiple of 256)");
  if ([...plan.narrow.keys()].some((k) => k.startsWith('attention:'))) return none('narrowed attention (transformers 5 removed `pruned_heads`, so a checkpoint with fewer heads per block no longer loads)');
  const names = family === 'distilbert' ? FFN.distilbert : family === undefined || family === 't5' || family === 'modernbert' || family === 'nomic' ? undefined : FFN.bert;
  if (!names && plan.narrow.size) return none(`narrowed FFNs of a ${source.architecture} model, whose weight names ProbeScale does not know`);
  const narrowings = plan.kept.map((b) => plan.narrow.get(`ffn:${b}`));
  // Nothing fitted (a width at or above the source's is left as it is): the blocks as they were.
  if (!names || narrowings.every((n) => n === undefined)) {
    if (!writesWeights(source.dir, source.graphFrom)) return { note: noWeights(graph, hasWeights(source.dir)) };
    return { replace: () => undefined, note: 'model.safetensors is the same model for PyTorch: its kept blocks are whole (the compensation asked for changed nothing).' };
  }
  const width = narrowings[0]?.kept.length;
  if (width === undefined || narrowings.some((n) => n?.kept.length !== width)) return none('FFN widths that differ between blocks');
  const config = { [names.key]: width };
  if (!writesWeights(source.dir, source.graphFrom)) return { config, note: noWeights(graph, hasWeights(source.dir)) };
  // Four FFN tensors per kept block, by the names the replacement looks for, or the weights are laid out otherwise.
  const weights = openWeights(source.dir).tensors;
  const found = [...weights.keys()].filter((t) => names.block.test(renameForKept(t, plan.kept) ?? ''));
  if (found.length !== 4 * plan.kept.length) return { config, note: noCheckpoint(`narrowed FFNs whose weights ${source.dir}'s safetensors do not name as ${family} models do (${found.length} of ${4 * plan.kept.length} found)`, graph) };
  // The source's width as its weights have it (config.json may leave the key to its default).
  const upBias = found.find((t) => /(intermediate\.dense|lin1)\.bias$/.test(t))!;
  const before = weights.get(upBias)!.shape[0];
  return {
    config,
    replace: narrowedFfn(names.block, narrowings as Narrowing[], source.hiddenSize),
    note: `model.safetensors is the same model for PyTorch: config.json's ${names.key} is ${width} (was ${before}), each kept block's FFN keeps ${width} of its ${before} neurons (their rows copied from the source) and its output projection is the refitted one (float32); transformers loads it as a plain model of this type (AutoModel.from_pretrained).`,
  };
}

/** Replaces the FFN tensors of kept block j (pruned numbering) by their narrowing `byBlock[j]`. */
function narrowedFfn(block: RegExp, byBlock: Narrowing[], hidden: number): TensorReplacer {
  return (name, source, read): ReplacedTensor | undefined => {
    const m = block.exec(name);
    if (!m) return undefined;
    const n = byBlock[Number(m[1])];
    const up = m[2] === 'intermediate' || m[2] === 'lin1';
    const weight = m[3] === 'weight';
    if (!n) throw new Error(`${name}: no narrowing for block ${m[1]}`);
    if (up) {
      // [ffn, hidden] rows (nn.Linear is [out, in]) or [ffn]: the kept neurons' bytes, in the source's dtype.
      const row = dtypeBytes(source.dtype) * (weight ? hidden : 1);
      if (source.shape[0] === undefined || n.kept.some((k) => k >= source.shape[0])) throw new Error(`${name}: shape [${source.shape.join(', ')}] holds fewer neurons than the narrowing keeps`);
      const all = read();
      return { dtype: source.dtype, shape: weight ? [n.kept.length, hidden] : [n.kept.length], data: Buffer.concat(n.kept.map((k) => all.subarray(k * row, (k + 1) * row))) };
    }
    if (!weight) return f32(n.outBias, [hidden]);
    // The refit is [kept, hidden] as a MatMul reads it; nn.Linear stores [hidden, kept].
    const m2 = n.kept.length;
    const t = new Float32Array(hidden * m2);
    for (let i = 0; i < m2; i++) for (let h = 0; h < hidden; h++) t[h * m2 + i] = n.out[i * hidden + h];
    return f32(t, [hidden, m2]);
  };
}

function f32(a: Float32Array, shape: number[]): ReplacedTensor {
  const b = Buffer.alloc(a.length * 4);
  a.forEach((x, i) => b.writeFloatLE(x, i * 4));
  return { dtype: 'F32', shape, data: b };
}
