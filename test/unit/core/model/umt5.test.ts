/**
 * umT5 encoders (model_type umt5): T5's blocks, but every block has its own relative_attention_bias
 * and makes its own position bias. Before the thirty-fourth session the model type was refused.
 * Exactness of the graphs is in encoderGraph.test.ts and compensate/graph.test.ts; here a user's
 * whole run: optimize with compensation from the export and from the safetensors, the committed
 * classifier in transformers.js, and a folder with only spiece.model.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { fixture, pipelineAccuracyOnSentlen, runCli, tasksDir, tempDir } from '../../../helpers';

const tmp = tempDir('ps-umt5-');
const limits = { limitTrain: 120, limitTest: 40 };

for (const from of ['onnx', 'safetensors'] as const) {
  test(`tiny-umt5 from ${from}: optimize with every compensation commits a folder verify re-measures, and transformers.js runs its classifier as measured`, async () => {
    const out = path.join(tmp, `optimized-${from}`);
    const r = runCli(['optimize', fixture('tiny-umt5'), '--from', from, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.95', '--compensate', 'all', '--limit-train', String(limits.limitTrain), '--limit-test', String(limits.limitTest), '--candidates', '2', '--no-cache', '--out', out, '-q']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { model: { architecture: string }; verify: { perTask: Record<string, { measured: { accuracy: number } }> }; selection: { baselines: { name: string }[] } };
    assert.equal(report.model.architecture, 'umt5');
    assert.ok(report.selection.baselines.some((b) => b.name === 'flap-uniform'), 'width pruning was measured');
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).model_type, 'umt5');
    const classifier = path.join(out, 'classifiers', 'sentlen');
    assert.equal(JSON.parse(fs.readFileSync(path.join(classifier, 'config.json'), 'utf8')).probescale.sourceModelType, 'umt5');
    assert.equal(await pipelineAccuracyOnSentlen(classifier, limits), report.verify.perTask.sentlen.measured.accuracy);
  });
}

test('a umT5 folder with only spiece.model is read with T5\'s converter', async () => {
  const dir = path.join(tmp, 'spiece-only');
  fs.cpSync(fixture('tiny-umt5'), dir, { recursive: true, filter: (f) => path.basename(f) !== 'tokenizer.json' });
  fs.copyFileSync(fixture('spm', 'tiny-t5', 'spiece.model'), path.join(dir, 'spiece.model'));
  const own = await loadTokenizer(fixture('tiny-umt5'), { maxLength: 64 });
  const built = await loadTokenizer(dir, { maxLength: 64 });
  for (const text of ['The house stood on a hill above the town.', 'She paused a moment to recover.']) assert.deepEqual(built.encode(text), own.encode(text));
});
