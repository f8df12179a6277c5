/** Plain-text tables for the terminal. */
import type { CompensationRecord, OptimizeReport, ProbeReport } from '../core/report';
import { describeRule, describeVocabTrim, formatGap, selectionVerdict } from '../core/optimize/select';
import { bestLayerByTest } from '../shared/bestLayer';
import { claimNote } from '../core/commit/committed';
import { inReportOrder, unlearnedAdvice } from '../shared/verdict';
import { idealText } from '../shared/reportCharts';

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '   –  ' : (100 * x).toFixed(1).padStart(6));

/** ", N per block" (", A–B per block" where narrowed blocks differ); nothing for a model with no blocks. */
export function perBlockWords(perBlock: number[]): string {
  if (perBlock.length === 0) return '';
  const [lo, hi] = [Math.min(...perBlock), Math.max(...perBlock)].map((n) => n.toLocaleString('en-US'));
  return `, ${lo === hi ? lo : `${lo}–${hi}`} per block`;
}

/** `claimed`: eval of a committed folder, the test accuracy its probescale-report.json claims per task (core/commit/committed.ts). */
export function formatProbeReport(r: ProbeReport, claimed?: Record<string, number>): string {
  const lines: string[] = [];
  const m = r.model;
  lines.push(`${m.architecture} · ${m.numLayers} blocks · hidden ${m.hiddenSize} · ${m.params.total.toLocaleString('en-US')} parameters (embeddings ${m.params.embeddings.toLocaleString('en-US')}${perBlockWords(m.params.perBlock)})${m.quantized ? ' · quantized' : ''}${m.graphFrom === 'safetensors' ? ` · graph built from ${m.weights ?? 'safetensors'}` : ''} · ${r.provider}`);
  for (const [name, t] of Object.entries(r.tasks)) {
    lines.push('');
    lines.push(`${name}: ${t.labels.length} labels, ${t.nTrain} train / ${t.nTest} test, ${t.pooling} pooling${r.settings?.prompt ? `, prompt ${JSON.stringify(r.settings.prompt)}` : ''}${r.settings?.lowercase ? ', lowercased' : ''}${t.textPairs ? ', text pairs' : ''}, majority ${pct(t.majority).trim()} %`);
    lines.push(' layer   acc %   F1 %  ctrl %   sel     C   cv %');
    const testBest = bestLayerByTest(t.layers);
    for (const l of t.layers) {
      const mark = (l.layer === t.bestLayer ? ' *' : '') + (l.layer === testBest && testBest !== t.bestLayer ? ' +' : '');
      const sel = l.selectivity === null ? '    – ' : (100 * l.selectivity).toFixed(1).padStart(6);
      lines.push(`${String(l.layer).padStart(6)} ${pct(l.accuracy)} ${pct(l.macroF1)} ${pct(l.controlAccuracy)} ${sel} ${fmtC(l.c).padStart(5)} ${pct(l.cvAccuracy)}${mark}`);
    }
    const unlearned = unlearnedAdvice(name, t.majority, t.layers);
    if (unlearned) lines.push(`  ! ${unlearned}`);
    if (t.final) lines.push(`  final (as shipped): acc ${pct(t.final.accuracy).trim()} %, F1 ${pct(t.final.macroF1).trim()} %${claimNote(t.final.accuracy, claimed?.[name], r.integrity)}`);
  }
  lines.push('');
  lines.push('layer 0 = embedding output, layer L = final hidden state; * = best layer (highest cv %, 5-fold cross-validation on the training rows); + = highest test accuracy where that is another layer; sel = acc − ctrl (control task: permuted labels).');
  return lines.join('\n') + '\n';
}

function fmtC(c: number): string {
  return String(Number(c.toPrecision(3)));
}

