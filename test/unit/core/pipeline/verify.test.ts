import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PAIRED_TIMING_MAX_PARAMS, TIMING_PRECISION, attentionWidthOf, idealSpeedup, timeEncoders, timePairs } from '../../../../src/core/pipeline/verify';
import { openModel } from '../../../../src/core/model/modelInfo';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { writePrunedOnnx } from '../../../../src/core/prune/surgery';
import { fixture, tempDir } from '../../../helpers';

test('timing stops once the speedup is known to the stated precision, and not before', async () => {
  const steady = await timePairs(async () => 20, async () => 10, 30);
  assert.deepEqual([steady.runs, steady.speedup, steady.relativeError], [3, 2, 0], 'noise-free: the minimum of 3 pairs');
  // ±30 % noise on the pruned side: the standard error shrinks like 1/√n until it reaches 2 %.
  const noise = [1.3, 0.7, 1.2, 0.8, 1.25, 0.75];
  const noisy = await timePairs(async () => 20, async (i) => 10 * noise[i % noise.length], 200);
  assert.ok(noisy.runs > 10 && noisy.runs < 200, `${noisy.runs} pairs`);
  assert.ok(noisy.relativeError <= TIMING_PRECISION);
  const capped = await timePairs(async () => 20, async (i) => 10 * noise[i % noise.length], 5);
  assert.equal(capped.runs, 5, 'never more than maxRuns');
  assert.ok(capped.relativeError > TIMING_PRECISION);
  // A time budget: the same noise, pairs of at least 2 ms, a 1 ms budget: the minimum of 3 pairs, no more.
  const slow = async () => {
    await new Promise((r) => setTimeout(r, 2));
    return 20;
  };
  const budgeted = await timePairs(slow, async (i) => 10 * noise[i % noise.length], 200, undefined, 1);
  assert.equal(budgeted.runs, 3);
  assert.ok(budgeted.relativeError > TIMING_PRECISION, 'stopped by the budget, not by precision');
});

test('sequential timing (large models: one session at a time) and paired timing: design recorded, 3 to maxRuns runs, finite errors', async () => {
  const dir = tempDir('ps-verify-');
  try {
    const info = openModel(fixture('tiny-bert'));
    const tok = await loadTokenizer(info.dir, { maxLength: 64 });
    const pruned = path.join(dir, 'model.onnx');
    writePrunedOnnx(info.onnxFile, pruned, []);
    const texts = Array.from({ length: 40 }, (_, i) => `sentence number ${i} with a few more words in it`);
    for (const sequential of [true, false]) {
      const t = await timeEncoders(info.onnxFile, pruned, texts, tok, { provider: 'cpu', runs1: 5, runs32: 5, sequential, budgetMs: 1000 });
      assert.equal(t.design, sequential ? 'sequential' : 'paired');
      // Batch 1 repeats the text of median length.
      const lengths = texts.map((x) => tok.encodeWithTypes(x).ids.length).sort((a, b) => a - b);
      assert.deepEqual([t.seqLen1, t.budgetMs], [lengths[20], 1000]);
      for (const b of [t.batch1, t.batch32]) {
        assert.ok(b.runs >= 3 && b.runs <= 5, `${b.runs} runs`);
        assert.ok(b.originalMs > 0 && b.prunedMs > 0 && Number.isFinite(b.relativeError));
      }
    }
    info.model.close();
    assert.ok(PAIRED_TIMING_MAX_PARAMS > info.params.total, 'small models keep paired timing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the FLOP ideal grows as blocks are dropped, and does not exist when none is kept (was ×8019 on roberta-mini)', () => {
  const info = openModel(fixture('tiny-roberta'));
  const all = info.params.perBlock.map((_, i) => i);
  assert.ok(Math.abs(idealSpeedup(info, all, 32)! - 1) < 1e-12, 'every block kept: ×1');
  const one = idealSpeedup(info, [0], 32)!;
  assert.ok(one > 1 && one <= all.length + 1e-9, `one of ${all.length} blocks: ×${one}`);
  assert.equal(idealSpeedup(info, [], 32), null);
});

test("the FLOP ideal counts attention over the heads' columns: T5's heads × d_kv, not d_model", () => {
  const t5 = openModel(fixture('tiny-t5-gated'));
  const roberta = openModel(fixture('tiny-roberta'));
  try {
    // tiny-t5-gated: 4 heads of d_kv 12 in d_model 32 (config.json); tiny-roberta: heads × size = hidden.
    assert.deepEqual([attentionWidthOf(t5), t5.hiddenSize, attentionWidthOf(roberta)], [48, 32, roberta.hiddenSize]);
    const seq = 64;
    const other = 2 * t5.params.other + 10 * t5.hiddenSize;
    const block = (b: number) => 2 * t5.params.perBlock[b] + 4 * seq * 48;
    const all = t5.params.perBlock.reduce((a, _, b) => a + block(b), 0);
    assert.ok(Math.abs(idealSpeedup(t5, [1], seq)! - (all + other) / (block(1) + other)) < 1e-12);
  } finally {
    t5.model.close();
    roberta.model.close();
  }
});
