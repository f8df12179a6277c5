import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { writeRewritten } from '../../../graphRewrites';
import { fixture, graphOutputs, pipelineAccuracyOnSentlen, runCli, tasksDir, tempDir } from '../../../helpers';

// An export with output_hidden_states and output_attentions returns every layer's state
// (hidden_states.0 … hidden_states.L) and attention (attentions.0 …) beside last_hidden_state.
// Before, where those came first, the probe's last layer pooled hidden_states.0 (the embeddings),
// and a pruned graph kept every dropped block an output still named. Now the pruned and committed
// graphs return the outputs of the embeddings and the kept blocks.

test('an export that returns every layer hidden state and attention is probed at its last state, and pruned and committed with the outputs of the kept blocks only', async () => {
  const root = tempDir('ps-layer-states-');
  try {
    const src = path.join(root, 'src');
    fs.cpSync(fixture('tiny-roberta'), src, { recursive: true });
    for (const f of fs.readdirSync(path.join(src, 'onnx'))) if (f !== 'model.onnx') fs.rmSync(path.join(src, 'onnx', f));
    const file = path.join(src, 'onnx', 'model.onnx');
    const model = OnnxModel.open(file);
    try {
      writeRewritten(model, 'hidden-states-first', `${file}.new`);
    } finally {
      model.close();
    }
    fs.renameSync(`${file}.new`, file);
    const states = ['hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'hidden_states.3', 'hidden_states.4'];
    const attentions = ['attentions.0', 'attentions.1', 'attentions.2', 'attentions.3'];
    assert.deepEqual(graphOutputs(file), [...states, ...attentions, 'last_hidden_state']);

    const probe = (dir: string) => {
      const r = runCli(['probe', dir, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '60', '--limit-test', '30', '--c', '1', '--no-cache', '-q', '--out', path.join(root, `${path.basename(dir)}.json`)]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(fs.readFileSync(path.join(root, `${path.basename(dir)}.json`), 'utf8')).tasks.sentlen.layers;
    };
    assert.deepEqual(probe(src), probe(fixture('tiny-roberta')), "every layer's scores are the exporter's own graph's");

    const out = path.join(root, 'out');
    const limits = { limitTrain: 150, limitTest: 60 };
    const r = runCli(['optimize', src, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.97', '--candidates', '2', '--compensate', 'bridge', '--no-cache', '--out', out, '-q']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
    assert.deepEqual(report.model.blockOutputs, [...states.slice(1), ...attentions], 'every output but the embeddings state is computed inside a block');
    assert.equal(report.verify.allEqual, true, 'verify re-measures from the written folder what the report says');
    const kept: number[] = report.selection.kept;
    assert.ok(kept.length < 4, `a block is dropped (kept ${kept})`);
    const expected = ['hidden_states.0', ...kept.map((k) => `hidden_states.${k + 1}`), ...kept.map((k) => `attentions.${k}`), 'last_hidden_state'];
    assert.deepEqual(graphOutputs(path.join(out, 'onnx', 'model.onnx')), expected, `those of the embeddings and kept blocks ${kept}`);
    assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /its outputs except those of dropped blocks: the source also returns outputs computed inside each block \(`hidden_states\.1`, `hidden_states\.2`, `hidden_states\.3` … 8 in all\), and this encoder those of the kept blocks, under the same names/);
    assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), limits), report.verify.perTask.sentlen.measured.accuracy, 'transformers.js on the committed classifier gives what verify measured');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
