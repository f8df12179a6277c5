/**
 * The report editor (full width): the trade-off chart of an optimize report, reports of the
 * same source model overlaid, the tasks × layers heatmap, latency, a table beside each chart,
 * and exports (PNG, SVG, Markdown). Everything it draws comes from src/shared/reportCharts.ts;
 * it talks to the host only through ../vscodeApi (typed by src/shared/protocol.ts).
 */
import { assertNever, COMPARE_REPORTS, toBlockRanges, type ExportFormat, type ReportData, type SelectionData, type ToWebview } from '../../src/shared/protocol';
import { checkComparePicks, checkReportData } from '../../src/shared/validate';
import { verdictOfSelection } from '../../src/shared/verdict';
import {
  HEAT_METRICS,
  TRADEOFF_HEAD,
  blocksText,
  heatmap,
  heatmapMarkdown,
  heatmapPage,
  heatmapSvg,
  pointOrigin,
  heatmapTable,
  LATENCY_HEAD,
  compensationParts,
  exportFileName,
  MARKER_KEY,
  markerKinds,
  latencyExplanation,
  latencyMarkdown,
  latencyRows,
  latencySvg,
  latencyTable,
  pctText,
  reportLabel,
  sameSource,
  tradeoffChoices,
  tradeoffMarkdown,
  tradeoffRows,
  tradeoffSeries,
  tradeoffSvg,
  type HeatMetric,
  type SvgTheme,
  type TradeoffAxis,
  type TradeoffPoint,
  type TradeoffSeries,
} from '../../src/shared/reportCharts';
import { headWords, NAMES_LISTED, nameList, preparationWords, SENTENCE_CHARS, shortName, TASK_CHOICES } from '../../src/shared/bounded';
import { readTheme } from '../charts';
import { el, pagedTable, pager, table } from '../dom';
import { basename, when } from '../format';
import { Host } from '../vscodeApi';
import { TradeoffChart } from './tradeoffChart';

interface EditorState {
  task: string | null;
  axis: TradeoffAxis;
  metric: HeatMetric;
}

interface Shown {
  report: ReportData;
  source: string;
}

