/**
 * Compensated candidates for the optimiser: what a bridge or a narrowed block costs, the widths
 * that fit a subset into the budget, and the two compensated baselines (ReplaceMe-style
 * contiguous drop with a bridge; FLAP-style uniform width of every block). Pure functions of
 * parameter counts and training-split signals; the fits and measurements happen elsewhere.
 */
import { badValue } from '../errors';
import { ParamCounts } from '../../shared/params';
import { subsetKey, subsetParams } from '../optimize/subsets';
import type { CompensationRecord } from '../report';
import { Compensation, COMPENSATIONS } from './mode';
import { gapsOf } from './fit';
import { UnitScore } from './scores';
import { factorSaving } from './embedding';

/** What a candidate adds to plain block dropping. */
export interface CompSpec {
  bridges: boolean;
  /** Tokens each bridge reads: 1, or 3 (the token and its neighbours); default 1. */
  window?: 1 | 3;
  /** Heads kept in every kept block (absent: all). */
  heads?: number;
  /** FFN neurons kept in every kept block (absent: all). */
  ffnWidth?: number;
  /** How the heads and neurons to keep are ranked (absent: FLAP's score). */
  score?: UnitScore;
  /** Rank of the factorised word-embedding table (absent: the table as it is). */
  embeddingRank?: number;
}

/** Sizes of the source model that parameter counts need. */
export interface WidthShape {
  hidden: number;
  heads: number;
  ffn: number;
  /** Columns per head (absent: hidden / heads; T5: d_kv). */
  headSize?: number;
  /** False where the Linear layers have no biases (T5): a narrowed sub-layer then gains one, its refit's. Absent: true. */
  biases?: boolean;
  /** Up projections per FFN (absent: 1; 2 where it is gated, as in T5 v1.1). */
  ffnInputs?: number;
  /** Rows of the word-embedding table as the budget counts them (after --vocab-trim); needed for embeddingRank. */
  wordRows?: number;
}

export const NO_COMPENSATION: CompSpec = { bridges: false };

export function isCompensated(spec: CompSpec | undefined): boolean {
  return !!spec && (spec.bridges || spec.heads !== undefined || spec.ffnWidth !== undefined || spec.embeddingRank !== undefined);
}

/**
 * `spec` as it applies to `kept`: bridges only where a kept block follows dropped ones (blocks
 * dropped at the end leave no gap: the probe reads the last kept block, and a linear map before a
 * linear probe adds nothing); undefined where nothing is left, so the candidate is measured, keyed
 * and reported as the plain subset it is.
 */
export function appliedSpec(kept: number[], spec: CompSpec | undefined): CompSpec | undefined {
  if (!spec) return undefined;
  const { window, ...rest } = spec;
  const applied = spec.bridges && !gapsOf(kept).length ? { ...rest, bridges: false } : { ...rest, ...(window !== undefined ? { window } : {}) };
  return isCompensated(applied) ? applied : undefined;
}

/** "2,3" plain; "2,3+bridge", "0,1,2+h3/f256", "…+bridge+h3/f256", "…+e32" compensated. */
export function candidateKey(kept: number[], spec?: CompSpec): string {
  if (!spec || !isCompensated(spec)) return subsetKey(kept);
  const parts = [subsetKey(kept)];
  if (spec.bridges && gapsOf(kept).length) parts.push(spec.window === 3 ? 'bridge3' : 'bridge');
  if (spec.heads !== undefined || spec.ffnWidth !== undefined) parts.push(`h${spec.heads ?? 'all'}/f${spec.ffnWidth ?? 'all'}${spec.score && spec.score !== 'flap' ? `/${spec.score}` : ''}`);
  if (spec.embeddingRank !== undefined) parts.push(`e${spec.embeddingRank}`);
  return parts.join('+');
}

