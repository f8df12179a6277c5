/**
 * Width pruning of a compensation plan: the heads and FFN neurons of each kept block, scored on
 * the compensated upstream (FLAP's score), narrowed, and the output projection refitted so that
 * residual + sub-layer reproduces the reference pre-LayerNorm sum (same blocks and bridges, every
 * sub-layer at full width: the "global" target, so errors do not accumulate block to block).
 * Sub-layers are fitted in order, each reading the already-narrowed upstream.
 *
 * fitWidths runs this incrementally: the pruned and the reference token states at the current
 * sub-layer are kept per calibration batch and only the graph segment from there to the next
 * sub-layer runs. fitNarrowing is the same fit for one sub-layer through the whole graph from
 * the embeddings (each pass reruns every block in front), the path fitWidths is tested against.
 */
import { JobContext } from '../jobs';
import { CalibrationGraph, CalibrationOptions, CalibrationSet, forEachBatch, openCalibrationGraph, releaseAll } from './calibrate';
import { Encoder, FitStat, stat, toF32 } from './fit';
import { CompensationPlan, blockEntry, compensatedEdit, narrowKey, unitColumns } from './graph';
import { GramSession } from './gram';
import { GramAccumulator, fitRidgeChoosingLambda } from './ridge';
import { SublayerKind, SublayerSite, findSublayers, readFloat32 } from './structure';
import { ColumnMoments, UnitScore, discriminantDirections, flapScores, pooledByText, taskScores, topIndices } from './scores';

/** Gathers columns `keep` of the token rows of a [rows × width] stream into a dense [tokens × keep] block. */
function gather(a: Float32Array, width: number, rows: Int32Array, keep: number[]): Float32Array {
  const out = new Float32Array(rows.length * keep.length);
  rows.forEach((r, t) => keep.forEach((j, c) => (out[t * keep.length + c] = a[r * width + j])));
  return out;
}

/** Target rows: reference pre-LayerNorm sum minus the pruned path's residual. */
function targetRows(sum: Float32Array, residual: Float32Array, d: number, tokens: Int32Array): Float32Array {
  const y = new Float32Array(tokens.length * d);
  tokens.forEach((r, t) => {
    for (let i = 0; i < d; i++) y[t * d + i] = sum[r * d + i] - residual[r * d + i];
  });
  return y;
}

function siteOf(enc: Encoder, kind: SublayerKind, k: number): SublayerSite {
  return findSublayers(enc.model, enc.blocks, k, enc.hidden, enc.heads)[kind];
}

/** The graph of `plan` reading `outputs`, whole or (with `cut`) from fed states of the inner tensor `cut.name`. */
function openPlanGraph(enc: Encoder, plan: CompensationPlan, outputs: string[], opts: CalibrationOptions, cut?: CalibrationGraph['cut']): Promise<CalibrationGraph> {
  return openCalibrationGraph(enc.model, compensatedEdit(enc.model, enc.blocks, plan, enc, outputs, cut?.name), outputs, opts, cut);
}

/** FLAP-scores (or task-weights, given the tasks' discriminant directions) the units of a sub-layer and returns the `units` best. */
function chooseUnits(enc: Encoder, site: SublayerSite, moments: ColumnMoments, units: number, score: UnitScore = 'flap', dirs: Float64Array[] = []): number[] {
  const out = readFloat32(enc.model, site.output.weight);
  const flap = () => flapScores(moments, out, enc.hidden, site.group);
  if (score === 'flap' || !dirs.length) return topIndices(flap(), units);
  const task = taskScores(moments, out, enc.hidden, site.group, dirs);
  if (score === 'task') return topIndices(task, units);
  // mixed: FLAP's share of its total plus the task score's (each sums to 1 over the units).
  const f = flap();
  const fs = f.reduce((a, b) => a + b, 0) || 1;
  return topIndices(task.map((v, i) => v / dirs.length + f[i] / fs), units);
}

/** Each task's discriminant directions at a sub-layer, from the reference states there (fit batches only). */
function directionsAt(states: Float32Array[], set: CalibrationSet, d: number): Float64Array[] {
  const labels = set.labels;
  if (!labels) return [];
  const pooled = pooledByText(states, set.tokens, set.textOf, set.held.map((h) => !h), set.batches.map((b) => b.seqLen), set.texts, d);
  const tasks = [...new Set(labels.task)];
  return tasks.flatMap((task) => {
    const rows = Array.from({ length: set.texts }, (_, t) => t).filter((t) => labels.task[t] === task && pooled.count[t] > 0);
    const u = discriminantDirections(pooled.sum, d, rows, (t) => labels.label[t]);
    return u ? [u] : [];
  });
}

