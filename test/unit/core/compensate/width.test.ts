import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { findBlocks } from '../../../../src/core/onnx/blocks';
import { emptyPlan } from '../../../../src/core/compensate/graph';
import { fitBridges, gapsOf } from '../../../../src/core/compensate/fit';
import { fitPlan } from '../../../../src/core/compensate/build';
import { fitNarrowing } from '../../../../src/core/compensate/width';
import { calibrationSet } from '../../../../src/core/compensate/calibrate';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { fixture, tasksDir } from '../../../helpers';

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

// T5 (tiny-t5-encoder; tiny-t5-gated: gated FFNs, heads of 12 columns in a 32-wide model): no biases,
// so each refit brings its own; the position bias made in block 0 is cut to each block's kept heads.
for (const [name, kept] of [['tiny-roberta', [1, 3]], ['tiny-bert', [1, 3]], ['tiny-distilbert', [1, 3]], ['tiny-mpnet', [1, 3]], ['tiny-t5-encoder', [1, 3]], ['tiny-t5-gated', [1, 2]]] as const) {
  test(`${name}: incremental width fitting (segments from kept states) equals fitting through the whole graph each time`, async () => {
    const model = OnnxModel.open(fixture(name, 'onnx', name.includes('t5') ? 'encoder_model.onnx' : 'model.onnx'));
    const cfg = JSON.parse(fs.readFileSync(fixture(name, 'config.json'), 'utf8')) as Record<string, number>;
    const enc = { model, blocks: findBlocks(model), hidden: cfg.hidden_size ?? cfg.dim ?? cfg.d_model, heads: cfg.num_attention_heads ?? cfg.n_heads ?? cfg.num_heads };
    const tok = await loadTokenizer(fixture(name), { maxLength: 64 });
    const texts = fs.readFileSync(path.join(tasksDir, 'bshift', 'train.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 80).map((l) => (JSON.parse(l) as { text: string }).text);
    const set = calibrationSet(tok, texts, { batchSize: 16 });
    try {
      // Gaps (one in front of the first kept block), heads and FFN narrowed in every kept block.
      const req = { kept: [...kept], bridges: true, heads: 1, ffnWidth: 24 };
      const fast = await fitPlan(enc, req, set, {}, {});
      const slow = emptyPlan([...kept]);
      const slowStats = await fitBridges(enc, slow, set, {}, {});
      for (const k of kept) {
        slowStats.push(await fitNarrowing(enc, slow, 'attention', k, 1, set, {}, {}));
        slowStats.push(await fitNarrowing(enc, slow, 'ffn', k, 24, set, {}, {}));
      }
      assert.deepEqual([...fast.plan.narrow.keys()], [...slow.narrow.keys()]);
      const gaps = gapsOf([...kept]).length;
      assert.equal(fast.stats.length, gaps + 2 * kept.length);
      for (const [key, n] of slow.narrow) {
        const f = fast.plan.narrow.get(key)!;
        assert.deepEqual(f.kept, n.kept, `${key}: same units kept`);
        assert.ok(maxRelDiff(f.out, n.out) < 1e-4 && maxRelDiff(f.outBias, n.outBias) < 1e-4, `${key}: ${maxRelDiff(f.out, n.out)}`);
      }
      assert.ok(maxRelDiff(fast.stats.map((s) => s.r2), slowStats.map((s) => s.r2)) < 1e-6);
      assert.deepEqual(fast.stats.map((s) => s.lambda), slowStats.map((s) => s.lambda));
      // The attention target is residual + sub-layer where the residual is the bridged state (the
      // whole-graph path once read the unbridged tensor of the same name: R² 0.08 instead of 0.86 here).
      // (tiny-t5-gated's seeded random weights give 0.40 on the right path; the bar is the other fixtures'.)
      assert.ok(fast.stats[gaps].kind === 'attention' && (name === 'tiny-t5-gated' || fast.stats[gaps].r2 > 0.5), `attention after a bridge: R² ${fast.stats[gaps].r2}`);
    } finally {
      model.close();
    }
  });
}
