/**
 * Model folders the tests build from the tiny fixtures: the same weights stored the ways users'
 * models come (external data, …), so each layout is tested without checking in more files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { externalDataCopy } from '../scripts/externalData';
import { BufferSource, MessageWriter, parseFields, writeChunks } from '../src/core/onnx/wire';
import { tempDir } from './helpers';

/** A copy of a model folder (tokenizer, config) in a fresh temporary folder, without its onnx/ folder. */
export function copyFolderWithoutOnnx(src: string, prefix: string): string {
  const dir = tempDir(prefix);
  for (const f of fs.readdirSync(src)) {
    const p = path.join(src, f);
    if (fs.statSync(p).isFile()) fs.copyFileSync(p, path.join(dir, f));
  }
  fs.mkdirSync(path.join(dir, 'onnx'));
  return dir;
}

/** A copy of the model folder `src` whose onnx/model.onnx keeps its weights in onnx/model.onnx_data. */
export function externalDataFolder(src: string): string {
  const dir = tempDir('ps-extdata-');
  externalDataCopy(src, dir);
  return dir;
}

/**
 * A copy of an ONNX file with every node name removed, as exporters without scope names write
 * them; `dropMetadata` also removes metadata_props (where a pruned graph records its blocks).
 */
export function stripNodeNames(src: string, dst: string, dropMetadata = false): string {
  const s = new BufferSource(fs.readFileSync(src), src);
  const model = new MessageWriter();
  for (const f of parseFields(s, 0, s.size)) {
    if (f.num === 14 && dropMetadata) continue;
    if (f.num !== 7) {
      model.raw(s, f);
      continue;
    }
    const graph = new MessageWriter();
    for (const g of parseFields(s, f.valStart, f.valEnd)) {
      if (g.num !== 1) {
        graph.raw(s, g);
        continue;
      }
      const node = new MessageWriter();
      for (const x of parseFields(s, g.valStart, g.valEnd)) if (x.num !== 3) node.raw(s, x);
      graph.message(1, node);
    }
    model.message(7, graph);
  }
  writeChunks(dst, model.chunks);
  return dst;
}
