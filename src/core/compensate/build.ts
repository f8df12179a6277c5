/**
 * Builds a compensated model: fit bridges over every gap (in order), then narrow the attention
 * and FFN of each kept block (in order), each step reading the already-compensated upstream;
 * write the ONNX.
 */
import { BadInputError, UnsupportedModelError } from '../errors';
import { JobContext, stage } from '../jobs';
import { writeChunks } from '../onnx/wire';
import { ModelInfo, headCount } from '../model/modelInfo';
import { checkCompensable, findSublayers } from './structure';
import { CalibrationOptions, CalibrationSet } from './calibrate';
import { CompensationPlan, compensatedEdit, emptyPlan } from './graph';
import { Encoder, FitStat, fitBridges, gapsOf } from './fit';
import { fitWidths, widthSteps } from './width';
import { UnitScore } from './scores';
import { factorEmbedding } from './embedding';
import { isStandalone } from './source';
import { oversizeRefusal } from '../onnx/standalone';

/** The encoder as compensation sees it; refuses quantized graphs. */
export function encoderOf(info: ModelInfo): Encoder {
  checkCompensable(info.quantized);
  const heads = headCount(info.config);
  if (!(heads > 0)) throw new BadInputError(`${info.dir}/config.json has no num_attention_heads (or n_heads, num_heads); compensation needs the head count.`);
  return { model: info.model, blocks: info.blocks, hidden: info.hiddenSize, heads };
}

/**
 * Refuses, before any pass, a model compensation cannot rewrite: what encoderOf refuses, and a
 * graph whose standalone float32 copy (compensate/source.ts) would not fit in one ONNX file.
 */
export function checkCompensableModel(info: ModelInfo): void {
  encoderOf(info);
  const tooLarge = isStandalone(info) ? null : oversizeRefusal(info.model, info.onnxFile);
  if (tooLarge) throw tooLarge;
}

/**
 * Why width pruning cannot rewrite this model's blocks (sub-layers fused by ONNX Runtime's
 * transformer optimizer, …), or null where it can: width and all are refused before any pass,
 * and bridge leaves out the narrowed baseline (flap-uniform) instead of failing on it.
 */
export function widthRefusal(info: ModelInfo): UnsupportedModelError | null {
  const enc = encoderOf(info);
  for (let b = 0; b < enc.blocks.numBlocks; b++) {
    try {
      findSublayers(enc.model, enc.blocks, b, enc.hidden, enc.heads);
    } catch (e) {
      if (e instanceof UnsupportedModelError) return e;
      throw e;
    }
  }
  return null;
}

export interface CompensationRequest {
  kept: number[];
  bridges: boolean;
  /** Tokens a bridge reads: 1 (the token) or 3 (with its neighbours); default 1. */
  window?: 1 | 3;
  /** Attention heads kept per kept block (absent: all). */
  heads?: number;
  /** FFN neurons kept per kept block (absent: all). */
  ffnWidth?: number;
  /** How heads and neurons are ranked (default 'flap'). */
  score?: UnitScore;
  /** Rank of the factorised word-embedding table (absent: the table as it is). */
  embeddingRank?: number;
}

export interface Compensated {
  plan: CompensationPlan;
  stats: FitStat[];
}

export async function fitPlan(enc: Encoder, req: CompensationRequest, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext): Promise<Compensated> {
  const plan = emptyPlan(req.kept);
  const stats: FitStat[] = [];
  // First, so that every fit after it reads the factorised embeddings.
  if (req.embeddingRank !== undefined) {
    stage(ctx, 'compensate', `factorising the word embeddings to rank ${req.embeddingRank} (token counts of ${set.texts} training texts)`);
    plan.embedding = factorEmbedding(enc.model, set, req.embeddingRank, ctx.signal);
  }
  if (req.bridges && gapsOf(req.kept).length) {
    stage(ctx, 'compensate', `fitting bridges into blocks ${gapsOf(req.kept).join(', ')} on ${set.texts} training texts`);
    stats.push(...(await fitBridges(enc, plan, set, opts, ctx, req.window ?? 1)));
  }
  // A sub-layer kept at full width is left as it is (no refit).
  const steps = widthSteps(enc, plan, req.heads, req.ffnWidth);
  const say = ({ site, units }: (typeof steps)[number]) => stage(ctx, 'compensate', `narrowing the ${site.kind === 'ffn' ? 'FFN' : 'attention'} of block ${site.block} to ${units} ${site.kind === 'ffn' ? 'neurons' : 'heads'}`);
  stats.push(...(await fitWidths(enc, plan, steps, set, { ...opts, score: req.score }, ctx, say)));
  return { plan, stats };
}

/** Writes the compensated graph of `plan` (same inputs and outputs as the source) to `file`. */
export function writeCompensatedOnnx(enc: Encoder, plan: CompensationPlan, file: string): number {
  return writeChunks(file, enc.model.serialize(compensatedEdit(enc.model, enc.blocks, plan, enc)));
}
