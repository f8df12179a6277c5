// Renders the trade-off figures of docs/RESULTS.md from the checked-in optimize reports, with the
// report editor's own chart code: PNG through headless Chromium (dist/figures.js = TradeoffChart,
// chart.js) and SVG through src/shared/reportCharts.ts (the editor's SVG export).
//
//   npm run build && node scripts/figures.mjs [--results docs/results] [--out docs/figures]
//
// Needs /usr/bin/chromium and playwright-core (installed into .e2e/tools like the e2e tests).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ensureTools } from './e2eTools.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const resultsDir = path.resolve(root, arg('--results', 'docs/results'));
const outDir = path.resolve(root, arg('--out', 'docs/figures'));
const TASKS = ['spam', 'sentlen', 'bshift', 'austen', 'fortune_topic'];
const BUDGETS = ['0.35', '0.5', '0.7'];
const SIZE = { width: 720, height: 420 };

for (const f of ['dist/figures.js', 'out/src/shared/reportCharts.js']) {
  if (!fs.existsSync(path.join(root, f))) throw new Error(`${f} is missing; run npm run build first.`);
}
const charts = require(path.join(root, 'out', 'src', 'shared', 'reportCharts.js'));
const tools = ensureTools(path.join(root, '.e2e', 'tools'));
const { chromium } = require(tools.playwright);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: SIZE.width + 40, height: SIZE.height + 40 }, deviceScaleFactor: 2 });
await page.setContent('<!DOCTYPE html><html><body style="margin:0"></body></html>');
await page.addScriptTag({ path: path.join(root, 'dist', 'figures.js') });

fs.mkdirSync(outDir, { recursive: true });
const written = [];
for (const task of TASKS) {
  for (const budget of BUDGETS) {
    const file = path.join(resultsDir, `${task}-${budget}`, 'probescale-report.json');
    if (!fs.existsSync(file)) {
      console.warn(`skipping ${path.relative(root, file)}: not found`);
      continue;
    }
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    const opts = { task, axis: 'accuracy' };
    const name = `tradeoff-${task}-${budget}`;
    const png = await page.evaluate(({ report, opts, size }) => globalThis.probescaleTradeoffPng(report, opts, size), { report, opts, size: SIZE });
    const series = charts.tradeoffSeries(report, opts);
    // Written beside, then renamed: a figure is never left half-written.
    const write = (ext, data) => {
      const dest = path.join(outDir, `${name}.${ext}`);
      fs.writeFileSync(`${dest}.tmp`, data);
      fs.renameSync(`${dest}.tmp`, dest);
    };
    write('png', Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64'));
    write('svg', charts.tradeoffSvg([{ name: charts.reportLabel(report), series }], charts.LIGHT_SVG_THEME, SIZE));
    // What the picture shows, in numbers: the pick against the best point and the best (non-random) heuristic in the budget.
    const inBudget = series.points.filter((p) => p.params <= report.selection.budget.params);
    const top = Math.max(...inBudget.map((p) => p.y));
    const heuristic = Math.max(...inBudget.filter((p) => p.heuristics.some((h) => !h.startsWith('random'))).map((p) => p.y));
    written.push({ task, budget, points: series.points.length, pick: series.pick, top, heuristic, flat: report.selection.budgetAdvice.perTask[task].fit.a === 0, notes: series.notes });
  }
}
await browser.close();
const pts = (x) => (100 * x).toFixed(1);
for (const w of written) {
  console.log(`${w.task} ${w.budget}: ${w.points} subsets; pick [${w.pick.kept}] ${pts(w.pick.y)} %, top in budget ${pts(w.top)} %, best heuristic ${pts(w.heuristic)} %${w.flat ? '; fitted curve flat (a = 0)' : ''}${w.notes.length ? ` (${w.notes.length} note(s))` : ''}`);
}
const eps = 1e-12;
console.log(`pick is the top point in ${written.filter((w) => w.pick.y >= w.top - eps).length} of ${written.length}; largest gap to the top ${pts(Math.max(...written.map((w) => w.top - w.pick.y)))} points; a heuristic at or above the pick in ${written.filter((w) => w.heuristic >= w.pick.y - eps).length}; flat curves ${written.filter((w) => w.flat).length}`);
console.log(`wrote ${2 * written.length} files to ${path.relative(root, outDir)}`);
