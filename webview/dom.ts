/** The one DOM helper of the view: an element with a few attributes and children. */
import { pageOf, ROWS_PER_PAGE } from '../src/shared/bounded';

export type Attrs = { class?: string; id?: string; title?: string; text?: string; section?: string };

/** `section` sets `data-section`, which names the parts of a report the view drew (see `rendered`). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (attrs.class) e.className = attrs.class;
  if (attrs.id) e.id = attrs.id;
  if (attrs.title) e.title = attrs.title;
  if (attrs.section) e.dataset.section = attrs.section;
  if (attrs.text !== undefined) e.textContent = attrs.text;
  e.append(...children);
  return e;
}

/** A table with a header row; each row is a list of cells (text or nodes) plus an optional row class. */
export function table(id: string, head: { text: string; title?: string }[], rows: Row[]): HTMLTableElement {
  const t = el('table', { id });
  t.append(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h.text, title: h.title })))));
  const body = el('tbody');
  for (const r of rows) body.append(el('tr', { class: r.class, title: r.title }, ...r.cells.map((c) => (typeof c === 'string' ? el('td', { text: c }) : el('td', {}, c)))));
  t.append(body);
  return t;
}

/** A status line: a coloured mark, then the text in the normal colour (readable in every theme). */
export function status(ok: boolean, text: string, attrs: { id?: string; class?: string } = {}): HTMLElement {
  return el('p', { ...attrs, class: `status ${attrs.class ?? ''}`.trim() }, el('span', { class: ok ? 'mark pass' : 'mark warn', text: ok ? '✓' : '!' }), ' ', text);
}

/** The buttons a pager uses: plain ones (the report editor) or the toolkit's (the side view passes ./toolkit). */
export interface PagerControls {
  button(label: string, opts: { title?: string; onClick: () => void }): HTMLElement;
  setDisabled(el: HTMLElement, disabled: boolean): void;
}

export const plainControls: PagerControls = {
  button(label, opts) {
    const b = el('button', { text: label, title: opts.title });
    b.type = 'button';
    b.addEventListener('click', opts.onClick);
    return b;
  },
  setDisabled: (b, disabled) => ((b as HTMLButtonElement).disabled = disabled),
};

/**
 * "What 21–40 of 3,000" with Previous/Next (ids `<id>-prev`, `<id>-next`; a keyboard reaches
 * them), or null when `count` fits on one page. `onPage` draws the page asked for.
 */
export function pager(id: string, what: string, count: number, page: number, onPage: (page: number) => void, controls: PagerControls = plainControls, size = ROWS_PER_PAGE): HTMLElement | null {
  const p = pageOf(count, page, size);
  if (p.pages === 1) return null;
  const n = (x: number) => x.toLocaleString('en-US');
  const line = el('span', { class: 'hint', id: `${id}-page`, text: `${what} ${n(p.first + 1)}–${n(p.end)} of ${n(count)}` });
  line.setAttribute('aria-live', 'polite');
  const prev = controls.button('◀ Previous', { title: p.page > 0 ? `${what} ${n(p.first - size + 1)}–${n(p.first)}` : 'This is the first page', onClick: () => onPage(p.page - 1) });
  const next = controls.button('Next ▶', { title: p.page < p.pages - 1 ? `${what} ${n(p.end + 1)}–${n(Math.min(count, p.end + size))}` : 'This is the last page', onClick: () => onPage(p.page + 1) });
  prev.id = `${id}-prev`;
  next.id = `${id}-next`;
  controls.setDisabled(prev, p.page === 0);
  controls.setDisabled(next, p.page === p.pages - 1);
  return el('div', { class: 'pager' }, line, prev, next);
}

export type Row = { cells: (string | Node)[]; class?: string; title?: string };

/**
 * A table of `count` rows drawn a page at a time (ROWS_PER_PAGE): only the page's rows are
 * built (`row(i)` makes row i), with a pager under it when there is more than one page.
 */
export function pagedTable(id: string, head: { text: string; title?: string }[], count: number, row: (i: number) => Row, what = 'Rows', controls: PagerControls = plainControls): HTMLElement {
  const box = el('div', { class: 'paged', id: `${id}-box` });
  const draw = (page: number) => {
    const p = pageOf(count, page);
    const rows = Array.from({ length: p.end - p.first }, (_, k) => row(p.first + k));
    const nav = pager(id, what, count, p.page, draw, controls);
    box.replaceChildren(table(id, head, rows), ...(nav ? [nav] : []));
  };
  draw(0);
  return box;
}
