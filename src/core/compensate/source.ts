/**
 * The graph compensation fits on and rewrites. An export with its weights inline is used as it is;
 * a graph built from safetensors (weights referenced in place, fp16/bf16 cast and PyTorch Linear
 * weights transposed inside the graph) or an export with external data is first written out as a
 * standalone float32 copy (onnx/standalone.ts) in a private temporary folder, removed on dispose.
 * The copy computes what the source computes, so candidates, budgets and the committed folder
 * are the same as from an export of the model.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanDeadProcessFolders } from '../commit/atomicDir';
import { findBlocks } from '../onnx/blocks';
import { OnnxModel } from '../onnx/model';
import { writeStandaloneFloat } from '../onnx/standalone';
import { ModelInfo, countParams } from '../model/modelInfo';
import { diskWriteError } from '../util/diskErrors';

/** Prefix of the private temporary folder of a standalone copy: `<tmp>/probescale-standalone-<pid>-XXXXXX`. */
export const STANDALONE_TMP = 'probescale-standalone-';

export interface CompensationSource {
  /** The model compensation reads: `source` itself, or its standalone copy (same dir, config and blocks). */
  info: ModelInfo;
  /** Removes the copy (nothing for a source used as it is). */
  dispose(): void;
}

/** True when compensation can read and rewrite `info`'s graph as it is: an export with every weight inline. */
export function isStandalone(info: ModelInfo): boolean {
  return info.graphFrom === 'onnx' && ![...info.model.initializers.values()].some((t) => t.external);
}

export function compensationSource(info: ModelInfo): CompensationSource {
  if (isStandalone(info)) return { info, dispose: () => {} };
  cleanDeadProcessFolders(os.tmpdir(), STANDALONE_TMP);
  let dir: string | undefined;
  let model: OnnxModel | undefined;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `${STANDALONE_TMP}${process.pid}-`));
    const file = path.join(dir, path.basename(info.onnxFile));
    writeStandaloneFloat(info.model, file);
    model = OnnxModel.open(file);
    const blocks = findBlocks(model, file);
    const copy: ModelInfo = { ...info, onnxFile: file, model, blocks, params: countParams(model, blocks) };
    const made = dir;
    return {
      info: copy,
      dispose: () => {
        copy.model.close();
        fs.rmSync(made, { recursive: true, force: true });
      },
    };
  } catch (e) {
    model?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    throw tempDiskError(e) ?? e;
  }
}

/** A full or unwritable system temporary folder, worded. */
function tempDiskError(e: unknown) {
  const tmp = os.tmpdir();
  return diskWriteError(e, tmp, {
    name: `The temporary folder ${tmp} (compensation writes a float32 copy of a graph built from safetensors, or with external data, there)`,
    elsewhere: (where) => `set TMPDIR to a folder ${where}`,
  });
}
