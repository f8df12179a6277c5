/** In-process measurements of the bench, each a ratio taken side by side in one run. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { TaskData } from '../src/core/data/dataset';
import { TextTokenizer } from '../src/core/data/tokenize';
import { Extractor } from '../src/core/extract/extractor';
import { ModelInfo } from '../src/core/model/modelInfo';
import { bestPredictedSubsets } from '../src/core/optimize';
import { ParamCounts } from '../src/shared/params';
import { idealSpeedup, timeEncoders } from '../src/core/pipeline/verify';
import { writePrunedOnnx } from '../src/core/prune/surgery';
import { fitLogReg, predict } from '../src/core/probe/logreg';
import { applyStandardizer, fitStandardizer } from '../src/core/probe/standardize';
import { root } from './children';
import { plainPass } from './plain';

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * The extractor (probe graph: every layer pooled, cosines) against plain ORT inference of the
 * same length-sorted batches of 32 (last_hidden_state only), alternating whole passes.
 */
export async function extractionOverPlain(info: ModelInfo, tok: TextTokenizer, texts: string[], rounds: number) {
  const plain = await ort.InferenceSession.create(info.onnxFile, { intraOpNumThreads: os.cpus().length });
  const ex = await Extractor.create(info, tok, { poolings: ['mean'], cosine: true, provider: 'cpu' });
  const examples = texts.map((text) => ({ text }));
  const ratios: number[] = [];
  const plainS: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    let t0 = performance.now();
    await plainPass(plain, tok, texts);
    const p = performance.now() - t0;
    t0 = performance.now();
    await ex.extract(examples, 'bench');
    const e = performance.now() - t0;
    // Round 0 warms both sessions up and is not counted.
    if (r > 0) {
      ratios.push(e / p);
      plainS.push(p / 1000);
    }
  }
  await ex.release();
  await plain.release();
  return { texts: texts.length, rounds, plainSeconds: median(plainS), ratio: median(ratios) };
}

/** Latency of pruned prefixes vs the full model at batch 1 and 32, next to the FLOP ratio. */
export async function prunedLatency(info: ModelInfo, tok: TextTokenizer, texts: string[], prefixes: number[], runs: { runs1: number; runs32: number }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-'));
  const rows = [];
  try {
    for (const k of prefixes) {
      if (k < 1) throw new Error(`prunedLatency: a prefix of ${k} blocks has no FLOP ideal; give 1 or more`);
      const kept = Array.from({ length: k }, (_, i) => i);
      const file = path.join(dir, `m${k}.onnx`);
      writePrunedOnnx(info.onnxFile, file, kept);
      const t = await timeEncoders(info.onnxFile, file, texts, tok, { provider: 'cpu', ...runs });
      // Prefixes keep at least one block, so a FLOP ideal exists.
      const ideal = idealSpeedup(info, kept, t.seqLen)!;
      rows.push({ blocks: k, params: info.params.embeddings + kept.reduce((a, b) => a + info.params.perBlock[b], 0), batch1: t.batch1, batch32: t.batch32, idealSpeedup: ideal, overIdeal: { batch1: t.batch1.speedup / ideal, batch32: t.batch32.speedup / ideal }, seqLen: t.seqLen });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/**
 * Our logistic-regression probe against scikit-learn's on the same standardised features
 * (C = 1, L-BFGS, tol 1e-4): fit time and test accuracy. Null with a note without python3 + sklearn.
 */
export async function probeVsSklearn(info: ModelInfo, tok: TextTokenizer, task: TaskData) {
  const ex = await Extractor.create(info, tok, { poolings: ['mean'], kept: info.blocks.scopeIndex.map((_, i) => i), provider: 'cpu' });
  const tr = await ex.extract(task.train, 'bench train');
  const te = await ex.extract(task.test, 'bench test');
  await ex.release();
  const st = fitStandardizer(tr.pooled.mean![0], tr.n, tr.dim);
  const Ztr = applyStandardizer(st, tr.pooled.mean![0], tr.n, tr.dim);
  const Zte = applyStandardizer(st, te.pooled.mean![0], te.n, te.dim);
  const K = task.labels.length;
  const t0 = performance.now();
  const model = fitLogReg(Ztr, task.trainY, tr.dim, K, { c: 1 });
  const oursMs = performance.now() - t0;
  const acc = (pred: ArrayLike<number>) => Array.from(pred).filter((p, i) => p === task.testY[i]).length / task.testY.length;
  const ours = { fitMs: oursMs, accuracy: acc(predict(model, Zte, te.n)), iterations: model.iterations };
  const sk = runSklearn(Ztr, task.trainY, Zte, tr.n, te.n, tr.dim);
  if ('note' in sk) return { rows: { train: tr.n, test: te.n, dim: tr.dim, classes: K }, ours, sklearn: null, note: sk.note, timeRatio: null, accuracyGapPoints: null };
  return { rows: { train: tr.n, test: te.n, dim: tr.dim, classes: K }, ours, sklearn: sk, note: null, timeRatio: oursMs / sk.fitMs, accuracyGapPoints: 100 * (ours.accuracy - acc(sk.pred)) };
}

function runSklearn(Ztr: Float32Array, ytr: Int32Array, Zte: Float32Array, ntr: number, nte: number, dim: number): { fitMs: number; pred: number[] } | { note: string } {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) return { note: `${python} not found` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-sk-'));
  try {
    fs.writeFileSync(path.join(dir, 'Xtr.f32'), Ztr);
    fs.writeFileSync(path.join(dir, 'ytr.i32'), ytr);
    fs.writeFileSync(path.join(dir, 'Xte.f32'), Zte);
    const r = spawnSync(python, [path.join(root, 'bench', 'sklearn_probe.py'), dir, String(ntr), String(nte), String(dim)], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) return { note: `scikit-learn not usable: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}` };
    const out = JSON.parse(r.stdout) as { fit_ms: number; pred: number[]; version: string };
    return { fitMs: out.fit_ms, pred: out.pred };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Predicted-subset search time over 10 budgets on a 48-block model with 3 tasks (synthetic probe curves). */
export function optimizerMs(): { blocks: number; budgets: number; ms: number } {
  const L = 48;
  const acc: ParamCounts = { total: 0, embeddings: 5_000_000, perBlock: Array.from({ length: L }, (_, b) => 1_000_000 + (b % 3) * 1000), other: 1000 };
  acc.total = acc.embeddings + acc.other + acc.perBlock.reduce((a, b) => a + b, 0);
  // Deterministic, non-monotone curves: a rise, a plateau and a dip, different per task.
  const curve = (peak: number, phase: number) => Array.from({ length: L + 1 }, (_, l) => 0.5 + 0.4 * Math.sin((Math.PI * l) / (2 * peak)) * (l <= 2 * peak ? 1 : 0.8) + 0.01 * Math.sin(l * phase));
  const obj = { weights: { a: 1, b: 1, c: 0.5 }, scores: { a: curve(20, 1.3), b: curve(36, 2.1), c: curve(10, 0.7) } };
  const t0 = performance.now();
  for (let i = 1; i <= 10; i++) bestPredictedSubsets(obj, acc, acc.embeddings + acc.other + (i / 10) * (acc.total - acc.embeddings - acc.other), 8);
  return { blocks: L, budgets: 10, ms: performance.now() - t0 };
}
