/**
 * Builds a compensated model: fit bridges over every gap (in order), then narrow the FFN of each
 * kept block (in order), each step reading the already-compensated upstream; write the ONNX.
 */
import { BadInputError } from '../errors';
import { JobContext, stage } from '../jobs';
import { writeChunks } from '../onnx/wire';
import { CalibrationOptions, CalibrationSet } from './calibrate';
import { CompensationPlan, compensatedEdit, emptyPlan } from './graph';
import { Encoder, FitStat, fitBridges, fitFfnWidth, gapsOf } from './fit';

export type Compensation = 'none' | 'bridge' | 'width' | 'all';
export const COMPENSATIONS: Compensation[] = ['none', 'bridge', 'width', 'all'];

export function parseCompensation(v: string): Compensation {
  if ((COMPENSATIONS as string[]).includes(v)) return v as Compensation;
  throw new BadInputError(`--compensate ${v}: unknown; use one of ${COMPENSATIONS.join(', ')}.`);
}

export interface CompensationRequest {
  kept: number[];
  bridges: boolean;
  /** FFN neurons kept per kept block (absent: full width). */
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
    stats.push(...(await fitBridges(enc, plan, set, opts, ctx)));
  }
  if (req.ffnWidth !== undefined) {
    for (const k of req.kept) {
      stage(ctx, 'compensate', `narrowing the FFN of block ${k} to ${req.ffnWidth} neurons`);
      stats.push(await fitFfnWidth(enc, plan, k, req.ffnWidth, set, opts, ctx));
    }
  }
  return { plan, stats };
}

/** Writes the compensated graph of `plan` (same inputs and outputs as the source) to `file`. */
export function writeCompensatedOnnx(enc: Encoder, plan: CompensationPlan, file: string): number {
  return writeChunks(file, enc.model.serialize(compensatedEdit(enc.model, enc.blocks, plan, enc.hidden)));
}
