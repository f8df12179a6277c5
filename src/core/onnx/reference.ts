/**
 * Graphs handed to ONNX Runtime without their weight bytes: every inline initializer of the
 * source becomes an external-data reference into the source file itself (location = the .onnx
 * file, offset = where its raw_data lies), and external references stay as they are. ORT then
 * reads the weights straight from the user's files, so nothing is copied into a JS buffer and
 * nothing is written anywhere (ORT resolves the locations against `weightsDir`, given to it as
 * the session option `session.model_external_initializers_file_folder_path`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnsupportedModelError } from '../errors';
import { GraphEdit, OnnxModel } from './model';
import { chunksToBuffer } from './wire';

/** Inline tensors smaller than this stay inline (shape constants and the like). */
const MIN_REFERENCED_BYTES = 1024;

export interface ReferencingGraph {
  /** The serialised graph; small (nodes, shapes and references only). */
  graph: Buffer;
  /** Folder the external-data locations are relative to; null when the model has no folder (in memory). */
  weightsDir: string | null;
}

/** Serialises `edit` of `model` with its weights referenced in place rather than copied. */
export function referencingGraph(model: OnnxModel, edit: GraphEdit = { nodes: model.nodes }): ReferencingGraph {
  const file = model.src.path;
  if (!model.baseDir || !file || path.dirname(file) !== model.baseDir) return { graph: chunksToBuffer(model.serialize(edit)), weightsDir: null };
  const real = realFiles(model, file);
  const referenced: GraphEdit = {
    ...edit,
    rewriteInitializer: (t) => {
      const own = edit.rewriteInitializer?.(t);
      if (own) return own;
      if (t.external) {
        const moved = real.names.get(t.external.location);
        if (moved === undefined || moved === t.external.location) return undefined;
        return model.rewriteTensor(t, { externalData: { location: moved, offset: String(t.external.offset), ...(t.external.length === null ? {} : { length: String(t.external.length) }) } });
      }
      const r = model.rawDataRange(t);
      if (!r || r.end - r.start < MIN_REFERENCED_BYTES) return undefined;
      return model.rewriteTensor(t, { externalData: { location: real.graph, offset: String(r.start), length: String(r.end - r.start) }, dropRawData: true });
    },
  };
  return { graph: chunksToBuffer(model.serialize(referenced)), weightsDir: real.dir };
}

/**
 * Where the graph file and its external-data files really are. ONNX Runtime resolves each location
 * through symbolic links and refuses one that lands outside `weightsDir` ("External data path
 * escapes model directory"): in a Hugging Face hub cache every file of `snapshots/<rev>/` is a link
 * into `blobs/`, so the references name the files there (one folder for all of them), by their
 * own names. Files that really are in the graph's folder keep their names.
 */
function realFiles(model: OnnxModel, file: string): { dir: string; graph: string; names: Map<string, string> } {
  const realGraph = realPath(file);
  const dir = path.dirname(realGraph);
  const names = new Map<string, string>();
  for (const t of model.initializers.values()) {
    const location = t.external?.location;
    if (location === undefined || names.has(location)) continue;
    const target = path.join(model.baseDir!, location);
    const real = realPath(target);
    if (path.dirname(real) !== dir) {
      throw new UnsupportedModelError(
        `${file} and its external data file ${target} lead to different folders (${dir} and ${path.dirname(real)}, through symbolic links); ONNX Runtime reads external data only from the folder its graph file is really in. Copy the model's files into one folder (huggingface-cli download --local-dir DIR does).`,
      );
    }
    names.set(location, path.basename(real));
  }
  return { dir, graph: path.basename(realGraph), names };
}

/** `p` through its symbolic links; `p` itself where it cannot be resolved (gone: ONNX Runtime then says which file is missing). */
function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
