// RESULTS §5c: one markdown row per optimize report (run with --compensate): the pick and its
// compensation, test accuracy, the oracle (each task's best layer on test), the best heuristic
// (the seven plain ones and the two compensated baselines) and the gap with its paired SE.
//   node scripts/compensateTable.mjs docs/results-compensate/bshift-0.35 docs/results-compensate/joint-0.5 …
// Joint reports (several tasks) give the weighted mean test accuracy, as the objective.
import * as fs from 'node:fs';
import * as path from 'node:path';

const pct = (x) => (100 * x).toFixed(1);

function row(dir) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, 'probescale-report.json'), 'utf8'));
  const s = r.selection;
  const tasks = Object.keys(r.tasks);
  const weight = (t) => r.tasks[t].weight ?? 1;
  const wsum = tasks.reduce((a, t) => a + weight(t), 0);
  const oracle = tasks.reduce((a, t) => a + weight(t) * Math.max(...r.tasks[t].layers.map((l) => l.accuracy)), 0) / wsum;
  const test = s.objective.test;
  const best = [...s.baselines].filter((b) => b.testObjective !== null && b.testObjective !== undefined).sort((a, b) => b.testObjective - a.testObjective)[0];
  const gap = best.vsSelected.objective;
  const comp = (b) => b.compensation;
  const cbs = s.baselines.filter(comp).map((b) => `${b.name} ${pct(b.testObjective)}`).join(', ') || 'none fits';
  const pick = `{${s.kept.join(',')}}${s.compensation ? ` + ${s.compensation.description}` : ''} (${s.origin}; ${s.rule.name})`;
  const verdict = gap.diff >= 0 ? 'ahead' : -gap.diff <= gap.se ? 'behind within 1 SE' : 'behind by more than 1 SE';
  const name = tasks.length > 1 ? `${tasks.length} tasks (mean)` : tasks[0];
  return `| ${name}, ${pct(s.budget.fraction)} % | ${pick} | ${pct(s.fraction)} % | ${pct(test)} | ${pct(oracle)} | ${pct(test / oracle)} % | ${best.name} {${best.kept.join(',')}} ${pct(best.testObjective)} | ${gap.diff >= 0 ? '+' : '−'}${pct(Math.abs(gap.diff))} ± ${pct(gap.se)} (${verdict}) | ${cbs} |`;
}

const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error('usage: node scripts/compensateTable.mjs REPORT_DIR...');
  process.exit(1);
}
console.log('| task, budget | pick (origin; rule) | params | test | oracle | vs oracle | best heuristic | pick − it (paired SE) | compensated baselines |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const d of dirs) console.log(row(d));
