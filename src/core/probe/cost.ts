/**
 * What a task's probes will cost, known before any feature is extracted: a K-way softmax over n
 * training rows holds n×K logits and as many residuals in every pass of every fit, so many labels
 * with few rows each (10,000 labels × 2 rows: 3.2 GB, hours per layer) are told up front instead of
 * after minutes of extraction and search.
 */
import { DatasetError } from '../errors';
import { CV_FOLDS, DEFAULT_C_GRID } from './cv';
import { defaultGemmKernel } from './gemm';

/** Most memory one probe fit may need; above it the task is refused (see {@link probeFitBytes}). */
export const MAX_PROBE_FIT_BYTES = 2 ** 30;

/** Least probe time above which a task is warned about, in seconds (the real time was 3–4× it where measured). */
export const WARN_PROBE_SECONDS = 2 * 60;

/**
 * Cost of one pass of a fit (the fits run on one thread), measured on the development machine
 * (RESULTS §6, ninth session): about 1.8 ns per multiply-add of the two products (rows × classes ×
 * features) and 15 ns per logit for the softmax itself. The WebAssembly kernel (gemm.ts) takes
 * 3.6× fewer ns per multiply-add than the JavaScript one in the same run (RESULTS §3, fifteenth
 * session): 0.5 ns.
 */
const NS_PER_MULTIPLY_ADD = { js: 1.8, wasm: 0.5 };
const NS_PER_LOGIT = 15;
/**
 * Passes (objective evaluations) per fit counted by the estimate: fewer than fits take (500 labels
 * × 4 rows on tiny-bert: 256 s of CPU where this gives 85 s), so the estimate is a floor.
 */
const MIN_PASSES_PER_FIT = 10;

/**
 * Bytes one fit of logistic regression needs over `rows` rows, `classes` classes present and `dim`
 * features (src/core/probe/logreg.ts, lbfgs.ts): the logits and residuals (float64, rows × classes
 * each, one column for two classes), the transposed features (float32) and L-BFGS's 10 pairs of
 * history plus its working vectors (float64, about 26 copies of the parameters). The WebAssembly
 * kernel holds one more float32 copy of the features (4·rows·dim, packed; within the test's 10 %).
 */
export function probeFitBytes(rows: number, classes: number, dim: number): number {
  const m = classes <= 2 ? 1 : classes;
  return 16 * rows * m + 4 * rows * dim + 8 * 26 * m * (dim + 1);
}

/** Fits of the probe protocol for one task (src/core/pipeline/probe.ts): the C search on the final layer, then per layer the probe, its control and a fit per validation fold. */
export function probeFits(layers: number, cFixed: boolean): number {
  return (cFixed ? 0 : CV_FOLDS * DEFAULT_C_GRID.length) + layers * (2 + CV_FOLDS);
}

/** Lower bound of the seconds the probe protocol takes on one task, at the measured speed. */
export function probeSecondsFloor(rows: number, classes: number, dim: number, layers: number, cFixed: boolean): number {
  const m = classes <= 2 ? 1 : classes;
  const pass = rows * m * (2 * NS_PER_MULTIPLY_ADD[defaultGemmKernel()] * dim + NS_PER_LOGIT) * 1e-9;
  return probeFits(layers, cFixed) * MIN_PASSES_PER_FIT * pass;
}

/** The most labels that fit {@link MAX_PROBE_FIT_BYTES} at `rowsPerLabel` rows each: the root of the quadratic {@link probeFitBytes}. */
export function maxLabelsAt(rowsPerLabel: number, dim: number): number {
  const a = 16 * rowsPerLabel;
  const b = 4 * rowsPerLabel * dim + 8 * 26 * (dim + 1);
  return Math.floor((-b + Math.sqrt(b * b + 4 * a * MAX_PROBE_FIT_BYTES)) / (2 * a));
}

/** The training rows and labels a task's probes are fitted on. */
export interface ProbedTask {
  name: string;
  source: string;
  trainY: Int32Array;
}

/**
 * Refuses a task whose probe fits would need more than {@link MAX_PROBE_FIT_BYTES}, and returns a
 * warning when its probes would take more than {@link WARN_PROBE_SECONDS} at the least; checked
 * when the task is loaded, before any feature is extracted.
 * @throws DatasetError naming the task, its labels and rows, the memory, and what to do.
 */
export function checkProbeCost(task: ProbedTask, dim: number, layers: number, cFixed: boolean): string | undefined {
  const rows = task.trainY.length;
  const classes = new Set(task.trainY).size;
  const perLabel = rows / classes;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const per = perLabel < 10 ? perLabel.toFixed(1).replace(/\.0$/, '') : fmt(Math.round(perLabel));
  const what = `a ${fmt(classes)}-way probe over ${fmt(rows)} training rows (${per} per label) and ${fmt(dim)} features`;
  const bytes = probeFitBytes(rows, classes, dim);
  if (bytes > MAX_PROBE_FIT_BYTES) {
    throw new DatasetError(
      `task "${task.name}" (${task.source}): ${what} needs ${formatBytes(bytes)} in each of its fits (${fmt(rows)} × ${fmt(classes)} logits and as many residuals), ` +
        `more than the ${formatBytes(MAX_PROBE_FIT_BYTES)} ProbeScale allows one fit, and hours of CPU. At ${per} rows per label at most ${fmt(maxLabelsAt(perLabel, dim))} labels fit: ` +
        'merge rare labels (into an "other" label, say) or keep the most frequent ones.',
    );
  }
  const seconds = probeSecondsFloor(rows, classes, dim, layers, cFixed);
  if (seconds <= WARN_PROBE_SECONDS) return undefined;
  return (
    `task "${task.name}": ${what} makes ${probeFits(layers, cFixed)} fits (${cFixed ? '' : 'the C search and '}${layers} layers); expect at least ${formatDuration(seconds)} of probing, likely several times that. ` +
    `${cFixed ? '' : `Fixing {{c}} skips the C search (${CV_FOLDS * DEFAULT_C_GRID.length} of the fits); `}fewer labels, or a training-row limit, shrink every fit.`
  );
}

/** "3.2 GB", "512 MB". */
export function formatBytes(b: number): string {
  return b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${Math.round(b / 1e6)} MB`;
}

/** "about 3 h", "about 25 min". */
export function formatDuration(s: number): string {
  if (s >= 2 * 3600) return `about ${Math.round(s / 3600)} h`;
  return `about ${Math.max(1, Math.round(s / 60))} min`;
}
