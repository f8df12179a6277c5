/**
 * The "Selection" section of an optimize report: what was kept under the budget, how much
 * accuracy it keeps, how it compares with the layer-dropping heuristics, the per-task budget
 * advice and the verification of the written folder. Pure DOM over report data.
 */
import { explain } from '../src/shared/glossary';
import { nameList, rangesText, SENTENCE_CHARS, shortName } from '../src/shared/bounded';
import { type ReportData, type RetentionData, type SelectionData, type VerifyData } from '../src/shared/protocol';
import { idealText, latencyExplanation } from '../src/shared/reportCharts';
import { inReportOrder, verdictOfSelection } from '../src/shared/verdict';
import { el, pagedTable, status, type Row } from './dom';
import { basename, count, exact, pct, times } from './format';
import * as ui from './toolkit';

export interface SelectionActions {
  openModelCard(dir: string): void;
  reveal(dir: string): void;
}

/** Ties within half a test example of a few hundred count as ties. */
const TIE = 1e-9;

function originText(origin: string): string {
  if (origin === 'predicted') return 'predicted from the per-layer probes, then measured';
  if (origin === 'local-search') return 'found by local search around the best measured subset';
  if (origin === 'embeddings-only') return 'no block helped: the embedding output alone scored best';
  if (origin.startsWith('baseline:')) return `the ${origin.slice('baseline:'.length)} heuristic measured best`;
  return origin;
}

const blocks = (kept: readonly number[]) => rangesText(kept);

function figure(value: number | null, label: string, explain: string, mark?: { ok: boolean; text: string }): HTMLElement[] {
  const v = el('div', { class: 'figure-value', text: value === null ? '–' : `${pct(value)} %` });
  if (value === null) v.title = 'undefined: the unpruned model scores at chance on a task';
  const text = el('div', { class: 'figure-text' }, el('span', { class: 'figure-label', text: label }));
  if (mark) text.append(' ', el('span', { class: 'target' }, el('span', { class: mark.ok ? 'mark pass' : 'mark warn', text: mark.ok ? '✓' : '!' }), ` ${mark.text}`));
  text.append(el('div', { class: 'hint', text: explain }));
  return [v, text];
}

function renderRetention(sel: SelectionData): HTMLElement {
  const r: RetentionData = sel.retention;
  const target = sel.targetRetention;
  const reached = r.vsFinal !== null && r.vsFinal >= target;
  const box = el('div', { class: 'figures', id: 'retention' });
  box.append(
    ...figure(r.vsFinal, 'vs final layer', 'test accuracy ÷ the unpruned model’s final layer', { ok: reached, text: `target ${pct(target, 0)} %` }),
    ...figure(r.vsBestLayer, 'vs best layer', '÷ the unpruned model’s best layer (an oracle)'),
    ...figure(r.chanceNormalized, 'chance-normalised', 'share of the above-chance accuracy kept: (pruned − majority) ÷ (unpruned final − majority)'),
  );
  return box;
}

function gapText(g: { diff: number; se: number }): string {
  return `${g.diff >= 0 ? '+' : '−'}${Math.abs(100 * g.diff).toFixed(1)}±${(100 * g.se).toFixed(1)}`;
}

