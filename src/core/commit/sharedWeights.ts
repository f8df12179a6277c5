/**
 * Classifiers share the pruned encoder's weights instead of holding a copy each.
 *
 * ONNX Runtime (1.30, under transformers.js too) refuses external data outside a graph's own
 * folder ("External data path escapes model directory") and refuses symbolic links, so a
 * classifier graph cannot point at `../../../onnx/` directly. Each classifier graph therefore
 * references the encoder's weight bytes, at their offsets, in a file beside it named
 * `model.onnx_data` (the name transformers.js fetches for external data), and that file is a hard
 * link to the encoder's own file (`onnx/model.onnx`, `onnx/encoder_model.onnx` for T5, or the
 * graph's `_data` file when the encoder keeps its weights outside the graph): one copy on disk. A copy of the folder that does not keep
 * hard links (an upload, a zip) holds one copy per classifier again, as before.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxInitializer, OnnxModel } from '../onnx/model';
import { readRange } from '../util/fileKind';
import { linkOrCopy } from '../util/link';
import { readUtf8 } from '../util/textFile';
import { writeConfigJson } from '../model/configJson';

/** Weights smaller than this stay inline in the classifier graph (shape constants, the head). */
const MIN_SHARED_BYTES = 1024;
export const SHARED_DATA_FILE = 'model.onnx_data';

interface Bytes {
  file: string;
  start: number;
  length: number;
}

export interface SharedClassifier {
  /** The classifier folder, relative to the committed folder (`classifiers/<task>`). */
  classifier: string;
  /** The encoder file its `onnx/model.onnx_data` holds the bytes of (relative to the committed folder). */
  encoderFile: string;
  sharedTensors: number;
  sharedBytes: number;
  /** False when the file system refused a hard link and the file was copied. */
  linked: boolean;
}

/** Where each large initializer's bytes lie: inline raw_data in the .onnx, or in its external data file. */
function byteRanges(m: OnnxModel, file: string): Map<string, Bytes> {
  const out = new Map<string, Bytes>();
  for (const t of m.initializers.values()) {
    const b = bytesOf(m, file, t);
    if (b && b.length >= MIN_SHARED_BYTES) out.set(t.name, b);
  }
  return out;
}

function bytesOf(m: OnnxModel, file: string, t: OnnxInitializer): Bytes | null {
  if (t.external) return t.external.length === null ? null : { file: path.join(path.dirname(file), t.external.location), start: t.external.offset, length: t.external.length };
  const r = m.rawDataRange(t);
  return r ? { file, start: r.start, length: r.end - r.start } : null;
}

function read(b: Bytes): Buffer {
  return readRange(b.file, b.start, b.length);
}

/** The encoder graph (T5 folders name it encoder_model.onnx) and the file to share: its external data file when it has one, else the graph itself. */
function encoderFiles(dir: string): { graph: string; source: string } | null {
  const graph = ['model.onnx', 'encoder_model.onnx'].map((f) => path.join(dir, 'onnx', f)).find((f) => fs.existsSync(f));
  if (!graph) return null;
  const data = `${graph}_data`;
  return { graph, source: fs.existsSync(data) ? data : graph };
}

/**
 * Rewrites every classifier under `dir/classifiers/` so that the weights it has in common with the
 * encoder (same name, same bytes) are read from the shared file. A classifier with an external
 * weight that is not the encoder's keeps its own layout. Returns what was shared.
 */
export function shareEncoderWeights(dir: string): SharedClassifier[] {
  const clsRoot = path.join(dir, 'classifiers');
  if (!fs.existsSync(clsRoot)) return [];
  const files = encoderFiles(dir);
  if (!files) return [];
  const { graph: encFile, source } = files;
  const enc = OnnxModel.open(encFile);
  let targets: Map<string, Bytes>;
  try {
    targets = new Map([...byteRanges(enc, encFile)].filter(([, b]) => b.file === source));
  } finally {
    enc.close();
  }
  const out: SharedClassifier[] = [];
  for (const task of fs.readdirSync(clsRoot).sort()) {
    const r = shareOne(path.join(clsRoot, task, 'onnx'), source, targets);
    if (r) markExternalData(path.join(clsRoot, task, 'config.json'));
    if (r) out.push({ classifier: `classifiers/${task}`, encoderFile: path.relative(dir, source).split(path.sep).join('/'), ...r });
  }
  return out;
}

function shareOne(onnxDir: string, source: string, targets: Map<string, Bytes>): { sharedTensors: number; sharedBytes: number; linked: boolean } | null {
  const file = path.join(onnxDir, 'model.onnx');
  const m = OnnxModel.open(file);
  const shared = new Map<string, Bytes>();
  try {
    for (const t of m.initializers.values()) {
      const mine = bytesOf(m, file, t);
      const theirs = targets.get(t.name);
      const same = mine && theirs && mine.length === theirs.length && read(mine).equals(read(theirs));
      if (same) shared.set(t.name, theirs);
      // An external weight of its own would need the data file name the link takes.
      else if (t.external) return null;
    }
    if (shared.size === 0) return null;
    const tmp = `${file}.share.tmp`;
    m.write(tmp, {
      nodes: m.nodes,
      rewriteInitializer: (t) => {
        const b = shared.get(t.name);
        return b ? m.rewriteTensor(t, { externalData: { location: SHARED_DATA_FILE, offset: String(b.start), length: String(b.length) }, dropRawData: true }) : undefined;
      },
    });
    const link = path.join(onnxDir, SHARED_DATA_FILE);
    fs.rmSync(link, { force: true });
    // A file system without hard links (some network and FAT mounts): the classifier still works, with its own copy.
    const linked = linkOrCopy(source, link) === 'link';
    fs.renameSync(tmp, file);
    let sharedBytes = 0;
    for (const b of shared.values()) sharedBytes += b.length;
    return { sharedTensors: shared.size, sharedBytes, linked };
  } finally {
    m.close();
  }
}

/**
 * transformers.js fetches `onnx/model.onnx_data` beside the graph only when the config asks (from
 * the Hub, in a browser); per file, so a `model_quantized.onnx` beside it (no data file) still loads.
 */
function markExternalData(configFile: string): void {
  const config = JSON.parse(readUtf8(configFile)) as Record<string, unknown>;
  const tjs = (config['transformers.js_config'] ?? {}) as Record<string, unknown>;
  config['transformers.js_config'] = { ...tjs, use_external_data_format: { 'model.onnx': 1 } };
  // The folder's own config.json is the source of its floats (1.0 stays 1.0).
  writeConfigJson(path.dirname(configFile), config, path.dirname(configFile));
}
