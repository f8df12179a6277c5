import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError } from '../../../src/core/errors';
import { normalizeReport, readReport } from '../../../src/core/reportData';
import { repoRoot } from '../../helpers';

// A real compensated optimize report (RESULTS §5c): bshift at 35 % with --compensate all --width-score flap.
const file = path.join(repoRoot, 'docs', 'results-compensate', 'bshift-0.35-flap', 'probescale-report.json');
const json = () => JSON.parse(fs.readFileSync(file, 'utf8'));

test("an optimize report's compensation is read: the pick's bridges and widths, the compensated candidates and baselines", () => {
  const s = readReport(file).selection!;
  assert.deepEqual(s.compensation, { description: 'least-squares bridge into block 2; 4 of 4 heads and 688 of 1024 FFN neurons per block (refitted)', bridges: true, heads: 4, ffnWidth: 688 });
  const byName = Object.fromEntries(s.baselines.map((b) => [b.name, b]));
  assert.deepEqual(byName['replaceme-bridge'].compensation, { description: 'least-squares bridge into block 11', bridges: true });
  assert.deepEqual(byName['flap-uniform'].compensation, { description: '2 of 4 heads and 48 of 1024 FFN neurons per block (refitted)', bridges: false, heads: 2, ffnWidth: 48 });
  assert.equal(byName['shortgpt'].compensation, undefined, 'a heuristic that keeps whole blocks has none');
  const compensated = s.candidates!.filter((c) => c.compensation);
  assert.ok(compensated.length > 0 && compensated.length < s.candidates!.length, 'compensated and plain candidates side by side');
  assert.ok(compensated.every((c) => typeof c.compensation!.bridges === 'boolean'));
  assert.ok(compensated.some((c) => c.compensation!.ffnWidth === 688 && c.compensation!.heads === 4));
  // The same run with the default task-weighted width score records it on its narrowed candidates.
  const task = readReport(path.join(repoRoot, 'docs', 'results-compensate', 'bshift-0.35', 'probescale-report.json')).selection!;
  assert.equal(task.compensation!.score, 'task');
  assert.equal(Object.fromEntries(task.baselines.map((b) => [b.name, b]))['flap-uniform'].compensation!.score, undefined, "the FLAP-style baseline keeps FLAP's score");
});

test("the pick's account of what its folder holds for PyTorch reaches the views (reports from before it have none)", () => {
  const r = json();
  assert.equal(normalizeReport(r, file).selection!.compensation!.safetensors, undefined);
  r.selection.compensation.safetensors = "model.safetensors is the same model for PyTorch: config.json's intermediate_size is 448 (was 1024)";
  assert.equal(normalizeReport(r, file).selection!.compensation!.safetensors, r.selection.compensation.safetensors);
});

test('a damaged compensation field is refused with a message naming it', () => {
  const damage: [string, (r: ReturnType<typeof json>) => void, RegExp][] = [
    ['pick heads', (r) => (r.selection.compensation.heads = -1), /"selection\.compensation\.heads" is -1; expected a whole number ≥ 1/],
    ['pick bridges', (r) => (r.selection.compensation.bridges = 'yes'), /"selection\.compensation\.bridges" is "yes"; expected true or false/],
    ['pick description', (r) => delete r.selection.compensation.description, /"selection\.compensation\.description" is missing/],
    ['pick not an object', (r) => (r.selection.compensation = 'bridge'), /"selection\.compensation" is "bridge"; expected an object/],
    ['baseline width', (r) => (r.selection.baselines.find((b: { name: string }) => b.name === 'flap-uniform').compensation.ffnWidth = 2.5), /"selection\.baselines\[\d+\] \(flap-uniform\)\.compensation\.ffnWidth" is 2\.5/],
    ['candidate window', (r) => (r.selection.candidates.find((c: { compensation?: unknown }) => c.compensation).compensation.window = 2), /"selection\.candidates\[\d+\]\.compensation\.window" is 2; expected 1 or 3/],
    ['pick score', (r) => (r.selection.compensation.score = 'fisher'), /"selection\.compensation\.score" is "fisher"; expected flap, task or mixed/],
  ];
  for (const [what, change, re] of damage) {
    const r = json();
    change(r);
    assert.throws(() => normalizeReport(r, file), (e: Error) => e instanceof BadInputError && e.message.startsWith(`${file} has a damaged field: `) && re.test(e.message), what);
  }
});

test('a quantized variant re-measured by verify is read; a malformed one is left out like other optional parts', () => {
  const r = json();
  const q = { file: 'onnx/model_quantized.onnx', method: 'dynamic int8', perTask: { bshift: { float: { accuracy: 0.65, macroF1: 0.65 }, measured: { accuracy: 0.64, macroF1: 0.64 }, difference: -0.01 } } };
  r.verify.quantized = q;
  assert.deepEqual(normalizeReport(r, file).verify!.quantized, q);
  r.verify.quantized = { ...q, perTask: { bshift: { float: { accuracy: 0.65 } } } };
  const v = normalizeReport(r, file).verify!;
  assert.equal(v.quantized, undefined);
  assert.equal(v.allEqual, true, 'the rest of verify still reads');
});

test('baselines that did not fit the budget reach the panel with their reasons; malformed entries are left out', () => {
  const r = json();
  const why = 'it keeps the whole word table, with which the model without blocks already has 2,131,200 parameters (18.4 %)';
  r.selection.unfitBaselines = [{ name: 'drop-top', reason: why }, { name: 'gromov' }, 'flap-uniform'];
  const s = normalizeReport(r, file).selection!;
  assert.deepEqual(s.unfitBaselines, [{ name: 'drop-top', reason: why }]);
  assert.equal(normalizeReport(json(), file).selection!.unfitBaselines, undefined, 'absent where every baseline fits');
});
