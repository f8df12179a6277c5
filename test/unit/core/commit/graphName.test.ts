/**
 * A graph chosen with --onnx under a name of its own (optimum's model_O1.onnx, sentence-transformers'
 * model_qint8_avx512.onnx) is written under transformers.js's name for it, so the pruned folder
 * loads with the default options. Before, the output kept model_O1.onnx: `probescale eval` and
 * transformers.js found no model.onnx in it, and each classifier held a copy of the weights.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { committedGraphName } from '../../../../src/core/commit/outputSize';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const task = ['--task', `s=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '60', '--limit-test', '20', '--c', '1', '--no-cache', '-q'];

function run(...args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('committedGraphName keeps the variant and takes transformers.js’s base', () => {
  assert.equal(committedGraphName('model.onnx', 'bert'), 'model.onnx');
  assert.equal(committedGraphName('model_quantized.onnx', 'roberta'), 'model_quantized.onnx');
  assert.equal(committedGraphName('model_O1.onnx', 'bert'), 'model.onnx');
  assert.equal(committedGraphName('model_qint8_avx512.onnx', 'bert'), 'model.onnx');
  assert.equal(committedGraphName('custom_int8.onnx', 'bert'), 'model_int8.onnx');
  assert.equal(committedGraphName('encoder_model.onnx', 't5'), 'encoder_model.onnx');
  assert.equal(committedGraphName('t5_encoder_O2.onnx', 't5'), 'encoder_model.onnx');
});

test('prune and optimize of a graph named with --onnx write onnx/model.onnx, which eval, probe and the classifiers use', () => {
  const dir = tempDir('ps-graphname-');
  const src = path.join(dir, 'src');
  fs.cpSync(fixture('tiny-bert'), src, { recursive: true });
  // The folder holds the default graph and the one the user picks, as optimum's exports do.
  fs.copyFileSync(path.join(src, 'onnx', 'model.onnx'), path.join(src, 'onnx', 'model_O1.onnx'));
  const pruned = path.join(dir, 'pruned');
  assert.match(run('prune', src, '--onnx', 'onnx/model_O1.onnx', '--layers', '0,2', '--out', pruned), /onnx\/model\.onnx/);
  assert.deepEqual(fs.readdirSync(path.join(pruned, 'onnx')), ['model.onnx']);
  assert.match(run('probe', pruned, ...task), /bert · 2 blocks/);

  const opt = path.join(dir, 'opt');
  run('optimize', src, '--onnx', 'onnx/model_O1.onnx', ...task, '--budget', '0.95', '--candidates', '2', '--out', opt);
  assert.deepEqual(fs.readdirSync(path.join(opt, 'onnx')), ['model.onnx']);
  const shared = fs.statSync(path.join(opt, 'classifiers', 's', 'onnx', 'model.onnx_data'));
  assert.equal(shared.ino, fs.statSync(path.join(opt, 'onnx', 'model.onnx')).ino, 'the classifier reads the encoder’s weights through a hard link, not a copy');
  assert.match(run('eval', opt, ...task), /as committed/);
});
