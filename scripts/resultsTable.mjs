// Renders the ProbeScale-vs-baselines tables of docs/RESULTS.md from committed folders'
// probescale-report.json files. Usage: node scripts/resultsTable.mjs DIR [DIR ...]
import * as fs from 'node:fs';
import * as path from 'node:path';

const pct = (x) => (100 * x).toFixed(1);
const blocks = (k) => (k.length ? k.join(',') : '–');
const out = [];
let points = 0;
let wins = 0;
const losses = [];
const heuristics = (s) => s.baselines.filter((b) => !b.name.startsWith('random'));
// Head to head: ProbeScale against each heuristic on every (budget, task) point; a gap inside
// one paired standard error (same test rows, from the report's vsSelected) counts as a tie.
const h2h = new Map();
const gapText = (g) => `${g.diff >= 0 ? '+' : '−'}${pct(Math.abs(g.diff))} ± ${pct(g.se)}`;
function tally(b, task) {
  const g = b.vsSelected.perTask[task];
  const r = h2h.get(b.name) ?? { w: 0, t: 0, l: 0, W: 0, L: 0 };
  if (Math.abs(g.diff) <= g.se) r.t++;
  else if (g.diff > 0) r.w++;
  else r.l++;
  if (g.diff > 1e-12) r.W++;
  else if (g.diff < -1e-12) r.L++;
  h2h.set(b.name, r);
}
/** The heuristics with the highest test accuracy on `task`, and ProbeScale's paired gap to the first. */
function bestHeuristic(s, task) {
  const hs = heuristics(s);
  const best = Math.max(...hs.map((x) => x.test[task].accuracy));
  const top = hs.filter((x) => x.test[task].accuracy === best);
  return { best, names: top.map((x) => x.name).join(', '), gap: top[0].vsSelected.perTask[task] };
}
const rules = new Map();
function ruleOf(s) {
  rules.set(s.rule.name, (rules.get(s.rule.name) ?? 0) + 1);
  return s.rule.name;
}
function headToHead() {
  out.push(`Selection rule picked by the split-half simulation on training rows: ${[...rules].map(([k, v]) => `${k} ${v}×`).join(', ')}.`);
  out.push('');
  out.push('Head to head (test accuracy; "within 1 SE" = the gap is inside one paired standard error, computed on the same test rows):');
  out.push('');
  out.push('| heuristic | ProbeScale higher | equal | lower | ProbeScale clearly better (> 1 SE) | within 1 SE | clearly worse |');
  out.push('|---|---|---|---|---|---|---|');
  for (const [name, r] of h2h) {
    const total = r.w + r.t + r.l;
    out.push(`| ${name} | ${r.W} | ${total - r.W - r.L} | ${r.L} | ${r.w} | ${r.t} | ${r.l} |`);
  }
}

if (process.argv[2] === '--per-task') {
  // One row per (task, budget): each task optimised alone.
  const root = process.argv[3];
  const bi = process.argv.indexOf('--budgets');
  const budgets = bi > 0 ? process.argv[bi + 1].split(',') : ['0.35', '0.5', '0.7'];
  const names = ['drop-top', 'drop-bottom', 'alternate', 'symmetric', 'dalvi-prefix', 'shortgpt', 'gromov'];
  out.push(`| task | budget % | unpruned final | ProbeScale (kept blocks; params %) | rule | ret. vs final / best layer | ${names.join(' | ')} | random (mean of 3) |`);
  out.push(`|---|---|---|---|---|---|${names.map(() => '---').join('|')}|---|`);
  for (const t of ['spam', 'bshift', 'sentlen', 'austen', 'fortune_topic']) {
    for (const b of budgets) {
      const f = path.join(root, `${t}-${b}`, 'probescale-report.json');
      if (!fs.existsSync(f)) continue;
      const s = JSON.parse(fs.readFileSync(f, 'utf8')).selection;
      const ps = s.perTask[t];
      const cell = (name) => {
        const x = s.baselines.find((y) => y.name === name);
        return x ? pct(x.test[t].accuracy) : '–';
      };
      const rnd = s.baselines.filter((x) => x.name.startsWith('random'));
      const rndMean = rnd.reduce((a, x) => a + x.test[t].accuracy, 0) / Math.max(1, rnd.length);
      out.push(`| ${t} | ${pct(s.budget.fraction)} | ${pct(ps.reference.final.accuracy)} | **${pct(ps.test.accuracy)}** (${blocks(s.kept)}; ${pct(s.fraction)}) | ${ruleOf(s)} | ${pct(ps.retention.vsFinal)} / ${pct(ps.retention.vsBestLayer)} | ${names.map(cell).join(' | ')} | ${pct(rndMean)} |`);
      points++;
      for (const h of heuristics(s)) tally(h, t);
      const bh = bestHeuristic(s, t);
      if (ps.test.accuracy >= bh.best - 1e-12) wins++;
      else losses.push(`${t} at ${pct(s.budget.fraction)} %: ProbeScale ${pct(ps.test.accuracy)} (${blocks(s.kept)}, ${s.origin}) vs best heuristic ${pct(bh.best)} (${bh.names}); gap ${gapText(bh.gap)} points`);
    }
  }
  out.push('');
  out.push(`ProbeScale ≥ the best (non-random) heuristic on ${wins} of ${points} (task, budget) points.`);
  for (const l of losses) out.push(`- behind: ${l}`);
  out.push('');
  headToHead();
  console.log(out.join('\n'));
  process.exit(0);
}