export function formatOptimizeReport(r: OptimizeReport): string {
  const s = r.selection;
  const lines: string[] = [];
  const blocks = (k: number[]) => (k.length ? k.join(',') : '(none)');
  lines.push(`budget ${s.budget.spec}: ${s.budget.params.toLocaleString('en-US')} of ${r.model.params.total.toLocaleString('en-US')} parameters`);
  lines.push('');
  // A compensated candidate's blocks carry a short mark: "2,3 +bridge", "0,1,2,3,4 +h3/f352".
  const mark = (c?: CompensationRecord) => {
    const parts = c ? [c.bridges ? (c.window === 3 ? 'bridge3' : 'bridge') : '', c.heads !== undefined || c.ffnWidth !== undefined ? `h${c.heads ?? ''}/f${c.ffnWidth ?? ''}` : '', c.embeddingRank !== undefined ? `e${c.embeddingRank}` : ''].filter(Boolean) : [];
    return parts.length ? ` +${parts.join('+')}` : '';
  };
  const ordered = inReportOrder(s.baselines);
  // Columns as wide as their longest entry (at least the header's), so long names keep the table aligned.
  const unfit = s.unfitBaselines ?? [];
  // A baseline that could not follow its rule as published is marked † and its note printed below (as the model card does).
  const named = (b: { name: string; note?: string }) => `${b.name}${b.note ? ' †' : ''}`;
  const nameW = Math.max(16, ...ordered.map((b) => named(b).length), ...unfit.map((u) => u.name.length));
  const keptW = Math.max(26, blocks(s.kept).length + mark(s.compensation).length, ...ordered.map((b) => blocks(b.kept).length + mark(b.compensation).length));
  lines.push(` ${'method'.padEnd(nameW)} ${'kept blocks'.padEnd(keptW)}    params    cv %  test %  ret.final  ret.best  chance-norm`);
  const row = (name: string, kept: number[], comp: CompensationRecord | undefined, fraction: number, val: number, test: number, ret: { vsFinal: number; vsBestLayer: number; chanceNormalized: number | null }) =>
    lines.push(` ${name.padEnd(nameW)} ${(blocks(kept) + mark(comp)).padEnd(keptW)} ${pct(fraction)}% ${pct(val)}  ${pct(test)}    ${pct(ret.vsFinal)}    ${pct(ret.vsBestLayer)}      ${pct(ret.chanceNormalized)}`);
  row('ProbeScale', s.kept, s.compensation, s.fraction, s.objective.validation, s.objective.test, s.retention);
  for (const b of ordered) row(named(b), b.kept, b.compensation, b.fraction, b.validation, b.testObjective, b.meanRetention);
  // Not measured: no version of them fits (the verdict below says why).
  for (const u of unfit) lines.push(` ${u.name.padEnd(nameW)} does not fit the budget`);
  for (const b of ordered.filter((x) => x.note)) lines.push(` † ${b.name}: ${b.note}.`);
  lines.push('');
  const compensated = s.baselines.filter((b) => b.compensation);
  if (s.compensation || compensated.length) {
    lines.push(`compensation of the pick: ${s.compensation?.description ?? 'none (whole blocks)'}${compensated.length ? `; compensated baselines: ${compensated.map((b) => `${b.name} = ${b.compensation!.description}`).join('; ')}` : ''}`);
  }
  if (ordered.length) lines.push(`ProbeScale − baseline on the same test rows (points ± paired SE): ${ordered.map((b) => `${b.name} ${formatGap(b.vsSelected.objective)}`).join(', ')}`);
  const v = selectionVerdict(s);
  lines.push(`${v.ok ? '✓' : '!'} ${v.headline} ${v.detail}`);
  lines.push(`${describeRule(s.rule.name, s.rule.requested, s.rule.simulation, s.rule.candidatesInBudget)} Origin of the pick: ${s.origin}.`);
  lines.push('retention = weighted test accuracy / unpruned final layer, / unpruned best layer, chance-normalised.');
  for (const [name, t] of Object.entries(s.perTask)) {
    const a = s.budgetAdvice.perTask[name];
    const adv = a.recommendedFraction === null ? 'not reachable under the full model' : `${pct(a.recommendedFraction).trim()} % of parameters` + (a.interval ? ` (90 % interval ${pct(a.interval[0] / r.model.params.total).trim()}–${pct(a.interval[1] / r.model.params.total).trim()} %)` : '');
    lines.push(`  ${name}: test ${pct(t.test.accuracy).trim()} % (unpruned ${pct(t.reference.final.accuracy).trim()} %, best layer ${t.reference.bestLayer.layer}: ${pct(t.reference.bestLayer.test.accuracy).trim()} %); ${(100 * s.targetRetention).toFixed(0)} % retention needs ≈ ${adv}`);
  }
  lines.push(`  ${s.embeddingOnly.message}`);
  if (s.vocabTrim) lines.push(`  ${describeVocabTrim(s.vocabTrim, Object.fromEntries(Object.entries(s.perTask).map(([k, t]) => [k, t.reference.final.accuracy])))}`);
  if (r.verify) {
    const v = r.verify;
    lines.push(`verify: re-measured from the written folder ${v.allEqual ? 'equals' : 'DIFFERS FROM'} the report; latency batch 1 ×${v.timing.batch1.speedup.toFixed(2)}, batch 32 ×${v.timing.batch32.speedup.toFixed(2)} (${v.timing.idealSpeedup === null ? 'no FLOP ideal: no block kept' : `ideal ${idealText(v.timing.idealSpeedup)}`})`);
    for (const [name, t] of Object.entries(v.quantized?.perTask ?? {})) lines.push(`quantized (${v.quantized!.file}): ${name} ${(100 * t.measured.accuracy).toFixed(1)} % test, ${t.difference >= 0 ? '+' : ''}${(100 * t.difference).toFixed(1)} points vs float`);
  }
  return lines.join('\n') + '\n';
}
