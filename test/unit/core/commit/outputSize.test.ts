import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { graphVariants, outputBound, outputSpaceWarning } from '../../../../src/core/commit/outputSize';
import { openModel } from '../../../../src/core/model/modelInfo';
import { fixture, robertaMini, tempDir } from '../../../helpers';

const size = (...p: string[]) => fs.statSync(path.join(...p)).size;

test('the variants of the encoder graph are its own: model.onnx with model_quantized.onnx, a decoder beside a T5 encoder left out', () => {
  assert.deepEqual(graphVariants(path.join(robertaMini, 'onnx', 'model.onnx')).sort(), ['model.onnx', 'model_quantized.onnx']);
  const dir = tempDir('ps-variants-');
  for (const f of ['encoder_model.onnx', 'encoder_model_fp16.onnx', 'decoder_model.onnx', 'encoder_model.onnx_data']) fs.writeFileSync(path.join(dir, f), '');
  assert.deepEqual(graphVariants(path.join(dir, 'encoder_model.onnx')).sort(), ['encoder_model.onnx', 'encoder_model_fp16.onnx']);
});

test('the output bound: the budget’s share of every weight file once per folder, plus the tokenizer files per folder', () => {
  const info = openModel(fixture('tiny-bert'));
  try {
    const weights = size(info.onnxFile) + size(fixture('tiny-bert'), 'model.safetensors');
    const tokenizer = ['special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'].reduce((a, f) => a + size(fixture('tiny-bert'), f), 0);
    const b = outputBound(info, 0.5, 2);
    assert.equal(b.bytes, Math.ceil(1.1 * (0.5 * weights + tokenizer) * 3 + 1e6));
    assert.match(b.text, /^50\.0 % of the source's [\d.]+ MB of weights, and its tokenizer files, for the encoder and each of 2 classifiers, with a 10 % margin$/);
    assert.equal(outputBound(info, 1, 0).bytes, Math.ceil(1.1 * (weights + tokenizer) + 1e6));
  } finally {
    info.model.close();
  }
});

test('a disk with less free space than the bound is warned about, naming both; enough space, or a disk that cannot say, is not', () => {
  const bound = { bytes: 2_500_000, text: 'how' };
  assert.equal(outputSpaceWarning('/x/out', bound, 300_000), 'the disk that will hold /x/out has 300.0 kB free, and writing the output may take up to 2.5 MB (how). The job goes on; if the output does not fit, nothing of it is left on disk. Free space there or choose another output path to be sure.');
  assert.equal(outputSpaceWarning('/x/out', bound, 2_500_000), undefined);
  assert.equal(outputSpaceWarning('/x/out', bound, undefined), undefined);
});
