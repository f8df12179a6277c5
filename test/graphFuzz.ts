/**
 * Fuzzing of a model's ONNX graph by its meaning, not its bytes: each case drops nodes, or feeds a
 * node's input from another value of the graph (an initializer, a graph input, another node's
 * output), or renames a node's operator, or drops a node's attributes (or shuffles a Transpose's
 * perm), or has a node read one of its inputs through an Identity copy (as shared weights export
 * and graph tools leave them: the same meaning), writes the graph with the product's own editor, and opens
 * the folder as a job does: the model (blocks found, parameters counted, the export checked against
 * the safetensors), two texts run through the probe graph, and a pruned copy written and reopened.
 * Byte mutations mostly stop at the protobuf reader; these give graphs that parse but are not what
 * an exporter writes, as a hand-edited or another tool's export would be. The compensated targets
 * take the same graphs through a bridge and width fit, the variant's graph and a committed
 * classifier instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { graphVocabRows, openModel } from '../src/core/model/modelInfo';
import { loadTokenizer } from '../src/core/data/tokenize';
import { Extractor } from '../src/core/extract/extractor';
import { NewNode, OnnxModel, OnnxNode } from '../src/core/onnx/model';
import { findBlocks } from '../src/core/onnx/blocks';
import { writePrunedOnnx } from '../src/core/prune/surgery';
import { Rng } from '../src/core/util/rng';
import { loadTask, TaskData } from '../src/core/data/dataset';
import { checkCompensableModel, widthRefusal } from '../src/core/compensate/build';
import { writeCompensatedFolder } from '../src/core/compensate/commit';
import { CompSpec } from '../src/core/compensate/search';
import { buildVariant, variantCalibration } from '../src/core/compensate/variant';
import { writeClassifiers } from '../src/core/commit/classifier';
import { classify } from '../src/core/pipeline/verify';
import { trainProbe } from '../src/core/probe/probe';
import { tasksDir } from './helpers';
import { Rewrite, writeRewritten } from './graphRewrites';
import type { FuzzTarget } from './fuzz';

const OPS = ['Add', 'Mul', 'MatMul', 'Softmax', 'Identity', 'Relu', 'Transpose', 'Reshape', 'LayerNormalization', 'Gather', 'Nope'];

/** A target over a copy of the model folder `source` (its graph in onnx/model.onnx, or T5's onnx/encoder_model.onnx) in `scratchDir`. */
export function graphTarget(name: string, source: string, scratchDir: string, run: (dir: string, scratchDir: string, name: string) => Promise<void> = probePath): FuzzTarget {
  const dir = path.join(scratchDir, name);
  fs.cpSync(source, dir, { recursive: true });
  const file = ['model.onnx', 'encoder_model.onnx'].map((f) => path.join(dir, 'onnx', f)).find((f) => fs.existsSync(f))!;
  const seed = fs.readFileSync(file);
  const model = OnnxModel.open(file);
  const values = [...model.initializers.keys(), ...model.inputs.map((v) => v.name), ...model.nodes.flatMap((n) => n.outputs)];
  const edited = path.join(scratchDir, `${name}-edited.onnx`);
  return {
    name,
    seed,
    hotspots: [],
    mutate(rng: Rng) {
      const whats: string[] = [];
      let nodes: OnnxNode[] = [...model.nodes];
      const inputs = new Map<OnnxNode, Map<string, string>>();
      const ops = new Map<OnnxNode, string>();
      const attributes = new Map<OnnxNode, NewNode['attributes']>();
      const copies = new Map<OnnxNode, NewNode[]>();
      for (let k = 1 + rng.int(2); k > 0; k--) {
        const node = nodes[rng.int(nodes.length)];
        const kind = rng.int(5);
        if (kind === 0) {
          nodes = nodes.filter((n) => n !== node);
          whats.push(`drop ${node.name} (${node.opType})`);
        } else if (kind === 1 && node.inputs.length) {
          const input = node.inputs[rng.int(node.inputs.length)];
          const from = values[rng.int(values.length)];
          inputs.set(node, new Map([...(inputs.get(node) ?? []), [input, from]]));
          whats.push(`${node.name} reads ${from} for ${input}`);
        } else if (kind === 4 && node.inputs.some(Boolean)) {
          const present = node.inputs.filter(Boolean);
          const input = present[rng.int(present.length)];
          const copy = `${input}/copy-${whats.length}`;
          copies.set(node, [...(copies.get(node) ?? []), { name: `${node.name}/copy-${whats.length}`, opType: 'Identity', inputs: [inputs.get(node)?.get(input) ?? input], outputs: [copy] }]);
          inputs.set(node, new Map([...(inputs.get(node) ?? []), [input, copy]]));
          whats.push(`${node.name} reads ${input} through an Identity copy`);
        } else if (kind === 3) {
          // Its attributes dropped, or a Transpose's perm shuffled: the layout a surgery may assume.
          const perm = node.opType === 'Transpose' ? model.intsAttribute(node, 'perm') : undefined;
          const changed = perm && rng.int(2) ? rng.shuffle([...perm]) : undefined;
          ops.set(node, node.opType);
          attributes.set(node, changed ? { perm: changed } : undefined);
          whats.push(changed ? `${node.name} has perm [${changed}]` : `${node.name} has no attributes`);
        } else {
          const op = OPS[rng.int(OPS.length)];
          ops.set(node, op);
          whats.push(`${node.name} is ${op}`);
        }
      }
      // An operator renamed is a new node with the same inputs, outputs and name (its attributes dropped).
      const refs = nodes.flatMap((n) => [...(copies.get(n) ?? []), ops.has(n) ? { opType: ops.get(n)!, name: n.name, inputs: n.inputs.map((i) => inputs.get(n)?.get(i) ?? i), outputs: n.outputs, attributes: attributes.get(n) } : n]);
      model.write(edited, { nodes: refs, renameInputs: (n, i) => inputs.get(n)?.get(i) ?? i });
      return { what: whats.join('; '), bytes: fs.readFileSync(edited) };
    },
    async read(bytes) {
      fs.writeFileSync(file, bytes);
      try {
        await run(dir, scratchDir, name);
      } finally {
        fs.writeFileSync(file, seed);
      }
    },
  };
}

