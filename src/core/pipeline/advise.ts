/**
 * Stage 7, advise: retention against the unpruned model, the per-task budget advice (a
 * saturating curve fitted to every measured subset and every prefix), and whether the
 * embeddings alone already reach the target.
 */
import { curveBand, evalCurve, recommendBudget } from '../optimize/curve';
import { LayerScores } from '../optimize/predict';
import { subsetParams } from '../optimize/subsets';
import type { ParamCounts } from '../../shared/params';
import { EmbeddingOnlyReport, Retention, Score, TaskBudgetAdvice, TaskReference } from '../report';
import { Measured, TaskSplit } from './measure';

export function retention(score: number, final: number, best: number, chance: number): Retention {
  return { vsFinal: score / final, vsBestLayer: score / best, chanceNormalized: final > chance ? (score - chance) / (final - chance) : null };
}

/** Retention of scores against the unpruned model, per task and task-weighted. */
export class RetentionMeter {
  constructor(
    private readonly splits: TaskSplit[],
    readonly reference: Record<string, TaskReference>,
  ) {}

  of(task: string, s: Score): Retention {
    const r = this.reference[task];
    return retention(s.accuracy, r.final.accuracy, r.bestLayer.test.accuracy, r.majority);
  }

  perTask(scores: Record<string, Score>): Record<string, Retention> {
    return Object.fromEntries(this.splits.map((sp) => [sp.task.name, this.of(sp.task.name, scores[sp.task.name])]));
  }

  mean(scores: Record<string, Score>): Retention {
    const rs = this.splits.map((sp) => ({ w: sp.weight, r: this.of(sp.task.name, scores[sp.task.name]) }));
    const W = rs.reduce((a, x) => a + x.w, 0);
    const avg = (k: keyof Retention) => rs.reduce((a, x) => a + x.w * x.r[k]!, 0) / W;
    // Undefined for the mix when it is undefined for one task: a mean without it would read as the whole.
    const chanceNormalized = rs.every((x) => x.r.chanceNormalized !== null) ? avg('chanceNormalized') : null;
    return { vsFinal: avg('vsFinal'), vsBestLayer: avg('vsBestLayer'), chanceNormalized };
  }
}

export const BUDGET_ADVICE_NOTE = 'P(n) = P∞ − a·n^(−α) fitted to validation scores of every measured subset and every prefix; n in parameters; interval and band = 5–95 % bootstrap.';

/** Budget advice from the measured front plus the exact prefix points (s(t,k) is a prefix's score). */
export function budgetAdvice(splits: TaskSplit[], measured: Measured[], valScores: LayerScores, acc: ParamCounts, targetRetention: number, winner: Measured, seed: number): Record<string, TaskBudgetAdvice> {
  const advice: Record<string, TaskBudgetAdvice> = {};
  const L = acc.perBlock.length;
  const allBlocks = Array.from({ length: L }, (_, i) => i);
  // The smallest model measured: below the block-less one with a factorised word table (--embedding-rank).
  const nMin = Math.min(subsetParams(acc, []), ...measured.map((m) => m.params));
  for (const sp of splits) {
    const name = sp.task.name;
    const pts = new Map<number, number>();
    const add = (n: number, p: number) => pts.set(n, Math.max(pts.get(n) ?? -Infinity, p));
    for (const m of measured) add(m.params, m.val[name].accuracy);
    valScores[name].forEach((s, k) => add(subsetParams(acc, allBlocks.slice(0, k)), s));
    const points = [...pts].map(([n, p]) => ({ n, p }));
    const r = recommendBudget(points, targetRetention, valScores[name][L], { nMin, nMax: acc.total, seed });
    // The curve's bootstrap band on 25 sizes from the smallest model to the source, for the trade-off chart.
    const nGrid = Array.from({ length: 25 }, (_, i) => nMin + ((acc.total - nMin) * i) / 24);
    advice[name] = {
      recommendedParams: r.n,
      recommendedFraction: r.n === null ? null : r.n / acc.total,
      interval: r.interval,
      fit: { pInf: r.fit.pInf, a: r.fit.a, alpha: r.fit.alpha },
      band: { n: nGrid, ...curveBand(points, nGrid, { seed }) },
      predictedAtChosen: evalCurve(r.fit, winner.params),
      measuredAtChosen: winner.val[name].accuracy,
    };
  }
  return advice;
}

/** Whether the embedding output alone (no blocks) keeps the target share of the final layer's accuracy. */
export function embeddingOnly(empty: Measured, meter: RetentionMeter, targetRetention: number): EmbeddingOnlyReport {
  const ret = meter.mean(empty.test!);
  const reaches = ret.vsFinal >= targetRetention;
  // Below the whole-table floor (--embedding-rank) the embeddings-only candidate has the factorised table.
  const rank = empty.compensation?.embeddingRank;
  const what = rank === undefined ? 'The embedding output alone' : `The embedding output alone with the word table factorised to rank ${rank}`;
  const use = rank === undefined ? 'Consider keeping no block: `probescale prune --layers ""`, or None in the side view\'s prune form.' : 'It is among the candidates above.';
  return {
    validation: empty.objective,
    test: empty.test!,
    retention: ret,
    reachesTarget: reaches,
    message: reaches
      ? `${what} (no blocks, ${empty.params.toLocaleString('en-US')} parameters) keeps ${(100 * ret.vsFinal).toFixed(1)} % of the final layer's accuracy: these tasks are lexical enough for a bag of embeddings. ${use}`
      : `${what} keeps ${(100 * ret.vsFinal).toFixed(1)} % of the final layer's accuracy, below the ${(100 * targetRetention).toFixed(0)} % target: the kept blocks matter.`,
  };
}
