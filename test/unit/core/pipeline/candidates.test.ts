import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { bestInBudget, distinctPlan, planCandidates, SearchSpace } from '../../../../src/core/pipeline/candidates';
import { Measured } from '../../../../src/core/pipeline/measure';

const m = (kept: number[], params: number, objective: number): Measured => ({ key: kept.join(','), kept, params, objective, val: {}, valRows: {} });

test('the best measured subset in the budget: highest objective, ties to fewer parameters', () => {
  const measured = [m([0], 500, 0.7), m([0, 1], 700, 0.8), m([1], 500, 0.8), m([0, 1, 2], 900, 0.9)];
  assert.deepEqual(bestInBudget(measured, 800).kept, [1]);
  assert.deepEqual(bestInBudget(measured, 1000).kept, [0, 1, 2]);
});

test('the plan: the embeddings alone and every baseline with test scores, then the predicted subsets', () => {
  const L = 4;
  const space: SearchSpace = {
    numBlocks: L,
    acc: { total: 1400, embeddings: 1000, other: 0, perBlock: [100, 100, 100, 100] },
    budget: 1200,
    objective: { weights: { t: 1 }, scores: { t: [0.5, 0.6, 0.7, 0.72, 0.73] } },
    candidates: 2,
    seed: 0,
  };
  const signals = { blockInfluence: [0.4, 0.3, 0.2, 0.1], angularDistance: Array.from({ length: L + 1 }, () => new Array<number>(L + 1).fill(0.1)) };
  const stages: string[] = [];
  const { baselines, plan } = planCandidates(space, signals, { onProgress: (e) => e.kind === 'stage' && stages.push(e.message) });
  assert.deepEqual(plan[0], { kept: [], test: true, origin: 'embeddings-only' });
  assert.equal(plan.filter((p) => p.origin.startsWith('baseline:')).length, baselines.length);
  assert.ok(plan.filter((p) => p.origin.startsWith('baseline:')).every((p) => p.test && p.kept.length <= 2));
  const predicted = plan.filter((p) => p.origin === 'predicted');
  assert.equal(predicted.length, 2);
  assert.ok(predicted.every((p) => !p.test && p.kept.length <= 2));
  assert.deepEqual(stages, ['budget 1,200 parameters (85.7 %): measuring candidates and baselines']);
});

test('the plan measured once per distinct subset: duplicates merged, the first origin kept, test scored if any asks', () => {
  const plan = [
    { kept: [], test: true, origin: 'embeddings-only' },
    { kept: [0, 1], test: true, origin: 'baseline:drop-top' },
    { kept: [], test: true, origin: 'baseline:dalvi-prefix' },
    { kept: [0, 2], test: false, origin: 'predicted' },
    { kept: [0, 1], test: false, origin: 'predicted' },
    { kept: [0, 2], test: true, origin: 'baseline:alternate' },
  ];
  assert.deepEqual(distinctPlan(plan), [
    { kept: [], test: true, origin: 'embeddings-only' },
    { kept: [0, 1], test: true, origin: 'baseline:drop-top' },
    { kept: [0, 2], test: true, origin: 'predicted' },
  ]);
});
