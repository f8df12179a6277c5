/**
 * Fitting the bridges of a compensation plan from calibration passes: one per gap, in order, so
 * that every fit reads the already-bridged upstream (the widths are fitted in width.ts).
 */
import { JobContext } from '../jobs';
import { BlockStructure } from '../onnx/blocks';
import { finishEdit } from '../onnx/edit';
import { DataType, OnnxModel } from '../onnx/model';
import { EncodedBatch } from '../data/tokenize';
import { CalibrationOptions, CalibrationSet, forEachBatch, openCalibrationGraph, releaseAll } from './calibrate';
import { CompensationPlan, EncoderShape, compensatedEdit, embeddedState } from './graph';
import { GramSession } from './gram';
import { ChosenFit, GramAccumulator, fitRidgeChoosingLambda } from './ridge';
import { SublayerKind } from './structure';

export interface Encoder extends EncoderShape {
  model: OnnxModel;
  blocks: BlockStructure;
}

export interface FitStat {
  /** 'bridge' into kept block k, or the narrowed sub-layer of kept block k. */
  kind: 'bridge' | SublayerKind;
  /** Units kept (heads or neurons), for sub-layers. */
  units?: number;
  block: number;
  /** R² on every calibration row, and on held-out rows per λ tried. */
  r2: number;
  heldR2: number[];
  lambda: number;
}

/** Kept blocks that read across a gap (a dropped block right in front of them). */
export function gapsOf(kept: number[]): number[] {
  return kept.filter((k, j) => k !== (j === 0 ? 0 : kept[j - 1] + 1));
}

export function toF32(a: Float64Array): Float32Array {
  return Float32Array.from(a);
}

export function stat(kind: FitStat['kind'], block: number, c: ChosenFit): FitStat {
  return { kind, block, r2: c.trainR2, heldR2: c.heldR2, lambda: c.fit.lambda };
}

/** The unpruned graph reading inner tensors. */
function referenceEdit(enc: Encoder, outputs: string[]) {
  return finishEdit(enc.model, null, [], outputs.map((name) => ({ name, elemType: DataType.FLOAT, shape: ['batch', 'sequence', 'width'] })));
}

/**
 * Window-3 inputs of the token rows: [x_{t−1}, x_t, x_{t+1}] with zeros where the neighbour is
 * padding or outside the sequence, exactly what the graph's masked Pad + Slice computes.
 */
export function windowRows(x: Float32Array, d: number, tokens: Int32Array, batch: EncodedBatch): Float32Array {
  const out = new Float32Array(tokens.length * 3 * d);
  const S = batch.seqLen;
  const real = (r: number) => batch.attentionMask[r] !== 0n;
  tokens.forEach((r, t) => {
    const s = r % S;
    const base = t * 3 * d;
    if (s > 0 && real(r - 1)) out.set(x.subarray((r - 1) * d, r * d), base);
    out.set(x.subarray(r * d, (r + 1) * d), base + d);
    if (s + 1 < S && real(r + 1)) out.set(x.subarray((r + 1) * d, (r + 2) * d), base + 2 * d);
  });
  return out;
}

/** Rows `tokens` of a [rows × d] stream, densely. */
export function rowsOf(x: Float32Array, d: number, tokens: Int32Array): Float32Array {
  const out = new Float32Array(tokens.length * d);
  tokens.forEach((r, t) => out.set(x.subarray(r * d, (r + 1) * d), t * d));
  return out;
}

/**
 * Fits the bridge in front of kept block `k`: from the compensated model's state entering the gap
 * (with its two neighbours for window 3) to the unpruned model's hidden state entering block k,
 * ridge λ chosen on held-out rows.
 */
export async function fitBridge(enc: Encoder, plan: CompensationPlan, k: number, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext, window: 1 | 3 = 1): Promise<FitStat> {
  const j = plan.kept.indexOf(k);
  const from = j === 0 ? embeddedState(enc.model, enc.blocks, plan) : enc.blocks.hiddenOut[plan.kept[j - 1]];
  const to = enc.blocks.hiddenIn[k];
  // Nodes after `from` are dropped by the edit (nothing downstream is read), so the whole plan can be passed.
  const graphs = [
    await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, plan, enc, [from]), [from], opts),
    await openCalibrationGraph(enc.model, referenceEdit(enc, [to]), [to], opts),
  ];
  const d = enc.hidden;
  const acc = { fit: new GramAccumulator(window * d, d), held: new GramAccumulator(window * d, d) };
  const gram = await GramSession.open(opts);
  try {
    await forEachBatch(
      graphs,
      set,
      (outs, tokens, held, batch) => {
        const x = window === 3 ? windowRows(outs[0][0], d, tokens, batch) : rowsOf(outs[0][0], d, tokens);
        return gram.add(held ? acc.held : acc.fit, x, rowsOf(outs[1][0], d, tokens), tokens.length);
      },
      ctx,
    );
  } finally {
    await releaseAll(graphs);
    await gram.release();
  }
  const c = fitRidgeChoosingLambda(acc.fit, acc.held, undefined, ctx.signal, ctx.fits);
  plan.bridges.set(k, { w: toF32(c.fit.w), b: toF32(c.fit.b), window });
  return stat('bridge', k, c);
}

/** Fits a bridge over every gap of `plan.kept`, in order. */
export async function fitBridges(enc: Encoder, plan: CompensationPlan, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext, window: 1 | 3 = 1): Promise<FitStat[]> {
  const stats: FitStat[] = [];
  for (const k of gapsOf(plan.kept)) stats.push(await fitBridge(enc, plan, k, set, opts, ctx, window));
  return stats;
}
