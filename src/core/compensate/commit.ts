/**
 * Committing a compensated winner: the compensated ONNX graph is the model. model.safetensors is
 * written only where a Hugging Face config can express the compensation (checkpoint.ts: every kept
 * FFN narrowed to one width); elsewhere none (a pruned one would silently be a different model) and
 * the config and card say why and what to use instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyTokenizerFiles } from '../commit/files';
import { copySentenceTransformerFiles } from '../model/sentenceTransformers';
import { ModelInfo, headCount } from '../model/modelInfo';
import { hasWeights } from '../model/weights';
import { prunedConfig } from '../model/safetensors';
import { t5FeedForward } from '../model/encoderGraph';
import { nomicFfn } from '../model/nomicGraph';
import { committedGraphName } from '../commit/outputSize';
import { COMPENSATION_METADATA, describePlan } from './graph';
import { UnsupportedModelError, badValue } from '../errors';
import { SublayerKind, SublayerSite, findSublayers } from './structure';
import type { Compensation } from './mode';
import { CompSpec, WidthShape, describeSpec } from './search';
import { CompensatedVariant } from './variant';
import { checkpointOf } from './checkpoint';
import { JobContext } from '../jobs';
import { writePrunedWeights } from '../commit/prunedFolder';
import { writeConfigJson } from '../model/configJson';

/** The card's sentence for reports written before the commit said per model why (or that) it wrote model.safetensors. */
export const SAFETENSORS_NOTE =
  'No model.safetensors: Hugging Face configs cannot express least-squares bridges between blocks, narrowed attention/FFN widths per block or a factorised word-embedding table, so a PyTorch checkpoint of this model would compute something else. Use onnx/model.onnx (ONNX Runtime, transformers.js) or the classifiers/ folders; for PyTorch, re-run optimize with --compensate none.';

/**
 * Sizes of `info` that compensation counts with; `wordRows` (the word table's rows as budgeted) only
 * where a factorisation needs it. Widths are read from block 0's sub-layers where width pruning can
 * find them (the graph it narrows, whatever config.json says), else from config.json.
 */
export function widthShape(info: ModelInfo, wordRows?: number): WidthShape {
  const heads = headCount(info.config);
  const rows = wordRows !== undefined ? { wordRows } : {};
  const site = firstSublayers(info, heads);
  if (site) return { hidden: info.hiddenSize, heads, ffn: site.ffn.width, headSize: site.attention.group, biases: !!site.attention.output.bias, ffnInputs: site.ffn.inputs.length, ...rows };
  return { ...configWidths(info), ...rows };
}

function nomicShape(config: Record<string, unknown>, headSize: number): Partial<WidthShape> {
  const { width, gate } = nomicFfn(config);
  return { ffn: width, headSize, biases: config.qkv_proj_bias !== false, ffnInputs: gate ? 2 : 1 };
}

/** The widths config.json gives (where the graph's cannot be read). */
function configWidths(info: ModelInfo): WidthShape {
  const heads = headCount(info.config);
  const ffn = Number(info.config.intermediate_size ?? info.config.hidden_dim ?? info.config.d_ff ?? 4 * info.hiddenSize);
  // T5: no biases, heads of d_kv columns, and two up projections where the FFN is gated.
  const t5 = info.architecture.includes('t5') ? { headSize: Number(info.config.d_kv ?? info.hiddenSize / heads), biases: false, ffnInputs: t5FeedForward(info.config).gated ? 2 : 1 } : {};
  // ModernBERT: a GLU (two up projections), biases only where config.json's attention_bias says so.
  const modern = info.architecture === 'modernbert' ? { headSize: info.hiddenSize / heads, biases: info.config.attention_bias === true, ffnInputs: 2 } : {};
  // NomicBERT: the FFN width its code gives n_inner, gated (two up projections) or not, biases where qkv_proj_bias says so.
  const nomic = info.architecture === 'nomic_bert' ? nomicShape(info.config, info.hiddenSize / heads) : {};
  return { hidden: info.hiddenSize, heads, ffn, ...t5, ...modern, ...nomic };
}

function firstSublayers(info: ModelInfo, heads: number): Record<SublayerKind, SublayerSite> | null {
  if (!(heads > 0) || info.blocks.numBlocks === 0) return null;
  try {
    return findSublayers(info.model, info.blocks, 0, info.hiddenSize, heads);
  } catch (e) {
    if (e instanceof UnsupportedModelError) return null;
    throw e;
  }
}

