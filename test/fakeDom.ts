/**
 * Just enough DOM to run the webview's renderers in node: elements, text, attributes, events.
 * Setting innerHTML/outerHTML throws, so markup can only appear if the code builds it on purpose.
 */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class FakeText {
  constructor(readonly data: string) {}
  get html(): string {
    return esc(this.data);
  }
  get text(): string {
    return this.data;
  }
}

export class FakeElement {
  children: (FakeElement | FakeText)[] = [];
  attrs = new Map<string, string>();
  dataset: Record<string, string> = {};
  /** Properties the toolkit's elements carry (checked, disabled). */
  [prop: string]: unknown;
  private listeners = new Map<string, (() => void)[]>();
  constructor(readonly tagName: string) {}
  set className(v: string) {
    this.attrs.set('class', v);
  }
  set id(v: string) {
    this.attrs.set('id', v);
  }
  get id(): string {
    return this.attrs.get('id') ?? '';
  }
  set title(v: string) {
    this.attrs.set('title', v);
  }
  get title(): string {
    return this.attrs.get('title') ?? '';
  }
  set textContent(v: string) {
    this.children = [new FakeText(v)];
  }
  get textContent(): string {
    return this.children.map((c) => (c instanceof FakeText ? c.data : c.textContent)).join('');
  }
  set innerHTML(_v: string) {
    throw new Error('innerHTML used');
  }
  set outerHTML(_v: string) {
    throw new Error('outerHTML used');
  }
  setAttribute(k: string, v: string) {
    this.attrs.set(k, v);
  }
  getAttribute(k: string): string | null {
    return this.attrs.get(k) ?? null;
  }
  append(...c: (FakeElement | FakeText | string)[]) {
    for (const x of c) this.children.push(typeof x === 'string' ? new FakeText(x) : x);
  }
  appendChild(c: FakeElement) {
    this.children.push(c);
    return c;
  }
  replaceChildren(...c: (FakeElement | FakeText | string)[]) {
    this.children = [];
    this.append(...c);
  }
  addEventListener(type: string, f: () => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), f]);
  }
  /** What a click, or Space/Enter on the focused control, does. */
  dispatch(type: string) {
    for (const f of this.listeners.get(type) ?? []) f();
  }
  /** Every element below this one (depth first) with `tag`. */
  all(tag: string): FakeElement[] {
    const out: FakeElement[] = [];
    for (const c of this.children) {
      if (!(c instanceof FakeElement)) continue;
      if (c.tagName === tag) out.push(c);
      out.push(...c.all(tag));
    }
    return out;
  }
  /** The selectors the webviews use: `[data-section]`, `#id`, `#id:not([disabled])`, `#id tag`. */
  querySelectorAll(selector: string): FakeElement[] {
    const all = this.descendants();
    if (selector === '[data-section]') return all.filter((e) => e.dataset.section !== undefined);
    const m = /^#([\w-]+)(:not\(\[disabled\]\))?(?: ([\w-]+))?$/.exec(selector);
    if (!m) throw new Error(`fake DOM: selector ${selector} not supported`);
    const found = all.filter((e) => e.id === m[1] && !(m[2] && e.disabled));
    return m[3] ? found.flatMap((e) => e.all(m[3])) : found;
  }
  querySelector(selector: string): FakeElement | null {
    return this.querySelectorAll(selector)[0] ?? null;
  }
  scrollIntoView(): void {}
  focus(): void {}
  style: Record<string, string> = {};
  /** This element's descendants, depth first. */
  descendants(): FakeElement[] {
    return this.children.flatMap((c) => (c instanceof FakeElement ? [c, ...c.descendants()] : []));
  }
  byId(id: string): FakeElement | undefined {
    for (const c of this.children) {
      if (!(c instanceof FakeElement)) continue;
      if (c.id === id) return c;
      const found = c.byId(id);
      if (found) return found;
    }
    return undefined;
  }
  get html(): string {
    const a = [...this.attrs].map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
    return `<${this.tagName}${a}>${this.children.map((c) => c.html).join('')}</${this.tagName}>`;
  }
}

export function installFakeDom(): void {
  (globalThis as { document?: unknown }).document = { createElement: (t: string) => new FakeElement(t), createTextNode: (t: string) => new FakeText(t) };
}
