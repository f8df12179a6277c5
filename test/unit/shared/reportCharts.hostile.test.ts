/** Trade-off charts of hand-edited reports: axes stay finite, the SVG has no NaN or Infinity. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readReport } from '../../../src/core/reportData';
import type { ReportData } from '../../../src/shared/protocol';
import { tradeoffRange, tradeoffSeries, tradeoffSvg, type TradeoffAxis } from '../../../src/shared/reportCharts';
import { fixture } from '../../helpers';

const report = () => readReport(fixture('reports', 'tiny-roberta-optimize.json'));

function drawAll(r: ReportData, what: string): void {
  for (const axis of ['accuracy', 'vsFinal', 'vsBest'] as TradeoffAxis[]) {
    for (const task of [null, ...Object.keys(r.tasks)]) {
      const s = tradeoffSeries(r, { task, axis })!;
      const where = `${what}, ${axis}, ${task ?? 'task-weighted'}`;
      assert.ok(s.points.every((p) => Number.isFinite(p.y)), `${where}: every point on the axis`);
      const range = tradeoffRange([s]);
      assert.ok([...range.x, ...range.y].every(Number.isFinite) && range.y[0] < range.y[1], `${where}: axes ${JSON.stringify(range)}`);
      assert.doesNotMatch(tradeoffSvg([{ name: 'r', series: s }]), /NaN|Infinity/, where);
    }
  }
}

test('trade-off: a reference accuracy of 0 or a task missing from the references draws finite axes, not NaN', () => {
  drawAll(report(), 'as written');
  const zero = report();
  for (const ref of Object.values(zero.selection!.validationReference!)) ref.final = 0;
  drawAll(zero, 'final reference 0');
  const missing = report();
  delete missing.selection!.validationReference!.bshift;
  drawAll(missing, 'bshift without a reference');
});