/** Moments of a sub-layer's activations (output `index` of `graph`, or stored per batch) over the fit rows only. */
async function momentsOf(site: SublayerSite, set: CalibrationSet, ctx: JobContext, source: CalibrationGraph | Float32Array[]): Promise<ColumnMoments> {
  const m = new ColumnMoments(site.width);
  if (Array.isArray(source)) source.forEach((a, i) => !set.held[i] && m.add(a, set.tokens[i]));
  else await forEachBatch([source], set, (outs, tokens, held) => (held ? undefined : m.add(outs[0][0], tokens)), ctx);
  return m;
}

/** Ridge fit of the kept columns onto the target, λ chosen on held-out rows (on the job's fit pool); sets the narrowing in `plan`. */
function applyFit(plan: CompensationPlan, site: SublayerSite, keep: number[], acc: { fit: GramAccumulator; held: GramAccumulator }, ctx: JobContext): FitStat {
  const c = fitRidgeChoosingLambda(acc.fit, acc.held, undefined, ctx.signal, ctx.fits);
  plan.narrow.set(narrowKey(site.kind, site.block), { kept: keep, out: toF32(c.fit.w), outBias: toF32(c.fit.b) });
  return { ...stat(site.kind, site.block, c), units: keep.length };
}

/**
 * Narrows sub-layer `kind` of kept block `k` to `units` heads or neurons, every pass through the
 * whole graph (the reference path for fitWidths).
 */
export async function fitNarrowing(enc: Encoder, plan: CompensationPlan, kind: SublayerKind, k: number, units: number, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext): Promise<FitStat> {
  const site = siteOf(enc, kind, k);
  const d = enc.hidden;
  const scoring = await openPlanGraph(enc, plan, [site.activations], opts);
  let keep: number[];
  try {
    keep = chooseUnits(enc, site, await momentsOf(site, set, ctx, scoring), units);
  } finally {
    await releaseAll([scoring]);
  }
  const cols = unitColumns(keep, site.group);
  // The residual the pruned path adds: for attention, what the block reads (after a bridge), not the original tensor's name.
  const residual = kind === 'attention' ? blockEntry(enc.model, enc.blocks, plan, k) : site.residual;
  const graphs = [await openPlanGraph(enc, plan, [site.activations, residual], opts), await openPlanGraph(enc, { ...plan, narrow: new Map() }, [site.sum], opts)];
  const acc = { fit: new GramAccumulator(cols.length, d), held: new GramAccumulator(cols.length, d) };
  const gram = await GramSession.open(opts);
  try {
    await forEachBatch(
      graphs,
      set,
      (outs, tokens, held) => gram.add(held ? acc.held : acc.fit, gather(outs[0][0], site.width, tokens, cols), targetRows(outs[1][0], outs[0][1], d, tokens), tokens.length),
      ctx,
    );
  } finally {
    await releaseAll(graphs);
    await gram.release();
  }
  return applyFit(plan, site, keep, acc, ctx);
}

export interface WidthOptions extends CalibrationOptions {
  /** How units are ranked (default 'flap'). */
  score?: UnitScore;
}

/** One sub-layer to narrow, and the tensor both paths read in front of it (its residual input). */
export interface WidthStep {
  site: SublayerSite;
  units: number;
  cut: string;
}

/** The steps of narrowing every kept block to `heads` heads and `ffnWidth` neurons (absent or full: left as is), in order. */
export function widthSteps(enc: Encoder, plan: CompensationPlan, heads?: number, ffnWidth?: number): WidthStep[] {
  const steps: WidthStep[] = [];
  // Bridges alone need no sub-layer (a block with fused attention takes a bridge as well).
  if (heads === undefined && ffnWidth === undefined) return steps;
  for (const k of plan.kept) {
    const full = findSublayers(enc.model, enc.blocks, k, enc.hidden, enc.heads);
    if (heads !== undefined && heads < full.attention.width / full.attention.group) steps.push({ site: full.attention, units: heads, cut: blockEntry(enc.model, enc.blocks, plan, k) });
    if (ffnWidth !== undefined && ffnWidth < full.ffn.width) steps.push({ site: full.ffn, units: ffnWidth, cut: full.ffn.residual });
  }
  return steps;
}

