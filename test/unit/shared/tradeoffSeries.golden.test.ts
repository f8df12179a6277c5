/**
 * tradeoffSeries (src/shared/reportCharts.ts) pinned when it was split into stages (thirteenth
 * session): the whole series (points, labels, curve, band, lines, notes) for each fixture report,
 * task and axis, and for reports without measured subsets, without the cross-validated reference
 * or with thousands of baselines and subsets, as digests.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readReport } from '../../../src/core/reportData';
import { tradeoffSeries } from '../../../src/shared/reportCharts';
import { manyBaselines, optimizeJson, read } from '../../hugeReports';
import { fixture } from '../../helpers';
import type { ReportData } from '../../../src/shared/protocol';

const sha = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

/** Every task and axis of `report`, one digest. */
function all(report: ReportData): string {
  const out: unknown[] = [];
  for (const task of [null, ...Object.keys(report.tasks)]) for (const axis of ['accuracy', 'vsFinal', 'vsBest'] as const) out.push(tradeoffSeries(report, { task, axis }));
  return sha(out);
}

test('tradeoffSeries gives the same series as before', () => {
  const got: Record<string, string> = {};
  for (const f of ['reports/tiny-roberta-optimize.json', 'reports/older-spam-0.35.json', 'reports-before/optimize-tiny-roberta.json', 'reports-before/optimize-tiny-bert-vocab.json', 'reports-before/probe-tiny-bert.json']) {
    got[f] = all(readReport(fixture(...f.split('/'))));
  }
  const noCandidates = optimizeJson();
  delete noCandidates.selection.candidates;
  got.noCandidates = all(read(noCandidates));
  const noReference = optimizeJson();
  delete noReference.selection.validationReference;
  got.noReference = all(read(noReference));
  got.manyBaselines = all(read(manyBaselines(300)));
  assert.deepEqual(got, {
    'reports/tiny-roberta-optimize.json': '24c9108447dace31',
    'reports/older-spam-0.35.json': '708778e5fe05d2d0',
    'reports-before/optimize-tiny-roberta.json': '8adabd6a6f155d49',
    'reports-before/optimize-tiny-bert-vocab.json': 'b40e32c35a455e3c',
    'reports-before/probe-tiny-bert.json': 'c9ac51d80592c850',
    noCandidates: '0348e8fae5107e86',
    noReference: 'bb725e530fe00474',
    manyBaselines: '31c016c863fea36a',
  });
});