function renderBaselines(sel: SelectionData): HTMLElement {
  const me = sel.objective.test;
  // With per-row test outcomes a gap inside one paired SE is a tie; older reports compare raw scores.
  const higher = (b: SelectionData['baselines'][number]) => (b.gap ? b.gap.diff < -b.gap.se : b.testObjective > me + TIE);
  const sorted = inReportOrder(sel.baselines);
  // With paired gaps (reports since 0.1) the fourth column is ProbeScale's gap to each baseline;
  // older reports show retention there. Retention stays in every row's tooltip.
  const gaps = sorted.some((b) => b.gap);
  const ret = (r: { vsFinal: number | null }) => `retention vs final layer ${pct(r.vsFinal)} %`;
  const unfit = sel.unfitBaselines ?? [];
  // Built a page at a time: a hand-made report may list thousands of baselines.
  const row = (i: number): Row => {
    if (i === 0) return { cells: ['ProbeScale', blocks(sel.kept), pct(me), gaps ? '' : pct(sel.retention.vsFinal)], class: 'ours', title: `${exact(sel.params)} parameters (${pct(sel.fraction)} %) · ${ret(sel.retention)} · selection score ${pct(sel.objective.validation)} % (training split)` };
    const b = sorted[i - 1];
    if (b) {
      return {
        cells: [shortName(b.name), blocks(b.kept), pct(b.testObjective), gaps ? (b.gap ? gapText(b.gap) : '') : pct(b.meanRetention.vsFinal)],
        class: higher(b) ? 'better' : '',
        title: `${b.note ? `${shortName(b.note, SENTENCE_CHARS)} · ` : ''}${exact(b.params)} parameters (${pct(b.fraction)} %) · ${ret(b.meanRetention)} · selection score ${pct(b.validation)} % (training split)`,
      };
    }
    // Not measured: no version of them fits the budget.
    const u = unfit[i - 1 - sorted.length];
    return { cells: [shortName(u.name), '–', 'does not fit the budget', ''], class: 'unfit', title: `Not measured: ${shortName(u.reason, SENTENCE_CHARS)}` };
  };
  const fourth = gaps
    ? { text: 'Δ ± SE', title: 'ProbeScale minus this baseline on the same test rows, in accuracy points, ± one paired standard error' }
    : { text: 'vs final', title: 'retention: test accuracy ÷ the unpruned final layer (weighted mean over tasks)' };
  const t = pagedTable('baselines', [{ text: 'method' }, { text: 'blocks' }, { text: 'test %', title: 'task-weighted test accuracy' }, fourth], 1 + sorted.length + unfit.length, row, 'Rows', ui);
  const v = verdictOfSelection(sel);
  return el(
    'div',
    { id: 'comparison' },
    el('h4', { text: 'ProbeScale vs baselines' }),
    el('div', { class: 'table-box wide' }, t),
    status(v.ok, v.headline, { id: 'verdict', class: 'verdict' }),
    el('p', { class: 'hint', text: `${v.detail} Same budget for each; chosen without the test split, which is only reported. Hover a row for details.` }),
  );
}

function renderAdvice(r: ReportData, sel: SelectionData): HTMLElement {
  const total = r.model.params.total;
  const target = pct(sel.targetRetention, 0);
  const tasks = Object.entries(sel.perTask);
  const row = (i: number): Row => {
    const [name, t] = tasks[i];
    const a = sel.budgetAdvice.perTask[name];
    let need: Node | string = '–';
    if (a && a.recommendedFraction !== null) {
      const cell = el('span', { class: 'need' }, `${pct(a.recommendedFraction)} %`);
      const [lo, hi] = a.interval ? [pct(a.interval[0] / total, 0), pct(a.interval[1] / total, 0)] : ['', ''];
      if (a.interval && lo !== hi) cell.append(el('span', { class: 'interval', text: `${lo}–${hi} %` }));
      need = cell;
    }
    return {
      cells: [shortName(name), pct(t.test.accuracy), pct(t.reference.final.accuracy), need],
      title: `best unpruned layer ${t.reference.bestLayer.layer}: ${pct(t.reference.bestLayer.test.accuracy)} % · majority ${pct(t.majority)} %${a?.recommendedParams != null ? ` · needs ≈ ${exact(a.recommendedParams)} parameters` : ''}`,
    };
  };
  const t = pagedTable('advice', [{ text: 'task' }, { text: 'test %', title: 'test accuracy of the selection' }, { text: 'final %', title: 'test accuracy of the unpruned model’s final layer' }, { text: `${target} % needs`, title: `share of the parameters at which the fitted curve reaches ${target} % of the final layer’s accuracy; below: 5–95 % bootstrap interval` }], tasks.length, row, 'Tasks', ui);
  return el(
    'div',
    { id: 'advice-box' },
    el('h4', { text: 'Per task' }),
    el('div', { class: 'table-box wide' }, t),
    el('p', { class: 'hint', text: `“needs”: the parameter share that keeps ${target} % of each task’s final-layer accuracy, from a curve fitted to every measured subset (5–95 % interval below). – = not reached.` }),
  );
}

