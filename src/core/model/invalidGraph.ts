/**
 * Whose fault a failed ONNX Runtime load or run is: the user's graph, tried alone, or the graph
 * ProbeScale edited from it.
 */
import * as ort from 'onnxruntime-node';
import { UnsupportedModelError } from '../errors';
import { graphFileFailure } from '../runtime/session';
import { ModelInfo } from './modelInfo';

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
