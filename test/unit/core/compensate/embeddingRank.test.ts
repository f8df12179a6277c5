import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatEmbeddingRank, parseEmbeddingRank, ranksFor } from '../../../../src/core/compensate/embeddingRank';
import { candidateKey, compensatedCandidates, compensatedParams } from '../../../../src/core/compensate/search';
import { bestFactorisedRank } from '../../../../src/core/pipeline/compensation';
import { chosenBaselines } from '../../../../src/core/optimize/baselines';
import type { ParamCounts } from '../../../../src/shared/params';

test('--embedding-rank: one rank, a list (sorted, once each) or auto (hidden / 16, / 8, / 4); bad values name themselves', () => {
  assert.deepEqual(parseEmbeddingRank('32'), [32]);
  assert.deepEqual(parseEmbeddingRank('64, 16,32,16'), [16, 32, 64]);
  assert.equal(parseEmbeddingRank('auto'), 'auto');
  assert.deepEqual(ranksFor('auto', 256), [16, 32, 64]);
  assert.deepEqual(ranksFor('auto', 1024), [64, 128, 256]);
  assert.deepEqual(ranksFor('auto', 8), [1, 2], 'tiny hidden sizes: ranks below 1 become 1, once');
  assert.equal(formatEmbeddingRank(parseEmbeddingRank('64,16')), '16,64');
  // An empty value is shown quoted, so that the message shows it.
  for (const bad of ['', '0', '8.5', 'x', '16,,32', '-4']) assert.throws(() => parseEmbeddingRank(bad), (e: Error) => e.message.includes(`embedding rank ${bad === '' ? '""' : bad}:`) && /comma-separated list.*auto/.test(e.message), bad);
  // Past 2^53 (before: named as 100000000000000000000 by the range check).
  assert.throws(() => parseEmbeddingRank('16,99999999999999999999'), /embedding rank 16,99999999999999999999: no model is that wide/);
  // Plain decimal only, as --layers: Number() would read 0x20 as 32 and 1e1 as 10 without a word.
  for (const bad of ['0x20', '1e1', '+4', '4.0', '32,0b1']) assert.throws(() => parseEmbeddingRank(bad), (e: Error) => e.message.includes(`embedding rank ${bad}:`), bad);
  assert.throws(() => ranksFor([200], 100), (e: Error) => /give a whole number from 1 to 99 \(the hidden size is 100\), e\.g\. 12\.$/.test(e.message), 'the example is a whole number too');
  assert.throws(() => ranksFor([16, 256], 256), /embedding rank 256: give a whole number from 1 to 255 \(the hidden size is 256\)/);
});

// roberta-mini: d 256, 4 heads, FFN 1024, 12 blocks of 789,760, embeddings 2,131,200 (8,192 word rows).
const shape = { hidden: 256, heads: 4, ffn: 1024, wordRows: 8192 };
const acc: ParamCounts = { total: 11_608_320, embeddings: 2_131_200, perBlock: new Array(12).fill(789_760), other: 0 };
const budget35 = Math.floor(0.35 * acc.total);

test('several ranks: factorised candidates at each (the cap applies per rank), each within the budget; a smaller rank fits more', () => {
  const ranked = [[2, 3], [0, 1]];
  const wider = [[1, 2, 3, 4], [0, 1, 2, 3, 4, 5]];
  const one = compensatedCandidates('all', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2, factorised: 2 }, 'task', [32]);
  const three = compensatedCandidates('all', ranked, wider, acc, budget35, shape, { bridged: 8, narrowed: 2, factorised: 2 }, 'task', [16, 32, 64]);
  const byRank = (cs: typeof three, r: number) => cs.filter((c) => c.origin === 'factorised' && c.spec.embeddingRank === r).map((c) => candidateKey(c.kept, c.spec));
  assert.deepEqual(byRank(three, 32), byRank(one, 32), 'a rank tried beside others gets the candidates it gets alone');
  for (const r of [16, 32, 64]) assert.equal(byRank(three, r).length, 2, `two at rank ${r}`);
  assert.deepEqual(three.filter((c) => c.origin !== 'factorised'), one.filter((c) => c.origin !== 'factorised'), 'bridged and narrowed candidates do not depend on the ranks');
  for (const c of three) assert.ok(compensatedParams(acc, c.kept, c.spec, shape) <= budget35, candidateKey(c.kept, c.spec));
  const six = (r: number) => three.find((c) => c.origin === 'factorised' && c.spec.embeddingRank === r && c.kept.length === 6)!.spec;
  assert.ok((six(16).ffnWidth ?? 1024) * (six(16).heads ?? 4) >= (six(64).ffnWidth ?? 1024) * (six(64).heads ?? 4), 'rank 16 leaves at least as many units as rank 64');
});

test('the local search continues at the rank of the best factorised candidate in the budget', () => {
  const m = (objective: number, embeddingRank?: number, params = 1) => ({ objective, params, compensation: embeddingRank === undefined ? undefined : { bridges: false, embeddingRank } });
  assert.equal(bestFactorisedRank([m(0.9), m(0.6, 16), m(0.7, 64), m(0.65, 32)], 10), 64, 'plain candidates do not count');
  assert.equal(bestFactorisedRank([m(0.6, 16), m(0.99, 64, 11)], 10), 16, 'over the budget does not count');
  assert.equal(bestFactorisedRank([m(0.9)], 10), undefined);
});

test('--baselines drop-top-factorised keeps the per-rank prefixes as one name', () => {
  const all = [{ name: 'drop-top', kept: [0] }, { name: 'drop-top-factorised-r16', kept: [0, 1] }, { name: 'drop-top-factorised-r64', kept: [0] }, { name: 'random-1', kept: [3] }];
  assert.deepEqual(chosenBaselines(all, ['drop-top-factorised']).map((b) => b.name), ['drop-top-factorised-r16', 'drop-top-factorised-r64']);
});