const objectiveLines = [];
let objectiveWins = 0;
for (const dir of process.argv.slice(2)) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, 'probescale-report.json'), 'utf8'));
  const s = r.selection;
  const tasks = Object.keys(s.perTask);
  out.push(`### Budget ${pct(s.budget.fraction)} % (${s.budget.params.toLocaleString('en-US')} parameters)`);
  out.push('');
  out.push(`Test accuracy % per task (retention vs the unpruned final layer in parentheses); weighted means. ProbeScale's pick came from: ${s.origin}; rule ${ruleOf(s)} (split-half simulation on training rows: ${s.rule.simulation.rules.map((x) => `${x.rule} ${pct(x.heldOutAccuracy)} %`).join(', ')}).`);
  out.push('');
  out.push(`| method | kept blocks | params % | ${tasks.join(' | ')} | ret. vs final | vs best layer | chance-norm. | ProbeScale − this, weighted (points ± paired SE) |`);
  out.push(`|---|---|---|${tasks.map(() => '---').join('|')}|---|---|---|---|`);
  out.push(`| unpruned (final layer) | all ${r.model.numLayers} | 100.0 | ${tasks.map((t) => pct(s.perTask[t].reference.final.accuracy)).join(' | ')} | 100.0 | | | |`);
  const row = (name, kept, frac, test, ret, per, gap) =>
    out.push(`| ${name} | ${blocks(kept)} | ${pct(frac)} | ${tasks.map((t) => `${pct(test[t].accuracy)} (${pct(per[t].vsFinal)})`).join(' | ')} | ${pct(ret.vsFinal)} | ${pct(ret.vsBestLayer)} | ${pct(ret.chanceNormalized)} | ${gap ? gapText(gap) : ''} |`);
  const psTest = Object.fromEntries(tasks.map((t) => [t, s.perTask[t].test]));
  const psRet = Object.fromEntries(tasks.map((t) => [t, s.perTask[t].retention]));
  row('**ProbeScale**', s.kept, s.fraction, psTest, s.retention, psRet);
  for (const b of s.baselines) row(b.name, b.kept, b.fraction, b.test, b.meanRetention, b.retention, b.vsSelected.objective);
  const eo = s.embeddingOnly;
  out.push(`| embeddings only | – | ${pct(s.candidates.find((c) => c.kept.length === 0)?.fraction ?? 0)} | ${tasks.map((t) => pct(eo.test[t].accuracy)).join(' | ')} | ${pct(eo.retention.vsFinal)} | ${pct(eo.retention.vsBestLayer)} | ${pct(eo.retention.chanceNormalized)} | |`);
  out.push('');
  for (const t of tasks) {
    points++;
    for (const h of heuristics(s)) tally(h, t);
    const bh = bestHeuristic(s, t);
    if (s.perTask[t].test.accuracy >= bh.best - 1e-12) wins++;
    else losses.push(`${pct(s.budget.fraction)} % / ${t}: ProbeScale ${pct(s.perTask[t].test.accuracy)} vs best heuristic ${pct(bh.best)} (${bh.names}); gap ${gapText(bh.gap)} points`);
  }
  {
    const hs = heuristics(s);
    const best = Math.max(...hs.map((b) => b.testObjective));
    const top = hs.filter((b) => b.testObjective === best);
    if (s.objective.test >= best - 1e-12) objectiveWins++;
    objectiveLines.push(`- ${pct(s.budget.fraction)} %: ProbeScale ${pct(s.objective.test)} vs best heuristic ${pct(best)} (${top.map((b) => b.name).join(', ')}); gap ${gapText(top[0].vsSelected.objective)} points`);
  }
  const adv = Object.entries(s.budgetAdvice.perTask)
    .map(([t, a]) => `${t} ${a.recommendedFraction === null ? 'unreachable' : pct(a.recommendedFraction) + ' %'}`)
    .join(', ');
  out.push(`Budget advice for ${pct(s.targetRetention)} % retention (fitted on cross-validated training scores): ${adv}.`);
  if (r.verify) {
    const v = r.verify;
    out.push(`Verified from disk: ${v.allEqual ? 'test accuracy re-measured equal to the report' : 'MISMATCH'}; latency batch 1 ×${v.timing.batch1.speedup.toFixed(2)}, batch 32 ×${v.timing.batch32.speedup.toFixed(2)}, ${v.timing.idealSpeedup === null ? 'no FLOP ideal (no block kept)' : `ideal (FLOP ratio) ×${v.timing.idealSpeedup.toFixed(2)}`}.`);
  }
  out.push('');
}
out.push(`On the selection objective (the task-weighted mean test accuracy), ProbeScale ≥ the best (non-random) heuristic at ${objectiveWins} of ${objectiveLines.length} budgets:`);
for (const l of objectiveLines) out.push(l);
out.push('');
out.push(`Per task, ProbeScale ≥ the best (non-random) heuristic on ${wins} of ${points} (budget, task) points.`);
for (const l of losses) out.push(`- behind: ${l}`);
out.push('');
headToHead();
console.log(out.join('\n'));
