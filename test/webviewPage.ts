/**
 * A ProbeScale webview page (the side view, webview/main.ts, or the report editor,
 * webview/report/main.ts) run whole in node: bundled as the extension bundles it, over the fake
 * DOM (test/fakeDom.ts), with chart.js and the component library replaced by recorders
 * (test/webviewStubs/). A test sends it what the host would post and reads what it drew, what it
 * posted back and what it threw.
 */
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { FakeElement, FakeText, installFakeDom } from './fakeDom';
import { repoRoot, tempDir } from './helpers';
import type { DrawnChart } from './webviewStubs/chart';

export interface WebviewPage {
  /** The page's root element (`<main id="app">`). */
  root: FakeElement;
  /** What the page posted to the host, in order. */
  posted: unknown[];
  /** Errors thrown while the page handled a message (a blank or stale panel in VS Code). */
  errors: Error[];
  /** The charts drawn since the page loaded. */
  charts: DrawnChart[];
  /** Delivers `message` as the host's postMessage would, then lets the page's promises settle. */
  send(message: unknown): Promise<void>;
  /** Elements under the root, SVG markup included (one per tag). */
  nodeCount(): number;
  /** All text the page shows, SVG text included. */
  text(): string;
}

const bundles = new Map<string, string>();

/** The bundled page (built once per test process). */
function bundle(entry: 'main' | 'report/main'): string {
  let file = bundles.get(entry);
  if (file) return file;
  const dir = tempDir('ps-page-');
  file = path.join(dir, `${entry.replace('/', '-')}.js`);
  const stubs = path.join(repoRoot, 'test', 'webviewStubs');
  buildSync({
    entryPoints: [path.join(repoRoot, 'webview', `${entry}.ts`)],
    bundle: true,
    format: 'cjs',
    platform: 'neutral',
    outfile: file,
    logLevel: 'silent',
    alias: { 'chart.js': path.join(stubs, 'chart.ts'), '@vscode/webview-ui-toolkit': path.join(stubs, 'toolkit.ts') },
  });
  bundles.set(entry, file);
  return file;
}

/** An `<svg>` parsed by the page: its markup is kept whole (counted and read as text by the harness). */
class FakeSvg extends FakeElement {
  constructor(readonly markup: string) {
    super('svg');
  }
}

/** Loads a fresh page; `state` is what getState returns (the view's state from before it was hidden). */
export async function openWebview(entry: 'main' | 'report/main', state?: unknown): Promise<WebviewPage> {
  installFakeDom();
  const root = new FakeElement('main');
  root.id = 'app';
  const body = new FakeElement('body');
  body.append(root);
  const posted: unknown[] = [];
  const errors: Error[] = [];
  let listener: ((ev: { data: unknown }) => void) | undefined;
  const g = globalThis as Record<string, unknown>;
  const doc = g.document as Record<string, unknown>;
  doc.body = body;
  doc.getElementById = (id: string) => (id === 'app' ? root : (root.byId(id) ?? null));
  doc.importNode = (node: unknown) => node;
  g.probescaleCharts = [];
  g.window = { addEventListener: (type: string, f: (ev: { data: unknown }) => void) => type === 'message' && (listener = f) };
  g.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => posted.push(m), getState: () => state, setState: (s: unknown) => (state = s) });
  g.getComputedStyle = () => ({ getPropertyValue: () => '' });
  g.MutationObserver = class {
    observe(): void {}
  };
  g.DOMParser = class {
    parseFromString(markup: string) {
      return { documentElement: new FakeSvg(markup) };
    }
  };
  const file = bundle(entry);
  // A fresh page each time: the bundle runs its `new App(…).start()` when loaded.
  delete require.cache[file];
  await import(file);
  const page: WebviewPage = {
    root,
    posted,
    errors,
    charts: g.probescaleCharts as DrawnChart[],
    async send(message) {
      try {
        listener!({ data: message });
      } catch (e) {
        errors.push(e as Error);
      }
      await new Promise((r) => setImmediate(r));
    },
    nodeCount: () => root.descendants().reduce((n, e) => n + 1 + (e instanceof FakeSvg ? (e.markup.match(/<[a-z]/g)?.length ?? 0) : 0), 0),
    text: () => textOf(root),
  };
  return page;
}

/** Picks `value` in the select `id`, as a user does, then lets the page's promises settle. */
export async function choose(page: WebviewPage, id: string, value: string): Promise<void> {
  const s = page.root.byId(id)!;
  s.value = value;
  s.dispatch('change');
  await new Promise((r) => setImmediate(r));
}

function textOf(e: FakeElement | FakeText): string {
  if (e instanceof FakeText) return e.data;
  if (e instanceof FakeSvg) return e.markup.replace(/<[^>]*>/g, ' ');
  return e.children.map(textOf).join(' ');
}
