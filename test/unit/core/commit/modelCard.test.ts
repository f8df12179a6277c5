import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { modelCard } from '../../../../src/core/commit/modelCard';
import type { OptimizeReport } from '../../../../src/core/report';
import { fixture } from '../../../helpers';

const report = () => JSON.parse(fs.readFileSync(fixture('reports', 'tiny-roberta-optimize.json'), 'utf8')) as OptimizeReport;

test('model card: every † row has its footnote, and none appears without a note', () => {
  const r = report();
  const daggerRows = (card: string) => card.split('\n').filter((l) => l.startsWith('|') && l.includes(' †'));
  // The fixture's dalvi-prefix could not follow its rule within the budget.
  const noted = r.selection.baselines.filter((b) => b.note);
  assert.ok(noted.length > 0);
  const card = modelCard(r);
  assert.equal(daggerRows(card).length, noted.length);
  for (const b of noted) assert.ok(card.includes(`† ${b.name}: ${b.note}.`), `footnote for ${b.name}`);
  for (const b of r.selection.baselines) delete b.note;
  assert.ok(!modelCard(r).includes('†'), 'no notes, no daggers');
});

test('model card links the report, which opens in the report editor', () => {
  assert.match(modelCard(report()), /\[`probescale-report\.json`\]\(probescale-report\.json\)/);
});

test('model card: a Files section with every file and its size when the folder is given', () => {
  const card = modelCard(report(), [
    { path: 'onnx/model.onnx', bytes: 1_234_567 },
    { path: 'README.md', bytes: null },
  ]);
  assert.match(card, /## Files\n\n\| file \| size \|\n\|---\|---\|\n\| `onnx\/model\.onnx` \| 1\.2 MB \(1,234,567 bytes\) \|\n\| `README\.md` \| rewritten after verification \|/);
  assert.ok(!modelCard(report()).includes('## Files'));
});
