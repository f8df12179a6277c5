// RESULTS §5h: the same optimize run before and after the `heuristic` selection rule, one markdown
// row per (task, budget): what the split-half simulation (training rows only) gave each rule, the
// rule auto took, the pick and its test accuracy, and the gap to the heuristic best on test.
//   node scripts/ruleTable.mjs BEFORE_DIR AFTER_DIR [BEFORE_DIR AFTER_DIR …]
import * as fs from 'node:fs';
import * as path from 'node:path';

const pct = (x) => (100 * x).toFixed(1);
const signed = (g) => `${g.diff >= 0 ? '+' : '−'}${pct(Math.abs(g.diff))} ± ${pct(g.se)}`;

function load(dir) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, 'probescale-report.json'), 'utf8'));
  const s = r.selection;
  const tasks = Object.keys(r.tasks);
  const best = s.baselines.filter((b) => b.testObjective != null).sort((a, b) => b.testObjective - a.testObjective)[0];
  return { s, name: tasks.length > 1 ? `${tasks.length} tasks` : tasks[0], best };
}

const pick = (s) => `{${s.kept.join(',')}}${s.compensation ? ' +comp' : ''} (${s.origin.replace('baseline:', '')})`;

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2) {
  console.error('usage: node scripts/ruleTable.mjs BEFORE_DIR AFTER_DIR [BEFORE_DIR AFTER_DIR …]');
  process.exit(1);
}
console.log('| task, budget | simulation, held-out % (max-accuracy / one-se / max-loglik / heuristic) | rule before → after | pick before → after | test before → after | best heuristic on test | gap before → after (paired SE) |');
console.log('|---|---|---|---|---|---|---|');
for (let i = 0; i < args.length; i += 2) {
  const a = load(args[i]);
  const b = load(args[i + 1]);
  const sims = ['max-accuracy', 'one-se', 'max-loglik', 'heuristic'].map((rule) => {
    const x = b.s.rule.simulation.rules.find((r) => r.rule === rule);
    return x ? pct(x.heldOutAccuracy) : '–';
  });
  const row = [
    `${b.name}, ${pct(b.s.budget.fraction)} %`,
    sims.join(' / '),
    `${a.s.rule.name} → ${b.s.rule.name}`,
    `${pick(a.s)} → ${pick(b.s)}`,
    `${pct(a.s.objective.test)} → ${pct(b.s.objective.test)}`,
    `${b.best.name} {${b.best.kept.join(',')}} ${pct(b.best.testObjective)}`,
    `${signed(a.best.vsSelected.objective)} → ${signed(b.best.vsSelected.objective)}`,
  ];
  console.log(`| ${row.join(' | ')} |`);
}
