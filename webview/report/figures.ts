/**
 * Entry of dist/figures.js, loaded by scripts/figures.mjs into headless Chromium: draws a
 * report's trade-off chart with the editor's own chart code (TradeoffChart) on a light theme and
 * returns the PNG, so docs/figures/ are the same pictures the editor shows.
 */
import type { ReportData } from '../../src/shared/protocol';
import { LIGHT_SVG_THEME, reportLabel, tradeoffSeries, type TradeoffOptions } from '../../src/shared/reportCharts';
import { TradeoffChart } from './tradeoffChart';

declare global {
  interface Window {
    probescaleTradeoffPng(report: ReportData, opts: TradeoffOptions, size: { width: number; height: number }): string;
  }
}

window.probescaleTradeoffPng = (report, opts, size) => {
  const series = tradeoffSeries(report, opts);
  if (!series) throw new Error('the report has no selection (not an optimize report)');
  const box = document.createElement('div');
  box.style.width = `${size.width}px`;
  box.style.height = `${size.height}px`;
  const canvas = document.createElement('canvas');
  box.append(canvas);
  document.body.replaceChildren(box);
  const chart = new TradeoffChart(canvas, () => {}, () => {});
  const t = LIGHT_SVG_THEME;
  // The markers are named in the key beside the plot; the title stays within the plot's width.
  const title = `${opts.task ?? 'task-weighted'} · budget ${(100 * series.budget).toFixed(0)} % · ${series.points.length} measured subsets`;
  chart.update([{ name: reportLabel(report), series }], { foreground: t.foreground, grid: t.grid, series: t.series, font: t.font, fontSize: 12 }, () => report.model.params.total, title);
  return chart.toPng(t.background);
};
