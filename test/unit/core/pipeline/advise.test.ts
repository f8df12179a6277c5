import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { embeddingOnly, retention, RetentionMeter } from '../../../../src/core/pipeline/advise';
import { TaskSplit, Measured } from '../../../../src/core/pipeline/measure';

const split = (name: string, weight: number): TaskSplit => ({ task: { name } as TaskSplit['task'], weight, folds: new Int32Array(0), c: 1 });
const ref = (final: number, best: number, majority: number) => ({ final: { accuracy: final, macroF1: 0 }, bestLayer: { layer: 3, test: { accuracy: best, macroF1: 0 } }, majority });
const score = (accuracy: number) => ({ accuracy, macroF1: 0 });

test('retention against the final layer, the best layer and chance', () => {
  assert.deepEqual(retention(0.8, 0.8, 1, 0.5), { vsFinal: 1, vsBestLayer: 0.8, chanceNormalized: 1 });
  assert.ok(Math.abs(retention(0.65, 0.8, 0.8, 0.5).chanceNormalized! - 0.5) < 1e-12);
});

test('retention per task and task-weighted', () => {
  const meter = new RetentionMeter([split('a', 3), split('b', 1)], { a: ref(0.8, 0.8, 0.5), b: ref(0.6, 0.6, 0.2) });
  const r = meter.mean({ a: score(0.8), b: score(0.3) });
  assert.ok(Math.abs(r.vsFinal - (3 * 1 + 1 * 0.5) / 4) < 1e-12);
  assert.deepEqual(Object.keys(meter.perTask({ a: score(0.8), b: score(0.3) })), ['a', 'b']);
});

test('chance-normalised retention is null, not NaN, where the unpruned model is not above chance, and so is the mix', () => {
  assert.equal(retention(0.865, 0.865, 0.865, 0.865).chanceNormalized, null);
  assert.equal(retention(0.5, 0.6, 0.6, 0.7).chanceNormalized, null);
  const meter = new RetentionMeter([split('a', 1), split('b', 1)], { a: ref(0.8, 0.8, 0.5), b: ref(0.865, 0.865, 0.865) });
  const r = meter.mean({ a: score(0.8), b: score(0.865) });
  assert.equal(r.chanceNormalized, null);
  assert.ok(Math.abs(r.vsFinal - 1) < 1e-12);
  assert.equal(meter.perTask({ a: score(0.65), b: score(0.865) }).a.chanceNormalized, 0.5);
});

test('the embeddings alone: reaches the target or not, said in words', () => {
  const meter = new RetentionMeter([split('a', 1)], { a: ref(0.8, 0.8, 0.5) });
  const empty = (a: number): Measured => ({ key: '', kept: [], params: 600, val: {}, valRows: {}, objective: a, test: { a: score(a) } });
  const yes = embeddingOnly(empty(0.78), meter, 0.95);
  assert.equal(yes.reachesTarget, true);
  assert.match(yes.message, /no blocks, 600 parameters\) keeps 97.5 %/);
  const no = embeddingOnly(empty(0.6), meter, 0.95);
  assert.equal(no.reachesTarget, false);
  assert.match(no.message, /keeps 75.0 % of the final layer's accuracy, below the 95 % target/);
  // Below the whole-table floor (--embedding-rank) it is the factorised table, with its own count and no prune advice.
  const factorised = embeddingOnly({ ...empty(0.78), params: 90, compensation: { bridges: false, embeddingRank: 4 } }, meter, 0.95);
  assert.match(factorised.message, /^The embedding output alone with the word table factorised to rank 4 \(no blocks, 90 parameters\) keeps 97.5 %/);
  assert.doesNotMatch(factorised.message, /prune --layers/);
});
