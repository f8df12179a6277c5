import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configJsonText, floatLiteralPaths } from '../../../../src/core/model/configJson';
import { fixture, quickOptimize, runCli, tempDir } from '../../../helpers';

// Found by loading pruned folders with Python transformers 5.17 (scripts/ref/hf_check.py): every pruned
// T5, umT5 and ModernBERT folder failed to load ("Field 'initializer_factor' expected float, got int
// (value: 1)"), because JSON.parse + JSON.stringify turned the source's 1.0 into 1.

test('floatLiteralPaths finds the whole numbers a JSON text writes as floats, nested, after escaped strings', () => {
  const text = '{"a": 1.0, "b": 2, "s\\"x": "1.0", "c": {"d": [1.0, 2, -3e2, 0.5]}, "e": [[7.0]], "f": 1E3}';
  const sep = '\u0000';
  assert.deepEqual([...floatLiteralPaths(text)].sort(), ['a', ['c', 'd', 0].join(sep), ['c', 'd', 2].join(sep), ['e', 0, 0].join(sep), 'f'].sort());
});

test('configJsonText writes floats where the source did and under float-named keys, and nothing else changes', () => {
  const source = '{"initializer_factor": 1.0, "num_layers": 4, "rope_parameters": {"rope_theta": 160000.0}, "ids": [1.0, 2]}';
  const config = { ...(JSON.parse(source) as Record<string, unknown>), hidden_dropout_prob: 0, layer_norm_eps: 1, note: 'x 1.0', vocab_size: 8192, big: 1e21 };
  const text = configJsonText(config, floatLiteralPaths(source));
  for (const s of ['"initializer_factor": 1.0', '"num_layers": 4,', '"rope_theta": 160000.0', '"hidden_dropout_prob": 0.0', '"layer_norm_eps": 1.0', '"note": "x 1.0"', '"vocab_size": 8192', '"big": 1e+21']) assert.ok(text.includes(s), `${s} in\n${text}`);
  assert.match(text, /"ids": \[\n\s+1\.0,\n\s+2\n/);
  assert.deepEqual(JSON.parse(text), config, 'the same values');
  assert.equal(configJsonText({ a: 1, b: [2, 3.5] }, new Set(['a'])), '{\n  "a": 1.0,\n  "b": [\n    2,\n    3.5\n  ]\n}\n');
});

test('pruned T5, umT5 and ModernBERT folders keep their config floats (transformers 5 refuses integers there)', () => {
  const out = tempDir('ps-configjson-');
  const cases = [
    { name: 'tiny-t5-encoder', layers: '1,3', floats: ['"initializer_factor": 1.0', '"classifier_dropout": 0.0'] },
    { name: 'tiny-umt5', layers: '0,2', floats: ['"initializer_factor": 1.0'] },
    { name: 'tiny-modernbert', layers: '0,1,2', floats: ['"initializer_cutoff_factor": 2.0', '"global_rope_theta": 160000.0', '"local_rope_theta": 10000.0', '"attention_dropout": 0.0'] },
  ];
  for (const c of cases) {
    const dir = path.join(out, c.name);
    const r = runCli(['prune', fixture(c.name), '--layers', c.layers, '--out', dir, '--from', 'safetensors', '-q']);
    assert.equal(r.status, 0, r.stderr);
    const text = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    for (const f of c.floats) assert.ok(text.includes(f), `${c.name}: ${f}`);
  }
});

test('an optimized ModernBERT folder and its classifiers keep the config floats', () => {
  const out = path.join(tempDir('ps-configjson-opt-'), 'm');
  const r = quickOptimize(fixture('tiny-modernbert'), out);
  assert.equal(r.status, 0, r.stderr);
  for (const file of [path.join(out, 'config.json'), path.join(out, 'classifiers', 'sentlen', 'config.json')]) {
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.includes('"initializer_cutoff_factor": 2.0'), file);
    assert.ok(text.includes('"norm_eps": 1e-05') || text.includes('"norm_eps": 0.00001'), file);
  }
});
