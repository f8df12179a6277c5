/**
 * Graphs handed to ONNX Runtime without their weight bytes: every inline initializer of the
 * source becomes an external-data reference into the source file itself (location = the .onnx
 * file, offset = where its raw_data lies), and external references stay as they are. ORT then
 * reads the weights straight from the user's files, so nothing is copied into a JS buffer and
 * nothing is written anywhere (ORT resolves the locations against `weightsDir`, given to it as
 * the session option `session.model_external_initializers_file_folder_path`).
 */
import * as path from 'node:path';
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
  const location = path.basename(file);
  const referenced: GraphEdit = {
    ...edit,
    rewriteInitializer: (t) => {
      const own = edit.rewriteInitializer?.(t);
      if (own || t.external) return own;
      const r = model.rawDataRange(t);
      if (!r || r.end - r.start < MIN_REFERENCED_BYTES) return undefined;
      return model.rewriteTensor(t, { externalData: { location, offset: String(r.start), length: String(r.end - r.start) }, dropRawData: true });
    },
  };
  return { graph: chunksToBuffer(model.serialize(referenced)), weightsDir: model.baseDir };
}
