/**
 * The side view's prune form on a hand-made report with 10,000 blocks: one page of checkboxes
 * with Previous/Next and a line saying how many more there are (before, 10,000 checkboxes and a
 * 10,000-entry k dropdown were built), every block reachable by keyboard, and a bounded scores
 * table; "All" and "None" of a 20,000-block report reach the host as block ranges, and hostile
 * ranges are refused. The renderers run in node over a fake DOM.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { normalizeReport } from '../../../../src/core/reportData';
import type { ReportData } from '../../../../src/shared/protocol';
import type { BlockGridOptions } from '../../../../webview/selection';
import { repoRoot, tempDir } from '../../../helpers';
import { FakeElement, installFakeDom } from '../../../fakeDom';
import { validateFromWebview } from '../../../../src/shared/validate';
import { installVscodeStub, silentLog } from '../../../vscodeStub';

/** The webview modules' exports this test uses (webview/ is typed with the DOM; the tests are not). */
interface Webview {
  BLOCKS_PER_PAGE: number;
  renderBlockGrid(o: BlockGridOptions, ui: typeof controls): { element: FakeElement };
  topKChoices(blocks: number, current: number): number[];
  scoreRows(layers: readonly number[], best: number): { shown: number[]; hidden: number };
  bestPrefix(report: ReportData): number[];
  allBlocks(report: ReportData): number[];
  topK(report: ReportData, k: number): number[];
  describeBlocks(kept: readonly number[]): string;
  selectionMessage(report: ReportData, kept: readonly number[]): unknown;
  commitParams(report: ReportData, kept: readonly number[]): unknown;
}

/** The webview modules, bundled as the extension bundles them (no Node, no toolkit). */
async function webviewModules(): Promise<Webview> {
  const dir = tempDir('ps-grid-');
  const load = async (name: string) => {
    const outfile = path.join(dir, `${name}.js`);
    buildSync({ entryPoints: [path.join(repoRoot, 'webview', `${name}.ts`)], bundle: true, format: 'cjs', platform: 'neutral', outfile, logLevel: 'silent' });
    return import(outfile);
  };
  const modules = { ...(await load('blockGrid')), ...(await load('selection')) };
  fs.rmSync(dir, { recursive: true, force: true });
  return modules;
}

/** A hand-made probe report with `blocks` blocks (every field the reader needs, nothing more). */
function generatedReport(blocks: number): ReportData {
  const layers = Array.from({ length: blocks + 1 }, (_, l) => ({ layer: l, accuracy: 0.5 + (0.4 * ((l * 7919) % 1000)) / 1000, macroF1: 0.5, controlAccuracy: 0.5, c: 1 }));
  const json = {
    kind: 'probe',
    createdAt: '2026-12-01T00:00:00Z',
    model: { dir: '/m/huge', architecture: 'bert', numLayers: blocks, hiddenSize: 8, params: { total: 100 + 10 * blocks, embeddings: 100, perBlock: Array(blocks).fill(10), other: 0 } },
    tasks: { t: { labels: ['a', 'b'], majority: 0.5, pooling: 'mean', layers } },
  };
  return normalizeReport(json, '/m/huge-report.json');
}

/** The toolkit's checkbox and button (webview/toolkit.ts) as plain elements: a property per state, events as the components fire them. */
const create = (tag: string) => new FakeElement(tag);
const controls = {
  checkbox(label: string, checked: boolean, onChange: (checked: boolean) => void, title?: string) {
    const c = create('vscode-checkbox');
    c.textContent = label;
    c.checked = checked;
    if (title) c.title = title;
    c.addEventListener('change', () => onChange(c.checked === true));
    return {
      element: c,
      get checked() {
        return c.checked === true;
      },
      set checked(v: boolean) {
        c.checked = v;
      },
    };
  },
  button(label: string, opts: { title?: string; onClick: () => void }) {
    const b = create('vscode-button');
    b.textContent = label;
    if (opts.title) b.title = opts.title;
    b.addEventListener('click', () => {
      if (!b.disabled) opts.onClick();
    });
    return b;
  },
  setDisabled(el: FakeElement, disabled: boolean) {
    el.disabled = disabled;
  },
};

