import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { firstDuplicateKey, repeatedKeys } from '../../../src/core/util/jsonKeys';

// The scan behind firstDuplicateKey and repeatedKeys pinned when it was split into stages
// (twelfth session): many generated JSON texts (nesting, arrays, repeated keys, escaped quotes and
// backslashes, strings holding structural characters, odd spacing) and what both functions return
// for each, with and without the parsed value, as one digest; a few cases are also spelled out.

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keys = ['a', 'b', 'x', 'a\\"', '\\u0061', 'k\\\\', 'n,', '}', '[', ':'];
const strings = ['"s"', '"s,}"', '"\\\\"', '"x\\":"', '"{["', '"a"', '""', '"\\\\\\""'];
const spaces = ['', ' ', '\n', ' \t '];

function value(r: () => number, depth: number): string {
  const sp = () => spaces[Math.floor(r() * spaces.length)];
  const pick = r();
  if (depth > 3 || pick < 0.35) {
    const leaf = r();
    if (leaf < 0.4) return strings[Math.floor(r() * strings.length)];
    if (leaf < 0.7) return String(Math.floor(r() * 100) - 20);
    return ['null', 'true', 'false', '1.5e3'][Math.floor(r() * 4)];
  }
  const n = Math.floor(r() * 5);
  if (pick < 0.55) return `[${sp()}${Array.from({ length: n }, () => value(r, depth + 1)).join(`${sp()},${sp()}`)}${sp()}]`;
  const members = Array.from({ length: n }, () => `"${keys[Math.floor(r() * keys.length)]}"${sp()}:${sp()}${value(r, depth + 1)}`);
  return `{${sp()}${members.join(`${sp()},${sp()}`)}${sp()}}`;
}

function outcomes(text: string): string {
  const parsed = JSON.parse(text) as unknown;
  return JSON.stringify([firstDuplicateKey(text), firstDuplicateKey(text, parsed), repeatedKeys(text), repeatedKeys(text, parsed)]);
}

test('firstDuplicateKey and repeatedKeys answer exactly as before on 3000 generated texts', () => {
  const r = rng(20261201);
  const h = createHash('sha256');
  let withRepeats = 0;
  for (let i = 0; i < 3000; i++) {
    const text = value(r, 0);
    const out = outcomes(text);
    if (repeatedKeys(text).length > 0) withRepeats++;
    h.update(`${text}\u0000${out}\u0000`);
  }
  assert.equal(withRepeats, 820);
  assert.equal(h.digest('hex').slice(0, 16), 'a332f16f33259913');
});

test('spelled-out cases: where, values in file order, escapes, the count shortcut', () => {
  const cases: [string, string][] = [
    ['{"a": 1, "a": 2}', '[{"key":"a","at":""},{"key":"a","at":""},[{"key":"a","at":"","values":[1,2]}],[{"key":"a","at":"","values":[1,2]}]]'],
    ['[[{"m": {"x": [1, {"x": 2}], "x": "}"}}]]', '[{"key":"x","at":"[][].m"},{"key":"x","at":"[][].m"},[{"key":"x","at":"[][].m","values":[[1,{"x":2}],"}"]}],[{"key":"x","at":"[][].m","values":[[1,{"x":2}],"}"]}]]'],
    ['{"\\u0061": 1, "a" : {"b":2,"b":3}, "a":4}', '[{"key":"a","at":""},{"key":"a","at":""},[{"key":"b","at":"a","values":[2,3]},{"key":"a","at":"","values":[1,{"b":3},4]}],[{"key":"b","at":"a","values":[2,3]},{"key":"a","at":"","values":[1,{"b":3},4]}]]'],
    ['{"k\\\\": "\\\\", "k\\\\": "x"}', '[{"key":"k\\\\","at":""},{"key":"k\\\\","at":""},[{"key":"k\\\\","at":"","values":["\\\\","x"]}],[{"key":"k\\\\","at":"","values":["\\\\","x"]}]]'],
    ['{"a": "x\\":", "b": [{"c": 1}]}', '[null,null,[],[]]'],
  ];
  for (const [text, want] of cases) assert.equal(outcomes(text), want, text);
});
