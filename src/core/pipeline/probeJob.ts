/**
 * `probescale probe`: probe every hidden state of a model for every task, and report
 * per-layer accuracy, macro-F1, control accuracy and the redundancy signals.
 */
import { JobContext, ProbeSettings, TaskSpec, stage } from '../jobs';
import { throwIfAborted } from '../errors';
import { loadTask, TaskData } from '../data/dataset';
import { loadTokenizer, TextTokenizer } from '../data/tokenize';
import { Extractor, LayerFeatures } from '../extract/extractor';
import { ModelInfo, openModel } from '../model/modelInfo';
import { ProbeResult, runProbe } from '../probe/probe';
import { LayerScore, ModelSummary, ProbeReport, TaskReport, reportHeader } from './report';

export interface PreparedRun {
  info: ModelInfo;
  tokenizer: TextTokenizer;
  tasks: TaskData[];
}

export async function prepare(modelDir: string, specs: TaskSpec[], settings: ProbeSettings, ctx: JobContext): Promise<PreparedRun> {
  stage(ctx, 'load', `loading model ${modelDir}`);
  const info = openModel(modelDir, { onnx: settings.onnx, quantized: settings.quantized, dtype: settings.dtype });
  const tokenizer = await loadTokenizer(info.dir, { maxLength: settings.maxLength });
  const tasks: TaskData[] = [];
  for (const s of specs) {
    tasks.push(await loadTask(s.name, s.path, { seed: settings.seed, limitTrain: settings.limitTrain, limitTest: settings.limitTest }));
  }
  return { info, tokenizer, tasks };
}

export function summarizeModel(info: ModelInfo): ModelSummary {
  return {
    dir: info.dir,
    onnxFile: info.onnxFile,
    architecture: info.architecture,
    numLayers: info.numLayers,
    hiddenSize: info.hiddenSize,
    quantized: info.quantized,
    params: info.params,
  };
}

export interface TaskFeatures {
  train: LayerFeatures;
  test: LayerFeatures;
}

export async function extractAll(extractor: Extractor, tasks: TaskData[], ctx: JobContext): Promise<Map<string, TaskFeatures>> {
  const out = new Map<string, TaskFeatures>();
  for (const t of tasks) {
    throwIfAborted(ctx.signal);
    const train = await extractor.extract(t.train, `${t.name}/train`, ctx);
    const test = await extractor.extract(t.test, `${t.name}/test`, ctx);
    out.set(t.name, { train, test });
  }
  return out;
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
export function angularDistance(features: LayerFeatures[], pooling: 'mean' | 'first'): number[][] {
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

/** One row of a report's per-layer table from a probe result. */
export function layerScore(layer: number, r: ProbeResult): LayerScore {
  return {
    layer,
    accuracy: r.accuracy,
    macroF1: r.macroF1,
    controlAccuracy: r.controlAccuracy,
    selectivity: r.controlAccuracy === null ? null : r.accuracy - r.controlAccuracy,
    c: r.c,
    cvAccuracy: r.cvAccuracy,
    converged: r.converged,
  };
}

export function probeTaskLayers(task: TaskData, feats: TaskFeatures, settings: ProbeSettings, weight: number, ctx: JobContext): TaskReport {
  const pooled = (f: LayerFeatures) => f.pooled[settings.pooling]!;
  const layers: TaskReport['layers'] = [];
  let majority = 0;
  const total = feats.train.layers.length;
  for (let j = 0; j < total; j++) {
    throwIfAborted(ctx.signal);
    const r = runProbe(
      { trainX: pooled(feats.train)[j], trainY: task.trainY, testX: pooled(feats.test)[j], testY: task.testY, dim: feats.train.dim, numClasses: task.labels.length },
      { c: settings.c, seed: settings.seed, signal: ctx.signal },
    );
    majority = r.majority;
    layers.push(layerScore(feats.train.layers[j], r));
    ctx.onProgress?.({ kind: 'probe', task: task.name, done: j + 1, total });
  }
  const best = layers.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  return {
    labels: task.labels,
    majority,
    pooling: settings.pooling,
    weight,
    source: task.source,
    nTrain: task.train.length,
    nTest: task.test.length,
    layers,
    bestLayer: best.layer,
  };
}

export async function runProbeJob(modelDir: string, specs: TaskSpec[], settings: ProbeSettings, ctx: JobContext = {}): Promise<ProbeReport> {
  const t0 = Date.now();
  const run = await prepare(modelDir, specs, settings, ctx);
  const { info, tasks } = run;
  stage(ctx, 'extract', `building the probe graph (${info.numLayers + 1} hidden states, ${settings.pooling} pooling)`);
  const extractor = await Extractor.create(info, run.tokenizer, { poolings: [settings.pooling], cosine: true, provider: settings.provider, strictProvider: settings.strictProvider, batchSize: settings.batchSize, cacheDir: settings.cacheDir, threads: settings.threads }, ctx);
  let feats: Map<string, TaskFeatures>;
  try {
    feats = await extractAll(extractor, tasks, ctx);
  } finally {
    await extractor.release();
  }
  const t1 = Date.now();
  stage(ctx, 'probe', `training probes: ${tasks.length} task(s) × ${info.numLayers + 1} layers`);
  const report: ProbeReport = {
    ...reportHeader('probe'),
    model: summarizeModel(info),
    settings: { ...settings, cacheDir: undefined },
    provider: extractor.provider,
    tasks: {},
    signals: {
      blockInfluence: blockInfluence([...feats.values()].map((f) => f.train)),
      angularDistance: angularDistance([...feats.values()].map((f) => f.train), settings.pooling),
    },
    timings: { extractSeconds: 0, probeSeconds: 0 },
  };
  for (const t of tasks) {
    const w = specs.find((s) => s.name === t.name)?.weight ?? 1;
    report.tasks[t.name] = probeTaskLayers(t, feats.get(t.name)!, settings, w, ctx);
  }
  report.timings = { extractSeconds: (t1 - t0) / 1000, probeSeconds: (Date.now() - t1) / 1000 };
  info.model.close();
  return report;
}