test('a 10,000-block report: the prune form draws one page of 64 checkboxes, says how many more, and pages through every block by keyboard', async () => {
  installFakeDom();
  const { renderBlockGrid, BLOCKS_PER_PAGE } = await webviewModules();
  const r = generatedReport(10_000);
  const kept = new Set(Array.from({ length: 5_000 }, (_, i) => 2 * i));
  let page = 0;
  const toggled: [number, boolean][] = [];
  const draw = () =>
    renderBlockGrid({ count: r.model.numLayers, kept, page, title: (b) => `block ${b}`, onToggle: (b, c) => toggled.push([b, c]), onPage: (p) => (page = p) }, controls).element;
  let root = draw();
  const boxes = () => root.all('vscode-checkbox');
  assert.equal(BLOCKS_PER_PAGE, 64);
  assert.equal(boxes().length, 64, 'one page of checkboxes, not 10,000');
  assert.deepEqual(boxes().slice(0, 3).map((c) => [c.textContent, c.checked]), [['0', true], ['1', false], ['2', true]]);
  assert.equal(root.byId('blocks-more')!.textContent, 'Blocks 0–63 of 10,000 (32 kept here, 5,000 in all); 9,936 more on 156 other pages. The presets above set every block.');
  assert.equal(root.byId('blocks')!.getAttribute('aria-label'), 'Blocks 0–63 of 10000 to keep');
  const prev = () => root.byId('blocks-prev')!;
  const next = () => root.byId('blocks-next')!;
  assert.equal(prev().disabled, true);
  assert.equal(next().disabled, false);
  // Enter or Space on a focused vscode-button fires its click.
  next().dispatch('click');
  assert.equal(page, 1);
  root = draw();
  assert.deepEqual([boxes()[0].textContent, boxes().at(-1)!.textContent], ['64', '127']);
  boxes()[1].checked = true;
  boxes()[1].dispatch('change');
  assert.deepEqual(toggled, [[65, true]]);
  page = 10_000;
  root = draw();
  assert.deepEqual([boxes()[0].textContent, boxes().at(-1)!.textContent, boxes().length], ['9984', '9999', 16], 'the last page (page clamped)');
  assert.equal(next().disabled, true);
  prev().dispatch('click');
  assert.equal(page, 155);
  // A model of ordinary size: a checkbox per block, no pager.
  const small = renderBlockGrid({ count: 12, kept: new Set([0]), page: 0, title: String, onToggle: () => {}, onPage: () => {} }, controls).element;
  assert.equal(small.all('vscode-checkbox').length, 12);
  assert.equal(small.byId('blocks-next'), undefined);
});

