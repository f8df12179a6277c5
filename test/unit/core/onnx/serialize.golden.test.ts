/**
 * OnnxModel.serialize pinned byte for byte when it was split into stages (eleventh session): the
 * graphs of every kind of edit the project writes (prune, probe, quantize, weights referenced in
 * place) and a hand edit that uses every other option, on the four tiny models.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { quantizeEdit } from '../../../../src/core/compensate/quantize';
import { findBlocks } from '../../../../src/core/onnx/blocks';
import { probeEdit, pruneEdit } from '../../../../src/core/onnx/edit';
import { DataType, GraphEdit, OnnxModel } from '../../../../src/core/onnx/model';
import { referencingGraph } from '../../../../src/core/onnx/reference';
import { chunksToBuffer } from '../../../../src/core/onnx/wire';
import { fixture, tinyModels, tempDir } from '../../../helpers';

const tmp = tempDir('probescale-serialize-golden-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const onnxOf = (name: string) => fixture(name, 'onnx', name.includes('t5') ? 'encoder_model.onnx' : 'model.onnx');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** Every option of a GraphEdit the project's edits leave unused: outputs, extra inputs and opsets, metadata, dropped value infos and initializers. */
function handEdit(m: OnnxModel, metadata: Record<string, string>): GraphEdit {
  const firstInit = m.initializers.keys().next().value;
  return {
    nodes: m.nodes,
    outputs: [m.outputs[0], { name: 'extra_out', elemType: DataType.FLOAT, shape: ['batch', 3] }],
    extraInputs: [{ name: 'extra_in', elemType: DataType.INT64, shape: [1] }],
    extraOpsets: [{ domain: 'com.microsoft', version: 1 }, { domain: '', version: 99 }],
    keepValueInfo: () => false,
    keepInitializer: (name) => name !== firstInit,
    newInitializers: [{ name: 'extra_w', dataType: DataType.FLOAT, dims: [2], data: Buffer.from(new Float32Array([1, 2]).buffer) }],
    metadata,
  };
}

/** Digest of each edit's graph for one model. */
function graphs(name: string): Record<string, string> {
  const m = OnnxModel.open(onnxOf(name));
  const blocks = findBlocks(m);
  const out: Record<string, string> = {};
  const put = (what: string, edit: GraphEdit) => (out[`${name} ${what}`] = sha(chunksToBuffer(m.serialize(edit))));
  put('prune 1,2', pruneEdit(m, blocks, [1, 2]));
  put('prune none', pruneEdit(m, blocks, []));
  put('probe', probeEdit(m, blocks, { poolings: ['mean', 'first'], cosine: true }).edit);
  put('probe kept 0,3', probeEdit(m, blocks, { poolings: ['mean'], kept: [0, 3] }).edit);
  put('quantize', quantizeEdit(m, m.nodes.filter((n) => (n.opType === 'Gather' && m.initializers.has(n.inputs[0])) || (n.opType === 'MatMul' && m.initializers.has(n.inputs[1]))).slice(0, 4)));
  put('hand', handEdit(m, { note: 'one' }));
  out[`${name} referenced`] = sha(referencingGraph(m, pruneEdit(m, blocks, [0, 3])).graph);
  // Metadata replaced on a graph that already has the key.
  const again = path.join(tmp, `${name}.onnx`);
  fs.writeFileSync(again, chunksToBuffer(m.serialize(handEdit(m, { note: 'one', other: 'x' }))));
  m.close();
  const m2 = OnnxModel.open(again);
  out[`${name} metadata replaced`] = sha(chunksToBuffer(m2.serialize({ nodes: m2.nodes, metadata: { note: 'two' } })));
  m2.close();
  return out;
}

test('the graphs of every kind of edit are byte-identical to before', () => {
  const got = Object.assign({}, ...tinyModels.map(graphs));
  assert.deepEqual(got, {
    'tiny-bert prune 1,2': '77a4ea6228001829',
    'tiny-bert prune none': 'aeb795ccce1f4bdd',
    'tiny-bert probe': '1bb1cf2de5f2f599',
    'tiny-bert probe kept 0,3': 'ade4fe9444953f45',
    'tiny-bert quantize': '5a7b1f7269dbfdc9',
    'tiny-bert hand': '5804c0d3ed205101',
    'tiny-bert referenced': 'ebcd9dd4e1010b4b',
    'tiny-bert metadata replaced': '8b53b53981c9f34b',
    'tiny-roberta prune 1,2': '76fd957527262a6a',
    'tiny-roberta prune none': '2bcd07f0acf60ab5',
    'tiny-roberta probe': '6869c228b498373e',
    'tiny-roberta probe kept 0,3': 'a2e0c30859967723',
    'tiny-roberta quantize': '2b7227e0ff4bfc23',
    'tiny-roberta hand': 'a0037ebfc6efddc4',
    'tiny-roberta referenced': '702a5b50bf8a5803',
    'tiny-roberta metadata replaced': '7d9903f73ecad2b3',
    'tiny-distilbert prune 1,2': '6343d74844e1bb72',
    'tiny-distilbert prune none': '68968c2c234ec65f',
    'tiny-distilbert probe': '52b638eb06bc1f1d',
    'tiny-distilbert probe kept 0,3': '79b29f583bb0ce10',
    'tiny-distilbert quantize': '33228d768f4c93ba',
    'tiny-distilbert hand': '4c5dd786f680ea3e',
    'tiny-distilbert referenced': '068c120deb2a4bc6',
    'tiny-distilbert metadata replaced': '66a48aa52e7103ae',
    // Thirty-first session: a T5 graph without block 0 measures the sequence length on the first kept block (its key projection no longer stays).
    'tiny-t5-encoder prune 1,2': '5a98030527fed253',
    'tiny-t5-encoder prune none': '25e68502f14e15ec',
    'tiny-t5-encoder probe': 'a9e32fa40aea41ce',
    'tiny-t5-encoder probe kept 0,3': '2d8d0de16c6604a5',
    'tiny-t5-encoder quantize': '21e9afdd1c489ba2',
    'tiny-t5-encoder hand': 'f408acfb5da130fc',
    'tiny-t5-encoder referenced': '1186c4d1de886b21',
    'tiny-t5-encoder metadata replaced': 'ea3eba8257d964b6',
    'tiny-mpnet prune 1,2': '8d89b47bc9b19e4e',
    'tiny-mpnet prune none': '835765f4dbda0c89',
    'tiny-mpnet probe': '322d4aab47b19d75',
    'tiny-mpnet probe kept 0,3': '342d7587ae85fb1e',
    'tiny-mpnet quantize': 'fdcc94d541b828ea',
    'tiny-mpnet hand': '91f3cf41a0f69322',
    'tiny-mpnet referenced': '94940a710d256ec1',
    'tiny-mpnet metadata replaced': '7b87ba933ac4cf01',
  });
});
