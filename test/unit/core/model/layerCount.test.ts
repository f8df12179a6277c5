import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { declaredLayerCount, layerCountKey } from '../../../../src/core/model/layerCount';

test('the block count key: by model_type, else the only key present', () => {
  assert.equal(layerCountKey({ model_type: 'distilbert', n_layers: 6 }), 'n_layers');
  assert.equal(layerCountKey({ model_type: 't5', num_layers: 6, num_decoder_layers: 6 }), 'num_layers');
  assert.equal(layerCountKey({ model_type: 'new', num_hidden_layers: 4 }), 'num_hidden_layers');
  assert.equal(layerCountKey({ model_type: 'new', num_hidden_layers: 4, n_layers: 4 }), null);
  assert.equal(layerCountKey({ model_type: 'new' }), null);
});

test('the declared block count: the first key present, undefined when none', () => {
  assert.equal(declaredLayerCount({ num_hidden_layers: 12 }), 12);
  assert.equal(declaredLayerCount({ n_layers: 6 }), 6);
  assert.equal(declaredLayerCount({ num_layers: '4' }), 4);
  assert.equal(declaredLayerCount({ num_layers: 'many' }), undefined);
  assert.equal(declaredLayerCount({}), undefined);
});