/** A human description: "bridges into blocks 2, 5; 3 of 4 heads and 256 of 1024 FFN neurons per block". */
export function describeSpec(kept: number[], spec: CompSpec | undefined, shape: WidthShape): string {
  if (!isCompensated(spec)) return 'none (whole blocks)';
  const out: string[] = [];
  const g = gapsOf(kept);
  if (spec!.bridges && g.length) out.push(`least-squares bridge${g.length > 1 ? 's' : ''}${spec!.window === 3 ? ' over a 3-token window' : ''} into block${g.length > 1 ? 's' : ''} ${g.join(', ')}`);
  if (spec!.heads !== undefined || spec!.ffnWidth !== undefined) out.push(`${spec!.heads ?? shape.heads} of ${shape.heads} heads and ${spec!.ffnWidth ?? shape.ffn} of ${shape.ffn} FFN neurons per block (refitted${spec!.score && spec!.score !== 'flap' ? `; ranked by the ${spec!.score === 'task' ? 'task-weighted' : 'FLAP + task-weighted'} score` : ''})`);
  if (spec!.embeddingRank !== undefined) out.push(`word embeddings factorised to rank ${spec!.embeddingRank} of ${shape.hidden}`);
  return out.join('; ');
}

/** The report's account of a candidate's compensation (undefined for whole blocks only). */
export function compensationRecord(kept: number[], spec: CompSpec | undefined, shape: WidthShape | undefined): CompensationRecord | undefined {
  if (!shape || !isCompensated(spec)) return undefined;
  return { description: describeSpec(kept, spec, shape), ...spec! };
}

const biasOf = (s: WidthShape) => (s.biases === false ? 0 : 1);
const headUnit = (s: WidthShape) => (s.headSize ?? s.hidden / s.heads) * (3 * (s.hidden + biasOf(s)) + s.hidden);
const neuronUnit = (s: WidthShape) => (s.ffnInputs ?? 1) * (s.hidden + biasOf(s)) + s.hidden;
/** What narrowing adds per block besides removing units: the refit's bias of each narrowed output projection that had none. */
const refitBiases = (s: WidthShape, spec: CompSpec) => (s.biases === false ? s.hidden * (Number(spec.heads !== undefined && spec.heads < s.heads) + Number(spec.ffnWidth !== undefined && spec.ffnWidth < s.ffn)) : 0);

/** Word-table parameters a factorisation to `rank` saves under `shape`. */
export function embeddingSaving(shape: WidthShape, rank: number): number {
  if (shape.wordRows === undefined) throw new Error('embeddingSaving: the shape lacks wordRows');
  return factorSaving(shape.wordRows, shape.hidden, rank);
}

/** Parameters of `kept` with `spec`: blocks, minus removed heads and neurons (plus a refit bias where the projections had none), plus d² + d per bridge, minus a factorisation's saving. */
export function compensatedParams(acc: ParamCounts, kept: number[], spec: CompSpec, shape: WidthShape): number {
  let n = subsetParams(acc, kept);
  if (spec.embeddingRank !== undefined) n -= embeddingSaving(shape, spec.embeddingRank);
  if (spec.bridges) n += gapsOf(kept).length * ((spec.window ?? 1) * shape.hidden * shape.hidden + shape.hidden);
  const perBlock = (shape.heads - (spec.heads ?? shape.heads)) * headUnit(shape) + (shape.ffn - (spec.ffnWidth ?? shape.ffn)) * neuronUnit(shape) - refitBiases(shape, spec);
  return n - kept.length * perBlock;
}

/** FFN widths are kept at multiples of this many neurons (friendlier to matrix kernels). */
const FFN_STEP = 16;

/**
 * The widest uniform narrowing that fits `kept` (with or without bridges) into `budget`: as many
 * heads as possible while the FFN keeps at least a quarter of its neurons, then the widest FFN.
 * Null when even one head and 16 neurons per block do not fit, or nothing needs narrowing.
 */
export function uniformWidth(acc: ParamCounts, kept: number[], budget: number, shape: WidthShape, bridges: boolean): CompSpec | null {
  const base: CompSpec = { bridges };
  if (kept.length === 0 || compensatedParams(acc, kept, base, shape) <= budget) return null;
  for (const minFfn of [shape.ffn / 4, FFN_STEP]) {
    for (let h = shape.heads; h >= 1; h--) {
      const spare = budget - compensatedParams(acc, kept, { bridges, heads: h, ffnWidth: 0 }, shape);
      const f = Math.min(shape.ffn, Math.floor(spare / kept.length / neuronUnit(shape) / FFN_STEP) * FFN_STEP);
      if (f >= minFfn && f >= FFN_STEP) return { bridges, heads: h, ffnWidth: f };
    }
  }
  return null;
}

/**
 * ReplaceMe-style baseline (Shopkhoev et al. 2025): drop the contiguous run of blocks whose ends
 * are closest in angular distance (training split), the shortest run that fits with its bridge,
 * and bridge the gap with a least-squares map. `angularDistance[l][n]` = distance between h_l and h_{l+n}.
 */
