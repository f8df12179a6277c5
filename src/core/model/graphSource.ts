/**
 * Which graph a model folder runs: its ONNX export (onnx/model.onnx, T5: onnx/encoder_model.onnx,
 * quantized variants), or one built from config.json + safetensors when it has no export or the
 * user asks for it. The built graph is written once to a cache folder beside hard links to the
 * weight files, so every stage (probe, prune, optimize, eval, commit) opens a file like any export.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, badValue } from '../errors';
import { linkOrCopy } from '../util/link';
import { noHomeReason, userCacheRoot } from '../util/homePath';
import { buildEncoderGraph } from './encoderGraph';
import { INDEX_FILE, PYTORCH_FILE, SINGLE_FILE, hasWeights, openWeights } from './weights';
import { makeFolders } from '../util/mkdirs';
import { diskWriteError } from '../util/diskErrors';

export const GRAPH_SOURCES = ['auto', 'onnx', 'safetensors'] as const;
export type GraphSource = (typeof GRAPH_SOURCES)[number];

export function parseGraphSource(v: string): GraphSource {
  if ((GRAPH_SOURCES as readonly string[]).includes(v)) return v as GraphSource;
  throw badValue('from', v, 'use onnx or safetensors (default: onnx when the folder has it, else safetensors).');
}

/** The graph built from the folder's weights (safetensors, else pytorch_model.bin), written to the graph cache (see writeBuiltGraph). */
export function buildGraphFile(dir: string, config: Record<string, unknown>, cacheDir = defaultGraphCacheDir()): string {
  if (!hasWeights(dir)) throw new BadInputError(`${dir}: no ${SINGLE_FILE}, ${INDEX_FILE} or ${PYTORCH_FILE}; {{from}} safetensors builds the graph from the model's weights.`);
  if (cacheDir === null) {
    throw new BadInputError(
      `${dir} has no ONNX export, so its graph is built from the safetensors into the graph cache, and there is no folder for it: ${noHomeReason()}, and XDG_CACHE_HOME is not set to an absolute path. Set XDG_CACHE_HOME to a folder you can write to, or export the model to ONNX (optimum-cli export onnx).`,
    );
  }
  return writeBuiltGraph(dir, config, cacheDir);
}

/** Per-user folder for built graphs (small: the weights stay in the safetensors files), beside the feature cache; null without a home folder or XDG_CACHE_HOME. */
export function defaultGraphCacheDir(): string | null {
  const root = userCacheRoot();
  return root === null ? null : path.join(root, 'probescale', 'graphs');
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
  try {
    makeFolders(cacheDir, 0o700);
  } catch (e) {
    throw graphCacheError(e, cacheDir, dir) ?? new BadInputError(`cannot create the folder ${cacheDir} for the graph built from ${dir}'s safetensors (${(e as NodeJS.ErrnoException).code}); set XDG_CACHE_HOME to a folder you can write to.`);
  }
  let tmp: string | undefined;
  try {
    tmp = fs.mkdtempSync(path.join(cacheDir, '.building-'));
    for (const f of built.shards) linkOrCopy(path.resolve(f), path.join(tmp, path.basename(f)));
    fs.writeFileSync(path.join(tmp, built.fileName), built.bytes);
    fs.renameSync(tmp, target);
  } catch (e) {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    // Another process may have written the same graph first; that one is as good.
    if (!fs.existsSync(file)) throw graphCacheError(e, cacheDir, dir) ?? e;
  }
  return file;
}

/** A full or unwritable graph cache, worded (Node says only "ENOSPC: no space left on device, write"). */
function graphCacheError(e: unknown, cacheDir: string, dir: string) {
  return diskWriteError(e, cacheDir, {
    name: `The graph cache ${cacheDir} (the graph built from ${dir}'s safetensors is written there, beside hard links to its weights, or copies where the cache is on another disk)`,
    elsewhere: (where) => `set XDG_CACHE_HOME to a folder ${where}`,
  });
}
