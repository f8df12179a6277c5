/**
 * The prune form's "blocks to keep" checkboxes, bounded: a model with up to BLOCKS_PER_PAGE
 * blocks shows one checkbox per block; a larger one (a hand-made report can name 10,000) shows
 * one page of them with Previous/Next buttons and a line saying how many more there are, so the
 * view never builds thousands of elements, and every block stays reachable by keyboard (Tab to
 * a button or checkbox, Space or Enter to press it). The controls come from ./toolkit through
 * `ui`, so this module needs only the DOM.
 */
import { el } from './dom';
import type { CheckboxHandle } from './toolkit';
import { BLOCKS_PER_PAGE, blockPage, type BlockGridOptions } from './selection';

/** The toolkit factories the grid uses (./toolkit's checkbox and button). */
export interface GridControls {
  checkbox(label: string, checked: boolean, onChange: (checked: boolean) => void, title?: string): CheckboxHandle;
  button(label: string, opts: { title?: string; onClick: () => void }): HTMLElement;
  setDisabled(el: HTMLElement, disabled: boolean): void;
}

export interface BlockGrid {
  element: HTMLElement;
  /** The checkboxes drawn, by block. */
  checkboxes: Map<number, CheckboxHandle>;
}

export function renderBlockGrid(o: BlockGridOptions, ui: GridControls): BlockGrid {
  const { page, pages, first, end } = blockPage(o.count, o.page);
  const grid = el('div', { class: 'blocks', id: 'blocks' });
  grid.setAttribute('role', 'group');
  grid.setAttribute('aria-label', pages > 1 ? `Blocks ${first}–${end - 1} of ${o.count} to keep` : 'Blocks to keep');
  const checkboxes = new Map<number, CheckboxHandle>();
  for (let b = first; b < end; b++) {
    const c = ui.checkbox(String(b), o.kept.has(b), (checked) => o.onToggle(b, checked), o.title(b));
    checkboxes.set(b, c);
    grid.append(c.element);
  }
  if (pages === 1) return { element: grid, checkboxes };
  const n = (x: number) => x.toLocaleString('en-US');
  const keptHere = [...checkboxes.keys()].filter((b) => o.kept.has(b)).length;
  const line = el('p', { class: 'hint', id: 'blocks-more', text: `Blocks ${n(first)}–${n(end - 1)} of ${n(o.count)} (${n(keptHere)} kept here, ${n(o.kept.size)} in all); ${n(o.count - (end - first))} more on ${n(pages - 1)} other page${pages > 2 ? 's' : ''}. The presets above set every block.` });
  line.setAttribute('aria-live', 'polite');
  const prev = ui.button('◀ Previous', { title: page > 0 ? `Blocks ${n(first - BLOCKS_PER_PAGE)}–${n(first - 1)}` : 'This is the first page', onClick: () => o.onPage(page - 1) });
  const next = ui.button('Next ▶', { title: page < pages - 1 ? `Blocks ${n(end)}–${n(Math.min(o.count, end + BLOCKS_PER_PAGE) - 1)}` : 'This is the last page', onClick: () => o.onPage(page + 1) });
  prev.id = 'blocks-prev';
  next.id = 'blocks-next';
  ui.setDisabled(prev, page === 0);
  ui.setDisabled(next, page === pages - 1);
  const pager = el('div', { class: 'blocks-pager' }, prev, next);
  return { element: el('div', { class: 'blocks-box' }, grid, line, pager), checkboxes };
}
