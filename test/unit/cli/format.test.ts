import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatOptimizeReport, formatProbeReport, perBlockWords } from '../../../src/cli/format';
import type { ProbeReport } from '../../../src/core/report';
import { repoRoot } from '../../helpers';

test('the optimize table stays aligned with baseline names and compensation marks longer than its default columns', () => {
  // A kept report of `--embedding-rank auto`: drop-top-factorised-r16 (23 characters) and "0,2,3,4,7 +bridge+h4/f272+e16" (29).
  const report = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'results-compensate', 'bshift-vocab-0.2-auto', 'probescale-report.json'), 'utf8'));
  const lines = formatOptimizeReport(report).split('\n');
  const header = lines.findIndex((l) => l.startsWith(' method'));
  const table = lines.slice(header + 1, lines.indexOf('', header));
  // Under the rows, each baseline that could not follow its rule as published: its note, after a † on its name.
  const rows = table.filter((l) => !l.startsWith(' † '));
  const noted = report.selection.baselines.filter((b: { note?: string }) => b.note);
  assert.ok(noted.length > 0);
  assert.deepEqual(table.slice(rows.length), noted.map((b: { name: string; note: string }) => ` † ${b.name}: ${b.note}.`));
  for (const b of noted) assert.ok(rows.some((r) => r.startsWith(` ${b.name} † `)), b.name);
  assert.equal(rows.length, 1 + report.selection.baselines.length);
  assert.ok(rows.some((r) => r.startsWith(' drop-top-factorised-r16 ')));
  const column = (l: string) => l.search(/\d+\.\d%/);
  for (const r of rows) assert.equal(column(r), column(rows[0]), `params column of: ${r}`);
  for (const r of rows) assert.equal(r.indexOf('%'), rows[0].indexOf('%'), r);
  assert.equal(lines[header].indexOf('kept blocks'), rows[0].indexOf('0,2,3,4,7'), 'the kept-blocks header over its column');
});

test('verify line: a pick that keeps no block prints no FLOP ideal (was "ideal ×8019.40")', () => {
  const report = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'results-2k', 'spam-0.35', 'probescale-report.json'), 'utf8'));
  report.verify.timing.idealSpeedup = null;
  report.verify.timing.efficiency = null;
  const line = formatOptimizeReport(report).split('\n').find((l) => l.startsWith('verify:'))!;
  assert.match(line, /batch 32 ×[\d.]+ \(no FLOP ideal: no block kept\)$/);
});

test('eval of a committed folder says whether each task scores as its report claims', () => {
  const task = { labels: ['a', 'b'], nTrain: 40, nTest: 10, pooling: 'mean', majority: 0.5, weight: 1, layers: [], bestLayer: 4, final: { accuracy: 0.7, macroF1: 0.6 } };
  const report = { model: { architecture: 'bert', numLayers: 4, hiddenSize: 32, params: { total: 1, embeddings: 1, perBlock: [0], other: 0 } }, provider: 'cpu', tasks: { same: task, edited: task, unclaimed: task } } as unknown as ProbeReport;
  const text = formatProbeReport(report, { same: 0.7, edited: 0.9 });
  assert.match(text, /same: .*\n.*\n {2}final \(as shipped\): acc 70\.0 %, F1 60\.0 % \(as committed\)/);
  assert.match(text, /edited: .*\n.*\n {2}final \(as shipped\): acc 70\.0 %, F1 60\.0 % \(the committed report claims 90\.0 %\)/);
  assert.match(text, /unclaimed: .*\n.*\n {2}final \(as shipped\): acc 70\.0 %, F1 60\.0 %\n/);
});

test('the model line says no per-block size for a model without blocks, and a range where narrowed blocks differ', () => {
  assert.equal(perBlockWords([]), '');
  assert.equal(perBlockWords([789760, 789760]), ', 789,760 per block');
  assert.equal(perBlockWords([789760, 396544]), ', 396,544–789,760 per block');
});

test('probe: a task no layer learns is said under its table', () => {
  const layer = (i: number, accuracy: number) => ({ layer: i, accuracy, macroF1: 0.46, controlAccuracy: 0.865, selectivity: 0, c: 0.01, cvAccuracy: 0.86 });
  const task = (accs: number[]) => ({ labels: ['diff', 'same'], nTrain: 400, nTest: 200, pooling: 'mean', majority: 0.865, weight: 1, layers: accs.map((a, i) => layer(i, a)), bestLayer: 0 });
  const report = { model: { architecture: 'roberta', numLayers: 2, hiddenSize: 256, params: { total: 1, embeddings: 1, perBlock: [0, 0], other: 0 } }, provider: 'cpu', tasks: { pair: task([0.865, 0.865, 0.86]), learnt: task([0.865, 0.87, 0.86]) } } as unknown as ProbeReport;
  const text = formatProbeReport(report);
  assert.match(text, /\n {5}2 {3}86\.0 .*\n {2}! no layer is above the majority class \(86\.5 %\) on the test rows: the probes learn nothing from pair as given\. Check its labels, or give it more training rows\.\n/);
  assert.equal(text.match(/no layer is above/g)?.length, 1, 'a task one layer beats is not called out');
});
