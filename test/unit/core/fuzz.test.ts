import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { allTargets, fuzz } from '../../fuzz';
import { repoRoot } from '../../helpers';

// Bounded run for CI; scripts/fuzz.mjs runs the same targets for longer.
const ITERATIONS = 2500;

for (const target of allTargets(repoRoot)) {
  test(`fuzz ${target.name}: ${ITERATIONS} seeded mutations are accepted or refused with a typed error, none slow`, () => {
    const s = fuzz(target, ITERATIONS, 1);
    assert.deepEqual(s.crashes, [], `untyped failures (reproduce with node scripts/fuzz.mjs --seed 1 --iterations ${ITERATIONS} --target ${target.name})`);
    assert.ok(s.refused > 0, 'the mutations reach the checks');
    assert.ok(s.slowestMs < 2000, `slowest case ${s.slowestMs.toFixed(0)} ms`);
  });
}
