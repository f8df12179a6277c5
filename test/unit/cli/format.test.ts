import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatOptimizeReport } from '../../../src/cli/format';
import { repoRoot } from '../../helpers';

test('the optimize table stays aligned with baseline names and compensation marks longer than its default columns', () => {
  // A kept report of `--embedding-rank auto`: drop-top-factorised-r16 (23 characters) and "0,2,3,4,7 +bridge+h4/f272+e16" (29).
  const report = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'results-compensate', 'bshift-vocab-0.2-auto', 'probescale-report.json'), 'utf8'));
  const lines = formatOptimizeReport(report).split('\n');
  const header = lines.findIndex((l) => l.startsWith(' method'));
  const rows = lines.slice(header + 1, lines.indexOf('', header));
  assert.equal(rows.length, 1 + report.selection.baselines.length);
  assert.ok(rows.some((r) => r.startsWith(' drop-top-factorised-r16 ')));
  const column = (l: string) => l.search(/\d+\.\d%/);
  for (const r of rows) assert.equal(column(r), column(rows[0]), `params column of: ${r}`);
  for (const r of rows) assert.equal(r.indexOf('%'), rows[0].indexOf('%'), r);
  assert.equal(lines[header].indexOf('kept blocks'), rows[0].indexOf('0,2,3,4,7'), 'the kept-blocks header over its column');
});