function button(text: string, id: string, onClick: () => void, title?: string): HTMLButtonElement {
  const b = el('button', { id, text, title });
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

function select<T extends string>(id: string, label: string, options: { value: T; text: string; disabled?: boolean }[], value: T, onChange: (v: T) => void): HTMLElement {
  const s = el('select', { id });
  for (const o of options) {
    const opt = el('option', { text: o.text });
    opt.value = o.value;
    opt.disabled = !!o.disabled;
    opt.selected = o.value === value;
    s.append(opt);
  }
  s.addEventListener('change', () => onChange(s.value as T));
  const l = el('label', {}, `${label} `, s);
  return l;
}

function utf8Base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Draws an SVG string onto a canvas (2× for sharpness) and returns the PNG as a data URL. */
async function svgToPng(svg: string, background: string): Promise<string> {
  const img = new Image();
  img.src = `data:image/svg+xml;base64,${utf8Base64(svg)}`;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.naturalWidth * 2;
  c.height = img.naturalHeight * 2;
  const g = c.getContext('2d')!;
  g.fillStyle = background;
  g.fillRect(0, 0, c.width, c.height);
  g.drawImage(img, 0, 0, c.width, c.height);
  return c.toDataURL('image/png');
}

/** Parses an SVG built by reportCharts (its user text is escaped there) into a node. */
function svgNode(svg: string): Node {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  return document.importNode(doc.documentElement, true);
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

class ReportEditor {
  private readonly host = new Host<EditorState>();
  private state: EditorState = restoreState(this.host.state);
  private shown: Shown | null = null;
  private compare: Shown[] = [];
  /** What the last "Compare with…" did not overlay, and why (one line each). */
  private compareNotes: string[] = [];
  private chart: TradeoffChart | undefined;
  /** The clicked point; `own` when it belongs to this editor's report (only those can be committed). */
  private selected: { point: TradeoffPoint; series: string; own: boolean } | null = null;
  private message = '';
  /** The page of the heatmap's tasks (a report with more than ROWS_PER_PAGE tasks). */
  private heatPage = 0;

  constructor(private readonly root: HTMLElement) {}

  start(): void {
    this.host.listen(
      (m) => this.onMessage(m),
      (reason) => this.say(`ProbeScale: the editor could not use a message from the extension (${reason}). Close and reopen the report if it looks wrong.`),
    );
    new MutationObserver(() => this.render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    this.host.ready();
  }

  private onMessage(m: Exclude<ToWebview, { type: 'reply' }>): void {
    switch (m.type) {
      case 'report/show':
        this.shown = { report: m.report, source: m.source ?? '' };
        this.selected = null;
        this.heatPage = 0;
        this.render();
        break;
      case 'report/error':
        // Forget the report, or a theme change would draw it again over the error.
        this.shown = null;
        this.root.replaceChildren(el('p', { id: 'load-error', class: 'notice error', text: m.message }));
        break;
      case 'job/progress':
      case 'job/done':
        break;
      default:
        assertNever(m, 'message');
    }
  }

  private save(): void {
    this.host.state = this.state;
  }

  private svgTheme(): SvgTheme {
    const t = readTheme();
    return { background: cssVar('--vscode-editor-background', '#ffffff'), foreground: t.foreground, grid: t.grid, series: t.series, font: t.font };
  }

  private async export(chart: string, format: ExportFormat, data: () => string | Promise<string>): Promise<void> {
    try {
      let payload = await data();
      if (format === 'png') payload = payload.replace(/^data:image\/png;base64,/, '');
      const { saved } = await this.host.request('export/save', { fileName: exportFileName(this.shown!.report, chart, format), format, data: payload });
      this.say(saved ? `Saved ${basename(saved)}.` : 'Export cancelled.');
    } catch (e) {
      this.say(`Export failed: ${(e as Error).message}`);
    }
  }

  private exportButtons(chart: string, png: () => string | Promise<string>, svg: () => string, md: () => string): HTMLElement {
    return el(
      'div',
      { class: 'exports' },
      button('PNG', `${chart}-png`, () => void this.export(chart, 'png', png), `Save the ${chart} chart as PNG under .probescale/exports`),
      button('SVG', `${chart}-svg`, () => void this.export(chart, 'svg', svg), `Save the ${chart} chart as SVG under .probescale/exports`),
      button('Markdown', `${chart}-md`, () => void this.export(chart, 'md', md), `Save the ${chart} table as Markdown under .probescale/exports`),
    );
  }

  private say(text: string): void {
    this.message = text;
    const box = document.getElementById('status');
    if (box) box.textContent = text;
  }

  /** Draws the report; one that cannot be drawn gives a message, never a blank or half-drawn editor. */
  private render(): void {
    try {
      this.draw();
    } catch (e) {
      this.chart?.destroy();
      this.chart = undefined;
      const r = this.shown?.report;
      this.root.replaceChildren(
        el('p', {
          id: 'load-error',
          class: 'notice error',
          text: `ProbeScale could not draw ${r ? `the ${shortName(r.kind)} report of ${shortName(basename(r.model.dir) || 'a model')}` : 'this report'}: ${shortName((e as Error).message, SENTENCE_CHARS)}. The file may have been edited by hand or made by another version: restore it, or make a new one.`,
        }),
      );
    }
  }

  private draw(): void {
    this.chart?.destroy();
    this.chart = undefined;
    if (!this.shown) return;
    const { report, source } = this.shown;
    const sections: string[] = [];
    const head = el(
      'header',
      {},
      el('h1', { text: `${basename(report.model.dir) || 'model'} — ${report.kind} report` }),
      el('p', { class: 'meta', text: `${shortName(report.model.architecture)}, ${report.model.numLayers.toLocaleString('en-US')} blocks, ${report.model.params.total.toLocaleString('en-US')} parameters · tasks ${nameList(Object.keys(report.tasks))} · ${[...headWords(report.model), ...preparationWords(report.preparation), `completed ${when(report.createdAt)}`].join(' · ')}` }),
      el('p', { class: 'meta', text: source }),
      el('p', { id: 'status', class: 'status-line', text: this.message }),
    );
    head.querySelector('#status')!.setAttribute('aria-live', 'polite');
    const parts: HTMLElement[] = [head];
    const tradeoff = this.renderTradeoff(report);
    if (tradeoff) {
      parts.push(tradeoff.section);
      sections.push('tradeoff');
    }
    const heat = this.renderHeatmap(report);
    if (heat) {
      parts.push(heat);
      sections.push('heatmap');
    }
    const lat = this.renderLatency(report);
    if (lat) {
      parts.push(lat);
      sections.push('latency');
    }
    if (sections.length === 0) parts.push(el('p', { class: 'notice', text: 'This report has no per-layer scores, selection or timing to chart; the side view shows its scores.' }));
    this.root.replaceChildren(...parts);
    tradeoff?.draw();
    this.host.post({ type: 'rendered', modelDir: report.model.dir, createdAt: report.createdAt, kind: report.kind, sections });
  }

  // ---- trade-off -------------------------------------------------------------------------------

  private seriesList(report: ReportData): { name: string; series: TradeoffSeries; total: number; source: string }[] {
    const opts = { task: this.state.task, axis: this.state.axis };
    const all = [this.shown!, ...this.compare];
    return all.flatMap((s, i) => {
      const series = tradeoffSeries(s.report, s === this.shown || !opts.task || s.report.tasks[opts.task] ? opts : { ...opts, task: null });
      if (!series || (i > 0 && !sameSource(report, s.report))) return [];
      return [{ name: all.length > 1 ? `${i + 1}: ${reportLabel(s.report)}` : reportLabel(s.report), series, total: s.report.model.params.total, source: s.source }];
    });
  }

  private renderTradeoff(report: ReportData): { section: HTMLElement; draw: () => void } | null {
    if (!report.selection) return null;
    const choices = tradeoffChoices(report);
    this.fitTradeoffState(choices);
    const list = this.seriesList(report);
    const main = list[0].series;
    const canvas = el('canvas', { id: 'tradeoff-chart' });
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `Trade-off chart: ${main.points.length} measured subsets; the table below lists them.`);
    const hover = el('p', { id: 'tradeoff-hover', class: 'hover-line', text: 'Hover a point for its size; click it (or use Select in the table) for its blocks.' });
    hover.setAttribute('aria-live', 'polite');
    const alt = el('details', { id: 'tradeoff-table-box' }, el('summary', { text: `Table: the ${main.points.length} measured subsets` }), this.pointTable(list[0].name, main));
    const section = el(
      'section',
      { id: 'tradeoff', section: 'tradeoff' },
      el('h2', { text: 'Parameters vs accuracy' }),
      this.verdictLine(report.selection),
      this.tradeoffControls(choices),
      el('div', { class: 'chart-box' }, canvas),
      hover,
      el('p', { class: 'legend', text: tradeoffLegend(list.map((l) => l.series), main) }),
      ...this.tradeoffNotes(report, list).map((n) => el('p', { class: 'note', text: n })),
      ...this.compareNotices(),
      el('div', { id: 'point-detail' }),
      ...(list.length > 1 ? [this.compareTable(list)] : []),
      alt,
      this.exportButtons('tradeoff', () => this.chart!.toPng(cssVar('--vscode-editor-background', '#ffffff')), () => tradeoffSvg(list, this.svgTheme()), () => list.map((l) => `### ${l.name}\n\n${tradeoffMarkdown(l.series)}`).join('\n')),
    );
    return { section, draw: () => this.drawTradeoff(canvas, hover, list, report) };
  }

  /** Takes what the report offers; drops a chosen task or axis it cannot show (back to task-weighted accuracy). */
  private fitTradeoffState(choices: ReturnType<typeof tradeoffChoices>): void {
    if (this.state.task !== null && !choices.tasks.includes(this.state.task)) this.state.task = null;
    if (!choices.perTask && this.state.task !== null) this.state.task = null;
    if (!choices.retention && this.state.axis !== 'accuracy') this.state.axis = 'accuracy';
  }

  /** Takes what the report offers; returns the task and axis selects and the compare buttons, each redrawing on change. */
  private tradeoffControls(choices: ReturnType<typeof tradeoffChoices>): HTMLElement {
    return el(
      'div',
      { class: 'controls' },
      select<string>('tradeoff-task', 'Tasks', [{ value: '', text: 'task-weighted' }, ...taskChoices(choices.tasks, this.state.task).map((t) => ({ value: t, text: shortName(t), disabled: !choices.perTask }))], this.state.task ?? '', (v) => {
        this.state.task = v || null;
        this.save();
        this.render();
      }),
      select<TradeoffAxis>('tradeoff-axis', 'Axis', [
        { value: 'accuracy', text: 'accuracy' },
        { value: 'vsFinal', text: 'retention vs final layer', disabled: !choices.retention },
        { value: 'vsBest', text: 'retention vs best layer', disabled: !choices.retention },
      ], this.state.axis, (v) => {
        this.state.axis = v;
        this.save();
        this.render();
      }),
      button('Compare with…', 'compare', () => void this.pickCompare(), 'Overlay other reports of the same source model'),
      ...(this.compare.length || this.compareNotes.length ? [button('Clear comparison', 'compare-clear', () => ((this.compare = []), (this.compareNotes = []), this.render()))] : []),
    );
  }

  /** Takes the open report and the drawn series; returns each series' notes and a line for each overlay of another model. */
  private tradeoffNotes(report: ReportData, list: { name: string; series: TradeoffSeries }[]): string[] {
    const notes = list.flatMap((l) => l.series.notes.map((n) => `${list.length > 1 ? `${l.name}: ` : ''}${n}`));
    // Overlaid reports were of this model when picked; the open file may have been rewritten since.
    const rejected = this.compare.filter((c) => !sameSource(report, c.report)).map((c) => `Not overlaid: ${shortName(basename(c.source))} ${otherModel(c.report, report)}`);
    return [...notes, ...rejected];
  }

  /** Takes the section's canvas and hover line and the series; draws the chart on the canvas (hover and click wired), and the clicked point's detail. */
  private drawTradeoff(canvas: HTMLCanvasElement, hover: HTMLElement, list: { name: string; series: TradeoffSeries; total: number }[], report: ReportData): void {
    const totals = new Map(list.map((l) => [l.name, l.total]));
    this.chart = new TradeoffChart(
      canvas,
      (p, name) => this.select(p, name, name === list[0].name),
      (p, name) => (hover.textContent = p ? `${name}: blocks ${blocksText(p.kept)} — ${p.params.toLocaleString('en-US')} parameters (${pctText(p.fraction)} of the source), ${pctText(p.y)}${p.test === null ? '' : `, test ${pctText(p.test)}`}` : hover.textContent),
    );
    this.chart.update(list, readTheme(), (name) => totals.get(name) ?? report.model.params.total);
    if (this.selected) this.renderDetail();
  }

  /** The same verdict as the side view, CLI and model card (src/shared/verdict.ts). */
  private verdictLine(sel: SelectionData): HTMLElement {
    const v = verdictOfSelection(sel);
    return el('div', { id: 'verdict' }, el('p', { class: v.ok ? 'verdict' : 'verdict warn', text: `${v.ok ? '✓' : '!'} ${v.headline}` }), el('p', { class: 'meta', text: v.detail }));
  }

  /** The measured subsets, a page at a time (a hand-made report may list thousands). */
  private pointTable(name: string, series: TradeoffSeries): HTMLElement {
    const rows = tradeoffRows(series);
    return pagedTable(
      'tradeoff-table',
      [...TRADEOFF_HEAD.map((h) => ({ text: h === 'y' ? 'cross-validated' : h })), { text: '' }],
      series.points.length,
      (i) => {
        const p = series.points[i];
        return { cells: [...rows[i], button('Select', `select-${i}`, () => this.select(p, name, true), `Show blocks ${blocksText(p.kept)} and offer to commit them`)], class: p.pick ? 'pick' : undefined };
      },
      'Subsets',
    );
  }

  private compareTable(list: { name: string; series: TradeoffSeries; source: string }[]): HTMLElement {
    return table(
      'compare-table',
      [{ text: 'report' }, { text: 'budget' }, { text: 'pick: blocks' }, { text: 'parameters' }, { text: 'cross-validated' }, { text: 'test' }, { text: 'subsets measured' }],
      list.map((l, i) => ({
        cells: [this.swatch(i, l.name), pctText(l.series.budget), l.series.pick ? blocksText(l.series.pick.kept) : '–', l.series.pick ? `${l.series.pick.params.toLocaleString('en-US')} (${pctText(l.series.pick.fraction)})` : '–', pctText(l.series.pick?.y), pctText(l.series.pick?.test), String(l.series.points.length)],
        title: l.source,
      })),
    );
  }

  /** The report's name after a square in its colour on the chart (set through the CSSOM, which the CSP allows). */
  private swatch(i: number, name: string): HTMLElement {
    const series = readTheme().series;
    const mark = el('span', { class: 'swatch', text: '■ ' });
    mark.style.color = series[i % series.length];
    return el('span', {}, mark, name);
  }

  /**
   * Asks the host for reports to overlay, at most COMPARE_REPORTS in all: it reads no more than
   * there is room for and says which picks it refused or left out. Each report it sends is
   * checked here too (a damaged one, one of another model, or one with nothing to overlay is
   * refused by name); the notices say what was not overlaid and why.
   */
  private async pickCompare(): Promise<void> {
    const shown = this.shown!;
    const room = COMPARE_REPORTS - this.compare.length;
    if (room <= 0) {
      this.compareNotes = [`${COMPARE_REPORTS} reports are overlaid already, the most this editor draws beside one report (one colour each); clear the comparison to pick others.`];
      this.render();
      return;
    }
    let answer: unknown;
    try {
      answer = await this.host.request('report/compare', { exclude: [shown.source, ...this.compare.map((c) => c.source)], room });
    } catch (e) {
      this.say(`Compare failed: ${shortName((e as Error).message, SENTENCE_CHARS)}`);
      return;
    }
    const checked = checkComparePicks(answer);
    if (!checked.ok) {
      this.say(`Compare failed: the extension's answer cannot be used (${shortName(checked.error, SENTENCE_CHARS)}); nothing was overlaid.`);
      return;
    }
    const { reports, refused, leftOut } = checked.value;
    const notes = refused.map((r) => `${shortName(basename(r.source))} ${shortName(r.reason, SENTENCE_CHARS)}`);
    // The host reads no more than `room`; should it send more, the rest are left out here.
    const past = reports.slice(room).map((r) => r.source);
    for (const r of reports.slice(0, room)) {
      const why = this.cannotOverlay(r.report, r.source);
      if (why) notes.push(`${shortName(basename(r.source))} ${why}`);
      else this.compare.push(r);
    }
    const count = leftOut.count + past.length;
    if (count) {
      const names = [...leftOut.sources, ...past].slice(0, Math.min(count, NAMES_LISTED)).map(basename);
      notes.push(`${count.toLocaleString('en-US')} more picked report${count === 1 ? ' was' : 's were'} left out (${nameList(names)}${count > names.length ? ` and ${(count - names.length).toLocaleString('en-US')} more` : ''}): this editor overlays at most ${COMPARE_REPORTS} reports on the open one, one colour each. Clear the comparison to pick others.`);
    }
    this.compareNotes = notes;
    this.render();
  }

  /** Why a report the host sent is not overlaid on the open one; null when it is. */
  private cannotOverlay(report: unknown, source: string): string | null {
    const damaged = checkReportData(report);
    if (damaged) return `is not a report this editor can draw (${shortName(damaged, SENTENCE_CHARS)}); restore it, or make a new one.`;
    const r = report as ReportData;
    const open = this.shown!;
    if (source === open.source || this.compare.some((c) => c.source === source)) return 'is shown already.';
    if (!sameSource(open.report, r)) return otherModel(r, open.report);
    if (!r.selection) return `is a ${shortName(r.kind)} report: it has no measured subsets to overlay. Compare optimize reports of this model.`;
    try {
      tradeoffSeries(r, { task: this.state.task, axis: this.state.axis });
    } catch (e) {
      return `cannot be drawn (${shortName((e as Error).message, SENTENCE_CHARS)}); restore it, or make a new one.`;
    }
    return null;
  }

  /** The notices of the last pick: the first NAMES_LISTED, then how many more (the log has each). */
  private compareNotices(): HTMLElement[] {
    if (this.compareNotes.length === 0) return [];
    const shown = this.compareNotes.slice(0, NAMES_LISTED);
    const more = this.compareNotes.length - shown.length;
    const box = el('div', { id: 'compare-notes' }, ...shown.map((n) => el('p', { class: 'note warn', text: `Not overlaid: ${n}` })), ...(more ? [el('p', { class: 'note', text: `and ${more} more not overlaid (the ProbeScale output channel names each).` })] : []));
    box.setAttribute('role', 'status');
    return [box];
  }

  private select(point: TradeoffPoint, series: string, own: boolean): void {
    this.selected = { point, series, own };
    this.renderDetail();
  }

  private renderDetail(): void {
    const box = document.getElementById('point-detail');
    if (!box || !this.selected || !this.shown) return;
    const { point: p, series, own } = this.selected;
    const commit = button('Commit this subset', 'commit-subset', () => void this.commit(p.kept), `Write ${basename(this.shown.report.model.dir)} with blocks ${blocksText(p.kept)} kept (the Prune path)`);
    // The prune path writes whole blocks; a compensated candidate (bridges, narrowed widths) is committed by Optimize.
    commit.disabled = !own || p.compensation !== undefined;
    box.replaceChildren(
      el('h3', { text: `Selected: blocks ${blocksText(p.kept)}${own ? '' : ` (${series}; open that report to commit it)`}` }),
      el('p', { id: 'detail-text', text: `${p.kept.length} of ${this.shown.report.model.numLayers} blocks · ${p.params.toLocaleString('en-US')} parameters (${pctText(p.fraction)} of the source) · cross-validated ${pctText(p.y)}${p.test === null ? ' · not measured on test' : ` · test ${pctText(p.test)}`} · ${pointOrigin(p, "ProbeScale's pick")}${p.compensation ? ' · compensated (commit it with Optimize; Prune writes whole blocks)' : ''}` }),
      ...(p.compensation ? [compensationList(p.compensation)] : []),
      ...(this.shown.report.selection?.vocabTrim
        ? [el('p', { class: 'note', text: 'This report trimmed the vocabulary; "Commit this subset" runs the prune path, which keeps the full vocabulary, so the folder it writes has more parameters than shown here (re-run Optimize with vocabulary trimming to commit a trimmed model).' })]
        : []),
      commit,
      el('span', { id: 'commit-result', class: 'meta' }),
    );
  }

  private async commit(kept: number[]): Promise<void> {
    const out = document.getElementById('commit-result');
    try {
      const r = await this.host.request('prune/commit', { modelDir: this.shown!.report.model.dir, layers: toBlockRanges(kept) });
      if (out) out.textContent = r.status === 'written' ? ` Wrote ${basename(r.out)} (${r.params.after.toLocaleString('en-US')} parameters).` : r.status === 'cancelled' ? ' Cancelled; nothing was written.' : ' Not replaced.';
    } catch (e) {
      if (out) out.textContent = ` ${(e as Error).message}`;
    }
  }

  // ---- heatmap and latency ---------------------------------------------------------------------

  private renderHeatmap(report: ReportData): HTMLElement | null {
    const available = HEAT_METRICS.filter((m) => heatmap(report, m.id) !== null);
    if (available.length === 0) return null;
    if (!available.some((m) => m.id === this.state.metric)) this.state.metric = available[0].id;
    const h = heatmap(report, this.state.metric)!;
    // A page of tasks, the columns grouped on a deep model: the figure, its table and the PNG/SVG
    // export are what is shown; the Markdown export has every value.
    const { view, rows: page, width } = heatmapPage(h, this.heatPage);
    this.heatPage = page.page;
    const svg = heatmapSvg(view, this.svgTheme());
    const fig = el('div', { id: 'heatmap-figure', class: 'figure' }, svgNode(svg));
    const { head, rows } = heatmapTable(view);
    const what = h.columnKind === 'layer' ? 'layers' : 'blocks';
    const grouped = width > 1 ? el('p', { class: 'note', id: 'heatmap-grouped', text: `${h.columns.length.toLocaleString('en-US')} ${what} in ${view.columns.length} groups of ${width}: each cell is the mean of its group; framed: the group holding the best layer. The Markdown export has every ${what.slice(0, -1)}.` }) : null;
    const nav = pager('heatmap', 'Tasks', page.count, page.page, (p) => {
      this.heatPage = p;
      this.render();
    });
    return el(
      'section',
      { id: 'heatmap', section: 'heatmap' },
      el('h2', { text: 'Layer relevance' }),
      el('div', { class: 'controls' }, select<HeatMetric>('heatmap-metric', 'Show', available.map((m) => ({ value: m.id, text: m.label })), this.state.metric, (v) => {
        this.state.metric = v;
        this.heatPage = 0;
        this.save();
        this.render();
      })),
      fig,
      ...(nav ? [nav] : []),
      ...(grouped ? [grouped] : []),
      el('p', { class: 'legend', text: `${HEAT_METRICS.find((m) => m.id === h.metric)!.explain}${h.columnKind === 'layer' ? ' Framed (◆ in the table): the best layer, highest cross-validated accuracy on the training rows; dashed (▲): highest test accuracy, where that is another layer.' : ''}${h.kept ? ` Columns marked (bar; * in the table) are ${h.columnKind === 'block' ? 'blocks the selection keeps' : 'hidden states the pruned model still computes (layer 0 and the output of each kept block)'}.` : ''}` }),
      el('details', {}, el('summary', { text: 'Table' }), table('heatmap-table', head.map((text) => ({ text })), rows.map((cells) => ({ cells })))),
      this.exportButtons('heatmap', () => svgToPng(svg, this.svgTheme().background), () => svg, () => heatmapMarkdown(h)),
    );
  }

  private renderLatency(report: ReportData): HTMLElement | null {
    const rows = latencyRows(report);
    if (!rows) return null;
    const svg = latencySvg(rows, this.svgTheme());
    const md = latencyMarkdown(rows);
    return el(
      'section',
      { id: 'latency', section: 'latency' },
      el('h2', { text: 'Latency, original vs pruned' }),
      el('div', { id: 'latency-figure', class: 'figure' }, svgNode(svg)),
      el('p', { id: 'latency-explain', class: 'legend', text: latencyExplanation(report.verify!.timing) }),
      table('latency-table', LATENCY_HEAD.map((text) => ({ text })), latencyTable(rows).map((cells) => ({ cells }))),
      this.exportButtons('latency', () => svgToPng(svg, this.svgTheme().background), () => svg, () => md),
    );
  }
}

new ReportEditor(document.getElementById('app')!).start();

/** The editor's saved choices, each kept when this version knows it (an older version may have saved others). */
function restoreState(saved: unknown): EditorState {
  const s = (typeof saved === 'object' && saved !== null ? saved : {}) as Partial<Record<keyof EditorState, unknown>>;
  return {
    task: typeof s.task === 'string' ? s.task : null,
    axis: s.axis === 'vsFinal' || s.axis === 'vsBest' ? s.axis : 'accuracy',
    metric: HEAT_METRICS.some((m) => m.id === s.metric) ? (s.metric as HeatMetric) : 'accuracy',
  };
}

/** A compensated point's bridges and widths, one line each (the report's description, split). */
function compensationList(description: string): HTMLElement {
  const { bridges, widths } = compensationParts(description);
  return el('dl', { id: 'detail-compensation' }, el('dt', { text: 'Bridges' }), el('dd', { text: bridges ?? 'none (whole blocks dropped)' }), el('dt', { text: 'Widths' }), el('dd', { text: widths ?? 'full (every head and FFN neuron kept)' }));
}

/** The first TASK_CHOICES tasks and the one shown (a hand-made report may have hundreds). */
function taskChoices(tasks: string[], current: string | null): string[] {
  const choices = tasks.slice(0, TASK_CHOICES);
  if (current !== null && tasks.includes(current) && !choices.includes(current)) choices.push(current);
  return choices;
}

/** Why a report of another source model is not overlaid, naming both models. */
function otherModel(r: ReportData, open: ReportData): string {
  const model = (x: ReportData) => `${shortName(x.model.architecture)}, ${x.model.numLayers.toLocaleString('en-US')} blocks, ${x.model.params.total.toLocaleString('en-US')} parameters`;
  return `is from another model (${model(r)}; the open report: ${model(open)}): only reports of the same source model share the chart's axes.`;
}

/** Takes the drawn series and the open report's; returns the legend: marker kinds, lines and what the points are. */
function tradeoffLegend(series: TradeoffSeries[], main: TradeoffSeries): string {
  return `${markerKinds(series).map((k) => `${MARKER_KEY[k].glyph} ${MARKER_KEY[k].text}${k === 'heuristic' || k === 'compensatedHeuristic' ? ' (named)' : ''}`).join(' · ')} · ◯ ProbeScale's pick · line: fitted curve P(n) = P∞ − a·n^(−α), shaded: its 5–95 % bootstrap band · dashed vertical: budget · dotted horizontal: ${(100 * main.targetRetention).toFixed(0)} % target retention. Points are cross-validated on the training rows (what selection used); test accuracy is shown where it was measured.`;
}
