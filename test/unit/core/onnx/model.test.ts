import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { findBlocks } from '../../../../src/core/onnx/blocks';
import { pruneEdit } from '../../../../src/core/onnx/edit';
import { FileSource, chunksToBuffer, writeChunks } from '../../../../src/core/onnx/wire';
import { writePrunedOnnx } from '../../../../src/core/prune/surgery';
import { checkExternalData } from '../../../../src/core/onnx/integrity';
import { OnnxParseError } from '../../../../src/core/errors';
import { externalize, fixture, robertaMini, tinyModels, tempDir } from '../../../helpers';

const onnxOf = (name: string) => fixture(name, 'onnx', name.includes('t5') ? 'encoder_model.onnx' : 'model.onnx');

test('an edit that changes nothing writes the source back byte for byte', () => {
  for (const name of tinyModels) {
    const m = OnnxModel.open(onnxOf(name));
    const out = chunksToBuffer(m.serialize({ nodes: m.nodes }));
    assert.ok(out.equals(fs.readFileSync(onnxOf(name))), name);
    m.close();
  }
});

test('defaultOpset rewrites the default domain\'s version in place and leaves the other domains and the graph alone', () => {
  const m = OnnxModel.open(onnxOf('tiny-bert'));
  const raised = chunksToBuffer(m.serialize({ nodes: m.nodes, defaultOpset: 23, extraOpsets: [{ domain: 'com.microsoft', version: 1 }] }));
  const plain = chunksToBuffer(m.serialize({ nodes: m.nodes, extraOpsets: [{ domain: 'com.microsoft', version: 1 }] }));
  const before = m.opsets;
  m.close();
  const file = path.join(tempDir('ps-opset-'), 'm.onnx');
  fs.writeFileSync(file, raised);
  const r = OnnxModel.open(file);
  assert.notEqual(before.find((o) => o.domain === '')?.version, 23);
  assert.equal(r.opsetVersion(), 23);
  assert.deepEqual(r.opsets.filter((o) => o.domain !== ''), [...before.filter((o) => o.domain !== ''), { domain: 'com.microsoft', version: 1 }]);
  assert.equal(r.opsets.length, before.length + 1, 'the default domain written once');
  assert.equal(raised.length, plain.length, 'only the version varint differs (17 and 23 are one byte each)');
  r.close();
});

test('opening a model reads its structure, not its weights', () => {
  const file = path.join(robertaMini, 'onnx', 'model.onnx');
  const m = OnnxModel.open(file);
  const src = m.src as FileSource;
  const size = fs.statSync(file).size;
  assert.ok(m.nodes.length > 500);
  assert.ok(src.bytesRead < 0.05 * size, `read ${src.bytesRead} of ${size} bytes`);
  m.close();
});

test('parse errors name the file and say what is wrong', () => {
  const dir = tempDir('ps-bad-');
  const bad = path.join(dir, 'model.onnx');
  fs.writeFileSync(bad, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  assert.throws(() => OnnxModel.open(bad), (e: Error) => e.name === 'OnnxParseError' && e.message.includes(bad));
  fs.writeFileSync(bad, Buffer.alloc(0));
  assert.throws(() => OnnxModel.open(bad), /empty/);
  assert.throws(() => OnnxModel.open(path.join(dir, 'missing.onnx')), /not found/);
});

async function run(file: string, ids: number[][]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(file);
  const b = ids.length;
  const n = ids[0].length;
  const t = (v: (x: number) => number) => new ort.Tensor('int64', BigInt64Array.from(ids.flat().map((x) => BigInt(v(x)))), [b, n]);
  const feeds: Record<string, ort.Tensor> = { input_ids: t((x) => x), attention_mask: t(() => 1) };
  if (s.inputNames.includes('token_type_ids')) feeds.token_type_ids = t(() => 0);
  const out = await s.run(feeds);
  await s.release();
  return out[s.outputNames[0]].data as Float32Array;
}

test('external-data models load, prune and keep only the kept weights', async () => {
  const dir = tempDir('ps-ext-');
  const ext = externalize(onnxOf('tiny-bert'), dir);
  assert.ok(fs.statSync(ext).size < 100_000 && fs.statSync(path.join(dir, 'model.onnx_data')).size > 600_000, 'weights moved out of the graph file');
  const ids = [[2, 100, 200, 300, 3]];
  assert.deepEqual(await run(ext, ids), await run(onnxOf('tiny-bert'), ids));

  const outDir = tempDir('ps-ext-out-');
  const pruned = path.join(outDir, 'model.onnx');
  writePrunedOnnx(ext, pruned, [0, 2]);
  const ref = OnnxModel.open(onnxOf('tiny-bert'));
  const inMemory = path.join(outDir, 'ref.onnx');
  writeChunks(inMemory, ref.serialize(pruneEdit(ref, findBlocks(ref), [0, 2])));
  ref.close();
  assert.deepEqual(await run(pruned, ids), await run(inMemory, ids));
  const dataSize = fs.statSync(path.join(outDir, 'model.onnx_data')).size;
  assert.ok(dataSize < fs.statSync(path.join(dir, 'model.onnx_data')).size, 'dropped blocks’ weights are not copied');
});

test('a missing, truncated or mislabelled external data file is refused before anything is copied', () => {
  const dir = tempDir('ps-ext-bad-');
  const ext = externalize(onnxOf('tiny-bert'), dir);
  const data = path.join(dir, 'model.onnx_data');
  const full = fs.readFileSync(data);
  const outDir = tempDir('ps-ext-bad-out-');
  const pruneIt = () => writePrunedOnnx(ext, path.join(outDir, 'model.onnx'), [0, 2]);
  fs.writeFileSync(data, full.subarray(0, full.length - 1000));
  assert.throws(pruneIt, (e: Error) => e instanceof OnnxParseError && /model\.onnx_data, which has \d+ bytes: the data file is truncated/.test(e.message));
  assert.deepEqual(fs.readdirSync(outDir), [], 'nothing written for a truncated data file');
  fs.rmSync(data);
  assert.throws(pruneIt, /its data file model\.onnx_data is missing/);
  fs.writeFileSync(data, full);
  const m = OnnxModel.open(ext);
  const t = [...m.initializers.values()].find((x) => x.external)!;
  t.external!.length = t.external!.length! + 4;
  assert.throws(() => checkExternalData(m), /needs \d+ bytes but its external length is \d+/);
  t.external!.length = null;
  t.external!.location = '../elsewhere.bin';
  assert.throws(() => checkExternalData(m), /is not a file inside/);
  m.close();
});
