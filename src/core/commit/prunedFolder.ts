/**
 * The pruned model folder: config.json (new layer count + a probescale section), tokenizer
 * files, every ONNX variant pruned, and pruned safetensors when the source has them. A drop-in
 * replacement for the source (same inputs, outputs and tokenizer).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { throwIfAborted } from '../errors';
import { JobContext, stage } from '../jobs';
import { ModelInfo } from '../model/modelInfo';
import { modernBertPytorchNote } from '../model/modernBert';
import { TensorReplacer, prunedConfig, writePrunedSafetensors } from '../model/safetensors';
import { INDEX_FILE, PYTORCH_FILE, PYTORCH_INDEX, checkpointHeader, encoderTensors, openWeights, writePrunedShards, writesWeights } from '../model/weights';
import { writePrunedOnnx } from '../prune/surgery';
import { TOOL_VERSION } from '../report';
import { keptParams } from '../../shared/params';
import { copySentenceTransformerFiles } from '../model/sentenceTransformers';
import { copyTokenizerFiles } from './files';
import { committedGraphName, graphVariants } from './outputSize';
import { writeConfigJson } from '../model/configJson';

/**
 * Fills `dir` with the pruned model: config.json (new layer count + a probescale section),
 * tokenizer files, every ONNX variant pruned, and pruned safetensors when the source has them.
 */
export async function writePrunedFolder(info: ModelInfo, kept: number[], dir: string, extra: Record<string, unknown>, ctx: JobContext): Promise<string[]> {
  const files: string[] = [];
  const config = prunedConfig(info.config, kept, info.blocks.headOutputs.length > 0);
  config.probescale = {
    version: TOOL_VERSION,
    source: info.dir,
    sourceLayers: info.numLayers,
    keptBlocks: kept,
    params: { before: info.params.total, after: keptParams(info.params, kept) },
    ...extra,
  };
  const torch = modernBertPytorchNote(info.config, kept);
  if (torch && writesWeights(info.dir, info.graphFrom)) {
    (config.probescale as Record<string, unknown>).pytorch = torch;
    ctx.log?.('warn', `${torch}.`);
  }
  writeConfigJson(dir, config, info.dir);
  files.push('config.json');
  files.push(...copyTokenizerFiles(info.dir, dir), ...copySentenceTransformerFiles(info.dir, dir));
  const onnxDir = path.join(dir, 'onnx');
  fs.mkdirSync(onnxDir);
  const srcOnnxDir = path.dirname(info.onnxFile);
  // Only variants of the same graph (model.onnx, model_quantized.onnx, ...): a decoder beside a T5 encoder is not ours to prune.
  for (const v of graphVariants(info.onnxFile)) {
    throwIfAborted(ctx.signal);
    stage(ctx, 'prune', `pruning ${v}`);
    const name = committedGraphName(v, info.architecture);
    writePrunedOnnx(path.join(srcOnnxDir, v), path.join(onnxDir, name), kept, ctx.signal);
    files.push(`onnx/${name}`);
    if (fs.existsSync(path.join(onnxDir, `${name}_data`))) files.push(`onnx/${name}_data`);
  }
  files.push(...(await writePrunedWeights(info, kept, dir, ctx)));
  return files;
}

/**
 * The source's safetensors (one file or shards) with the blocks `kept`, renumbered, into `dir`; none
 * where the source has none. `replace` gives new contents for some tensors (narrowed FFNs). Returns
 * the files written.
 */
export async function writePrunedWeights(info: ModelInfo, kept: number[], dir: string, ctx: JobContext, replace?: TensorReplacer): Promise<string[]> {
  const st = path.join(info.dir, 'model.safetensors');
  // Under a task head the graphs leave the head out, and so do the weights: the folder is the encoder.
  if (!writesWeights(info.dir, info.graphFrom)) return [];
  const keep = info.blocks.headOutputs.length ? encoderTensors(openWeights(info.dir)) : undefined;
  if (fs.existsSync(st)) {
    stage(ctx, 'prune', 'pruning model.safetensors');
    await writePrunedSafetensors(st, path.join(dir, 'model.safetensors'), kept, { signal: ctx.signal, keep, replace });
    return ['model.safetensors'];
  }
  if (fs.existsSync(path.join(info.dir, INDEX_FILE)) || fs.existsSync(path.join(info.dir, PYTORCH_INDEX))) {
    stage(ctx, 'prune', 'pruning the weight shards');
    return writePrunedShards(info.dir, dir, kept, info.numLayers, { signal: ctx.signal, keep, replace });
  }
  if (fs.existsSync(path.join(info.dir, PYTORCH_FILE))) {
    // A PyTorch checkpoint is written as safetensors: its tensors copied from the .bin, never unpickled into memory.
    stage(ctx, 'prune', `pruning ${PYTORCH_FILE} into model.safetensors`);
    const weights = openWeights(info.dir);
    await writePrunedSafetensors(weights.files[0], path.join(dir, 'model.safetensors'), kept, { signal: ctx.signal, keep, replace, header: checkpointHeader(weights, weights.files[0]) });
    return ['model.safetensors'];
  }
  return [];
}
