/**
 * The ProbeScale relevance view: per-layer probe accuracy, Block Influence, a score table,
 * parameter counts and the prune form; an optimize report's Selection, an eval report's scores. Talks to the host only through ./vscodeApi (typed by
 * src/shared/protocol.ts) and to the component library only through ./toolkit.
 */
import { explain, GLOSSARY, GlossaryKey } from '../src/shared/glossary';
import { assertNever, type JobKind, type Method, type Params, type PruneOutcome, type ReportData, type Result, type TaskData, type ToWebview } from '../src/shared/protocol';
import { AccuracyChart, InfluenceChart, readTheme } from './charts';
import { el } from './dom';
import { renderEvaluation } from './evalSection';
import { basename, count, exact, pct, points, when } from './format';
import { keptParams } from '../src/shared/params';
import { CHART_TASKS, headWords, MESSAGE_CHARS, nameList, preparationWords, SENTENCE_CHARS, shortName, TASK_CHOICES } from '../src/shared/bounded';
import { checkReportData, isIndexList } from '../src/shared/validate';
import { unlearnedAdvice } from '../src/shared/verdict';
import { allBlocks, bestPrefix, blockRelevance, commitParams, describeBlocks, scoreRows, selectionMessage, topK, topKChoices } from './selection';
import { renderBlockGrid } from './blockGrid';
import { renderSelection } from './selectionSection';
import * as ui from './toolkit';
import { Host } from './vscodeApi';

/** What survives the view being hidden and shown again (webview getState/setState). */
interface ViewState {
  report: ReportData | null;
  source: string | null;
  /** Identifies the report that `kept` belongs to. */
  reportKey: string;
  kept: number[];
  tableTask: string | null;
  topK: number;
  /** The page of the prune form's block checkboxes (models with more than BLOCKS_PER_PAGE blocks). */
  blockPage?: number;
  written: Extract<PruneOutcome, { status: 'written' }> | null;
}

interface RunningJob {
  jobId: string;
  job: JobKind;
  message: string;
  fraction: number | null;
  overall: string;
}

const reportKey = (r: ReportData) => `${r.model.dir}|${r.createdAt}`;

class App {
  private readonly host = new Host<ViewState>();
  private state: ViewState;
  private job: RunningJob | null = null;
  private notice: { text: string; kind: 'info' | 'error' } | null = null;
  private readonly root: HTMLElement;
  private accuracy: AccuracyChart | undefined;
  private influence: InfluenceChart | undefined;
  /** The block checkboxes drawn (one page of them on a large model), by block. */
  private checkboxes = new Map<number, ui.CheckboxHandle>();
  private blockGrid: HTMLElement | undefined;
  /** Buttons that start work; disabled while a job runs. */
  private workButtons: HTMLElement[] = [];
  private pruneSummary: HTMLElement | undefined;
  private commitButton: HTMLElement | undefined;
  private jobBox: HTMLElement | undefined;
  private writtenBox: HTMLElement | undefined;

  constructor(root: HTMLElement) {
    this.root = root;
    this.state = restoreState(this.host.state);
  }

