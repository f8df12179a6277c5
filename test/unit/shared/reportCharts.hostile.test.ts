/** Trade-off charts of hand-edited reports: axes stay finite, the SVG has no NaN or Infinity. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readReport } from '../../../src/core/reportData';
import type { ReportData } from '../../../src/shared/protocol';
import { exportFileName, isExportName, tradeoffRange, tradeoffSeries, tradeoffSvg, type TradeoffAxis } from '../../../src/shared/reportCharts';
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

test('export file names are ones the host accepts, whatever the model folder is called (before, a long or dotted name made every export fail)', () => {
  const named = (dir: string, kind = 'optimize'): ReportData => ({ ...report(), model: { ...report().model, dir }, kind });
  assert.equal(exportFileName(named('/w/tiny-roberta'), 'tradeoff', 'png'), 'tiny-roberta-optimize-95-tradeoff.png');
  const hostile: [string, string?][] = [['/w/' + 'long-model-name-'.repeat(20)], ['/w/.hidden-model'], ['/w/..'], ['/w/ü 模型 <b>'], ['/'], ['/w/m', '<script>'.repeat(600)]];
  for (const [dir, kind] of hostile) {
    for (const ext of ['png', 'svg', 'md'] as const) {
      const name = exportFileName(named(dir, kind), 'heatmap', ext);
      assert.ok(isExportName(name, ext), `${dir.slice(0, 40)} → ${name}`);
      assert.ok(name.endsWith(`-heatmap.${ext}`), name);
    }
  }
  assert.ok(!isExportName('x.exe', 'png') && !isExportName('.x.png', 'png') && !isExportName('../x.png', 'png') && !isExportName(`${'x'.repeat(120)}.png`, 'png'));
});
