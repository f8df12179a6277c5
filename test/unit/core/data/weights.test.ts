import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseWeights } from '../../../../src/core/data/weights';

test('task weights as typed: NAME:WEIGHT or NAME=WEIGHT, others keep 1, errors name the part', () => {
  assert.deepEqual(parseWeights('spam:2, sentlen = 0.5', ['spam', 'sentlen']), { spam: 2, sentlen: 0.5 });
  assert.deepEqual(parseWeights('', ['spam', 'sentlen']), { spam: 1, sentlen: 1 });
  assert.match(String(parseWeights('spam:-1', ['spam'])), /"-1" is not a positive weight/);
  assert.match(String(parseWeights('other:1', ['spam'])), /"other" is not one of the chosen tasks \(spam\)/);
  assert.match(String(parseWeights('spam', ['spam'])), /write NAME:WEIGHT, e.g. spam:2/);
});
