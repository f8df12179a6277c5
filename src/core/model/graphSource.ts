/**
 * Which graph a model folder runs: its ONNX export (onnx/model.onnx, T5: onnx/encoder_model.onnx,
 * quantized variants), or one built from config.json + safetensors when it has no export or the
 * user asks for it. The built graph is written once to a cache folder beside hard links to the
 * weight files, so every stage (probe, prune, optimize, eval, commit) opens a file like any export.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BadInputError, badValue } from '../errors';
import { linkOrCopy } from '../util/link';
import { GraphFrom, buildEncoderGraph } from './encoderGraph';
import { INDEX_FILE, SINGLE_FILE, hasSafetensors, openWeights } from './weights';

export interface GraphSourceOptions {
  /** An explicit ONNX file, absolute or relative to the model folder. */
  onnx?: string;
  /** Use the dynamic-quantized variant (model_quantized.onnx). */
  quantized?: boolean;
  /** Graph source: the ONNX export, or the safetensors weights; default: ONNX when the folder has it. */
  from?: GraphSource;
  /** Where graphs built from safetensors are kept (default: defaultGraphCacheDir()). */
  graphCacheDir?: string;
}

export type GraphSource = 'auto' | GraphFrom;

export function parseGraphSource(v: string): GraphSource {
  if (v === 'auto' || v === 'onnx' || v === 'safetensors') return v;
  throw badValue('from', v, 'use onnx or safetensors (default: onnx when the folder has it, else safetensors).');
}

/** Base name of an exported encoder graph: encoder_model for T5 (its decoder lies beside it), else model. */
const graphBase = (config: Record<string, unknown>) => (String(config.model_type ?? '').includes('t5') ? 'encoder_model' : 'model');

/** The folder's ONNX file, or null when it has none (an explicit --onnx FILE must exist). */
function findOnnxFile(dir: string, config: Record<string, unknown>, opts: GraphSourceOptions): string | null {
  if (opts.onnx) {
    const f = path.resolve(dir, opts.onnx);
    if (!fs.existsSync(f)) throw badValue('onnx', opts.onnx, `no such file (looked for ${f}).`);
    return f;
  }
  const base = graphBase(config);
  const names = opts.quantized ? [`${base}_quantized.onnx`, `${base}_int8.onnx`, `${base}_uint8.onnx`] : [`${base}.onnx`];
  for (const n of names) {
    for (const f of [path.join(dir, 'onnx', n), path.join(dir, n)]) if (fs.existsSync(f)) return f;
  }
  return null;
}

export function resolveOnnxFile(dir: string, config: Record<string, unknown>, opts: GraphSourceOptions = {}): string {
  const f = findOnnxFile(dir, config, opts);
  if (f) return f;
  throw new BadInputError(`${dir}: no ${graphBase(config)}${opts.quantized ? '_quantized' : ''}.onnx in onnx/ (or the folder itself). Export the model to ONNX (e.g. optimum-cli export onnx) or name its graph file in {{onnx}}.`);
}

/**
 * The graph to run for a model folder: its ONNX export when it has one (or `from: 'onnx'`), else a
 * graph built from config.json + safetensors (or `from: 'safetensors'`), written once to the graph
 * cache and referencing the weights in place. This is the one place a folder's graph is chosen.
 */
export function resolveEncoderGraph(dir: string, config: Record<string, unknown>, opts: GraphSourceOptions = {}): { file: string; from: GraphFrom } {
  const from = opts.from ?? 'auto';
  if (from === 'safetensors' && (opts.onnx || opts.quantized)) throw badValue('from', 'safetensors', `cannot be combined with {{${opts.onnx ? 'onnx' : 'quantized'}}}: a graph built from safetensors is the float32 model.`);
  if (from !== 'safetensors') {
    const onnx = findOnnxFile(dir, config, opts);
    if (onnx || from === 'onnx' || opts.onnx || opts.quantized) return { file: onnx ?? resolveOnnxFile(dir, config, opts), from: 'onnx' };
  }
  if (!hasSafetensors(dir)) {
    const bin = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].find((f) => fs.existsSync(path.join(dir, f)));
    if (bin) {
      throw new BadInputError(
        `${dir} has ${bin} (PyTorch pickle) but no ${SINGLE_FILE} or onnx/ export; ProbeScale does not read pickles. Convert it once with Python: ` +
          `python -c "from transformers import AutoModel as M; M.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)" (writes ${SINGLE_FILE}), or export ONNX with optimum-cli export onnx --model ${dir} ${path.join(dir, 'onnx')}.`,
      );
    }
    const want = from === 'safetensors' ? `${SINGLE_FILE} or ${INDEX_FILE}` : `onnx/model.onnx (T5: onnx/encoder_model.onnx), ${SINGLE_FILE} or ${INDEX_FILE}`;
    throw new BadInputError(`${dir}: no model weights found; a model folder needs config.json, tokenizer files and ${want}.`);
  }
  return { file: writeBuiltGraph(dir, config, opts.graphCacheDir ?? defaultGraphCacheDir()), from: 'safetensors' };
}

/** Per-user folder for built graphs (small: the weights stay in the safetensors files); beside the feature cache. */
export function defaultGraphCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'probescale', 'graphs');
}

/**
 * Builds the graph and writes it under `cacheDir/<key>/`, beside hard links to the safetensors files
 * (ONNX external data is resolved relative to the graph file). The key covers the graph bytes and each
 * weight file's size and mtime, so an unchanged folder maps to the same file (the feature cache keys
 * on it) and a changed one to a new file. Written through a temporary folder renamed into place.
 */
function writeBuiltGraph(dir: string, config: Record<string, unknown>, cacheDir: string): string {
  const weights = openWeights(dir);
  const built = buildEncoderGraph(config, weights, 'probescale');
  const h = crypto.createHash('sha256').update(built.bytes);
  for (const f of built.shards) {
    const st = fs.statSync(f);
    h.update(`${f}:${st.size}:${st.mtimeMs}`);
  }
  const target = path.join(cacheDir, h.digest('hex').slice(0, 24));
  const file = path.join(target, built.fileName);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const tmp = fs.mkdtempSync(path.join(cacheDir, '.building-'));
  try {
    for (const f of built.shards) linkOrCopy(path.resolve(f), path.join(tmp, path.basename(f)));
    fs.writeFileSync(path.join(tmp, built.fileName), built.bytes);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process may have written the same graph first; that one is as good.
    if (!fs.existsSync(file)) throw e;
  }
  return file;
}
