import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { firstDuplicateKey, repeatedKeys } from '../../../src/core/util/jsonKeys';

test('firstDuplicateKey finds a key repeated in one object, at any depth, and names where', () => {
  assert.equal(firstDuplicateKey('{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}'), null);
  assert.deepEqual(firstDuplicateKey('{"a": 1, "b": 2, "a": 3}'), { key: 'a', at: '' });
  assert.deepEqual(firstDuplicateKey('{"t": {"dtype": "F32", "shape": [2], "dtype": "F16"}}'), { key: 'dtype', at: 't' });
  assert.deepEqual(firstDuplicateKey('{"m": {"w": {"x": 1, "x": 2}}}'), { key: 'x', at: 'm.w' });
  assert.deepEqual(firstDuplicateKey('{"l": [{"x": 1, "x": 2}]}'), { key: 'x', at: 'l[]' });
  // Values that look like keys, escaped quotes and escapes that spell the same key.
  assert.equal(firstDuplicateKey('{"a": "a", "b": ["a", "a"], "c\\"": "}", "d": "\\\\"}'), null);
  assert.deepEqual(firstDuplicateKey('{"\\u0061": 1, "a": 2}'), { key: 'a', at: '' });
  // With the parsed value: the count lets a clean text through, and a text with more keys than its value is scanned.
  for (const text of ['{"a": 1, "b": {"a": 2}}', '{"a": "x\\":", "b": [{"c": 1}]}', '{"a": 1, "b": 2, "a": 3}', '{"m": {"w": {"x": 1, "x": 2}}}', '[{"x": 1, "x" : 2}]']) {
    assert.deepEqual(firstDuplicateKey(text, JSON.parse(text)), firstDuplicateKey(text), text);
  }
});

test('repeatedKeys lists every repeated key with each value it was given, in file order, at any depth', () => {
  assert.deepEqual(repeatedKeys('{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}'), []);
  assert.deepEqual(repeatedKeys('{"n": 12, "x": {"k": [1, {"y": 2}], "k": "s,}"}, "n" : 4 , "n":\n4}'), [
    { key: 'k', at: 'x', values: [[1, { y: 2 }], 's,}'] },
    { key: 'n', at: '', values: [12, 4, 4] },
  ]);
  assert.deepEqual(repeatedKeys('[{"x": null, "x": {}}]'), [{ key: 'x', at: '[]', values: [null, {}] }]);
  // With the parsed value, a clean text is let through by the count.
  assert.deepEqual(repeatedKeys('{"a": "x\\":", "b": [{"c": 1}]}', { a: 'x":', b: [{ c: 1 }] }), []);
  assert.deepEqual(firstDuplicateKey('{"n": 12, "n": 4}'), { key: 'n', at: '' }, 'firstDuplicateKey still names only where');
});
