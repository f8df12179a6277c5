import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BadInputError } from '../../../../src/core/errors';
import { openModel } from '../../../../src/core/model/modelInfo';
import { blockIndexOf, readSafetensorsHeader } from '../../../../src/core/model/safetensors';
import { fixture, robertaMini, tinyModels } from '../../../helpers';

test('roberta-mini parameter accounting is exact', () => {
  const info = openModel(robertaMini);
  assert.equal(info.architecture, 'roberta');
  assert.equal(info.numLayers, 12);
  assert.equal(info.hiddenSize, 256);
  assert.equal(info.params.total, 11_608_320);
  assert.equal(info.params.embeddings, 2_131_200);
  assert.deepEqual(info.params.perBlock, new Array(12).fill(789_760));
  assert.equal(info.quantized, false);
  info.model.close();
});

test('the quantized variant is found by option and counts the same weights', () => {
  const q = openModel(robertaMini, { quantized: true });
  assert.ok(q.onnxFile.endsWith('model_quantized.onnx'));
  assert.equal(q.quantized, true);
  assert.equal(q.numLayers, 12);
  assert.deepEqual(q.params.perBlock, new Array(12).fill(789_760));
  q.model.close();
});

for (const name of tinyModels) {
  test(`${name}: per-block parameters equal the safetensors tensors of that block`, () => {
    const info = openModel(fixture(name));
    assert.equal(info.numLayers, 4);
    const header = readSafetensorsHeader(fixture(name, 'model.safetensors'));
    const perBlock = new Array(4).fill(0);
    let shared = 0;
    for (const t of header.tensors) {
      const b = blockIndexOf(t.name);
      const size = t.shape.reduce((a, x) => a * x, 1);
      // T5 keeps its relative position bias table in block 0, and every block reads it: every model
      // with a block keeps it, so it is counted as shared (with the final norm), not as block 0's.
      if (/relative_attention_bias/.test(t.name) && b !== null) shared += size;
      else if (b !== null) perBlock[b] += size;
    }
    assert.deepEqual(info.params.perBlock, perBlock);
    assert.equal(shared, name.includes('t5') ? 32 * 2 : 0);
    if (shared) assert.equal(info.params.other, 32 + shared, 'shared: the final norm (d = 32) and the position-bias table');
    info.model.close();
  });
}

test('bad folders fail with a message that names them', () => {
  assert.throws(() => openModel('/nonexistent/model'), /model folder not found: \/nonexistent\/model/);
  assert.throws(() => openModel(fixture('refs')), /has no config.json/);
  assert.throws(() => openModel(robertaMini, { onnx: 'nope.onnx' }), (e: BadInputError) => /^ONNX file nope.onnx: no such file/.test(e.message) && e.bad?.param === 'onnx' && e.bad.value === 'nope.onnx');
});