/**
 * Width pruning counts heads from config.json, which cannot say a block has fewer (and a committed
 * folder from before checkpoint.ts, or a T5 one, keeps the source's FFN width there too): a graph
 * whose recorded narrowing config.json does not describe is refused, before any pass, rather than
 * counted wrong and shipped over budget. Every FFN narrowed to the width config.json gives is a
 * plain smaller model, and narrows again.
 */
export function checkFullWidth(info: ModelInfo, mode: Compensation): void {
  // DeBERTa's attention also projects the relative position embeddings with each layer's query and
  // key projections; width pruning cuts those with the heads in the graph ProbeScale builds
  // (debertaGraph.ts), not in an export's layout.
  if (info.architecture === 'deberta-v2' && info.graphFrom === 'onnx') {
    const way = hasWeights(info.dir) ? 'Add {{from}} safetensors (the folder has the weights) to build that graph' : 'The folder has no weights (model.safetensors or pytorch_model.bin) to build it from; use {{compensate}} bridge';
    throw badValue('compensate', mode, `DeBERTa's attention applies each layer's query and key projections to the relative position embeddings too; width pruning cuts them with the heads in the graph ProbeScale builds from the weights, not in an ONNX export. ${way}.`);
  }
  let width: Record<string, number> = {};
  try {
    width = (JSON.parse(info.model.metadata.get(COMPENSATION_METADATA) ?? '{}') as { width?: Record<string, number> }).width ?? {};
  } catch {
    // Not ours: nothing recorded as narrowed.
  }
  const shape = configWidths(info);
  const undescribed = Object.entries(width).filter(([k, n]) => (k.startsWith('attention:') ? n !== shape.heads : n !== shape.ffn));
  if (undescribed.length === 0) return;
  const shown = undescribed.slice(0, 2).map(([k, n]) => `${k} ${n}`).join(', ') + (undescribed.length > 2 ? ', …' : '');
  throw badValue('compensate', mode, `${info.onnxFile} has narrowed blocks already (${shown}) that its config.json does not describe (${shape.heads} heads, ${shape.ffn} FFN neurons), so width pruning would size its candidates wrong. Start from the model it was made from, or use {{compensate}} bridge.`);
}

/** The `probescale.compensation` section of config.json and the report. */
export function compensationRecord(source: ModelInfo, variant: CompensatedVariant, spec: CompSpec, safetensors: string): Record<string, unknown> {
  const kept = variant.plan.kept;
  return {
    description: describeSpec(kept, spec, widthShape(source)),
    spec,
    plan: describePlan(variant.plan),
    fits: variant.stats.map((s) => ({ kind: s.kind, block: s.block, units: s.units, r2: s.r2, lambda: s.lambda })),
    safetensors,
  };
}

/**
 * Fills `dir` with the compensated model: config.json (kept layer count + a probescale section
 * with the compensation), tokenizer files, onnx/model.onnx, and model.safetensors where a config
 * can express the compensation (checkpoint.ts). The source's quantized variants hold the old
 * weights, so they are not copied; commit quantizes the written graph instead
 * (compensate/quantize.ts) when the source has one. Returns the files and what the folder holds
 * for PyTorch, in words.
 */
export async function writeCompensatedFolder(source: ModelInfo, variant: CompensatedVariant, spec: CompSpec, dir: string, extra: Record<string, unknown>, ctx: JobContext): Promise<{ files: string[]; safetensors: string }> {
  const kept = variant.plan.kept;
  const checkpoint = checkpointOf(source, variant.plan);
  const config = { ...prunedConfig(source.config, kept, source.blocks.headOutputs.length > 0), ...checkpoint.config };
  config.probescale = {
    source: source.dir,
    sourceLayers: source.numLayers,
    keptBlocks: kept,
    params: { before: source.params.total, after: variant.info.params.total },
    compensation: compensationRecord(source, variant, spec, checkpoint.note),
    ...extra,
  };
  writeConfigJson(dir, config, source.dir);
  const files = ['config.json', ...copyTokenizerFiles(source.dir, dir), ...copySentenceTransformerFiles(source.dir, dir)];
  fs.mkdirSync(path.join(dir, 'onnx'));
  const graph = committedGraphName('model.onnx', source.architecture);
  fs.copyFileSync(variant.info.onnxFile, path.join(dir, 'onnx', graph));
  files.push(`onnx/${graph}`);
  if (checkpoint.replace) files.push(...(await writePrunedWeights(source, kept, dir, ctx, checkpoint.replace)));
  return { files, safetensors: checkpoint.note };
}
