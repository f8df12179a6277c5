import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { findBlocks } from '../../../../src/core/onnx/blocks';
import { pruneEdit } from '../../../../src/core/onnx/edit';
import { DataType, OnnxModel } from '../../../../src/core/onnx/model';
import { structuralBlockOf } from '../../../../src/core/onnx/structure';
import { chunksToBuffer } from '../../../../src/core/onnx/wire';
import { fixture, tempDir, tinyModels } from '../../../helpers';

// structuralBlockOf pinned when it was split into stages (twelfth session): the block of every node
// it finds in the tiny models, in ONNX Runtime's optimized tiny-bert graphs and in an embeddings-only
// graph (no attention: null), as digests, and in small hand-made graphs (attention ops, a MatMul of
// two activations, a Cast before the fork, a final norm after the last block, masks and shapes off
// the stream, a sink the input never reaches), in full.

type N = [string, string[], string[]];

function graph(nodes: N[], outputs: string[], weights: string[] = ['w']): OnnxModel {
  return {
    nodes: nodes.map(([opType, inputs, outs]) => ({ name: '', opType, domain: '', inputs, outputs: outs })),
    metadata: new Map<string, string>(),
    initializers: new Map(weights.map((w) => [w, {}])),
    runtimeInputs: [{ name: 'input_ids' }],
    outputs: outputs.map((name) => ({ name, elemType: DataType.FLOAT, shape: [1, 5, 4] })),
  } as unknown as OnnxModel;
}

/** One block: a fork at `h`, attention (Softmax, or a MatMul of two activations) and a residual Add to `out`. */
function block(h: string, out: string, kind: 'softmax' | 'matmul2' | 'attention' | 'cast'): N[] {
  const x = `${out}_`;
  const attn: N[] =
    kind === 'matmul2'
      ? [['MatMul', [h, 'w'], [`${x}q`]], ['MatMul', [`${x}q`, h], [`${x}s`]], ['MatMul', [`${x}s`, 'w'], [`${x}a`]]]
      : kind === 'attention'
        ? [['Attention', [h, 'w', 'mask'], [`${x}a`]]]
        : [['MatMul', [h, 'w'], [`${x}q`]], ['Softmax', [`${x}q`], [`${x}s`]], ['MatMul', [`${x}s`, 'w'], [`${x}a`]]];
  const body: N[] = [...attn, ['Add', [`${x}a`, h], [`${x}r`]], ['MatMul', [`${x}r`, 'w'], [`${x}f`]], ['Add', [`${x}f`, `${x}r`], [out]]];
  return kind === 'cast' ? [['Cast', [h], [`${x}c`]], ...body.map(([op, ins, outs]) => [op, ins.map((t) => (t === h ? `${x}c` : t)), outs] as N)] : body;
}

const embed: N[] = [['Gather', ['w', 'input_ids'], ['h0']]];
const synthetic: Record<string, [OnnxModel, string]> = {
  'two softmax blocks': [graph([...embed, ...block('h0', 'h1', 'softmax'), ...block('h1', 'h2', 'softmax')], ['h2']), 'h2'],
  'three blocks, MatMul of two activations': [graph([...embed, ...block('h0', 'h1', 'matmul2'), ...block('h1', 'h2', 'matmul2'), ...block('h2', 'h3', 'matmul2')], ['h3']), 'h3'],
  'Attention op, mask and shape off the stream': [
    graph([...embed, ['Shape', ['h0'], ['sh']], ['Cast', ['sh'], ['mask0']], ['Unsqueeze', ['mask0'], ['mask']], ...block('h0', 'h1', 'attention'), ...block('h1', 'h2', 'attention')], ['h2']),
    'h2',
  ],
  'cast before each fork, final norm after': [
    graph([...embed, ...block('h0', 'h1', 'cast'), ...block('h1', 'h2', 'cast'), ['Cast', ['h2'], ['n0']], ['Mul', ['n0', 'h2'], ['n1']], ['Add', ['n1', 'h2'], ['out']]], ['out']),
    'out',
  ],
  'EmbedLayerNormalization with a mask output': [
    graph([['EmbedLayerNormalization', ['input_ids', 'w'], ['h0', 'mask']], ...block('h0', 'h1', 'attention'), ...block('h1', 'h2', 'softmax')], ['h2']),
    'h2',
  ],
  'blocks of unequal length': [graph([...embed, ...block('h0', 'h1', 'softmax'), ['Relu', ['h1'], ['g']], ['Add', ['g', 'h1'], ['h1b']], ...block('h1b', 'h2', 'softmax')], ['h2']), 'h2'],
  'no attention': [graph([...embed, ['MatMul', ['h0', 'w'], ['a']], ['Add', ['a', 'h0'], ['h1']]], ['h1']), 'h1'],
  'sink not reached': [graph([...embed, ...block('h0', 'h1', 'softmax')], ['h1']), 'elsewhere'],
  'source not read': [graph([['Gather', ['w', 'other'], ['h0']], ...block('h0', 'h1', 'softmax')], ['h1']), 'h1'],
};

