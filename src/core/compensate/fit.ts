/**
 * Fitting a compensation plan from calibration passes: bridges over gaps, then FFN widths,
 * each fitted in order so that every fit reads the already-compensated upstream.
 */
import { JobContext } from '../jobs';
import { BlockStructure } from '../onnx/blocks';
import { finishEdit } from '../onnx/edit';
import { DataType, OnnxModel } from '../onnx/model';
import { CalibrationOptions, CalibrationSet, forEachBatch, openCalibrationGraph, releaseAll } from './calibrate';
import { CompensationPlan, compensatedEdit } from './graph';
import { ChosenFit, GramAccumulator, fitRidgeChoosingLambda } from './ridge';
import { findFfn, readFloat32 } from './structure';

export interface Encoder {
  model: OnnxModel;
  blocks: BlockStructure;
  hidden: number;
}

export interface FitStat {
  /** 'bridge' into kept block k, or 'ffn' of kept block k. */
  kind: 'bridge' | 'ffn';
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

function toF32(a: Float64Array): Float32Array {
  return Float32Array.from(a);
}

function stat(kind: FitStat['kind'], block: number, c: ChosenFit): FitStat {
  return { kind, block, r2: c.trainR2, heldR2: c.heldR2, lambda: c.fit.lambda };
}

/** The unpruned graph reading inner tensors. */
function referenceEdit(enc: Encoder, outputs: string[]) {
  return finishEdit(enc.model, null, [], outputs.map((name) => ({ name, elemType: DataType.FLOAT, shape: ['batch', 'sequence', 'width'] })));
}

/**
 * Fits the bridge in front of kept block `k`: from the compensated model's state entering the gap
 * to the unpruned model's hidden state entering block k, ridge λ chosen on held-out rows.
 */
export async function fitBridge(enc: Encoder, plan: CompensationPlan, k: number, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext): Promise<FitStat> {
  const j = plan.kept.indexOf(k);
  const from = j === 0 ? enc.blocks.hiddenIn[0] : enc.blocks.hiddenOut[plan.kept[j - 1]];
  const to = enc.blocks.hiddenIn[k];
  // Nodes after `from` are dropped by the edit (nothing downstream is read), so the whole plan can be passed.
  const graphs = [
    await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, plan, enc.hidden, [from]), [from], opts),
    await openCalibrationGraph(enc.model, referenceEdit(enc, [to]), [to], opts),
  ];
  const d = enc.hidden;
  const acc = { fit: new GramAccumulator(d, d), held: new GramAccumulator(d, d) };
  try {
    await forEachBatch(graphs, set, (outs, tokens, held) => (held ? acc.held : acc.fit).add(outs[0][0], outs[1][0], tokens), ctx);
  } finally {
    await releaseAll(graphs);
  }
  const c = fitRidgeChoosingLambda(acc.fit, acc.held);
  plan.bridges.set(k, { w: toF32(c.fit.w), b: toF32(c.fit.b) });
  return stat('bridge', k, c);
}

/** Fits a bridge over every gap of `plan.kept`, in order. */
export async function fitBridges(enc: Encoder, plan: CompensationPlan, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext): Promise<FitStat[]> {
  const stats: FitStat[] = [];
  for (const k of gapsOf(plan.kept)) stats.push(await fitBridge(enc, plan, k, set, opts, ctx));
  return stats;
}

/** Per-neuron mean and variance of a [tokens × width] activation stream (Welford, Float64). */
class ColumnMoments {
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  n = 0;
  constructor(readonly width: number) {
    this.mean = new Float64Array(width);
    this.m2 = new Float64Array(width);
  }
  add(a: Float32Array, rows: Int32Array): void {
    const w = this.width;
    for (const r of rows) {
      this.n++;
      for (let j = 0; j < w; j++) {
        const v = a[r * w + j];
        const dlt = v - this.mean[j];
        this.mean[j] += dlt / this.n;
        this.m2[j] += dlt * (v - this.mean[j]);
      }
    }
  }
  variance(j: number): number {
    return this.m2[j] / Math.max(1, this.n - 1);
  }
}

/** FLAP's fluctuation score of each FFN neuron: Var(a_j) · ‖row j of the down projection‖². */
export function flapScores(m: ColumnMoments, down: Float32Array, hidden: number): Float64Array {
  return Float64Array.from({ length: m.width }, (_, j) => {
    let s = 0;
    for (let i = 0; i < hidden; i++) s += down[j * hidden + i] ** 2;
    return m.variance(j) * s;
  });
}

export function topIndices(scores: Float64Array, m: number): number[] {
  const idx = Array.from(scores, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, m).sort((a, b) => a - b);
}

/** Gathers columns `keep` of the token rows of a [rows × width] stream into a dense [tokens × keep] block. */
function gather(a: Float32Array, width: number, rows: Int32Array, keep: number[]): Float32Array {
  const out = new Float32Array(rows.length * keep.length);
  rows.forEach((r, t) => keep.forEach((j, c) => (out[t * keep.length + c] = a[r * width + j])));
  return out;
}

/**
 * Narrows the FFN of kept block `k` to `width` neurons chosen by FLAP's score on the compensated
 * upstream, then refits its down projection so that residual + FFN reproduces the reference
 * (same blocks and bridges at full width) pre-LayerNorm sum: the "global" target.
 */
export async function fitFfnWidth(enc: Encoder, plan: CompensationPlan, k: number, width: number, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext): Promise<FitStat> {
  const site = findFfn(enc.model, enc.blocks, k, enc.hidden);
  const d = enc.hidden;
  const scoring = [await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, plan, d, [site.activations]), [site.activations], opts)];
  const moments = new ColumnMoments(site.width);
  try {
    await forEachBatch(scoring, set, (outs, tokens, held) => !held && moments.add(outs[0][0], tokens), ctx);
  } finally {
    await releaseAll(scoring);
  }
  const keep = topIndices(flapScores(moments, readFloat32(enc.model, site.downWeight), d), width);
  const reference: CompensationPlan = { ...plan, ffn: new Map() };
  const graphs = [
    await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, plan, d, [site.activations, site.residual]), [site.activations, site.residual], opts),
    await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, reference, d, [site.sum]), [site.sum], opts),
  ];
  const acc = { fit: new GramAccumulator(keep.length, d), held: new GramAccumulator(keep.length, d) };
  try {
    await forEachBatch(
      graphs,
      set,
      (outs, tokens, held) => {
        const x = gather(outs[0][0], site.width, tokens, keep);
        const res = outs[0][1];
        const sum = outs[1][0];
        const y = new Float32Array(tokens.length * d);
        tokens.forEach((r, t) => {
          for (let i = 0; i < d; i++) y[t * d + i] = sum[r * d + i] - res[r * d + i];
        });
        (held ? acc.held : acc.fit).add(x, y, Array.from({ length: tokens.length }, (_, t) => t));
      },
      ctx,
    );
  } finally {
    await releaseAll(graphs);
  }
  const c = fitRidgeChoosingLambda(acc.fit, acc.held);
  plan.ffn.set(k, { kept: keep, down: toF32(c.fit.w), downBias: toF32(c.fit.b) });
  return stat('ffn', k, c);
}
