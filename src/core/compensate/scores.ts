/**
 * Scores that rank the units of a sub-layer (attention heads, FFN neurons) for width pruning,
 * from forward passes only: FLAP's fluctuation score, and a task-weighted variant that weights
 * each unit's output direction by how far it moves the tasks' class means apart, in units of the
 * within-class spread (linear discriminant directions of the pooled token states at the sub-layer).
 */
import { badValue } from '../errors';
import { choleskySolve } from './ridge';

/** 'flap': FLAP's score; 'task': the task-weighted score; 'mixed': the two, each as a share of its total, added. */
export type UnitScore = 'flap' | 'task' | 'mixed';
export const UNIT_SCORES: readonly UnitScore[] = ['flap', 'task', 'mixed'];
/** What the optimiser's narrowed candidates use unless told (chosen on cross-validation, RESULTS §5c). */
export const DEFAULT_UNIT_SCORE: UnitScore = 'task';

export function parseUnitScore(v: string): UnitScore {
  const s = UNIT_SCORES.find((u) => u === v);
  if (s) return s;
  throw badValue('widthScore', v, `unknown; use one of ${UNIT_SCORES.join(', ')}.`);
}

/**
 * Per-neuron mean and variance of a [tokens × width] activation stream, in Float64. Each batch is
 * summed as deviations from the mean so far (from its first row for the first batch), then merged
 * (Chan et al.): a division per column per batch, not per element as Welford's update, and the same
 * numbers to about 1e-12 (`scores.test.ts`).
 */
export class ColumnMoments {
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  n = 0;
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;
  constructor(readonly width: number) {
    this.mean = new Float64Array(width);
    this.m2 = new Float64Array(width);
    this.s1 = new Float64Array(width);
    this.s2 = new Float64Array(width);
  }
  add(a: Float32Array, rows: Int32Array): void {
    const w = this.width;
    const nb = rows.length;
    if (nb === 0) return;
    const { mean, m2, s1, s2 } = this;
    // The shift: the mean so far, or the batch's first row.
    if (this.n === 0) for (let j = 0; j < w; j++) mean[j] = a[rows[0] * w + j];
    s1.fill(0);
    s2.fill(0);
    // Four rows at a time (one load and store of each sum per four rows: twice as fast), then the rest.
    let r = 0;
    for (; r + 3 < nb; r += 4) {
      const o0 = rows[r] * w;
      const o1 = rows[r + 1] * w;
      const o2 = rows[r + 2] * w;
      const o3 = rows[r + 3] * w;
      for (let j = 0; j < w; j++) {
        const mj = mean[j];
        const d0 = a[o0 + j] - mj;
        const d1 = a[o1 + j] - mj;
        const d2 = a[o2 + j] - mj;
        const d3 = a[o3 + j] - mj;
        s1[j] += d0 + d1 + d2 + d3;
        s2[j] += d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
      }
    }
    for (; r < nb; r++) {
      const o = rows[r] * w;
      for (let j = 0; j < w; j++) {
        const d = a[o + j] - mean[j];
        s1[j] += d;
        s2[j] += d * d;
      }
    }
    const n0 = this.n;
    const n = n0 + nb;
    for (let j = 0; j < w; j++) {
      // The batch's mean less the shift, and its own sum of squared deviations from its mean.
      const db = s1[j] / nb;
      const m2b = Math.max(0, s2[j] - s1[j] * db);
      mean[j] += (db * nb) / n;
      m2[j] += m2b + (db * db * n0 * nb) / n;
    }
    this.n = n;
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


/** Per text, the mean over its tokens of a [rows × d] state (fit batches only); texts not seen stay empty (count 0). */
export function pooledByText(states: Float32Array[], tokens: Int32Array[], textOf: Int32Array[], use: boolean[], seqLens: number[], texts: number, d: number): { sum: Float64Array; count: Int32Array } {
  const sum = new Float64Array(texts * d);
  const count = new Int32Array(texts);
  states.forEach((x, b) => {
    if (!use[b]) return;
    for (const r of tokens[b]) {
      const t = textOf[b][Math.floor(r / seqLens[b])];
      count[t]++;
      for (let i = 0; i < d; i++) sum[t * d + i] += x[r * d + i];
    }
  });
  for (let t = 0; t < texts; t++) for (let i = 0; i < d && count[t]; i++) sum[t * d + i] /= count[t];
  return { sum, count };
}

/** Relative ridge added to the within-class covariance so that it can be inverted (not tuned). */
const SHRINK = 1e-3;

/**
 * Discriminant directions of one task: U = Σ_w⁻¹ [√π_c (μ_c − μ)]_c (d × C, row-major), from the
 * pooled states `x` of its texts `rows` with labels `y`. ‖Uᵀw‖² is how much a step along w moves
 * the class means apart, measured in within-class standard deviations. Null with under two classes.
 */
export function discriminantDirections(x: Float64Array, d: number, rows: number[], y: (t: number) => number): Float64Array | null {
  const classes = [...new Set(rows.map(y))].sort((a, b) => a - b);
  if (classes.length < 2) return null;
  const C = classes.length;
  const mean = new Float64Array(C * d);
  const n = new Float64Array(C);
  for (const t of rows) {
    const c = classes.indexOf(y(t));
    n[c]++;
    for (let i = 0; i < d; i++) mean[c * d + i] += x[t * d + i];
  }
  for (let c = 0; c < C; c++) for (let i = 0; i < d; i++) mean[c * d + i] /= n[c];
  const sw = new Float64Array(d * d);
  const dev = new Float64Array(d);
  for (const t of rows) {
    const c = classes.indexOf(y(t));
    for (let i = 0; i < d; i++) dev[i] = x[t * d + i] - mean[c * d + i];
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) sw[i * d + j] += (dev[i] * dev[j]) / rows.length;
  }
  let tr = 0;
  for (let i = 0; i < d; i++) tr += sw[i * d + i];
  for (let i = 0; i < d; i++) sw[i * d + i] += (SHRINK * tr) / d + 1e-12;
  const all = new Float64Array(d);
  for (let c = 0; c < C; c++) for (let i = 0; i < d; i++) all[i] += (n[c] / rows.length) * mean[c * d + i];
  const u = new Float64Array(d * C);
  for (let c = 0; c < C; c++) for (let i = 0; i < d; i++) u[i * C + c] = Math.sqrt(n[c] / rows.length) * (mean[c * d + i] - all[i]);
  choleskySolve(sw, u, d, C);
  return u;
}

/**
 * Task-weighted score per unit of `group` columns: Σ_j Var(a_j) · Σ_tasks ‖Uᵀ (row j of the
 * output projection)‖² / (that task's total over units), so every task weighs the same; the
 * tasks' directions `dirs` are d × C_t each.
 */
export function taskScores(m: ColumnMoments, out: Float32Array, hidden: number, group: number, dirs: Float64Array[]): Float64Array {
  const units = m.width / group;
  const total = new Float64Array(units);
  for (const u of dirs) {
    const C = u.length / hidden;
    const s = new Float64Array(units);
    for (let j = 0; j < m.width; j++) {
      let w2 = 0;
      for (let c = 0; c < C; c++) {
        let dot = 0;
        for (let i = 0; i < hidden; i++) dot += out[j * hidden + i] * u[i * C + c];
        w2 += dot * dot;
      }
      s[Math.floor(j / group)] += m.variance(j) * w2;
    }
    const sum = s.reduce((a, b) => a + b, 0) || 1;
    s.forEach((v, i) => (total[i] += v / sum));
  }
  return total;
}
