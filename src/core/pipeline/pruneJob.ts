/**
 * `probescale prune`: write a model folder with only the listed blocks, as a drop-in
 * replacement for the source (same inputs, outputs and tokenizer).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFolderAtomically } from '../commit/atomicDir';
import { copyTokenizerFiles } from '../commit/files';
import { JobContext, PruneJob, stage } from '../jobs';
import { throwIfAborted } from '../errors';
import { validateKept } from '../onnx/edit';
import { ModelInfo, openModel } from '../model/modelInfo';
import { prunedConfig, writePrunedSafetensors } from '../model/safetensors';
import { writePrunedOnnx } from '../prune/surgery';
import { TOOL_VERSION } from './report';

export interface PruneResult {
  out: string;
  kept: number[];
  params: { before: number; after: number };
  files: string[];
}

export function keptParams(info: ModelInfo, kept: number[]): number {
  return info.params.embeddings + info.params.other + kept.reduce((a, k) => a + info.params.perBlock[k], 0);
}

/**
 * Fills `dir` with the pruned model: config.json (new layer count + a probescale section),
 * tokenizer files, every ONNX variant pruned, and pruned safetensors when the source has them.
 */
export async function writePrunedFolder(info: ModelInfo, kept: number[], dir: string, extra: Record<string, unknown>, ctx: JobContext): Promise<string[]> {
  const files: string[] = [];
  const config = prunedConfig(info.config, kept);
  config.probescale = {
    version: TOOL_VERSION,
    source: info.dir,
    sourceLayers: info.numLayers,
    keptBlocks: kept,
    params: { before: info.params.total, after: keptParams(info, kept) },
    ...extra,
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  files.push('config.json');
  files.push(...copyTokenizerFiles(info.dir, dir));
  const onnxDir = path.join(dir, 'onnx');
  fs.mkdirSync(onnxDir);
  const srcOnnxDir = path.dirname(info.onnxFile);
  // Only variants of the same graph (model.onnx, model_quantized.onnx, ...): a decoder beside a T5 encoder is not ours to prune.
  const base = path.basename(info.onnxFile).replace(/(_quantized|_int8|_uint8|_fp16|_q4)?\.onnx$/, '');
  const variants = fs.readdirSync(srcOnnxDir).filter((f) => f.endsWith('.onnx') && f.startsWith(base) && /^(_quantized|_int8|_uint8|_fp16|_q4)?\.onnx$/.test(f.slice(base.length)));
  for (const v of variants) {
    throwIfAborted(ctx.signal);
    stage(ctx, 'prune', `pruning ${v}`);
    writePrunedOnnx(path.join(srcOnnxDir, v), path.join(onnxDir, v), kept, ctx.signal);
    files.push(`onnx/${v}`);
    if (fs.existsSync(path.join(onnxDir, `${v}_data`))) files.push(`onnx/${v}_data`);
  }
  const st = path.join(info.dir, 'model.safetensors');
  if (fs.existsSync(st)) {
    stage(ctx, 'prune', 'pruning model.safetensors');
    await writePrunedSafetensors(st, path.join(dir, 'model.safetensors'), kept, { signal: ctx.signal });
    files.push('model.safetensors');
  }
  return files;
}

export async function runPruneJob(job: PruneJob, ctx: JobContext): Promise<PruneResult> {
  const info = openModel(job.modelDir, job.settings);
  try {
    const kept = validateKept(job.layers, info.numLayers);
    let files: string[] = [];
    const out = await writeFolderAtomically(job.out, job.overwrite ?? false, async (tmp) => {
      files = await writePrunedFolder(info, kept, tmp, {}, ctx);
    }, { sources: [info.dir], signal: ctx.signal });
    return { out, kept, params: { before: info.params.total, after: keptParams(info, kept) }, files };
  } finally {
    info.model.close();
  }
}
