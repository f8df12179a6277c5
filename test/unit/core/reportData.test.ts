import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError } from '../../../src/core/errors';
import { normalizeReport, readReport, timestampForFile } from '../../../src/core/reportData';
import { fixture, tempDir } from '../../helpers';

const before = (f: string) => fixture('reports-before', f);

test('probe, eval and optimize reports read back as the view shows them', () => {
  const probe = readReport(before('probe-tiny-bert.json'));
  assert.equal(probe.kind, 'probe');
  assert.equal(probe.tasks.sentlen.layers.length, 5);
  assert.equal(probe.signals?.blockInfluence.length, 4);
  const opt = readReport(before('optimize-tiny-roberta.json'));
  assert.deepEqual(opt.selection?.kept, [1, 2]);
  assert.equal(opt.selection?.baselines.length, 10);
  assert.equal(opt.verify?.allEqual, true);
  const vocab = readReport(before('optimize-tiny-bert-vocab.json'));
  assert.ok(vocab.selection?.vocabTrim && vocab.selection.vocabTrim.keptTokens < vocab.selection.vocabTrim.sourceVocab);
  const committed = readReport(before('eval-committed.json'));
  assert.deepEqual(committed.tasks.sentlen.layers, []);
  assert.ok(committed.tasks.sentlen.final);
});

test('older or hand-made reports get their missing fields filled', () => {
  const r = normalizeReport({ model: { numLayers: 2, params: { total: 100, embeddings: 50, perBlock: [20, 20] } }, tasks: { t: { layers: [{ accuracy: 0.5 }, { accuracy: 0.7, controlAccuracy: 0.5 }] } } }, 'r.json');
  assert.equal(r.kind, 'probe');
  assert.equal(r.model.params.other, 10);
  assert.equal(r.tasks.t.bestLayer, 1);
  assert.equal(r.tasks.t.weight, 1);
  assert.ok(Math.abs(r.tasks.t.layers[1].selectivity! - 0.2) < 1e-12);
  assert.equal(r.selection, undefined);
});

test('what is not a report is refused, naming the file and the missing field', () => {
  const cases: [unknown, RegExp][] = [
    [[], /expected a JSON object/],
    [{}, /no "model"/],
    [{ model: {} }, /"model.numLayers" is missing/],
    [{ model: { numLayers: 2, params: { total: 1, embeddings: 1, perBlock: [1] } } }, /one perBlock entry per block/],
    [{ model: { numLayers: 1, params: { total: 2, embeddings: 1, perBlock: [1] } }, tasks: {} }, /no "tasks"/],
    [{ model: { numLayers: 1, params: { total: 2, embeddings: 1, perBlock: [1] } }, tasks: { t: { layers: [{}] } } }, /task "t" layer 0 has no accuracy/],
  ];
  for (const [json, re] of cases) assert.throws(() => normalizeReport(json, 'x.json'), (e: Error) => e instanceof BadInputError && /^x\.json is not a ProbeScale report/.test(e.message) && re.test(e.message), String(re));
  const bad = path.join(tempDir('ps-report-'), 'bad.json');
  fs.writeFileSync(bad, '{ nope');
  assert.throws(() => readReport(bad), /bad\.json cannot be read as JSON/);
});

test('file-name timestamps sort by time', () => {
  assert.equal(timestampForFile('2026-11-26T23:12:50.341Z'), '20261126-231250');
});
