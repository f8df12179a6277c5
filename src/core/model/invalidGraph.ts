/**
 * Whose fault a failed ONNX Runtime load or run is: the user's graph, tried alone, or the graph
 * ProbeScale edited from it.
 */
import * as ort from 'onnxruntime-node';
import { UnsupportedModelError } from '../errors';
import { graphFileFailure } from '../runtime/session';
import { ModelInfo } from './modelInfo';

/** The inputs ProbeScale feeds with each batch's own size and length. */
const FED_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'];

/**
 * A graph exported without dynamic axes takes only its one batch size and length; ONNX Runtime
 * refused every other batch with "Got invalid dimensions for input", which the probe reported as
 * a graph it cannot run. Checked before texts are run (pruning, which runs none, still works).
 */
export function refuseFixedShapes(info: ModelInfo): void {
  const fixed = info.model.runtimeInputs.find((i) => FED_INPUTS.includes(i.name) && (i.shape ?? []).some((d) => typeof d === 'number' && d > 0));
  if (!fixed) return;
  const shape = `[${fixed.shape!.map((d) => d ?? '?').join(', ')}]`;
  throw new UnsupportedModelError(
    `${info.onnxFile} takes ${fixed.name} of fixed shape ${shape}: it was exported without dynamic axes, and ProbeScale runs batches of other sizes and lengths. ` +
      'Export it again with dynamic axes (optimum-cli export onnx does; torch.onnx.export needs dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}), or use {{from}} safetensors where the folder has the weights. Pruning it to given blocks (prune) needs no run and works.',
  );
}

/**
 * The error for a model whose own graph ONNX Runtime cannot load (or run on `feeds`), after it failed
 * on a graph ProbeScale made from it (the probe graph, a calibration graph); null when the model's graph is fine (or ProbeScale built it from
 * safetensors), so that a failure of ProbeScale's own edit is not blamed on the model.
 */
export async function invalidModelGraph(info: ModelInfo, what: 'load' | 'run', feeds?: Record<string, ort.Tensor>): Promise<UnsupportedModelError | null> {
  if (info.graphFrom !== 'onnx') return null;
  // Where the probe graph did not load, the model's own graph is run on four tokens too: one that
  // loads but gives no [batch, length, hidden] state (a hand-edited graph can) is what failed.
  const tokens = (v: bigint) => new ort.Tensor('int64', new BigInt64Array(4).fill(v), [1, 4]);
  const probe = feeds ?? { input_ids: tokens(0n), attention_mask: tokens(1n), token_type_ids: tokens(0n) };
  let shape: string | null = null;
  const why = await graphFileFailure(info.onnxFile, probe, (out, names) => {
    const dims = out[names[0]]?.dims ?? [];
    const want = [1, 4, info.hiddenSize];
    if (!feeds && dims.join() !== want.join()) shape = `its output "${names[0]}" has the shape [${dims.join(', ')}] for 1 text of 4 tokens, where an encoder's hidden state is [${want.join(', ')}]`;
    return shape;
  });
  if (why === null) return null;
  const again = 'export the model again (optimum-cli export onnx --model <its name> <folder>), or move onnx/ aside so that ProbeScale builds the graph from the safetensors.';
  if (shape !== null) return new UnsupportedModelError(`${info.onnxFile} is not an encoder graph ProbeScale can probe: ${shape}. If it was edited by hand or written by another tool, ${again}`);
  return new UnsupportedModelError(
    `ONNX Runtime cannot ${what} ${info.onnxFile}${what === 'run' ? ' on these texts' : ''}: ${why}. The graph is not one it runs (edited by hand, or written by a tool it does not follow): ${again}`,
  );
}
