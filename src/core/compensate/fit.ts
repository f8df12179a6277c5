/**
 * Fitting a compensation plan from calibration passes: bridges over gaps, then the heads and
 * FFN neurons of each kept block, each fitted in order so that every fit reads the
 * already-compensated upstream.
 */
import { JobContext } from '../jobs';
import { BlockStructure } from '../onnx/blocks';
import { finishEdit } from '../onnx/edit';
import { DataType, OnnxModel } from '../onnx/model';
import { EncodedBatch } from '../data/tokenize';
import { CalibrationOptions, CalibrationSet, forEachBatch, openCalibrationGraph, releaseAll } from './calibrate';
import { CompensationPlan, EncoderShape, compensatedEdit, narrowKey, unitColumns } from './graph';
import { ChosenFit, GramAccumulator, fitRidgeChoosingLambda } from './ridge';
import { SublayerKind, findSublayers, readFloat32 } from './structure';

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
function rowsOf(x: Float32Array, d: number, tokens: Int32Array): Float32Array {
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
  const from = j === 0 ? enc.blocks.hiddenIn[0] : enc.blocks.hiddenOut[plan.kept[j - 1]];
  const to = enc.blocks.hiddenIn[k];
  // Nodes after `from` are dropped by the edit (nothing downstream is read), so the whole plan can be passed.
  const graphs = [
    await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, plan, enc, [from]), [from], opts),
    await openCalibrationGraph(enc.model, referenceEdit(enc, [to]), [to], opts),
  ];
  const d = enc.hidden;
  const acc = { fit: new GramAccumulator(window * d, d), held: new GramAccumulator(window * d, d) };
  try {
    await forEachBatch(
      graphs,
      set,
      (outs, tokens, held, batch) => {
        const x = window === 3 ? windowRows(outs[0][0], d, tokens, batch) : rowsOf(outs[0][0], d, tokens);
        (held ? acc.held : acc.fit).add(x, rowsOf(outs[1][0], d, tokens), denseRows(tokens.length));
      },
      ctx,
    );
  } finally {
    await releaseAll(graphs);
  }
  const c = fitRidgeChoosingLambda(acc.fit, acc.held);
  plan.bridges.set(k, { w: toF32(c.fit.w), b: toF32(c.fit.b), window });
  return stat('bridge', k, c);
}

function denseRows(n: number): number[] {
  return Array.from({ length: n }, (_, t) => t);
}

/** Fits a bridge over every gap of `plan.kept`, in order. */
export async function fitBridges(enc: Encoder, plan: CompensationPlan, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext, window: 1 | 3 = 1): Promise<FitStat[]> {
  const stats: FitStat[] = [];
  for (const k of gapsOf(plan.kept)) stats.push(await fitBridge(enc, plan, k, set, opts, ctx, window));
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

/** FLAP's fluctuation score per unit of `group` columns: Σ_j Var(a_j) · ‖row j of the output projection‖². */
export function flapScores(m: ColumnMoments, out: Float32Array, hidden: number, group: number): Float64Array {
  const scores = new Float64Array(m.width / group);
  for (let j = 0; j < m.width; j++) {
    let s = 0;
    for (let i = 0; i < hidden; i++) s += out[j * hidden + i] ** 2;
    scores[Math.floor(j / group)] += m.variance(j) * s;
  }
  return scores;
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

/** Scores the units of a sub-layer on the compensated upstream (training rows only) and returns the `units` best. */
async function chooseUnits(enc: Encoder, plan: CompensationPlan, kind: SublayerKind, k: number, units: number, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext): Promise<number[]> {
  const site = findSublayers(enc.model, enc.blocks, k, enc.hidden, enc.heads)[kind];
  const scoring = [await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, plan, enc, [site.activations]), [site.activations], opts)];
  const moments = new ColumnMoments(site.width);
  try {
    await forEachBatch(scoring, set, (outs, tokens, held) => !held && moments.add(outs[0][0], tokens), ctx);
  } finally {
    await releaseAll(scoring);
  }
  return topIndices(flapScores(moments, readFloat32(enc.model, site.output.weight), enc.hidden, site.group), units);
}

/**
 * Narrows sub-layer `kind` of kept block `k` to `units` heads or neurons chosen by FLAP's score on
 * the compensated upstream, then refits its output projection so that residual + sub-layer
 * reproduces the reference pre-LayerNorm sum (same blocks and bridges, every sub-layer at full
 * width): the "global" target, so errors do not accumulate block to block.
 */
export async function fitNarrowing(enc: Encoder, plan: CompensationPlan, kind: SublayerKind, k: number, units: number, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext): Promise<FitStat> {
  const site = findSublayers(enc.model, enc.blocks, k, enc.hidden, enc.heads)[kind];
  const d = enc.hidden;
  const keep = await chooseUnits(enc, plan, kind, k, units, set, opts, ctx);
  const cols = unitColumns(keep, site.group);
  const reference: CompensationPlan = { ...plan, narrow: new Map() };
  const graphs = [
    await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, plan, enc, [site.activations, site.residual]), [site.activations, site.residual], opts),
    await openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, reference, enc, [site.sum]), [site.sum], opts),
  ];
  const acc = { fit: new GramAccumulator(cols.length, d), held: new GramAccumulator(cols.length, d) };
  try {
    await forEachBatch(
      graphs,
      set,
      (outs, tokens, held) => {
        const x = gather(outs[0][0], site.width, tokens, cols);
        const res = outs[0][1];
        const sum = outs[1][0];
        const y = new Float32Array(tokens.length * d);
        tokens.forEach((r, t) => {
          for (let i = 0; i < d; i++) y[t * d + i] = sum[r * d + i] - res[r * d + i];
        });
        (held ? acc.held : acc.fit).add(x, y, denseRows(tokens.length));
      },
      ctx,
    );
  } finally {
    await releaseAll(graphs);
  }
  const c = fitRidgeChoosingLambda(acc.fit, acc.held);
  plan.narrow.set(narrowKey(kind, k), { kept: keep, out: toF32(c.fit.w), outBias: toF32(c.fit.b) });
  return { ...stat(kind, k, c), units };
}
