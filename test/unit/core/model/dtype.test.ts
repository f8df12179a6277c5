import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliFlag, jobFromArgs } from '../../../../src/cli/main';
import { messageIn } from '../../../../src/core/errors';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor } from '../../../../src/core/extract/extractor';
import { DTYPE_SUFFIX, openModel } from '../../../../src/core/model/modelInfo';
import { repoRoot, robertaMini, tasksDir } from '../../../helpers';
import { copyFolderWithoutOnnx } from '../../../modelVariants';

test('dtype names map to the files transformers.js loads', async () => {
  const url = pathToFileURL(path.join(repoRoot, 'node_modules', '@huggingface', 'transformers', 'src', 'utils', 'dtypes.js')).href;
  // A real ESM import (TypeScript's CommonJS output would turn import() into require()).
  const esmImport = new Function('u', 'return import(u)') as (u: string) => Promise<unknown>;
  const { DEFAULT_DTYPE_SUFFIX_MAPPING: theirs } = (await esmImport(url)) as { DEFAULT_DTYPE_SUFFIX_MAPPING: Record<string, string> };
  for (const [dtype, suffix] of Object.entries(DTYPE_SUFFIX)) assert.equal(suffix, theirs[dtype], dtype);
});

/**
 * roberta-mini's folder as transformers.js repositories lay it out: model.onnx plus variants.
 * model_int8/model_uint8 are copies of its dynamic-quantized graph (the same operators, MatMulInteger
 * after DynamicQuantizeLinear); model_fp16/q4/bnb4 are copies too, refused by name before they are read.
 */
function variantFolder(variants: string[]): string {
  const dir = copyFolderWithoutOnnx(robertaMini, 'ps-dtype-');
  fs.copyFileSync(path.join(robertaMini, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
  for (const v of variants) fs.copyFileSync(path.join(robertaMini, 'onnx', 'model_quantized.onnx'), path.join(dir, 'onnx', `model_${v}.onnx`));
  return dir;
}

test('--dtype int8 and uint8 load their own files and extract', async () => {
  const dir = variantFolder(['int8', 'uint8', 'quantized']);
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 8, limitTest: 4 });
  for (const dtype of ['int8', 'uint8', 'q8'] as const) {
    const info = openModel(dir, { dtype });
    assert.equal(path.basename(info.onnxFile), `model${DTYPE_SUFFIX[dtype]}.onnx`);
    assert.ok(info.quantized, dtype);
    const ex = await Extractor.create(info, await loadTokenizer(dir, { maxLength: 32 }), { poolings: ['mean'], kept: [0, 1] });
    const f = await ex.extract(task.train, dtype);
    assert.ok(f.pooled.mean![0].every(Number.isFinite) && f.pooled.mean![0].some((x) => x !== 0), dtype);
    await ex.release();
    info.model.close();
  }
  assert.equal(path.basename(openModel(dir, { dtype: 'fp32' }).onnxFile), 'model.onnx');
  assert.equal(path.basename(openModel(dir, { quantized: true }).onnxFile), 'model_quantized.onnx', '--quantized stays an alias');
});

test('unsupported and missing dtype variants are refused naming what works', () => {
  const dir = variantFolder(['int8', 'fp16', 'q4', 'bnb4']);
  for (const dtype of ['fp16', 'q4', 'q4f16', 'bnb4'] as const) {
    assert.throws(() => openModel(dir, { dtype }), (e: Error) => e.name === 'UnsupportedModelError' && messageIn(e, cliFlag).includes(`--dtype ${dtype}`) && messageIn(e, cliFlag).includes('Use --dtype fp32, q8, int8 or uint8'), dtype);
  }
  assert.throws(
    () => openModel(dir, { dtype: 'uint8' }),
    (e: Error) => /no model_uint8\.onnx in onnx\/.*It has: --dtype fp32 \(model\.onnx\), --dtype fp16 \(model_fp16\.onnx\), --dtype int8 \(model_int8\.onnx\)/.test(messageIn(e, cliFlag)),
  );
});

test('the CLI takes --dtype, keeps --quantized as an alias, and names a bad value', () => {
  const job = (...a: string[]) => jobFromArgs(['probe', robertaMini, '--task', 'x=y', ...a]);
  const settings = (r: ReturnType<typeof job>) => (r !== 'help' && r.job.type === 'probe' ? r.job.settings : null);
  assert.equal(settings(job('--dtype', 'int8'))?.dtype, 'int8');
  assert.equal(settings(job('--quantized'))?.quantized, true);
  assert.throws(() => job('--dtype', 'q9'), (e: Error) => /^--dtype q9: unknown; use one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4/.test(messageIn(e, cliFlag)));
  assert.throws(() => job('--dtype', 'fp16', '--quantized'), /--quantized with --dtype fp16: they disagree/);
});
