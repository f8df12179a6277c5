/**
 * The redundancy signals of the published layer-dropping heuristics, from the full model's
 * training features: Block Influence (ShortGPT) and angular distance (Gromov et al.).
 */
import { LayerFeatures } from '../extract/extractor';
import { ProbeReport } from '../report';
import { ProbeSettings } from '../settings';
import { FeatureSet } from './extract';
import type { Pooling } from '../onnx/edit';

/** Both signals over every task's training rows, as a report records them. */
export function redundancySignals(feats: FeatureSet, pooling: ProbeSettings['pooling']): NonNullable<ProbeReport['signals']> {
  const train = [...feats.values()].map((f) => f.train);
  return { blockInfluence: blockInfluence(train), angularDistance: angularDistance(train, pooling) };
}

/** Block Influence (ShortGPT) per block: 1 − mean over tokens and examples of cos(h_l, h_{l+1}). */
export function blockInfluence(features: LayerFeatures[]): number[] {
  const L = features[0]?.cosine.length ?? 0;
  const bi = new Array<number>(L).fill(0);
  let n = 0;
  for (const f of features) {
    for (let l = 0; l < L; l++) for (const v of f.cosine[l]) bi[l] += v;
    n += f.n;
  }
  return bi.map((s) => 1 - s / Math.max(1, n));
}

/**
 * Angular distance (Gromov et al. 2024) between pooled h_l and h_{l+k}: d[l][k] = mean over
 * examples of arccos(cos)/π. Computed on pooled sentence vectors, the encoder analogue of the
 * paper's last-token representation.
 */
export function angularDistance(features: LayerFeatures[], pooling: Pooling): number[][] {
  const L1 = features[0]?.layers.length ?? 0;
  const d: number[][] = Array.from({ length: L1 }, () => new Array<number>(L1).fill(0));
  let n = 0;
  for (const f of features) {
    const p = f.pooled[pooling];
    if (!p) continue;
    const norms = p.map((a) => {
      const r = new Float64Array(f.n);
      for (let i = 0; i < f.n; i++) {
        let s = 0;
        for (let j = 0; j < f.dim; j++) s += a[i * f.dim + j] ** 2;
        r[i] = Math.sqrt(s) || 1e-12;
      }
      return r;
    });
    for (let a = 0; a < L1; a++) {
      for (let b = a + 1; b < L1; b++) {
        let s = 0;
        for (let i = 0; i < f.n; i++) {
          let dot = 0;
          for (let j = 0; j < f.dim; j++) dot += p[a][i * f.dim + j] * p[b][i * f.dim + j];
          const c = Math.max(-1, Math.min(1, dot / (norms[a][i] * norms[b][i])));
          s += Math.acos(c) / Math.PI;
        }
        d[a][b - a] += s;
      }
    }
    n += f.n;
  }
  return d.map((row) => row.map((v) => v / Math.max(1, n)));
}
