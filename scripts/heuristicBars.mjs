// RESULTS §5h: each optimize report's pick against two bars. The bar is the heuristic best
// on the test split (the maximum over every baseline's test accuracy, random ones included, as in
// compensateTable.mjs); the other is the published heuristic (not random) best in cross-validation
// on the training split, the one a user choosing among heuristics without test labels would ship.
// Gaps are ProbeScale minus the baseline on the same test rows, ± one paired SE.
//   node scripts/heuristicBars.mjs docs/results-compensate/spam-0.35 …
import * as fs from 'node:fs';
import * as path from 'node:path';

const pct = (x) => (100 * x).toFixed(1);
const gap = (b) => {
  const o = b.vsSelected.objective;
  const verdict = o.diff >= 0 ? 'ahead or level' : -o.diff <= o.se ? 'behind within 1 SE' : 'behind by more than 1 SE';
  return `${o.diff >= 0 ? '+' : '−'}${pct(Math.abs(o.diff))} ± ${pct(o.se)} (${verdict})`;
};

const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error('usage: node scripts/heuristicBars.mjs REPORT_DIR...');
  process.exit(1);
}
console.log('| task, budget | pick test | best heuristic on test | gap | best published heuristic in CV (CV / test) | gap |');
console.log('|---|---|---|---|---|---|');
for (const dir of dirs) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, 'probescale-report.json'), 'utf8'));
  const s = r.selection;
  const tasks = Object.keys(r.tasks);
  const testBest = s.baselines.reduce((a, b) => (b.testObjective > a.testObjective ? b : a));
  const cvBest = s.baselines.filter((b) => !b.name.startsWith('random')).reduce((a, b) => (b.validation > a.validation || (b.validation === a.validation && b.params < a.params) ? b : a));
  const name = tasks.length > 1 ? `${tasks.length} tasks` : tasks[0];
  console.log(`| ${name}, ${pct(s.budget.fraction)} % | ${pct(s.objective.test)} | ${testBest.name} ${pct(testBest.testObjective)} | ${gap(testBest)} | ${cvBest.name} {${cvBest.kept.join(',')}} (${pct(cvBest.validation)} / ${pct(cvBest.testObjective)}) | ${gap(cvBest)} |`);
}
