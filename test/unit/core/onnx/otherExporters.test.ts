import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { graphVocabRows, openModel } from '../../../../src/core/model/modelInfo';
import { loadTask, TaskData } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor } from '../../../../src/core/extract/extractor';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { writePrunedOnnx } from '../../../../src/core/prune/surgery';
import { CompSpec } from '../../../../src/core/compensate/search';
import { buildVariant, variantCalibration } from '../../../../src/core/compensate/variant';
import { widthRefusal } from '../../../../src/core/compensate/build';
import { REWRITES, writeRewritten } from '../../../graphRewrites';
import { fixture, tasksDir, tempDir } from '../../../helpers';

// A graph another exporter or a graph tool wrote computes the same, so every path gives the same
// numbers: the probe's features, a pruned graph's output and a compensated variant's features
// (width pruning sees through Identity nodes). A fine-tuned classifier's export (task-head) is
// used as the encoder under its head, which every written graph leaves out. An export that returns
// every layer's state and attention (hidden-states-first) is probed at its last_hidden_state.

const TEXTS = [{ text: 'a short text' }, { text: 'another one, longer than the first' }];
const PRUNED_KEPT = [1, 3];
const COMP_KEPT = [0, 3];
const WIDTH: CompSpec = { bridges: true, heads: 1, ffnWidth: 16 };
const BRIDGE: CompSpec = { bridges: true };
let sentlen: Promise<TaskData> | undefined;

async function features(dir: string): Promise<Float32Array[]> {
  const info = openModel(dir);
  try {
    const tok = await loadTokenizer(dir, { maxLength: 16, embeddingRows: graphVocabRows(info.model) });
    const ex = await Extractor.create(info, tok, { poolings: ['mean'], cacheDir: null, threads: 1 });
    try {
      return (await ex.extract(TEXTS, 'same')).pooled.mean!;
    } finally {
      await ex.release();
    }
  } finally {
    info.model.close();
  }
}

/** The last hidden state of the graph pruned to PRUNED_KEPT, for fixed token ids. */
async function prunedOutput(dir: string, scratch: string): Promise<Float32Array> {
  const info = openModel(dir);
  const file = path.join(scratch, `pruned-${path.basename(dir)}.onnx`);
  try {
    writePrunedOnnx(info.onnxFile, file, PRUNED_KEPT);
  } finally {
    info.model.close();
  }
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  try {
    const t = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs, BigInt), [1, xs.length]);
    const feeds: Record<string, ort.Tensor> = { input_ids: t([5, 17, 42, 8, 3]), attention_mask: t([1, 1, 1, 1, 0]), token_type_ids: t([0, 0, 0, 0, 0]) };
    const out = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]])));
    return (out.last_hidden_state ?? out.token_embeddings ?? out[session.outputNames[0]]).data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Features of the compensated variant `spec` of the folder, or the refusal's message. */
async function compensated(dir: string, spec: CompSpec): Promise<Float32Array[] | string> {
  const info = openModel(dir);
  try {
    if (spec.heads) {
      const refusal = widthRefusal(info);
      if (refusal) return refusal.message;
    }
    const tok = await loadTokenizer(dir, { maxLength: 16, embeddingRows: graphVocabRows(info.model) });
    const task = await (sentlen ??= loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 24, limitTest: 8 }));
    const v = await buildVariant(info, variantCalibration(tok, [task], { batchSize: 8 }), COMP_KEPT, spec, { batchSize: 8 }, {});
    try {
      const ex = await Extractor.create(v.info, tok, { poolings: ['mean'], cacheDir: null, threads: 1 });
      try {
        return (await ex.extract(TEXTS, 'same')).pooled.mean!;
      } finally {
        await ex.release();
      }
    } finally {
      v.dispose();
    }
  } finally {
    info.model.close();
  }
}

function openModelBlocks(dir: string): number {
  const info = openModel(dir);
  info.model.close();
  return info.blocks.numBlocks;
}

function maxDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  assert.equal(a.length, b.length, 'as many layers');
  let d = 0;
  a.forEach((x, i) => {
    assert.equal(x.length, b[i].length);
    for (let j = 0; j < x.length; j++) d = Math.max(d, Math.abs(x[j] - b[i][j]));
  });
  return d;
}

for (const name of ['tiny-bert', 'tiny-roberta', 'tiny-distilbert', 'tiny-t5-encoder', 'tiny-mpnet']) {
  test(`${name}: a graph rewritten as another exporter or graph tool writes it gives the same features, pruned output and compensated variant`, async () => {
    const scratch = tempDir('ps-rewrites-');
    const source = fixture(name);
    const t5 = name.includes('t5');
    const opened = openModel(source);
    const graph = path.relative(source, opened.onnxFile);
    opened.model.close();
    const base = { features: await features(source), pruned: await prunedOutput(source, scratch), width: t5 ? null : await compensated(source, WIDTH), bridge: t5 ? null : await compensated(source, BRIDGE) };
    if (!t5) assert.ok(Array.isArray(base.width), `the exporter's own graph takes width pruning: ${base.width}`);
    for (const kind of REWRITES) {
      const dir = path.join(scratch, kind);
      fs.cpSync(source, dir, { recursive: true });
      const file = path.join(dir, graph);
      const model = OnnxModel.open(file);
      try {
        writeRewritten(model, kind, `${file}.new`);
      } finally {
        model.close();
      }
      assert.ok(!fs.readFileSync(`${file}.new`).equals(fs.readFileSync(path.join(source, graph))), `${kind} changed the file`);
      fs.renameSync(`${file}.new`, file);
      if (kind.endsWith('head')) {
        if (t5) {
          assert.throws(() => openModel(dir), /ends in a task head \(outputs logits\).*Export the T5 encoder alone/, 'T5 under a head: refused');
          continue;
        }
        const [own, headed] = [openModel(source), openModel(dir)];
        try {
          assert.deepEqual(headed.blocks.headOutputs, ['logits']);
          assert.deepEqual(headed.params, own.params, "the head's weights are not the encoder's parameters");
        } finally {
          own.model.close();
          headed.model.close();
        }
      }
      assert.equal(maxDiff(await features(dir), base.features), 0, `${kind}: probe features`);
      assert.equal(maxDiff([await prunedOutput(dir, scratch)], [base.pruned]), 0, `${kind}: pruned graph's output`);
      if (kind === 'hidden-states-first') {
        // Before, the probe's last layer pooled hidden_states.0 (the embeddings), and the pruned graph kept the dropped blocks to return their states.
        const [pruned, plain] = [OnnxModel.open(path.join(scratch, `pruned-${kind}.onnx`)), OnnxModel.open(path.join(scratch, `pruned-${name}.onnx`))];
        try {
          const L = openModelBlocks(dir);
          const kept = ['hidden_states.0', ...PRUNED_KEPT.map((k) => `hidden_states.${k + 1}`), ...PRUNED_KEPT.map((k) => `attentions.${k}`), 'last_hidden_state'];
          assert.deepEqual(pruned.outputs.map((o) => o.name), kept, `of hidden_states.0…${L} and attentions.0…${L - 1}, those of the embeddings and kept blocks ${PRUNED_KEPT}`);
          assert.deepEqual([...pruned.initializers.keys()].sort(), [...plain.initializers.keys()].sort(), "the dropped blocks' weights are gone");
        } finally {
          pruned.close();
          plain.close();
        }
      }
      if (t5) continue;
      const width = await compensated(dir, WIDTH);
      assert.equal(maxDiff(width as Float32Array[], base.width as Float32Array[]), 0, `${kind}: width-pruned variant`);
      assert.ok(maxDiff((await compensated(dir, BRIDGE)) as Float32Array[], base.bridge as Float32Array[]) <= 1e-6, `${kind}: bridged variant`);
    }
  });
}
