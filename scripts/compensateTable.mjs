// RESULTS §5c: one markdown row per optimize report (run with --compensate): the pick and its
// compensation, test accuracy, the oracle (each task's best layer on test), the best heuristic
// (the seven plain ones and the two compensated baselines) and the gap with its paired SE.
//   node scripts/compensateTable.mjs docs/results-compensate/bshift-0.35 docs/results-compensate/joint-0.5 …
// Joint reports (several tasks) give the weighted mean test accuracy, as the objective.
// With --why, one line per report instead (RESULTS §5d, why a point is missed): the pick's and
// the best heuristic's CV scores, how many candidates are within one CV SE of the top CV score
// (binomial SE of the pick's per-task CV accuracies, weighted) and how many of those are
// compensated, and what the split-half simulation expected of the chosen rule.
import * as fs from 'node:fs';
import * as path from 'node:path';

const pct = (x) => (100 * x).toFixed(1);

/** A report's selection, its tasks with their weights, and the heuristic best on test. */
function load(dir) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, 'probescale-report.json'), 'utf8'));
  const s = r.selection;
  const tasks = Object.keys(r.tasks);
  const weight = (t) => r.tasks[t].weight ?? 1;
  const wsum = tasks.reduce((a, t) => a + weight(t), 0);
  const best = s.baselines.filter((b) => b.testObjective != null).sort((a, b) => b.testObjective - a.testObjective)[0];
  return { r, s, tasks, weight, wsum, best };
}

function row(dir) {
  const { r, s, tasks, weight, wsum, best } = load(dir);
  const oracle = tasks.reduce((a, t) => a + weight(t) * Math.max(...r.tasks[t].layers.map((l) => l.accuracy)), 0) / wsum;
  const test = s.objective.test;
  // Below the whole-table floor (--embedding-rank) the plain baselines do not fit; with none that fits there is no gap.
  const unfit = s.unfitBaselines?.length ? ` (${s.unfitBaselines.length} do not fit the budget)` : '';
  if (!best) return `| ${tasks.length > 1 ? `${tasks.length} tasks (mean)` : tasks[0]}, ${pct(s.budget.fraction)} % | {${s.kept.join(',')}}${s.compensation ? ` + ${s.compensation.description}` : ''} (${s.origin}; ${s.rule.name}) | ${pct(s.fraction)} % | ${pct(s.objective.test)} | ${pct(oracle)} | ${pct(s.objective.test / oracle)} % | none fits${unfit} | – | none fits |`;
  const gap = best.vsSelected.objective;
  const comp = (b) => b.compensation;
  const cbs = s.baselines.filter(comp).map((b) => `${b.name} ${pct(b.testObjective)}`).join(', ') || 'none fits';
  const pick = `{${s.kept.join(',')}}${s.compensation ? ` + ${s.compensation.description}` : ''} (${s.origin}; ${s.rule.name})`;
  const verdict = gap.diff >= 0 ? 'ahead' : -gap.diff <= gap.se ? 'behind within 1 SE' : 'behind by more than 1 SE';
  const name = tasks.length > 1 ? `${tasks.length} tasks (mean)` : tasks[0];
  return `| ${name}, ${pct(s.budget.fraction)} % | ${pick} | ${pct(s.fraction)} % | ${pct(test)} | ${pct(oracle)} | ${pct(test / oracle)} % | ${best.name} {${best.kept.join(',')}} ${pct(best.testObjective)}${unfit} | ${gap.diff >= 0 ? '+' : '−'}${pct(Math.abs(gap.diff))} ± ${pct(gap.se)} (${verdict}) | ${cbs} |`;
}

function why(dir) {
  const { r, s, tasks, weight: w, wsum, best } = load(dir);
  const mine = s.candidates.find((c) => c.kept.join() === s.kept.join() && c.perTask && c.validation === s.objective.validation);
  const cvOf = (t) => (mine ? mine.perTask[t] : s.objective.validation);
  const se = Math.sqrt(tasks.reduce((a, t) => a + (w(t) ** 2 * cvOf(t) * (1 - cvOf(t))) / r.tasks[t].nTrain, 0)) / wsum;
  const top = Math.max(...s.candidates.map((c) => c.validation));
  const near = s.candidates.filter((c) => c.validation >= top - se);
  const sim = s.rule.simulation;
  const chosen = sim?.rules.find((x) => x.rule === sim.best);
  const simText = chosen && sim.heuristics === 0 ? `; simulation: ${sim.best}, no heuristic in the budget to set a bar` : chosen ? `; simulation: ${sim.best} ≥ the best heuristic in ${(100 * chosen.atLeastBestHeuristic).toFixed(0)} % of ${sim.repeats} repeats, mean ${chosen.vsBestHeuristic >= 0 ? '+' : '−'}${pct(Math.abs(chosen.vsBestHeuristic))} points` : '';
  return `${path.basename(dir)}: pick {${s.kept.join(',')}} ${s.compensation ? 'compensated' : 'plain'} CV ${pct(s.objective.validation)} test ${pct(s.objective.test)}; ${best ? `best heuristic on test ${best.name} {${best.kept.join(',')}} CV ${pct(best.validation)} test ${pct(best.testObjective)}` : 'no baseline fits the budget'}${s.unfitBaselines?.length ? ` (${s.unfitBaselines.length} baselines do not fit: ${s.unfitBaselines.map((u) => u.name).join(', ')})` : ''}; ${near.length} of ${s.candidates.length} candidates within one CV SE (${pct(se)}) of the top CV ${pct(top)}, ${near.filter((c) => c.compensation).length} compensated${simText}`;
}

const args = process.argv.slice(2);
const whyMode = args[0] === '--why';
const dirs = whyMode ? args.slice(1) : args;
if (!dirs.length) {
  console.error('usage: node scripts/compensateTable.mjs [--why] REPORT_DIR...');
  process.exit(1);
}
if (whyMode) {
  for (const d of dirs) console.log(why(d));
  process.exit(0);
}
console.log('| task, budget | pick (origin; rule) | params | test | oracle | vs oracle | best heuristic | pick − it (paired SE) | compensated baselines |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const d of dirs) console.log(row(d));
