// RESULTS §5i: how hard the per-task bar is. At each (task, budget) report the bar is the
// maximum of every baseline's test accuracy. This counts, for ProbeScale's pick and for each
// baseline on its own, the points where it is ≥ the best of the (other) baselines on test.
//   node scripts/barCounts.mjs docs/results-compensate/spam-0.35-e32 …
import * as fs from 'node:fs';
import * as path from 'node:path';

const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error('usage: node scripts/barCounts.mjs REPORT_DIR...');
  process.exit(1);
}
const wins = new Map([['ProbeScale (the pick)', 0]]);
for (const dir of dirs) {
  const { baselines, objective } = JSON.parse(fs.readFileSync(path.join(dir, 'probescale-report.json'), 'utf8')).selection;
  const best = Math.max(...baselines.map((b) => b.testObjective));
  if (objective.test >= best) wins.set('ProbeScale (the pick)', wins.get('ProbeScale (the pick)') + 1);
  for (const b of baselines) {
    const others = Math.max(...baselines.filter((o) => o !== b).map((o) => o.testObjective));
    wins.set(b.name, (wins.get(b.name) ?? 0) + (b.testObjective >= others ? 1 : 0));
  }
}
console.log(`| method | points ≥ the best baseline on test (of ${dirs.length}) |`);
console.log('|---|---|');
for (const [name, n] of [...wins].sort((a, b) => b[1] - a[1])) console.log(`| ${name} | ${n} |`);