/**
 * The probe path: the model opened (blocks found, parameters counted, the export checked against
 * the safetensors), two texts run through the probe graph, a pruned copy written and reopened.
 */
async function probePath(dir: string, scratchDir: string, name: string): Promise<void> {
  const pruned = path.join(scratchDir, `${name}-pruned.onnx`);
  const info = openModel(dir);
  try {
    const tok = await loadTokenizer(dir, { maxLength: 16, embeddingRows: graphVocabRows(info.model) });
    const ex = await Extractor.create(info, tok, { poolings: ['mean'], cacheDir: null, threads: 1 });
    try {
      await ex.extract(TEXTS, 'fuzz');
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
    fs.rmSync(pruned, { force: true });
  }
}

const TEXTS = [{ text: 'a short text' }, { text: 'another one, longer than the first' }];
let sentlen: Promise<TaskData> | undefined;

/**
 * The compensated path, as optimize --compensate and commit take it: the model checked for
 * compensation and probed whole (as optimize does first), a bridge over a dropped block (and heads and FFN neurons removed, where the blocks
 * allow width pruning) fitted on 24 training texts, the variant's graph written and run, and the
 * committed folder with its classifier written and run alone as verify runs it.
 */
async function compensatedPath(dir: string, scratchDir: string, name: string): Promise<void> {
  const out = path.join(scratchDir, `${name}-committed`);
  const info = openModel(dir);
  try {
    checkCompensableModel(info);
    const tok = await loadTokenizer(dir, { maxLength: 16, embeddingRows: graphVocabRows(info.model) });
    // optimize probes the whole model before it compensates: a graph that cannot run is refused there.
    const whole = await Extractor.create(info, tok, { poolings: ['mean'], cacheDir: null, threads: 1 });
    try {
      await whole.extract(TEXTS, 'fuzz');
    } finally {
      await whole.release();
    }
    const kept = info.numLayers > 2 ? [0, info.numLayers - 1] : [0];
    const spec: CompSpec = widthRefusal(info) ? { bridges: true } : { bridges: true, heads: 1, ffnWidth: 16 };
    const task = await (sentlen ??= loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 24, limitTest: 8 }));
    const v = await buildVariant(info, variantCalibration(tok, [task], { batchSize: 8 }), kept, spec, { batchSize: 8 }, {});
    try {
      const ex = await Extractor.create(v.info, tok, { poolings: ['mean'], cacheDir: null, threads: 1 });
      let X: Float32Array;
      try {
        X = (await ex.extract(task.train, 'fuzz')).pooled.mean![kept.length - 1];
      } finally {
        await ex.release();
      }
      const probe = trainProbe(X, task.trainY, info.hiddenSize, task.labels.length, { c: 1, seed: 0, control: false });
      fs.mkdirSync(out);
      await writeCompensatedFolder(info, v, spec, out, { maxLength: 16 }, {});
      writeClassifiers(v.info, kept.map((_, i) => i), out, [{ name: 'sentlen', labels: task.labels, probe }], { pooling: 'mean', maxLength: 16 });
      await classify(path.join(out, 'classifiers', 'sentlen'), task, { provider: 'cpu', batchSize: 8, threads: 1 });
    } finally {
      v.dispose();
    }
  } finally {
    info.model.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** The graph targets over the repository's tiny BERT, RoBERTa and MPNet exports, on the probe path and the compensated one, T5's on the compensated one, and ModernBERT's (encoder and classifier) and DeBERTa's on the probe path. */
export function graphTargets(repoRoot: string, scratchDir: string): FuzzTarget[] {
  const plain = ['tiny-bert', 'tiny-roberta', 'tiny-mpnet'].flatMap((f) => {
    const source = path.join(repoRoot, 'test', 'fixtures', f);
    return [graphTarget(`graph-${f}`, source, scratchDir), graphTarget(`graph-compensated-${f}`, source, scratchDir, compensatedPath)];
  });
  // A fine-tuned classifier's export (the encoder under a task head): where the head ends is found by structure too.
  const headed = rewrittenFolder(repoRoot, scratchDir, 'task-head');
  // An export that returns every layer's state and attention: which outputs a pruned graph keeps is found by structure.
  const perLayer = rewrittenFolder(repoRoot, scratchDir, 'hidden-states-first');
  // T5: no biases, RMSNorm, the position bias made in block 0 and measured on its K (width pruning cuts and leaves those).
  const t5 = path.join(repoRoot, 'test', 'fixtures', 'tiny-t5-encoder');
  // ModernBERT: rotary attention, sliding-window masks, layer 0 without an attention norm; its classifier
  // export ends in final_norm, pooling and a head, where the encoder's state is found by structure.
  const modern = (f: string) => path.join(repoRoot, 'test', 'fixtures', f);
  return [
    ...plain,
    graphTarget('graph-tiny-modernbert', modern('tiny-modernbert'), scratchDir),
    graphTarget('graph-task-head-tiny-modernbert', modern('tiny-modernbert-classifier'), scratchDir),
    // DeBERTa's TorchScript export: If nodes whose branches read tensors of the graph around them.
    graphTarget('graph-tiny-deberta-v3', modern('tiny-deberta-v3'), scratchDir),
    // NomicBERT's torch.onnx export: rotary tables from an Einsum, a fused Wqkv, three inputs.
    graphTarget('graph-tiny-nomic-bert', modern('tiny-nomic-bert'), scratchDir),
    graphTarget('graph-compensated-tiny-t5-encoder', t5, scratchDir, compensatedPath),
    graphTarget('graph-task-head-tiny-bert', headed, scratchDir),
    graphTarget('graph-compensated-task-head-tiny-bert', headed, scratchDir, compensatedPath),
    graphTarget('graph-hidden-states-tiny-bert', perLayer, scratchDir),
    graphTarget('graph-compensated-hidden-states-tiny-bert', perLayer, scratchDir, compensatedPath),
  ];
}

/** A copy of tiny-bert in `scratchDir` whose graph is rewritten as `kind` (test/graphRewrites.ts). */
function rewrittenFolder(repoRoot: string, scratchDir: string, kind: Rewrite): string {
  const dir = path.join(scratchDir, `tiny-bert-${kind}`);
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'tiny-bert'), dir, { recursive: true });
  const file = path.join(dir, 'onnx', 'model.onnx');
  const model = OnnxModel.open(file);
  try {
    writeRewritten(model, kind, `${file}.new`);
  } finally {
    model.close();
  }
  fs.renameSync(`${file}.new`, file);
  return dir;
}
