import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { Q8_FILE, writeQuantized } from '../../../../src/core/compensate/quantize';
import { writeRewritten } from '../../../graphRewrites';
import { fixture, pipelineAccuracyOnSentlen, repoRoot, tasksDir, tempDir } from '../../../helpers';

// A fine-tuned classifier exported with its head (optimum-cli export onnx --task text-classification,
// as transformers.js repositories of fine-tuned models ship it) outputs logits. Before, every job
// refused it ("is a text classifier … need an encoder folder"); now the encoder under the head is
// probed, pruned and committed, and the head is left out of every written graph.

/** tiny-roberta as a sequence classifier's export: model.onnx and its q8 variant end in logits; config.json names the head and its labels. */
function classifierFolder(root: string): string {
  const src = path.join(root, 'src');
  fs.cpSync(fixture('tiny-roberta'), src, { recursive: true });
  const file = path.join(src, 'onnx', 'model.onnx');
  const model = OnnxModel.open(file);
  try {
    writeRewritten(model, 'task-head', `${file}.head`);
  } finally {
    model.close();
  }
  fs.renameSync(`${file}.head`, file);
  writeQuantized(file, path.join(src, 'onnx', Q8_FILE));
  const configFile = path.join(src, 'config.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  Object.assign(config, { architectures: ['RobertaForSequenceClassification'], id2label: { 0: 'neg', 1: 'neu', 2: 'pos' }, label2id: { neg: 0, neu: 1, pos: 2 }, problem_type: 'single_label_classification' });
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  return src;
}

function outputsOf(file: string): string[] {
  const m = OnnxModel.open(file);
  try {
    return m.outputs.map((o) => o.name);
  } finally {
    m.close();
  }
}

const cli = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'out', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', timeout: 300_000 });

test('a fine-tuned classifier export is pruned and committed as the encoder under its head, every variant without the head', async () => {
  const root = tempDir('ps-task-head-');
  try {
    const src = classifierFolder(root);
    assert.deepEqual(outputsOf(path.join(src, 'onnx', 'model.onnx')), ['logits']);
    assert.deepEqual(outputsOf(path.join(src, 'onnx', Q8_FILE)), ['logits']);

    const pruned = path.join(root, 'pruned');
    const p = cli(['prune', src, '--layers', '0,2', '--out', pruned]);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stderr, /its graph ends in a task head \(RobertaForSequenceClassification\) with outputs logits; .*without the head/);
    for (const f of ['model.onnx', Q8_FILE]) assert.deepEqual(outputsOf(path.join(pruned, 'onnx', f)), ['last_hidden_state'], `pruned ${f}`);
    const config = JSON.parse(fs.readFileSync(path.join(pruned, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, ['RobertaModel']);
    for (const k of ['id2label', 'label2id', 'problem_type']) assert.ok(!(k in config), `${k} of the head is not in the encoder's config`);

    const out = path.join(root, 'out');
    const limits = { limitTrain: 150, limitTest: 60 };
    const args = ['optimize', src, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.97', '--candidates', '2', '--compensate', 'bridge', '--no-cache', '--out', out, '-q'];
    const r = cli(args);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
    assert.deepEqual(report.model.taskHead, ['logits']);
    assert.equal(report.verify.allEqual, true, 'verify re-measures from the written folder what the report says');
    for (const f of ['model.onnx', Q8_FILE]) assert.deepEqual(outputsOf(path.join(out, 'onnx', f)), ['last_hidden_state'], `committed ${f}`);
    assert.deepEqual(outputsOf(path.join(out, 'classifiers', 'sentlen', 'onnx', 'model.onnx')), ['logits']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).architectures, ['RobertaModel']);
    assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /the source ends in a task head \(outputs `logits`\), which is not kept/);
    assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), limits), report.verify.perTask.sentlen.measured.accuracy, 'transformers.js on the committed classifier gives what verify measured');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
