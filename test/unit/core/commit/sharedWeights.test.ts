import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline, env } from '@huggingface/transformers';
import { writeClassifiers } from '../../../../src/core/commit/classifier';
import { writePrunedFolder } from '../../../../src/core/commit/prunedFolder';
import { shareEncoderWeights } from '../../../../src/core/commit/sharedWeights';
import { openModel } from '../../../../src/core/model/modelInfo';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { trainProbe } from '../../../../src/core/probe/probe';
import { folderFiles } from '../../../../src/core/pipeline/commit';
import { Rng } from '../../../../src/core/util/rng';
import { fixture, tempDir } from '../../../helpers';
import { externalDataFolder } from '../../../modelVariants';

const TEXTS = ['a short one', 'the cat sat on the mat while the dog slept', 'zebra', 'one two three four five six seven'];

/** A probe head of the right width on random features: the sharing must not change what it computes. */
function head(dim: number, name: string) {
  const rng = new Rng(7);
  const n = 40;
  const X = Float32Array.from({ length: n * dim }, () => rng.next() * 2 - 1);
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { name, labels: ['a', 'b', 'c'], probe: trainProbe(X, y, dim, 3, { c: 1, control: false }) };
}

async function scores(dir: string): Promise<unknown[]> {
  env.allowRemoteModels = false;
  const classify = await pipeline('text-classification', dir);
  const out: unknown[] = [];
  for (const t of TEXTS) out.push(await classify(t, { top_k: 3 }));
  await classify.dispose();
  return out;
}

async function commitAndShare(src: string, kept: number[]): Promise<string> {
  const dir = tempDir('ps-share-');
  const info = openModel(src);
  try {
    await writePrunedFolder(info, kept, dir, {}, {});
    writeClassifiers(info, kept, dir, [head(info.hiddenSize, 'x'), head(info.hiddenSize, 'y')], { pooling: 'mean', maxLength: 128 });
  } finally {
    info.model.close();
  }
  fs.cpSync(path.join(dir, 'classifiers'), path.join(dir, '..', `${path.basename(dir)}-copies`), { recursive: true });
  return dir;
}

for (const [what, src] of [['an inline encoder', () => fixture('tiny-bert')], ['an encoder with external data', () => externalDataFolder(fixture('tiny-bert'))]] as const) {
  test(`classifiers share ${what}'s weights through a hard link and classify exactly as their own copies did`, async () => {
    const dir = await commitAndShare(src(), [0, 1]);
    const copies = path.join(dir, '..', `${path.basename(dir)}-copies`);
    const shared = shareEncoderWeights(dir);
    assert.deepEqual(shared.map((s) => [s.classifier, s.linked]), [['classifiers/x', true], ['classifiers/y', true]]);
    const encFile = fs.existsSync(path.join(dir, 'onnx', 'model.onnx_data')) ? 'onnx/model.onnx_data' : 'onnx/model.onnx';
    assert.equal(shared[0].encoderFile, encFile);
    for (const t of ['x', 'y']) {
      const cdir = path.join(dir, 'classifiers', t);
      assert.equal(fs.statSync(path.join(cdir, 'onnx', 'model.onnx_data')).ino, fs.statSync(path.join(dir, encFile)).ino);
      assert.ok(fs.statSync(path.join(cdir, 'onnx', 'model.onnx')).size < fs.statSync(path.join(dir, encFile)).size / 4, 'the graph holds no copy of the encoder');
      assert.deepEqual(fs.readdirSync(path.join(cdir, 'onnx')).sort(), ['model.onnx', 'model.onnx_data']);
      assert.deepEqual(await scores(cdir), await scores(path.join(copies, t)), `${t}: same labels and scores as the copy`);
    }
    const files = folderFiles(dir);
    assert.deepEqual(files.filter((f) => f.linkOf).map((f) => [f.path, f.linkOf]), [
      ['classifiers/x/onnx/model.onnx_data', encFile],
      ['classifiers/y/onnx/model.onnx_data', encFile],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(copies, { recursive: true, force: true });
  });
}

test('a classifier weight that differs from the encoder is kept in the classifier, the rest is shared', async () => {
  const dir = await commitAndShare(fixture('tiny-bert'), [0, 1]);
  const copies = path.join(dir, '..', `${path.basename(dir)}-copies`);
  // The encoder as if pruned differently: block 1's weights no longer match the classifier's.
  const info = openModel(fixture('tiny-bert'));
  try {
    fs.rmSync(path.join(dir, 'onnx'), { recursive: true });
    fs.rmSync(path.join(dir, 'model.safetensors'), { force: true });
    fs.rmSync(path.join(dir, 'config.json'));
    await writePrunedFolder(info, [0], dir, {}, {});
  } finally {
    info.model.close();
  }
  const [x] = shareEncoderWeights(dir);
  const big = (file: string) => {
    const m = OnnxModel.open(file);
    const names = [...m.initializers.values()].filter((t) => !t.external && (m.rawDataRange(t)?.end ?? 0) - (m.rawDataRange(t)?.start ?? 0) >= 1024).map((t) => t.name);
    m.close();
    return names;
  };
  const encoderTensors = big(path.join(dir, 'onnx', 'model.onnx'));
  const ownTensors = big(path.join(dir, 'classifiers', 'x', 'onnx', 'model.onnx'));
  assert.equal(x.sharedTensors, encoderTensors.length, 'every encoder weight the classifier has is shared');
  assert.ok(ownTensors.length >= 6 && ownTensors.every((n) => !encoderTensors.includes(n)), `block 1's ${ownTensors.length} weights stay in the classifier`);
  assert.deepEqual(await scores(path.join(dir, 'classifiers', 'x')), await scores(path.join(copies, 'x')));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(copies, { recursive: true, force: true });
});
