/** The one DOM helper of the view: an element with a few attributes and children. */

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
export function table(id: string, head: { text: string; title?: string }[], rows: { cells: (string | Node)[]; class?: string; title?: string }[]): HTMLTableElement {
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
