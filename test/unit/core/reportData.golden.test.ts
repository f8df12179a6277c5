import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeReport, readReport } from '../../../src/core/reportData';
import { fixture, repoRoot, withoutPreparation } from '../../helpers';

/** The view's data as text: NaN and undefined spelled out (JSON would turn both into null or drop them), the checkout's folder as `<repo>`. */
function digest(data: unknown): string {
  const text = JSON.stringify(data, (_k, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v === undefined ? 'undefined' : v));
  return createHash('sha256').update(text.split(repoRoot).join('<repo>')).digest('hex').slice(0, 16);
}

// Each committed fixture report as the view receives it, pinned when normalizeReport was split
// into stages (eleventh session): a change to any filled-in default or kept field changes a digest.
const expected: Record<string, string> = {
  'reports-before/eval-committed.json': '5866aa3486c78656',
  'reports-before/eval-plain.json': 'f2007cba7fe8bad5',
  'reports-before/optimize-tiny-bert-vocab.json': '43eb4590ea46bcb3',
  'reports-before/optimize-tiny-roberta.json': '5336a224662756d1',
  'reports-before/probe-tiny-bert.json': 'fc04f22efb510ef2',
  'reports/tiny-roberta-optimize.json': '121fee7390833dc6',
};

test('every fixture report reads back exactly as before (digest of the view data)', () => {
  const files = [...fs.readdirSync(fixture('reports-before')).filter((f) => f.endsWith('.json') && !f.endsWith('.config.json')).map((f) => path.join('reports-before', f)), path.join('reports', 'tiny-roberta-optimize.json')];
  const got = Object.fromEntries(files.map((f) => [f.split(path.sep).join('/'), digest(withoutPreparation(readReport(fixture(f))))]));
  assert.deepEqual(got, expected);
  // The added fields say what the reports' own settings and tasks say.
  for (const f of files) {
    const raw = JSON.parse(fs.readFileSync(fixture(f), 'utf8'));
    const r = readReport(fixture(f));
    for (const [name, t] of Object.entries(r.tasks)) assert.equal(t.pooling, raw.tasks[name].pooling, `${f} ${name}`);
    assert.equal(r.preparation?.maxLength, raw.settings?.maxLength, f);
    assert.equal(r.preparation?.prompt, raw.settings?.prompt || undefined, f);
  }
});

test('a hand-made report with every optional part missing fills the same defaults as before', () => {
  const r = normalizeReport({ model: { numLayers: 2, params: { total: 100, embeddings: 50, perBlock: [20, 20] } }, tasks: { t: { layers: [{ accuracy: 0.5 }, { accuracy: 0.7, controlAccuracy: 0.5, layer: 3 }] }, e: { layers: [], final: { accuracy: 0.9 } } } }, 'r.json');
  assert.equal(digest(r), '2bacb4b8d9e7b487');
});