/** Per batch, each output of `graph` (states and activations to carry to the next step). */
async function collect(graph: CalibrationGraph, set: CalibrationSet, ctx: JobContext): Promise<Float32Array[][]> {
  const out: Float32Array[][] = graph.outputs.map(() => []);
  try {
    await forEachBatch([graph], set, (outs, _t, _h, _b, i) => outs[0].forEach((o, j) => (out[j][i] = o)), ctx);
  } finally {
    await releaseAll([graph]);
  }
  return out;
}

/** The pruned path at a step's cut: the state there and the activations of its sub-layer, per batch. */
interface PrunedAt {
  states: Float32Array[];
  activations: Float32Array[];
}

/**
 * Fits one step from the pruned path at its cut and the reference state there; returns the
 * fit and the reference state at `next` (the next step's cut).
 */
async function fitStep(enc: Encoder, plan: CompensationPlan, step: WidthStep, pruned: PrunedAt, reference: Float32Array[], next: string | undefined, set: CalibrationSet, opts: WidthOptions, ctx: JobContext): Promise<{ stat: FitStat; reference: Float32Array[] }> {
  const { site, cut } = step;
  const d = enc.hidden;
  const [sums, nextReference] = await collect(await openPlanGraph(enc, { ...plan, narrow: new Map() }, next ? [site.sum, next] : [site.sum], opts, { name: cut, states: reference }), set, ctx);
  const dirs = opts.score && opts.score !== 'flap' ? directionsAt(sums, set, d) : [];
  const keep = chooseUnits(enc, site, await momentsOf(site, set, ctx, pruned.activations), step.units, opts.score, dirs);
  const cols = unitColumns(keep, site.group);
  const acc = { fit: new GramAccumulator(cols.length, d), held: new GramAccumulator(cols.length, d) };
  const gram = await GramSession.open(opts);
  try {
    for (let i = 0; i < set.batches.length; i++) {
      const tokens = set.tokens[i];
      await gram.add(set.held[i] ? acc.held : acc.fit, gather(pruned.activations[i], site.width, tokens, cols), targetRows(sums[i], pruned.states[i], d, tokens), tokens.length);
    }
  } finally {
    await gram.release();
  }
  return { stat: applyFit(plan, site, keep, acc, ctx), reference: nextReference ?? [] };
}

/** Runs the graph of `plan` (from the states of `from` when given) to the cut of `step` and its sub-layer's activations. */
async function prunedAt(enc: Encoder, plan: CompensationPlan, step: WidthStep, set: CalibrationSet, opts: CalibrationOptions, ctx: JobContext, from?: CalibrationGraph['cut']): Promise<PrunedAt> {
  const [states, activations] = await collect(await openPlanGraph(enc, plan, [step.cut, step.site.activations], opts, from), set, ctx);
  return { states, activations };
}

/**
 * Runs `steps` in order, incrementally: the pruned path at the first cut comes from one pass
 * through the bridged graph; after each fit, the pruned path moves to the next cut through the
 * newly narrowed segment and the reference state through the full-width one. The activations
 * of each step's sub-layer are kept (one pass serves the score and the fit).
 */
export async function fitWidths(enc: Encoder, plan: CompensationPlan, steps: WidthStep[], set: CalibrationSet, opts: WidthOptions, ctx: JobContext, onStep?: (s: WidthStep) => void): Promise<FitStat[]> {
  if (!steps.length) return [];
  let pruned = await prunedAt(enc, plan, steps[0], set, opts, ctx);
  // No sub-layer is narrowed in front of the first cut, so both paths are the same there.
  let reference = pruned.states;
  const stats: FitStat[] = [];
  for (let i = 0; i < steps.length; i++) {
    onStep?.(steps[i]);
    const next = steps[i + 1];
    const r = await fitStep(enc, plan, steps[i], pruned, reference, next?.cut, set, opts, ctx);
    stats.push(r.stat);
    if (!next) break;
    reference = r.reference;
    pruned = await prunedAt(enc, plan, next, set, opts, ctx, { name: steps[i].cut, states: pruned.states });
  }
  return stats;
}
