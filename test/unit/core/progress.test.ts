import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeProgress, statusBarText } from '../../../src/core/progress';

test('progress in words, with the share of the stage done', () => {
  assert.deepEqual(describeProgress({ kind: 'stage', stage: 'load', message: 'loading model m' }), { message: 'loading model m', fraction: null });
  assert.deepEqual(describeProgress({ kind: 'extract', label: 'spam/train', done: 3, total: 4 }), { message: 'extracting features of spam/train: 3/4', fraction: 0.75 });
  assert.deepEqual(describeProgress({ kind: 'probe', task: 'spam', done: 2, total: 5 }), { message: 'training probes for spam: layer 2/5', fraction: 0.4 });
  // `done` counts the candidates measured before this one: the first is "1 of n".
  assert.deepEqual(describeProgress({ kind: 'candidate', done: 0, total: 9, subset: '0,1' }), { message: 'measuring candidate 1 of 9: blocks 0,1', fraction: 0 });
  assert.equal(describeProgress({ kind: 'extract', label: 'x', done: 0, total: 0 }).fraction, null);
});

test('status-bar text: kind, stage message cut to 60 characters, percentage when known', () => {
  assert.equal(statusBarText('optimize', 'measuring candidate 3 of 19: blocks 0,1', 0.1), '$(sync~spin) ProbeScale optimize: measuring candidate 3 of 19: blocks 0,1 · 10 %');
  assert.equal(statusBarText('probe', 'loading model', null), '$(sync~spin) ProbeScale probe: loading model');
  const long = statusBarText('probe', 'x'.repeat(80), 0.5);
  assert.ok(long.includes(`${'x'.repeat(59)}… · 50 %`));
});
