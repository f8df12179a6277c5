/**
 * Builds a compensated model: fit bridges over every gap (in order), then narrow the FFN of each
 * kept block (in order), each step reading the already-compensated upstream; write the ONNX.
 */
import { BadInputError } from '../errors';
import { JobContext, stage } from '../jobs';
import { writeChunks } from '../onnx/wire';
import { ModelInfo } from '../model/modelInfo';
import { checkCompensable, findSublayers } from './structure';
import { CalibrationOptions, CalibrationSet } from './calibrate';
import { CompensationPlan, compensatedEdit, emptyPlan } from './graph';
import { Encoder, FitStat, fitBridges, fitNarrowing, gapsOf } from './fit';

/** The encoder as compensation sees it; refuses quantized and T5 graphs. */
export function encoderOf(info: ModelInfo): Encoder {
  checkCompensable(info.architecture, info.quantized);
  const heads = Number(info.config.num_attention_heads ?? info.config.n_heads ?? 0);
  if (!(heads > 0)) throw new BadInputError(`${info.dir}/config.json has no num_attention_heads (or n_heads); compensation needs the head count.`);
  return { model: info.model, blocks: info.blocks, hidden: info.hiddenSize, heads };
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
}

export interface Compensated {
  plan: CompensationPlan;
  stats: FitStat[];
}

export async function fitPlan(enc: Encoder, req: CompensationRequest, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext): Promise<Compensated> {
  const plan = emptyPlan(req.kept);
  const stats: FitStat[] = [];
  if (req.bridges && gapsOf(req.kept).length) {
    stage(ctx, 'compensate', `fitting bridges into blocks ${gapsOf(req.kept).join(', ')} on ${set.texts} training texts`);
    stats.push(...(await fitBridges(enc, plan, set, opts, ctx, req.window ?? 1)));
  }
  // A sub-layer kept at full width is left as it is (no refit).
  for (const k of req.kept) {
    const full = findSublayers(enc.model, enc.blocks, k, enc.hidden, enc.heads);
    if (req.heads !== undefined && req.heads < full.attention.width / full.attention.group) {
      stage(ctx, 'compensate', `narrowing the attention of block ${k} to ${req.heads} heads`);
      stats.push(await fitNarrowing(enc, plan, 'attention', k, req.heads, set, opts, ctx));
    }
    if (req.ffnWidth !== undefined && req.ffnWidth < full.ffn.width) {
      stage(ctx, 'compensate', `narrowing the FFN of block ${k} to ${req.ffnWidth} neurons`);
      stats.push(await fitNarrowing(enc, plan, 'ffn', k, req.ffnWidth, set, opts, ctx));
    }
  }
  return { plan, stats };
}

/** Writes the compensated graph of `plan` (same inputs and outputs as the source) to `file`. */
export function writeCompensatedOnnx(enc: Encoder, plan: CompensationPlan, file: string): number {
  return writeChunks(file, enc.model.serialize(compensatedEdit(enc.model, enc.blocks, plan, enc)));
}
