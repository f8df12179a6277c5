import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BadInputError, badValue, messageIn, PARAM_WORDS, ProbeScaleError, wordMessage } from '../../../src/core/errors';

test('a bad value carries its code, parameter and value; its message uses plain words', () => {
  const e = badValue('targetRetention', 2, 'give a fraction in (0, 1], e.g. 0.95.');
  assert.ok(e instanceof BadInputError);
  assert.equal(e.code, 'bad-input');
  assert.deepEqual(e.bad, { param: 'targetRetention', value: '2' });
  assert.equal(e.message, 'target retention 2: give a fraction in (0, 1], e.g. 0.95.');
  assert.equal(e.template, '{{targetRetention}} 2: give a fraction in (0, 1], e.g. 0.95.');
});

test('hosts word every parameter token; unknown tokens and braces in values stay as they are', () => {
  const words = (p: keyof typeof PARAM_WORDS) => `<${p}>`;
  assert.equal(wordMessage('{{out}} x: exists ({{force}}); {{nope}} {"a": 1}', words), '<out> x: exists (<force>); {{nope}} {"a": 1}');
  assert.equal(messageIn(new ProbeScaleError('bad-dataset', 'file {{task}}'), words), 'file <task>');
  assert.equal(messageIn(new Error('plain'), words), 'plain');
  assert.equal(messageIn('text', words), 'text');
});
