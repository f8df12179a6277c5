import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { Q8_FILE, writeQuantized } from '../../../../src/core/compensate/quantize';
import { readSafetensorsHeader } from '../../../../src/core/model/safetensors';
import { writeRewritten } from '../../../graphRewrites';
import { fixture, graphOutputs, pipelineAccuracyOnSentlen, runCli, tasksDir, tempDir } from '../../../helpers';

// A fine-tuned classifier exported with its head (optimum-cli export onnx --task text-classification,
// as transformers.js repositories of fine-tuned models ship it) outputs logits. Before, every job
// refused it ("is a text classifier … need an encoder folder"); now the encoder under the head is
// probed, pruned and committed, and the head is left out of every written graph.

/**
 * model.safetensors as RobertaForSequenceClassification.save_pretrained writes it: the encoder's
 * tensors under `roberta.`, then the head's under `classifier.`.
 */
function withHeadWeights(file: string, hidden: number, labels: number): void {
  const header = readSafetensorsHeader(file);
  const bytes = fs.readFileSync(file);
  const json: Record<string, unknown> = {};
  const data: Buffer[] = [];
  let at = 0;
  const add = (name: string, shape: number[], b: Buffer) => {
    json[name] = { dtype: 'F32', shape, data_offsets: [at, at + b.length] };
    data.push(b);
    at += b.length;
  };
  for (const t of header.tensors) {
    if (t.dtype !== 'F32') throw new Error(`${t.name}: ${t.dtype}`);
    add(`roberta.${t.name}`, t.shape, bytes.subarray(header.dataOffset + t.begin, header.dataOffset + t.end));
  }
  const values = (n: number) => Buffer.from(Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 0.1).buffer);
  add('classifier.dense.weight', [hidden, hidden], values(hidden * hidden));
  add('classifier.dense.bias', [hidden], values(hidden));
  add('classifier.out_proj.weight', [labels, hidden], values(labels * hidden));
  add('classifier.out_proj.bias', [labels], values(labels));
  const head = Buffer.from(JSON.stringify(json));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  fs.writeFileSync(file, Buffer.concat([len, head, ...data]));
}

/** tiny-roberta as a sequence classifier's export: model.onnx and its q8 variant end in logits; model.safetensors and config.json hold the head and its labels. */
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
  withHeadWeights(path.join(src, 'model.safetensors'), config.hidden_size, 3);
  return src;
}


test('a fine-tuned classifier export is pruned and committed as the encoder under its head, every variant without the head', async () => {
  const root = tempDir('ps-task-head-');
  try {
    const src = classifierFolder(root);
    assert.deepEqual(graphOutputs(path.join(src, 'onnx', 'model.onnx')), ['logits']);
    assert.deepEqual(graphOutputs(path.join(src, 'onnx', Q8_FILE)), ['logits']);

    const pruned = path.join(root, 'pruned');
    const p = runCli(['prune', src, '--layers', '0,2', '--out', pruned]);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stderr, /its graph ends in a task head \(RobertaForSequenceClassification\) with outputs logits; .*without the head/);
    for (const f of ['model.onnx', Q8_FILE]) assert.deepEqual(graphOutputs(path.join(pruned, 'onnx', f)), ['last_hidden_state'], `pruned ${f}`);
    const config = JSON.parse(fs.readFileSync(path.join(pruned, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, ['RobertaModel']);
    for (const k of ['id2label', 'label2id', 'problem_type']) assert.ok(!(k in config), `${k} of the head is not in the encoder's config`);
    const names = readSafetensorsHeader(path.join(pruned, 'model.safetensors')).tensors.map((t) => t.name);
    assert.ok(names.length > 0 && names.every((n) => n.startsWith('roberta.')), `the head's weights are left out too: ${names.filter((n) => !n.startsWith('roberta.'))}`);
    const fromWeights = runCli(['probe', pruned, '--from', 'safetensors', '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '40', '--limit-test', '10', '--no-cache', '-q']);
    assert.equal(fromWeights.status, 0, `the pruned folder opens from its weights: ${fromWeights.stderr}`);

    const out = path.join(root, 'out');
    const limits = { limitTrain: 150, limitTest: 60 };
    const args = ['optimize', src, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.97', '--candidates', '2', '--compensate', 'bridge', '--no-cache', '--out', out, '-q'];
    const r = runCli(args);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
    assert.deepEqual(report.model.taskHead, ['logits']);
    assert.equal(report.verify.allEqual, true, 'verify re-measures from the written folder what the report says');
    for (const f of ['model.onnx', Q8_FILE]) assert.deepEqual(graphOutputs(path.join(out, 'onnx', f)), ['last_hidden_state'], `committed ${f}`);
    assert.deepEqual(graphOutputs(path.join(out, 'classifiers', 'sentlen', 'onnx', 'model.onnx')), ['logits']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).architectures, ['RobertaModel']);
    assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /the source ends in a task head \(outputs `logits`\), which is not kept/);
    assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), limits), report.verify.perTask.sentlen.measured.accuracy, 'transformers.js on the committed classifier gives what verify measured');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
