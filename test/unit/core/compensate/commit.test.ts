import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor } from '../../../../src/core/extract/extractor';
import { openModel } from '../../../../src/core/model/modelInfo';
import { writeClassifiers } from '../../../../src/core/commit/classifier';
import { widthShape, writeCompensatedFolder } from '../../../../src/core/compensate/commit';
import { compensatedParams } from '../../../../src/core/compensate/search';
import { buildVariant, variantCalibration } from '../../../../src/core/compensate/variant';
import { classify } from '../../../../src/core/pipeline/verify';
import { scoreRows, trainProbe } from '../../../../src/core/probe/probe';
import { accuracy } from '../../../../src/core/probe/metrics';
import { fixture, pipelineAccuracyOnSentlen, tasksDir, tempDir } from '../../../helpers';

// T5: the graph is committed under T5's name. Its blocks read the word lookup itself, so dropping block
// 0 under a factorised table is the case where the first kept block must read the up-projection (and
// its bridge be fitted from it). Its Linear layers have no biases, so each narrowed output projection
// gains its refit's bias (counted by the account); tiny-t5-gated has gated FFNs (two up projections)
// and heads of 12 columns in a 32-wide model.
const cases = [
  { name: 'tiny-roberta', kept: [0, 2], spec: { bridges: true, heads: 1, ffnWidth: 32 }, graph: 'model.onnx', layers: 'num_hidden_layers', description: /bridge into block 2; 1 of 2 heads and 32 of 64 FFN neurons/ },
  { name: 'tiny-t5-encoder', kept: [0, 2], spec: { bridges: true }, graph: 'encoder_model.onnx', layers: 'num_layers', description: /^least-squares bridge into block 2$/ },
  { name: 'tiny-t5-encoder', kept: [1, 3], spec: { bridges: true }, graph: 'encoder_model.onnx', layers: 'num_layers', description: /^least-squares bridges into blocks 1, 3$/ },
  { name: 'tiny-t5-encoder', kept: [1, 3], spec: { bridges: true, embeddingRank: 8 }, graph: 'encoder_model.onnx', layers: 'num_layers', description: /^least-squares bridges into blocks 1, 3; word embeddings factorised to rank 8 of 32$/ },
  { name: 'tiny-t5-encoder', kept: [1, 3], spec: { bridges: true, heads: 1, ffnWidth: 32, embeddingRank: 8 }, graph: 'encoder_model.onnx', layers: 'num_layers', description: /^least-squares bridges into blocks 1, 3; 1 of 2 heads and 32 of 64 FFN neurons per block \(refitted\); word embeddings factorised to rank 8 of 32$/ },
  { name: 'tiny-t5-gated', kept: [0, 2], spec: { bridges: true, heads: 2, ffnWidth: 16 }, graph: 'encoder_model.onnx', layers: 'num_layers', description: /^least-squares bridge into block 2; 2 of 4 heads and 16 of 48 FFN neurons per block \(refitted\)$/ },
];
for (const c of cases) test(`${c.name} {${c.kept.join(',')}} ${[('heads' in c.spec) && 'narrowed', c.spec.embeddingRank && 'factorised'].filter(Boolean).join(', ')}: a compensated model commits as float ONNX whose classifier runs alone (ORT and transformers.js) with the accuracy measured in memory`, async () => {
  const limits = { limitTrain: 150, limitTest: 60 };
  const info = openModel(fixture(c.name));
  const tok = await loadTokenizer(fixture(c.name), { maxLength: 128 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), limits);
  const dir = path.join(tempDir('ps-comp-commit-'), 'model');
  fs.mkdirSync(dir);
  const spec = c.spec;
  const v = await buildVariant(info, variantCalibration(tok, [task], { batchSize: 16 }), c.kept, spec, { batchSize: 16 }, {});
  try {
    assert.equal(v.info.params.total, compensatedParams(info.params, c.kept, spec, widthShape(info, Number(info.config.vocab_size))), 'parameters counted on the graph = the search’s account');
    const ex = await Extractor.create(v.info, tok, { poolings: ['mean'], kept: [0, 1] });
    const train = await ex.extract(task.train, 'train');
    const testF = await ex.extract(task.test, 'test');
    await ex.release();
    const probe = trainProbe(train.pooled.mean![0], task.trainY, train.dim, task.labels.length, { c: 1, seed: 0, control: false });
    const inMemory = accuracy(task.testY, scoreRows(probe, testF.pooled.mean![0], task.testY).pred);

    const { files } = await writeCompensatedFolder(info, v, spec, dir, { maxLength: 128 }, {});
    writeClassifiers(v.info, [0, 1], dir, [{ name: 'sentlen', labels: task.labels, probe }], { pooling: 'mean', maxLength: 128 });
    assert.ok(files.includes(`onnx/${c.graph}`), files.join());
    assert.ok(!fs.existsSync(path.join(dir, 'model.safetensors')), 'no safetensors: HF config cannot express bridges, narrowed heads or T5 refits');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg[c.layers], 2);
    assert.match(cfg.probescale.compensation.safetensors, new RegExp(`^No model\\.safetensors: least-squares bridges between blocks, which a Hugging Face config cannot express.* Use onnx/${c.graph.replace('.', '\\.')} `));
    assert.match(cfg.probescale.compensation.description, c.description);

    const cdir = path.join(dir, 'classifiers', 'sentlen');
    const ort = accuracy(task.testY, await classify(cdir, task, { provider: 'cpu', batchSize: 16 }));
    assert.equal(ort, inMemory);
    assert.equal(await pipelineAccuracyOnSentlen(cdir, limits), inMemory);
    const reopened = openModel(dir);
    assert.equal(reopened.params.total, v.info.params.total);
    assert.equal(reopened.architecture, info.architecture);
    reopened.model.close();
  } finally {
    v.dispose();
    info.model.close();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

// Before: the width account read d_kv and d_ff (intermediate_size) from config.json, so a config that
// disagreed with an ONNX-only folder's graph sized narrowed candidates wrong (the safetensors check
// that catches it needs the weights). Widths now come from block 0's sub-layers where they parse.
test('widthShape reads the widths width pruning rewrites from the graph, not from a config.json that disagrees', () => {
  const dir = tempDir('ps-width-shape-');
  try {
    for (const [name, lie] of [['tiny-t5-encoder', { d_kv: 8, d_ff: 128 }], ['tiny-roberta', { intermediate_size: 128 }], ['tiny-t5-gated', { d_kv: 8, feed_forward_proj: 'relu', is_gated_act: false }]] as const) {
      const copy = path.join(dir, name);
      fs.cpSync(fixture(name), copy, { recursive: true, filter: (f) => path.basename(f) !== 'model.safetensors' });
      const cfg = JSON.parse(fs.readFileSync(path.join(copy, 'config.json'), 'utf8'));
      fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify({ ...cfg, ...lie }));
      const [honest, lying] = [openModel(fixture(name)), openModel(copy)];
      try {
        assert.deepEqual(widthShape(lying), widthShape(honest), name);
      } finally {
        honest.model.close();
        lying.model.close();
      }
    }
    const t5 = openModel(fixture('tiny-t5-gated'));
    assert.deepEqual(widthShape(t5), { hidden: 32, heads: 4, ffn: 48, headSize: 12, biases: false, ffnInputs: 2 });
    t5.model.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
