/**
 * Fuzzing of a model's ONNX graph by its meaning, not its bytes: each case drops nodes, or feeds a
 * node's input from another value of the graph (an initializer, a graph input, another node's
 * output), or renames a node's operator, writes the graph with the product's own editor, and opens
 * the folder as a job does: the model (blocks found, parameters counted, the export checked against
 * the safetensors), two texts run through the probe graph, and a pruned copy written and reopened.
 * Byte mutations mostly stop at the protobuf reader; these give graphs that parse but are not what
 * an exporter writes, as a hand-edited or another tool's export would be.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { graphVocabRows, openModel } from '../src/core/model/modelInfo';
import { loadTokenizer } from '../src/core/data/tokenize';
import { Extractor } from '../src/core/extract/extractor';
import { OnnxModel, OnnxNode } from '../src/core/onnx/model';
import { findBlocks } from '../src/core/onnx/blocks';
import { writePrunedOnnx } from '../src/core/prune/surgery';
import { Rng } from '../src/core/util/rng';
import type { FuzzTarget } from './fuzz';

const OPS = ['Add', 'Mul', 'MatMul', 'Softmax', 'Identity', 'Relu', 'Transpose', 'Reshape', 'LayerNormalization', 'Gather', 'Nope'];

/** A target over a copy of the model folder `source` (its graph in onnx/model.onnx) in `scratchDir`. */
export function graphTarget(name: string, source: string, scratchDir: string): FuzzTarget {
  const dir = path.join(scratchDir, name);
  fs.cpSync(source, dir, { recursive: true });
  const file = path.join(dir, 'onnx', 'model.onnx');
  const seed = fs.readFileSync(file);
  const model = OnnxModel.open(file);
  const values = [...model.initializers.keys(), ...model.inputs.map((v) => v.name), ...model.nodes.flatMap((n) => n.outputs)];
  const edited = path.join(scratchDir, `${name}-edited.onnx`);
  const pruned = path.join(scratchDir, `${name}-pruned.onnx`);
  return {
    name,
    seed,
    hotspots: [],
    mutate(rng: Rng) {
      const whats: string[] = [];
      let nodes: OnnxNode[] = [...model.nodes];
      const inputs = new Map<OnnxNode, Map<string, string>>();
      const ops = new Map<OnnxNode, string>();
      for (let k = 1 + rng.int(2); k > 0; k--) {
        const node = nodes[rng.int(nodes.length)];
        const kind = rng.int(3);
        if (kind === 0) {
          nodes = nodes.filter((n) => n !== node);
          whats.push(`drop ${node.name} (${node.opType})`);
        } else if (kind === 1 && node.inputs.length) {
          const input = node.inputs[rng.int(node.inputs.length)];
          const from = values[rng.int(values.length)];
          inputs.set(node, new Map([...(inputs.get(node) ?? []), [input, from]]));
          whats.push(`${node.name} reads ${from} for ${input}`);
        } else {
          const op = OPS[rng.int(OPS.length)];
          ops.set(node, op);
          whats.push(`${node.name} is ${op}`);
        }
      }
      // An operator renamed is a new node with the same inputs, outputs and name (its attributes dropped).
      const refs = nodes.map((n) => (ops.has(n) ? { opType: ops.get(n)!, name: n.name, inputs: n.inputs.map((i) => inputs.get(n)?.get(i) ?? i), outputs: n.outputs } : n));
      model.write(edited, { nodes: refs, renameInputs: (n, i) => inputs.get(n)?.get(i) ?? i });
      return { what: whats.join('; '), bytes: fs.readFileSync(edited) };
    },
    async read(bytes) {
      fs.writeFileSync(file, bytes);
      try {
        const info = openModel(dir);
        try {
          const tok = await loadTokenizer(dir, { maxLength: 16, embeddingRows: graphVocabRows(info.model) });
          const ex = await Extractor.create(info, tok, { poolings: ['mean'], cacheDir: null, threads: 1 });
          try {
            await ex.extract([{ text: 'a short text' }, { text: 'another one, longer than the first' }], 'fuzz');
          } finally {
            await ex.release();
          }
          const kept = info.numLayers > 1 ? [info.numLayers - 1] : [];
          writePrunedOnnx(info.onnxFile, pruned, kept);
          const again = OnnxModel.open(pruned);
          try {
            findBlocks(again, pruned);
          } finally {
            again.close();
          }
        } finally {
          info.model.close();
        }
      } finally {
        fs.writeFileSync(file, seed);
        fs.rmSync(pruned, { force: true });
      }
    },
  };
}

/** The graph targets over the repository's tiny BERT and RoBERTa exports. */
export function graphTargets(repoRoot: string, scratchDir: string): FuzzTarget[] {
  return ['tiny-bert', 'tiny-roberta'].map((f) => graphTarget(`graph-${f}`, path.join(repoRoot, 'test', 'fixtures', f), scratchDir));
}