const sinkOf = (m: OnnxModel) => m.outputs.find((o) => o.elemType === DataType.FLOAT && (o.shape?.length ?? 3) === 3)?.name ?? m.outputs[0].name;

function shown(r: ReturnType<typeof structuralBlockOf>, full: boolean): string {
  if (r === null) return 'null';
  const counts = new Map<number, number>();
  for (const b of r.blockOf) counts.set(b, (counts.get(b) ?? 0) + 1);
  const hist = [...counts].sort((a, b) => a[0] - b[0]).map(([b, n]) => `${b}:${n}`).join(' ');
  const all = Array.from(r.blockOf).join(',');
  return `${r.numBlocks} blocks; ${hist}; ${full ? all : createHash('sha256').update(all).digest('hex').slice(0, 16)}`;
}

const golden: Record<string, string> = {
  "tiny-bert": "4 blocks; -1:128 0:73 1:79 2:79 3:79; 610b2e12e4673962",
  "tiny-roberta": "4 blocks; -1:131 0:73 1:79 2:79 3:79; e4a707b60d42091a",
  "tiny-distilbert": "4 blocks; -1:91 0:73 1:79 2:79 3:79; a0a25836fd8ae8f0",
  "tiny-t5-encoder": "4 blocks; -1:140 0:78 1:80 2:80 3:80; 0c28a88f81353acb",
  "tiny-mpnet": "4 blocks; -1:86 0:69 1:72 2:72 3:72; f9deb18bc7b704d4",
  "tiny-bert, ORT basic": "4 blocks; -1:65 0:39 1:44 2:44 3:44; 6e7ef4294d6f6fef",
  "tiny-bert, ORT extended": "4 blocks; -1:65 0:32 1:37 2:37 3:37; bd97bb989fe4bf9b",
  "tiny-bert, embeddings only": "null",
  "two softmax blocks": "2 blocks; -1:1 0:6 1:6; -1,0,0,0,0,0,0,1,1,1,1,1,1",
  "three blocks, MatMul of two activations": "3 blocks; -1:1 0:6 1:6 2:6; -1,0,0,0,0,0,0,1,1,1,1,1,1,2,2,2,2,2,2",
  "Attention op, mask and shape off the stream": "2 blocks; -1:4 0:4 1:4; -1,-1,-1,-1,0,0,0,0,1,1,1,1",
  "cast before each fork, final norm after": "2 blocks; -1:4 0:7 1:7; -1,0,0,0,0,0,0,0,1,1,1,1,1,1,1,-1,-1,-1",
  "EmbedLayerNormalization with a mask output": "2 blocks; -1:1 0:4 1:6; -1,0,0,0,0,1,1,1,1,1,1",
  "blocks of unequal length": "2 blocks; -1:1 0:8 1:6; -1,0,0,0,0,0,0,0,0,1,1,1,1,1,1",
  "no attention": "null",
  "sink not reached": "null",
  "source not read": "null"
};

test('structuralBlockOf finds the same blocks as before', async () => {
  const got: Record<string, string> = {};
  const dir = tempDir('ps-structure-golden-');
  const files: [string, string][] = tinyModels.map((name) => [name, fixture(name, 'onnx', name.includes('t5') ? 'encoder_model.onnx' : 'model.onnx')]);
  for (const level of ['basic', 'extended'] as const) {
    const file = path.join(dir, `tiny-bert-${level}.onnx`);
    await (await ort.InferenceSession.create(files[0][1], { graphOptimizationLevel: level, optimizedModelFilePath: file })).release();
    files.push([`tiny-bert, ORT ${level}`, file]);
  }
  const src = OnnxModel.open(files[0][1]);
  fs.writeFileSync(path.join(dir, 'embeddings.onnx'), chunksToBuffer(src.serialize(pruneEdit(src, findBlocks(src), []))));
  src.close();
  files.push(['tiny-bert, embeddings only', path.join(dir, 'embeddings.onnx')]);
  for (const [name, file] of files) {
    const m = OnnxModel.open(file);
    got[name] = shown(structuralBlockOf(m, 'input_ids', sinkOf(m)), false);
    m.close();
  }
  for (const [name, [m, sink]] of Object.entries(synthetic)) got[name] = shown(structuralBlockOf(m, 'input_ids', sink), true);
  if (process.env.GOLDEN_PRINT) fs.writeFileSync(process.env.GOLDEN_PRINT, JSON.stringify(got, null, 2));
  assert.deepEqual(got, golden);
});