export function replaceMeSubset(L: number, acc: ParamCounts, budget: number, shape: WidthShape, angularDistance: number[][]): number[] | null {
  for (let n = 1; n <= L; n++) {
    let best: { start: number; d: number } | null = null;
    for (let l = 0; l + n <= L; l++) {
      const kept = Array.from({ length: L }, (_, i) => i).filter((b) => b < l || b >= l + n);
      const d = angularDistance[l]?.[n];
      if (d === undefined || !Number.isFinite(d) || compensatedParams(acc, kept, { bridges: true }, shape) > budget) continue;
      if (!best || d <= best.d) best = { start: l, d };
    }
    if (best) return Array.from({ length: L }, (_, i) => i).filter((b) => b < best!.start || b >= best!.start + n);
  }
  return null;
}

/** Which compensations a `--compensate` mode lets the search try. */
export function modeAllows(mode: Compensation): { bridges: boolean; width: boolean } {
  switch (mode) {
    case 'none':
      return { bridges: false, width: false };
    case 'bridge':
      return { bridges: true, width: false };
    case 'width':
      return { bridges: false, width: true };
    case 'all':
      return { bridges: true, width: true };
    default:
      throw badValue('compensate', String(mode), `unknown; use one of ${COMPENSATIONS.join(', ')}.`);
  }
}

export interface CompCandidate {
  kept: number[];
  spec: CompSpec;
  origin: string;
}

/**
 * Compensated variants of the best plain candidates (`ranked`: measured subsets, best validation
 * first): up to `n.bridged` bridged where they have gaps and still fit; then, for width, up to
 * `n.narrowed` subsets of `wider` (best predicted under a larger budget) narrowed uniformly to fit.
 */
export function compensatedCandidates(mode: Compensation, ranked: number[][], wider: number[][], acc: ParamCounts, budget: number, shape: WidthShape, n: { bridged: number; narrowed: number; factorised?: number }, score?: UnitScore, embeddingRanks: number[] = []): CompCandidate[] {
  const allow = modeAllows(mode);
  const out: CompCandidate[] = [];
  const seen = new Set<string>();
  const taken = new Map<string, number>();
  /** `cap` per origin, and per rank for factorised ones. */
  const push = (kept: number[], spec: CompSpec, origin: string, cap: number) => {
    const key = candidateKey(kept, spec);
    const group = `${origin}:${spec.embeddingRank ?? ''}`;
    if (seen.has(key) || (taken.get(group) ?? 0) >= cap || compensatedParams(acc, kept, spec, shape) > budget) return;
    seen.add(key);
    taken.set(group, (taken.get(group) ?? 0) + 1);
    out.push({ kept, spec, origin });
  };
  if (allow.bridges) for (const k of ranked) if (gapsOf(k).length) push(k, { bridges: true }, 'bridged', n.bridged);
  if (allow.width) {
    for (const k of wider) {
      const spec = uniformWidth(acc, k, budget, shape, allow.bridges && gapsOf(k).length > 0);
      if (spec) push(k, score && score !== 'flap' ? { ...spec, score } : spec, 'narrowed', n.narrowed);
    }
  }
  for (const rank of embeddingRanks) for (const k of [...wider, ...ranked]) push(k, factorisedSpec(k, allow, acc, budget, shape, rank, score), 'factorised', n.factorised ?? n.narrowed);
  return out;
}

/**
 * `kept` with the word table factorised to `rank`: whole blocks (bridged where allowed) when that
 * fits, else narrowed uniformly to fit what the factorisation leaves (when width is allowed).
 */
export function factorisedSpec(kept: number[], allow: { bridges: boolean; width: boolean }, acc: ParamCounts, budget: number, shape: WidthShape, rank: number, score?: UnitScore): CompSpec {
  const bridges = allow.bridges && gapsOf(kept).length > 0;
  const whole: CompSpec = { bridges, embeddingRank: rank };
  if (compensatedParams(acc, kept, whole, shape) <= budget || !allow.width) return whole;
  const w = uniformWidth({ ...acc, embeddings: acc.embeddings - embeddingSaving(shape, rank) }, kept, budget, shape, bridges);
  return w ? { ...w, ...(score && score !== 'flap' ? { score } : {}), embeddingRank: rank } : whole;
}