function renderVerify(v: VerifyData, actions: SelectionActions): HTMLElement {
  const differing = Object.entries(v.perTask).filter(([, t]) => !t.equal);
  const check = v.allEqual
    ? status(true, `Re-measured from the written folder: the same test scores on all ${Object.keys(v.perTask).length} task(s).`)
    : el('p', { class: 'fail', text: `✗ Re-measured scores differ: ${nameList(differing.map(([n, t]) => `${shortName(n)} claimed ${pct(t.claimed.accuracy)} %, measured ${pct(t.measured.accuracy)} %`), '; ')}.` });
  const t = v.timing;
  const speed = el(
    'p',
    {},
    'Latency ',
    el('strong', { text: times(t.batch1.speedup) }),
    ' at batch 1, ',
    el('strong', { text: times(t.batch32.speedup) }),
    ' at batch 32; ideal ',
    el('strong', { text: idealText(t.idealSpeedup) }),
  );
  speed.title = `median ms per pass, original → pruned: batch 1 ${t.batch1.originalMs.toFixed(2)} → ${t.batch1.prunedMs.toFixed(2)}, batch 32 ${t.batch32.originalMs.toFixed(2)} → ${t.batch32.prunedMs.toFixed(2)}`;
  const links = el(
    'div',
    { class: 'links' },
    ui.link('Open Model Card', () => actions.openModelCard(v.loadedFrom), `${v.loadedFrom}/README.md`),
    ui.link('Reveal in Explorer', () => actions.reveal(v.loadedFrom), v.loadedFrom),
  );
  return el(
    'div',
    { id: 'verify' },
    el('h4', { text: 'Committed and verified' }),
    el('p', { class: 'out', title: v.loadedFrom, text: basename(v.loadedFrom) }),
    check,
    speed,
    el('p', { class: 'hint', id: 'latency-explain', text: latencyExplanation(t) }),
    links,
  );
}

export function renderSelection(r: ReportData, sel: SelectionData, actions: SelectionActions): HTMLElement {
  const n = r.model.numLayers;
  const head = el(
    'div',
    { class: 'kept', id: 'kept' },
    el('div', {}, 'Kept ', el('strong', { text: sel.kept.length ? `blocks ${blocks(sel.kept)}` : 'no blocks' }), ` (${sel.kept.length} of ${n})`),
    el('div', {}, el('strong', { text: `${count(sel.params)} params`, title: exact(sel.params) }), ` = ${pct(sel.fraction)} % of ${count(r.model.params.total)}`),
  );
  // A budget given as a parameter count is worth repeating; a fraction is the percentage shown.
  const spec = /^\d+$/.test(sel.budget.spec.trim()) ? `, “${sel.budget.spec}”` : '';
  const ruleText = sel.rule ? ` · rule ${sel.rule.name}${sel.rule.requested === 'auto' ? ' (picked by a split-half simulation on training rows; see “What … mean” below)' : ''}` : '';
  const budget = el('p', { class: 'hint', id: 'budget', text: `Budget ${pct(sel.budget.fraction)} % (${count(sel.budget.params)} params${spec}) · ${originText(sel.origin)}${ruleText}` });
  if (sel.rule) budget.title = explain('splitHalf') + '\n\n' + sel.rule.simulation.rules.map((x) => `${x.rule}: held-out ${pct(x.heldOutAccuracy)} %${sel.rule!.simulation.heuristics === 0 ? '' : `, at least the best heuristic in ${(100 * x.atLeastBestHeuristic).toFixed(0)} % of repeats`}`).join('\n');
  const section = el('section', { class: 'selection', id: 'selection', section: 'selection' }, el('h3', { text: 'Selection' }), head, budget, renderRetention(sel));
  if (sel.embeddingOnly.reachesTarget) section.append(el('p', { class: 'callout', id: 'embedding-only', text: sel.embeddingOnly.message }));
  if (sel.vocabTrim) {
    const v = sel.vocabTrim;
    const unseen = nameList(Object.entries(v.unseenTestTokens).map(([t, x]) => `${shortName(t)} ${pct(x, 2)} %`));
    section.append(el('p', { class: 'hint', id: 'vocab-trim', text: `Vocabulary trimmed to ${count(v.keptTokens)} of ${count(v.sourceVocab)} tokens (those in the training texts); test tokens unseen: ${unseen}; ${v.unseen === 'nearest' ? 'they read their nearest kept token' : "they read the unknown token"}.` }));
  }
  if (sel.compensation) section.append(el('p', { class: 'hint', id: 'compensation', text: `Compensation (least squares on training texts): ${sel.compensation.description}. ${sel.compensation.safetensors ?? 'Committed as ONNX only: no model.safetensors.'}` }));
  section.append(renderBaselines(sel), renderAdvice(r, sel));
  if (r.verify) section.append(renderVerify(r.verify, actions));
  return section;
}