test('a 10,000-block report: the k dropdown and the scores table are bounded too, and keep what matters', async () => {
  installFakeDom();
  const { topKChoices, scoreRows, bestPrefix } = await webviewModules();
  const r = generatedReport(10_000);
  assert.deepEqual(topKChoices(12, 6), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const ks = topKChoices(10_000, 4_321);
  assert.ok(ks.length <= 30, `${ks.length} choices`);
  for (const k of [1, 16, 1_000, 4_321, 10_000]) assert.ok(ks.includes(k), `k = ${k}`);
  const t = r.tasks.t;
  const { shown, hidden } = scoreRows(t.layers.map((l) => l.layer), t.bestLayer);
  assert.ok(shown.length <= 34, `${shown.length} rows`);
  assert.equal(shown.length + hidden, 10_001);
  assert.ok(shown.includes(0) && shown.includes(10_000) && shown.includes(t.bestLayer), JSON.stringify(shown.slice(-3)));
  assert.ok(bestPrefix(r).length <= 10_000);
});

test('"All" and "None" of a 20,000-block report reach the host through the protocol: the palette\'s Prune gets every block, a commit all of them (before, a list over 10,000 blocks was refused)', async () => {
  installVscodeStub();
  const { allBlocks, topK, selectionMessage, commitParams } = await webviewModules();
  const { RelevanceViewProvider } = await import('../../../../src/extension/views/relevanceView');
  const r = generatedReport(20_000);
  const selections: number[][] = [];
  const commits: unknown[] = [];
  const host = {
    snapshot: () => [],
    handlers: { 'prune/commit': async (p: unknown) => (commits.push(p), { status: 'declined' }) } as never,
    cancel: () => {},
    selectionChanged: (_dir: string, kept: number[]) => selections.push(kept),
  };
  const provider = new RelevanceViewProvider({ path: '/ext' } as never, host, silentLog);
  let receive: (m: unknown) => void = () => {};
  const posted: unknown[] = [];
  const webview = { options: {}, html: '', cspSource: 'x', asWebviewUri: () => 'x', onDidReceiveMessage: (f: (m: unknown) => void) => ((receive = f), { dispose() {} }), postMessage: async (m: unknown) => (posted.push(m), true) };
  provider.resolveWebviewView({ webview, visible: true, onDidChangeVisibility: () => ({ dispose() {} }), onDidDispose: () => ({ dispose() {} }), show() {} } as never);
  const all = allBlocks(r);
  const message = selectionMessage(r, all);
  assert.deepEqual(message, { type: 'selection', modelDir: '/m/huge', kept: [[0, 19_999]] }, 'All is one range');
  assert.ok(JSON.stringify(message).length < 100);
  // A scattered pick (every other block) is as many ranges as blocks and still passes.
  const scattered = all.filter((b) => b % 2 === 0);
  for (const kept of [all, [], scattered, topK(r, 15_000)]) {
    const m = selectionMessage(r, kept);
    assert.equal(validateFromWebview(m).ok, true, JSON.stringify(validateFromWebview(m)).slice(0, 200));
    receive(m);
  }
  receive({ type: 'request', id: 1, method: 'prune/commit', params: commitParams(r, all) });
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(selections.map((k) => k.length), [20_000, 0, 10_000, 15_000], 'the host gets every block of each selection');
  assert.deepEqual(selections[0].slice(-2), [19_998, 19_999]);
  assert.deepEqual(selections[2].slice(0, 3), [0, 2, 4]);
  assert.deepEqual(commits, [{ modelDir: '/m/huge', layers: [[0, 19_999]] }]);
  assert.deepEqual(posted, [{ type: 'reply', id: 1, result: { status: 'declined' } }]);
  provider.dispose();
});

test('block ranges from a hostile page are refused before the host expands them: overlapping, reversed, past the largest report, too many', () => {
  const sel = (kept: unknown) => validateFromWebview({ type: 'selection', modelDir: '/m', kept });
  assert.equal(sel([[0, 999_999]]).ok, true, 'every block of the largest report a reader accepts');
  const bad: [unknown, RegExp][] = [
    [[[0, 1_000_000]], /range 0: not a pair of block indices from 0 to 999999/],
    [[[0, Number.MAX_SAFE_INTEGER]], /range 0: not a pair/],
    [[[3, 1]], /range 0: first block 3 after last 1/],
    [[[0, 5], [5, 9]], /range 1: not after range 0 with a gap/],
    [[[0, 5], [6, 9]], /range 1: not after range 0 with a gap/],
    [[[4, 5], [0, 1]], /range 1: not after range 0/],
    [[[0, 1, 2]], /range 0: not a pair/],
    [[0, 1], /range 0: not a pair/],
    [[['0', '1']], /range 0: not a pair/],
    [[[0.5, 1]], /range 0: not a pair/],
    [new Array(500_001).fill([0, 0]), /more than 500000 ranges/],
    [{ 0: [0, 1], length: 1 }, /not an array/],
  ];
  for (const [kept, re] of bad) {
    const r = sel(kept);
    assert.equal(r.ok, false, JSON.stringify(kept).slice(0, 60));
    assert.match((r as { error: string }).error, re);
  }
});

test('a report of more blocks than the view can hold is refused by the reader with the limit, and the summary of a scattered pick stays one line', async () => {
  assert.throws(() => generatedReport(1_000_001), /"model\.numLayers" is 1000001; ProbeScale reads reports of at most 1,000,000 blocks/);
  const { describeBlocks } = await webviewModules();
  const scattered = Array.from({ length: 10_000 }, (_, i) => 3 * i);
  const text = describeBlocks(scattered);
  assert.ok(text.length < 200, text);
  assert.match(text, /^0, 3, 6, .* and 9,976 more ranges$/);
  assert.equal(describeBlocks([0, 1, 2, 3, 7]), '0–3, 7');
});