  start(): void {
    ui.registerComponents();
    this.host.listen(
      (m) => this.onMessage(m),
      (reason) => {
        this.notice = { text: `ProbeScale: the view could not use a message from the extension (${reason}). If the view looks wrong, run "Developer: Reload Window".`, kind: 'error' };
        this.renderJob();
      },
    );
    this.render();
    // Theme switches change the CSS variables; charts read colours once, so redraw them.
    new MutationObserver(() => this.renderCharts()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    this.host.ready();
  }

  private save(): void {
    this.host.state = this.state;
  }

  private onMessage(m: Exclude<ToWebview, { type: 'reply' }>): void {
    switch (m.type) {
      case 'report/show':
        this.showReport(m.report, m.source);
        break;
      case 'job/progress':
        this.job = { jobId: m.jobId, job: m.job, message: m.message, fraction: m.fraction, overall: m.overall };
        this.notice = null;
        this.renderJob();
        break;
      case 'job/done':
        if (this.job?.jobId === m.jobId || this.job === null) this.job = null;
        this.notice = m.outcome === 'failed' ? { text: `${m.job} failed: ${m.message}`, kind: 'error' } : m.outcome === 'cancelled' ? { text: m.message, kind: 'info' } : null;
        this.renderJob();
        break;
      case 'report/error':
        this.notice = { text: m.message, kind: 'error' };
        this.renderJob();
        break;
      default:
        assertNever(m, 'message');
    }
  }

  private showReport(report: ReportData, source: string | null): void {
    const key = reportKey(report);
    if (key !== this.state.reportKey) {
      const n = report.model.numLayers;
      const prefix = bestPrefix(report);
      this.state = {
        report,
        source,
        reportKey: key,
        // An optimize report's chosen blocks, else the best prefix, start the prune form.
        kept: report.selection?.kept ?? prefix,
        tableTask: Object.keys(report.tasks)[0] ?? null,
        topK: Math.min(n, Math.max(1, prefix.length || Math.ceil(n / 2))),
        blockPage: 0,
        written: null,
      };
    } else {
      this.state = { ...this.state, report, source };
    }
    this.save();
    this.render();
    this.postSelection();
  }

  // ---- rendering --------------------------------------------------------------------------

  /** Draws the state; a report part that cannot be drawn gives a message and the actions, never a blank or half-drawn view. */
  private render(): void {
    try {
      this.draw();
    } catch (e) {
      this.accuracy?.destroy();
      this.influence?.destroy();
      this.accuracy = this.influence = undefined;
      this.checkboxes = new Map();
      this.workButtons = [];
      const r = this.state.report;
      this.jobBox = el('section', { class: 'job', id: 'job' });
      const what = r ? `the ${shortName(r.kind)} report of ${shortName(basename(r.model.dir) || 'a model')}` : 'the view';
      this.root.replaceChildren(
        el(
          'section',
          { class: 'empty', id: 'render-error' },
          el('p', { class: 'notice error', text: `ProbeScale could not draw ${what}: ${shortName((e as Error).message, SENTENCE_CHARS)}. The report file may have been edited by hand or made by another version: open another report, or make a new one.` }),
          this.actionButtons(),
        ),
        this.jobBox,
      );
      this.renderJob();
    }
  }

  private draw(): void {
    this.accuracy?.destroy();
    this.influence?.destroy();
    this.accuracy = this.influence = undefined;
    this.workButtons = [];
    this.checkboxes = new Map();
    this.root.replaceChildren();
    const r = this.state.report;
    this.jobBox = el('section', { class: 'job', id: 'job' });
    if (!r) {
      this.root.append(this.renderEmpty(), this.jobBox);
    } else if (r.kind === 'eval') {
      // An eval report scores the model as shipped: no per-layer curves, nothing to prune.
      this.root.append(this.renderHeader(r), this.jobBox, renderEvaluation(r), this.renderParams(r));
    } else {
      this.root.append(this.renderHeader(r), this.jobBox);
      if (r.selection) {
        this.root.append(
          renderSelection(r, r.selection, {
            openModelCard: (dir) => void this.request('modelCard/open', { dir }),
            reveal: (dir) => void this.request('explorer/reveal', { path: dir }),
          }),
        );
      }
      this.root.append(this.renderAccuracy(r), this.renderInfluence(r), this.renderTable(r), this.renderParams(r), this.renderPrune(r), renderTerms(r.selection ? ['selectivity', 'chanceNormalised', 'splitHalf'] : ['selectivity']));
      this.renderCharts();
      this.updateSelection();
    }
    this.renderJob();
    if (r) {
      const sections = [...this.root.querySelectorAll<HTMLElement>('[data-section]')].map((e) => e.dataset.section ?? '');
      this.host.post({ type: 'rendered', modelDir: r.model.dir, createdAt: r.createdAt, kind: r.kind, sections });
    }
  }

  private actionButtons(): HTMLElement {
    const probe = ui.button('Probe Model…', { appearance: 'primary', title: 'Probe every layer of a model folder on your tasks', onClick: () => void this.request('probe/start', {}) });
    const modelDir = this.state.report?.kind === 'eval' ? undefined : this.state.report?.model.dir;
    const optimize = ui.button('Optimize…', {
      title: 'Choose the blocks to keep under a parameter budget, measured on your tasks, and commit the pruned model',
      onClick: () => void this.request('optimize/start', modelDir ? { modelDir } : {}),
    });
    optimize.id = 'optimize';
    const open = ui.button('Open Report…', { title: 'Show a saved report (.probescale/reports or a CLI --out file)', onClick: () => void this.request('report/open', {}) });
    this.workButtons.push(probe, optimize);
    const source = this.state.source;
    const full = source ? [ui.button('Open in Editor', { title: 'Show this report full width: the trade-off chart, layer relevance heatmap, latency, exports', onClick: () => void this.request('report/openEditor', { path: source }) })] : [];
    if (full[0]) full[0].id = 'open-editor';
    return el('div', { class: 'actions' }, probe, optimize, open, ...full);
  }

  private renderEmpty(): HTMLElement {
    return el(
      'section',
      { class: 'empty', id: 'empty' },
      el('p', { text: 'No report yet.' }),
      el('p', { class: 'hint', text: 'Probe a model folder (config.json + onnx/model.onnx) on one or more labelled tasks to see which layers they need. Right-click a model folder in the Explorer, or:' }),
      this.actionButtons(),
    );
  }

  private renderHeader(r: ReportData): HTMLElement {
    const m = r.model;
    const meta = [`${m.architecture} · ${m.numLayers} blocks · hidden ${m.hiddenSize} · ${count(m.params.total)} params`, ...headWords(m), ...(r.provider ? [r.provider] : []), ...preparationWords(r.preparation)].join(' · ');
    const src = el('p', { class: 'hint', title: this.state.source ?? '' });
    src.textContent = `${r.kind} report, ${when(r.createdAt)}${this.state.source ? ` · ${basename(this.state.source)}` : ''}`;
    return el('header', {}, el('h2', { text: basename(m.dir) || 'model', title: m.dir }), el('p', { class: 'meta', text: meta }), src, this.actionButtons());
  }

  private renderAccuracy(r: ReportData): HTMLElement {
    const canvas = el('canvas', { id: 'accuracy-chart' });
    canvas.setAttribute('role', 'img');
    const names = Object.keys(r.tasks);
    canvas.setAttribute('aria-label', `Probe accuracy per layer for ${nameList(names)}`);
    this.accuracy = new AccuracyChart(canvas);
    const best = nameList(
      names.map((name) => `${name} ${r.tasks[name].bestLayer}`),
      ' · ',
    );
    // A hand-made report may have hundreds of tasks: the chart draws the first few (the report editor's heatmap pages through all).
    const more = names.length > CHART_TASKS ? ` · showing the first ${CHART_TASKS} of ${names.length.toLocaleString('en-US')} tasks (Open in Editor: every task in the heatmap)` : '';
    return el(
      'section',
      { section: 'accuracy' },
      el('h3', { text: 'Probe accuracy per layer' }),
      el('div', { class: 'chart-box' }, canvas),
      el('p', { class: 'hint', id: 'accuracy-hint', text: `◆ best layer (${best}) · dashed: majority baseline${more}` }),
    );
  }

  private renderInfluence(r: ReportData): HTMLElement {
    const canvas = el('canvas', { id: 'influence-chart' });
    canvas.setAttribute('role', 'img');
    this.influence = new InfluenceChart(canvas);
    const { source } = blockRelevance(r);
    const title = source === 'influence' ? 'Block influence' : 'Probe gain per block';
    const hint = source === 'influence' ? '1 − cos(input, output) of each block (ShortGPT): low = the block barely changes the hidden state.' : 'Task-weighted accuracy each block adds (this report has no Block Influence).';
    canvas.setAttribute('aria-label', `${title} per block`);
    return el('section', { section: 'influence' }, el('h3', { text: title }), el('div', { class: 'chart-box small' }, canvas), el('p', { class: 'hint', text: hint }));
  }

  private renderTable(r: ReportData): HTMLElement {
    const names = Object.keys(r.tasks);
    const current = this.state.tableTask && r.tasks[this.state.tableTask] ? this.state.tableTask : names[0];
    const t = r.tasks[current];
    // A hand-made report may have thousands of layers: the table lists the first, the best and the last.
    const { shown, hidden } = scoreRows(t.layers.map((l) => l.layer), t.bestLayer);
    const table = el('div', { class: 'table-box' }, scoresTable(t, new Set(shown)));
    return el('section', { section: 'scores' }, this.tableHead(names, current), table, scoresFoot(current, t, hidden, names.length));
  }

  /** The scores table's heading, with a task list where the report has more than one task. */
  private tableHead(names: string[], current: string): HTMLElement {
    const head = el('div', { class: 'section-head' }, el('h3', { text: 'Scores' }));
    if (names.length <= 1) {
      head.append(el('span', { class: 'hint', text: shortName(current) }));
      return head;
    }
    // The first TASK_CHOICES tasks and the one shown; the report editor's heatmap has every task.
    const choices = names.slice(0, TASK_CHOICES);
    if (!choices.includes(current)) choices.push(current);
    const onChange = (v: string) => {
      this.state.tableTask = v;
      this.save();
      this.render();
    };
    head.append(ui.dropdown(choices.map((n) => ({ value: n, label: shortName(n) })), current, onChange, 'Task shown in the table'));
    return head;
  }

  private renderParams(r: ReportData): HTMLElement {
    const p = r.model.params;
    const blocks = p.perBlock.reduce((a, b) => a + b, 0);
    const same = p.perBlock.every((b) => b === p.perBlock[0]);
    const rows: [string, string, string][] = [
      ['embeddings', count(p.embeddings), exact(p.embeddings)],
      [same && p.perBlock.length ? `blocks (${p.perBlock.length} × ${count(p.perBlock[0])})` : `blocks (${p.perBlock.length})`, count(blocks), exact(blocks)],
      ['other', count(p.other), exact(p.other)],
      ['total', count(p.total), exact(p.total)],
    ];
    const dl = el('dl', { class: 'params', id: 'params' });
    for (const [k, v, title] of rows) {
      const cls = k === 'total' ? 'total' : '';
      dl.append(el('dt', { text: k, class: cls }), el('dd', { text: v, title, class: cls }));
    }
    return el('section', { section: 'params' }, el('h3', { text: 'Parameters' }), dl);
  }

  private renderPrune(r: ReportData): HTMLElement {
    const n = r.model.numLayers;
    const best = ui.button('Best prefix', { title: 'Blocks 0..k−1, where k is the lowest layer reaching every task’s best probe score', onClick: () => this.setKept(bestPrefix(r)) });
    const top = ui.button('Top-k by relevance', { title: `The k blocks with the highest ${blockRelevance(r).source === 'influence' ? 'Block Influence' : 'probe gain'}`, onClick: () => this.setKept(topK(r, this.state.topK)) });
    const k = ui.dropdown(
      topKChoices(n, this.state.topK).map((v) => ({ value: String(v), label: `k = ${v}` })),
      String(this.state.topK || 1),
      (v) => {
        this.state.topK = Number(v);
        this.setKept(topK(r, this.state.topK));
      },
      'k for "Top-k by relevance"',
    );
    const all = ui.button('All', { title: 'Keep every block', onClick: () => this.setKept(allBlocks(r)) });
    const none = ui.button('None', { title: 'Keep no block (the embeddings alone)', onClick: () => this.setKept([]) });
    best.id = 'preset-best';
    top.id = 'preset-topk';
    k.id = 'preset-k';
    all.id = 'preset-all';
    none.id = 'preset-none';
    const presets = el('div', { class: 'presets' }, best, all, none, el('span', { class: 'group' }, top, k));
    this.blockGrid = el('div');
    this.renderBlocks(r);
    this.pruneSummary = el('p', { class: 'summary', id: 'prune-summary' });
    this.commitButton = ui.button('Commit pruned model', {
      appearance: 'primary',
      title: 'Write <model>-pruned-<blocks> into the workspace',
      onClick: () => void this.commit(),
    });
    this.commitButton.id = 'commit';
    this.workButtons.push(this.commitButton);
    this.writtenBox = el('div', { class: 'written', id: 'written' });
    this.renderWritten();
    return el('section', { class: 'prune', section: 'prune' }, el('h3', { text: 'Prune' }), presets, el('p', { class: 'hint', text: 'Blocks to keep (0 = first block):' }), this.blockGrid, this.pruneSummary, this.commitButton, this.writtenBox);
  }

  /** The block checkboxes (one page of them on a large model); `focus` puts the keyboard back on a pager button after paging. */
  private renderBlocks(r: ReportData, focus?: string): void {
    const box = this.blockGrid;
    if (!box) return;
    const grid = renderBlockGrid(
      {
        count: r.model.numLayers,
        kept: new Set(this.state.kept),
        page: this.state.blockPage ?? 0,
        title: (b) => `block ${b}: ${exact(r.model.params.perBlock[b] ?? 0)} parameters`,
        onToggle: (b, checked) => this.toggle(b, checked),
        onPage: (page) => {
          const forward = page > (this.state.blockPage ?? 0);
          this.state.blockPage = page;
          this.save();
          this.renderBlocks(r, forward ? 'blocks-next' : 'blocks-prev');
        },
      },
      ui,
    );
    this.checkboxes = grid.checkboxes;
    box.replaceChildren(grid.element);
    if (focus) (box.querySelector<HTMLElement>(`#${focus}:not([disabled])`) ?? box.querySelector<HTMLElement>('#blocks vscode-checkbox'))?.focus();
  }

  private renderCharts(): void {
    const r = this.state.report;
    if (!r) return;
    const theme = readTheme();
    this.accuracy?.update(r, theme);
    const { scores, source } = blockRelevance(r);
    this.influence?.update(scores, new Set(this.state.kept), source, theme);
  }

  private renderJob(): void {
    const box = this.jobBox;
    if (!box) return;
    box.replaceChildren();
    if (this.job) {
      const job = this.job;
      // The bar is the whole job (it does not restart at each stage); the text wraps rather than being cut.
      const bar = el('progress', { title: job.overall });
      bar.setAttribute('aria-label', `${job.job}: ${job.overall}`);
      if (job.fraction !== null) {
        bar.max = 1;
        bar.value = job.fraction;
      }
      box.append(
        el('div', { class: 'job-line' }, ui.progressRing(), el('span', { class: 'job-text', text: shortName(`${job.job}: ${job.message}`, MESSAGE_CHARS) })),
        el('div', { class: 'job-overall', text: job.overall }),
        bar,
        ui.button('Cancel', { title: `Stop the ${job.job} job`, onClick: () => this.host.post({ type: 'cancel', jobId: job.jobId }) }),
      );
    } else if (this.notice) {
      box.append(el('p', { class: `notice ${this.notice.kind}`, text: shortName(this.notice.text, MESSAGE_CHARS) }));
    }
    box.hidden = !this.job && !this.notice;
    for (const b of this.workButtons) ui.setDisabled(b, this.job !== null);
  }

  private renderWritten(): void {
    const box = this.writtenBox;
    const w = this.state.written;
    if (!box) return;
    box.replaceChildren();
    if (!w) return;
    box.append(
      el('p', { text: `Wrote ${basename(w.out)}: blocks ${describeBlocks(w.kept)} · ${count(w.params.after)} params.`, title: w.out }),
      ui.link('Reveal in Explorer', () => void this.request('explorer/reveal', { path: w.out }), w.out),
    );
    box.scrollIntoView({ block: 'nearest' });
  }

  // ---- prune form -------------------------------------------------------------------------

  private toggle(block: number, checked: boolean): void {
    const kept = new Set(this.state.kept);
    if (checked) kept.add(block);
    else kept.delete(block);
    this.setKept([...kept], false);
  }

  private setKept(kept: number[], syncBoxes = true): void {
    this.state.kept = [...new Set(kept)].sort((a, b) => a - b);
    this.save();
    if (syncBoxes) {
      const kept = new Set(this.state.kept);
      this.checkboxes.forEach((c, b) => (c.checked = kept.has(b)));
    }
    this.updateSelection();
    this.postSelection();
  }

  private updateSelection(): void {
    const r = this.state.report;
    if (!r || !this.pruneSummary) return;
    const p = r.model.params;
    const after = keptParams(p, this.state.kept);
    const share = p.total ? after / p.total : 1;
    this.pruneSummary.replaceChildren(
      el('strong', { text: `${this.state.kept.length} of ${r.model.numLayers} blocks` }),
      ` (${describeBlocks(this.state.kept)}) → `,
      el('strong', { text: `${count(after)} params`, title: exact(after) }),
      ` = ${pct(share)} % of ${count(p.total)}`,
    );
    const { scores, source } = blockRelevance(r);
    this.influence?.update(scores, new Set(this.state.kept), source, readTheme());
  }

  private postSelection(): void {
    const r = this.state.report;
    if (r) this.host.post(selectionMessage(r, this.state.kept));
  }

  private async commit(): Promise<void> {
    const r = this.state.report;
    if (!r) return;
    const outcome = await this.request('prune/commit', commitParams(r, this.state.kept));
    if (!outcome) return;
    switch (outcome.status) {
      case 'written':
        this.state.written = outcome;
        this.save();
        this.renderWritten();
        break;
      case 'cancelled':
      case 'declined':
        break;
      default:
        assertNever(outcome, 'prune outcome');
    }
  }

  /** Sends a request; failures were already shown by the host as a toast, so only note them here. */
  private async request<M extends Method>(method: M, params: Params<M>): Promise<Result<M> | undefined> {
    try {
      return await this.host.request(method, params);
    } catch (e) {
      this.notice = { text: (e as Error).message, kind: 'error' };
      this.renderJob();
      return undefined;
    }
  }
}

new App(document.getElementById('app') ?? document.body).start();

/**
 * The view's saved state, if it has the shape this version draws; else (saved by an older or a
 * broken version) a fresh one: the host sends the current report when the view says `ready`.
 */
function restoreState(saved: unknown): ViewState {
  const fresh: ViewState = { report: null, source: null, reportKey: '', kept: [], tableTask: null, topK: 0, written: null };
  if (typeof saved !== 'object' || saved === null) return fresh;
  const s = saved as Partial<ViewState>;
  const report = s.report === null || s.report === undefined ? null : checkReportData(s.report) === null ? s.report : undefined;
  if (report === undefined) return fresh;
  const n = report?.model.numLayers ?? 0;
  const kept = isIndexList(s.kept) === null && (s.kept as number[]).every((b) => b < n) ? (s.kept as number[]) : [];
  const w = s.written as Partial<Extract<PruneOutcome, { status: 'written' }>> | null | undefined;
  const written = w && typeof w.out === 'string' && Array.isArray(w.kept) && typeof w.params?.after === 'number' ? (w as ViewState['written']) : null;
  return {
    report,
    source: typeof s.source === 'string' ? s.source : null,
    reportKey: typeof s.reportKey === 'string' ? s.reportKey : '',
    kept,
    tableTask: typeof s.tableTask === 'string' ? s.tableTask : null,
    topK: Number.isSafeInteger(s.topK) && (s.topK as number) >= 0 ? (s.topK as number) : 0,
    blockPage: Number.isSafeInteger(s.blockPage) ? s.blockPage : 0,
    written,
  };
}

/** What the view's terms mean, in a disclosure a keyboard reaches (titles alone are hover-only). */
function renderTerms(keys: GlossaryKey[]): HTMLElement {
  const list = el('dl');
  for (const k of keys) list.append(el('dt', { text: GLOSSARY[k].term }), el('dd', { text: GLOSSARY[k].text }));
  return el('details', { class: 'terms', section: 'terms' }, el('summary', { text: `What ${keys.map((k) => GLOSSARY[k].term.replace(/ \(.*\)$/, '')).join(', ')} mean` }), list);
}

/** The listed layers of one task, one row each: accuracy, macro F1 and selectivity, the best layer marked. */
function scoresTable(t: TaskData, listed: Set<number>): HTMLElement {
  const table = el('table', { id: 'scores' });
  table.append(
    el('thead', {}, el('tr', {}, el('th', { text: 'layer' }), el('th', { text: 'acc %' }), el('th', { text: 'F1 %' }), el('th', { text: 'sel', title: explain('selectivity') }))),
  );
  const body = el('tbody');
  for (const l of t.layers) {
    if (!listed.has(l.layer)) continue;
    const best = l.layer === t.bestLayer;
    body.append(
      el('tr', { class: best ? 'best' : '' }, el('td', { text: `${l.layer}${best ? ' ◆' : ''}` }), el('td', { text: pct(l.accuracy) }), el('td', { text: pct(l.macroF1) }), el('td', { text: points(l.selectivity) })),
    );
  }
  table.append(body);
  return table;
}

/** The line under the scores table: the task's data, and what the table and task list leave out. */
function scoresFoot(name: string, t: TaskData, hidden: number, taskCount: number): HTMLElement {
  const more =
    (hidden ? ` · ${hidden.toLocaleString('en-US')} more layers not listed (the report editor's heatmap has every layer)` : '') +
    (taskCount > TASK_CHOICES ? ` · the task list offers ${TASK_CHOICES} of ${taskCount.toLocaleString('en-US')} tasks (the report editor's heatmap has every task)` : '');
  const reading = `${t.pooling ? ` · ${t.pooling} pooling` : ''}${t.textPairs ? ' · text pairs' : ''}`;
  const unlearned = unlearnedAdvice(name, t.majority, t.layers);
  return el('p', { class: 'hint', text: `${t.labels.length} labels · ${t.nTrain} train / ${t.nTest} test${reading} · majority ${pct(t.majority)} % · weight ${t.weight}${more}${unlearned ? ` · ! ${unlearned}` : ''}` });
}
