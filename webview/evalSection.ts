/** The "Evaluation" section of an eval report: each task's test scores of the model as shipped. */
import type { ReportData } from '../src/shared/protocol';
import { el, status, table } from './dom';
import { pct } from './format';

export function renderEvaluation(r: ReportData): HTMLElement {
  const names = Object.keys(r.tasks);
  const rows = names.map((name) => {
    const t = r.tasks[name];
    // A plain model folder's eval probes its last layer; a committed one runs its classifier.
    const final = t.final ?? t.layers.find((l) => l.layer === r.model.numLayers);
    const claimed = r.claimed?.[name];
    const same = claimed !== undefined && final !== undefined && Math.abs(claimed - final.accuracy) < 1e-9;
    return {
      cells: [name, `${pct(final?.accuracy)}${same ? ' ✓' : ''}`, pct(final?.macroF1), pct(t.majority)],
      title: `${t.nTest} test rows · ${t.labels.length} labels${claimed !== undefined ? ` · the folder’s report claims ${pct(claimed)} %` : ''}`,
    };
  });
  const t = table('evaluation', [{ text: 'task' }, { text: 'acc %' }, { text: 'F1 %', title: 'macro-F1' }, { text: 'maj %', title: 'accuracy of always answering the most frequent label' }], rows);
  const section = el('section', { id: 'evaluation-section', section: 'evaluation' }, el('h3', { text: 'Evaluation' }), el('div', { class: 'table-box' }, t));
  const claimed = names.filter((n) => r.claimed?.[n] !== undefined);
  const differ = claimed.filter((n) => {
    const f = r.tasks[n].final;
    return f === undefined || Math.abs(r.claimed![n] - f.accuracy) >= 1e-9;
  });
  const rowsNote = names.map((n) => `${n} ${r.tasks[n].nTest}`).join(', ');
  section.append(el('p', { class: 'hint', text: `Test accuracy of the model as shipped (its task classifiers), on the test split: ${rowsNote} rows.` }));
  if (claimed.length) {
    section.append(
      differ.length
        ? status(false, `Differs from the folder’s own report for ${differ.map((n) => `${n} (claimed ${pct(r.claimed![n])} %)`).join(', ')}.`, { id: 'claimed' })
        : status(true, `Matches the accuracy the folder’s report claims for ${claimed.join(', ')}.`, { id: 'claimed' }),
    );
  }
  return section;
}
