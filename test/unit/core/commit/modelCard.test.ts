import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { modelCard } from '../../../../src/core/commit/modelCard';
import type { OptimizeReport } from '../../../../src/core/report';
import { SAFETENSORS_NOTE } from '../../../../src/core/compensate/commit';
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

test('model card explains chance-normalised retention and the split-half simulation it reports', () => {
  const card = modelCard(report());
  assert.match(card, /chance-normalised/);
  assert.match(card, /## Terms\n\n- \*\*chance-normalised retention\*\*: The share of the above-chance accuracy kept: \(pruned − majority\)/);
  assert.match(card, /- \*\*split-half simulation\*\*: How the selection rule is chosen without the test split/);
});

test('model card: a classifier data file that is a hard link says so, and the card says why the classifiers share the encoder', () => {
  const files = [
    { path: 'classifiers/spam/onnx/model.onnx_data', bytes: 2_000_000, linkOf: 'onnx/model.onnx' },
    { path: 'onnx/model.onnx', bytes: 2_000_000 },
  ];
  const card = modelCard(report(), files);
  assert.match(card, /\| `classifiers\/spam\/onnx\/model.onnx_data` \| hard link to `onnx\/model.onnx` \(2.0 MB shared, no extra space on this disk\) \|/);
  assert.match(card, /ONNX Runtime reads external data only from a graph's own folder and refuses symbolic links/);
  assert.doesNotMatch(modelCard(report(), [files[1]]), /hard link/);
});

test('model card says the folder lists a SHA-256 per file and that probescale eval checks them', () => {
  const r = report();
  r.checksums = { algorithm: 'sha256', files: { 'config.json': { bytes: 3, sha256: 'a'.repeat(64) } } };
  assert.match(modelCard(r), /`probescale-report\.json` lists a SHA-256 per file of this folder \(`checksums`\); `probescale eval` checks them first and names any file that changed since the commit\./);
  delete r.checksums;
  assert.doesNotMatch(modelCard(r), /SHA-256/, 'a report without checksums claims none');
});

test('model card: the source line names the ONNX file, or says the graph was built from safetensors weights', () => {
  const r = report();
  assert.match(modelCard(r), /^Source: `\.\.\/tiny-roberta` \(onnx\/model\.onnx\)\. Kept blocks/m);
  r.model.graphFrom = 'safetensors';
  assert.match(modelCard(r), /^Source: `\.\.\/tiny-roberta` \(graph built from its safetensors weights\)\. Kept blocks/m);
});

test('model card: a compensated selection says how it was fitted and why there is no model.safetensors', () => {
  const r = report();
  assert.doesNotMatch(modelCard(r), /Compensation:|No model\.safetensors/);
  r.selection.compensation = { description: 'bridge over dropped blocks' } as NonNullable<typeof r.selection.compensation>;
  const card = modelCard(r);
  assert.ok(card.includes(`\n\nCompensation: **bridge over dropped blocks**, fitted by ridge least squares on training texts (no gradient training).\n\n${SAFETENSORS_NOTE}\n\nMade with:`), card.slice(0, 1500));
  // A report whose commit said what the folder holds for PyTorch: that sentence, not the older general one.
  r.selection.compensation.safetensors = "model.safetensors is the same model for PyTorch: config.json's intermediate_size is 448 (was 1024)";
  const said = modelCard(r);
  assert.ok(said.includes(`(no gradient training).\n\n${r.selection.compensation.safetensors}\n\n`));
  assert.ok(!said.includes(SAFETENSORS_NOTE));
});

test('model card: a pick that keeps no block has no FLOP ideal or efficiency, and says why', () => {
  const r = report();
  const withIdeal = modelCard(r);
  assert.match(withIdeal, /ideal \(FLOP ratio at length \d+\) ×\d/);
  r.verify!.timing.idealSpeedup = null;
  r.verify!.timing.efficiency = null;
  const card = modelCard(r);
  assert.doesNotMatch(card, /efficiency|ideal \(FLOP ratio/);
  assert.match(card, /no FLOP ideal: The pruned model keeps no block: it only looks up embeddings/);
});
