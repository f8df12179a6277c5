// End-to-end tests of the extension in a real VS Code, offline: code-server 4.100.3 (VS Code
// 1.100.3) driven by Debian's Chromium through playwright-core, as test/e2e/README.md describes.
//
//   npm run test:e2e          (builds first; or: node scripts/e2e.mjs after npm run build)
//
// 1. Extension tests: test/integration (mocha in the extension host, via extensionTestsPath).
// 2. UI tests: the ProbeScale view, the Explorer context menu, a probe and a commit driven by
//    clicks, an optimize driven through its pickers, screenshots in test/e2e/screenshots/.
// Prints `N passed, M failed` last and exits non-zero on any failure.
// Env: E2E_KEEP=1 keeps code-server running for a look; E2E_TIMEOUT_S caps the whole run (default 900);
// E2E_ONLY=extension|ui runs one phase.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as util from 'node:util';
import { ensureTools } from './e2eTools.mjs';

const started = Date.now();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const e2eDir = path.join(root, '.e2e');
const runDir = path.join(e2eDir, 'run');
const shotsDir = path.join(root, 'test', 'e2e', 'screenshots');
const require = createRequire(import.meta.url);
const RESULT_MARKER = 'PROBESCALE_INTEGRATION_RESULT';

const results = [];
const log = (...a) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

function finish(extraFailure) {
  if (extraFailure) results.push({ name: 'e2e harness', ok: false, error: extraFailure });
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log('');
  for (const r of results) console.log(`${r.ok ? '  ✓' : '  ✗'} ${r.name}${r.ok ? '' : `\n      ${String(r.error).split('\n').join('\n      ')}`}`);
  console.log(`\ne2e wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`PASS ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false, error: e?.stack ?? String(e) });
    log(`FAIL ${name}: ${e?.message ?? e}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what, ms, probe) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not ready after ${ms} ms${last ? ` (${last.message})` : ''}`);
}

function startCodeServer(codeServer, port, workspace) {
  const xdg = (n) => path.join(runDir, n);
  fs.mkdirSync(path.join(xdg('ud'), 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(xdg('ud'), 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      'window.commandCenter': false,
      'git.openRepositoryInParentFolders': 'never',
      'git.enabled': false,
    }),
  );
  const out = fs.openSync(path.join(runDir, 'code-server.log'), 'a');
  const child = spawn(
    codeServer,
    [
      '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
      '--disable-workspace-trust', '--disable-getting-started-override',
      '--user-data-dir', xdg('ud'), '--extensions-dir', xdg('exts'), workspace,
    ],
    { env: { ...process.env, XDG_CONFIG_HOME: xdg('xdg'), XDG_DATA_HOME: xdg('xdgdata') }, stdio: ['ignore', out, out], detached: true },
  );
  return child;
}

function stopProcess(child) {
  if (!child || child.exitCode !== null) return;
  try {
    // The server was started detached in its own group: stop it and the helpers it spawned.
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
}

function workbenchUrl(port, workspace, payload) {
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const entries = Object.entries(payload).map(([k, p]) => [k, remote(p)]);
  return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(entries))}`;
}

async function launchBrowser(chromium, name) {
  const dir = path.join(runDir, `chromium-${name}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function shot(page, name) {
  const file = path.join(shotsDir, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${path.relative(root, file)}`);
}

// ---- phase 1: extension tests in the extension host -------------------------------------------

async function extensionTests(chromium, port, workspace) {
  const ctx = await launchBrowser(chromium, 'tests');
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const lines = [];
  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  await page.exposeFunction('codeAutomationLog', (...args) => {
    // The workbench passes (level, printf-style arguments of the extension host's console call).
    const text = Array.isArray(args[1]) ? util.format(...args[1]) : util.format(...args.slice(1));
    for (const line of String(text).split('\n')) {
      lines.push(line);
      if (line.trim()) console.log(`  │ ${line}`);
    }
  });
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
  const url = workbenchUrl(port, workspace, {
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out', 'test', 'integration', 'index.js'),
  });
  await page.goto(url);
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 300_000))]);
  await ctx.close().catch(() => {});
  const marker = lines.map((l) => l.match(new RegExp(`${RESULT_MARKER} (\\{.*\\})`))).find(Boolean);
  if (!marker) {
    results.push({ name: 'extension tests (test/integration)', ok: false, error: `no result from the extension host (exit ${code}); see the log above and ${path.relative(root, runDir)}/code-server.log` });
    return;
  }
  const { passed, failed } = JSON.parse(marker[1]);
  // mocha's spec reporter: "    ✔ name (12ms)" per pass; "  1) suite\n       name:\n     Error: …" per failure.
  const names = lines.map((l) => /^\s+✔ (.*?)(?: \(\d+ms\))?$/.exec(l)?.[1]).filter(Boolean);
  const summaryAt = lines.findIndex((l) => /^\s+\d+ failing/.test(l));
  const failures = [];
  if (summaryAt >= 0) for (let i = summaryAt + 1; i < lines.length; i++) if (/^\s+\d+\) /.test(lines[i])) failures.push(lines.slice(i, i + 6).join('\n'));
  for (let i = 0; i < passed; i++) results.push({ name: `extension: ${names[i] ?? `test ${i + 1}`}`, ok: true });
  for (let i = 0; i < failed; i++) results.push({ name: `extension: failure ${i + 1}`, ok: false, error: failures[i] ?? 'see the log above' });
  log(`extension tests: ${passed} passed, ${failed} failed (exit ${code})`);
  if (code !== 0 && failed === 0) results.push({ name: 'extension test run exit code', ok: false, error: `exit ${code}` });
}

// ---- phase 2: UI tests --------------------------------------------------------------------------

/**
 * The optimize budget floor in the UI workspace, as the job computes it: probescale.vocabTrim is on
 * there, so the block-less model with the word table cut to the tasks' training tokens. Also the
 * presets above it and a budget (a fraction, with its folder label) that holds 2 of tiny-roberta's 4 blocks.
 */
async function trimmedFloor(workspace, tasks) {
  const { trimmedBudgetAccount } = require(path.join(root, 'out', 'src', 'core', 'pipeline', 'vocabTrim.js'));
  const { DEFAULT_SETTINGS } = require(path.join(root, 'out', 'src', 'core', 'settings.js'));
  const ws = JSON.parse(fs.readFileSync(path.join(workspace, '.vscode', 'settings.json'), 'utf8'));
  const settings = { ...DEFAULT_SETTINGS, limitTrain: ws['probescale.limitTrain'], limitTest: ws['probescale.limitTest'] };
  const job = { modelDir: path.join(workspace, 'models', 'tiny-roberta'), tasks: tasks.map((name) => ({ name, path: path.join(workspace, 'data', 'tasks', name), weight: 1 })), settings, vocabTrim: true };
  const { acc, floor } = await trimmedBudgetAccount(job, {});
  const pct = Math.ceil((100 * (floor.params + acc.perBlock[0] + acc.perBlock[1])) / acc.total);
  const presets = [0.25, 0.35, 0.5, 0.7].filter((f) => Math.floor(f * acc.total + 1e-6) >= floor.params).length;
  return { params: floor.params, pct: ((100 * floor.params) / acc.total).toFixed(1), presets, twoBlocks: pct / 100, label: String(pct) };
}

async function uiTests(chromium, port, workspace) {
  const ctx = await launchBrowser(chromium, 'ui');
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const consoleProblems = [];
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to (apply|load|execute)/i.test(t)) consoleProblems.push(t);
    recentConsole.push(`${new Date().toISOString().slice(11, 23)} ${m.type()} ${m.location()?.url?.slice(-60) ?? ''}: ${t.slice(0, 300)}`);
    if (recentConsole.length > 60) recentConsole.shift();
  });
  // With where it was thrown. One thrown only by VS Code's own code (every stack line in
  // static/out/vs/…) is logged, not counted: the step is about ProbeScale's pages. (Once in 34 runs
  // "Cannot read properties of null (reading 'classList')" failed the step, before stacks were
  // logged; ProbeScale's webview sources use none, the side view's bundled toolkit does.)
  const workbenchErrors = [];
  page.on('pageerror', (e) => {
    const frames = (e.stack ?? '').split('\n').slice(1).map((l) => l.trim());
    const text = `page error: ${e.message} (${frames.slice(0, 3).join(' | ')})`;
    if (frames.length > 0 && frames.every((l) => /\/static\/out\/vs\//.test(l))) workbenchErrors.push(text);
    else consoleProblems.push(text);
  });
  let statusBarText = '';
  let jobProgress = '';
  let jobTextCut = true;
  await page.goto(workbenchUrl(port, workspace, { extensionDevelopmentPath: root }));
  const webview = () => page.frameLocator('iframe.webview').last().frameLocator('iframe#active-frame');
  const explorerRow = (name) => page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`);
  const openMenu = page.locator('.context-view .monaco-menu');
  // A context menu left open blocks every later click; Escape can land before it takes focus, so retry.
  const closeMenus = () =>
    waitFor('closing the context menu', 5_000, async () => {
      if (!(await openMenu.isVisible())) return true;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(150);
      return !(await openMenu.isVisible());
    });
  const rightClick = async (name) => {
    await closeMenus();
    await explorerRow(name).click({ button: 'right' });
  };

  try {
    await step('UI: workbench loads with the ProbeScale activity bar entry', async () => {
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await page.locator('.activitybar .action-item a[aria-label^="ProbeScale"]').waitFor({ timeout: 30_000 });
      await shot(page, '01-workbench');
    });

    await step('UI: the relevance view opens with its empty state', async () => {
      await page.locator('.activitybar .action-item a[aria-label^="ProbeScale"]').click();
      await webview().locator('#empty').waitFor({ timeout: 30_000 });
      const text = await webview().locator('#empty').innerText();
      if (!/No report yet/.test(text)) throw new Error(`empty state says: ${text}`);
      await shot(page, '02-view-empty');
    });

    await step('UI: Explorer context menu shows "Probe Model Folder" on a model folder only', async () => {
      await page.keyboard.press('Control+Shift+E');
      await explorerRow('models').waitFor({ timeout: 30_000 });
      if ((await explorerRow('tiny-bert').count()) === 0) await explorerRow('models').click();
      await explorerRow('tiny-bert').waitFor({ timeout: 10_000 });
      const item = page.getByRole('menuitem', { name: /Probe Model Folder/ });
      // The entry depends on a context key the extension sets after activation: retry the right click.
      await waitFor('the ProbeScale entry in the context menu', 30_000, async () => {
        await rightClick('tiny-bert');
        try {
          await item.waitFor({ timeout: 2_000 });
          return true;
        } catch {
          return false;
        }
      });
      await shot(page, '03-explorer-context-menu');
      await rightClick('data');
      await page.getByRole('menuitem', { name: /Copy Path/ }).waitFor({ timeout: 5_000 });
      const onData = await item.count();
      await closeMenus();
      if (onData !== 0) throw new Error('the entry also shows on "data", which is not a model folder');
    });

    await step('UI: probe from the context menu, pick tasks, the view renders charts and table', async () => {
      await rightClick('tiny-bert');
      const entry = page.getByRole('menuitem', { name: /Probe Model Folder/ });
      await entry.waitFor({ timeout: 10_000 });
      // VS Code's menus ignore a click that lands right after they open (the releasing right click).
      await page.waitForTimeout(400);
      await entry.hover();
      await entry.click();
      if (await entry.isVisible().catch(() => false)) await page.keyboard.press('Enter');
      const quick = page.locator('.quick-input-widget');
      await quick.locator('.quick-input-list .monaco-list-row').filter({ hasText: 'spam' }).waitFor({ timeout: 30_000 });
      // A dataset repository of Parquet shards (test/integration/workspace.ts) is offered under the repository's name.
      await quick.locator('.quick-input-list .monaco-list-row').filter({ hasText: 'hub-emails' }).waitFor({ timeout: 5_000 });
      // So is a folder of datasets' cache (Arrow, validation and no test split), under the name its dataset_info.json gives.
      await quick.locator('.quick-input-list .monaco-list-row').filter({ hasText: 'mail_cache' }).waitFor({ timeout: 5_000 });
      for (const task of ['spam', 'sentlen']) {
        const row = quick.locator('.quick-input-list .monaco-list-row').filter({ hasText: task });
        if ((await row.getAttribute('aria-checked')) !== 'true') {
          const box = row.locator('input[type=checkbox], .quick-input-list-checkbox').first();
          if (await box.count()) await box.click();
          else await row.click();
        }
        await waitFor(`ticking task ${task}`, 5_000, async () => (await row.getAttribute('aria-checked')) === 'true');
      }
      await shot(page, '04-task-quickpick');
      await page.keyboard.press('Enter');
      await webview().locator('table#scores tbody tr').first().waitFor({ timeout: 120_000 });
      const rows = await webview().locator('table#scores tbody tr').count();
      if (rows !== 5) throw new Error(`the table has ${rows} rows; tiny-bert has 5 hidden states`);
      const drawn = await webview().locator('#accuracy-chart').evaluate((c) => {
        const g = c.getContext('2d');
        if (!g || c.width === 0 || c.height === 0) return 0;
        const px = g.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
        return n;
      });
      if (drawn < 500) throw new Error(`the accuracy chart drew ${drawn} pixels`);
      const bars = await webview().locator('#influence-chart').evaluate((c) => c.width > 0 && c.height > 0);
      if (!bars) throw new Error('the Block Influence chart has no size');
      const head = await webview().locator('header').innerText();
      if (!/tiny-bert/.test(head) || !/4 blocks/.test(head)) throw new Error(`the header says: ${head}`);
      await page.waitForTimeout(500);
      await shot(page, '05-view-report');
    });

    await step('UI: prune presets update the live parameter count', async () => {
      const summary = webview().locator('#prune-summary');
      await webview().locator('#preset-all').click();
      await waitFor('"All" preset', 5_000, async () => /4 of 4 blocks/.test(await summary.innerText()) && /100\.0 %/.test(await summary.innerText()));
      await webview().locator('#blocks vscode-checkbox').nth(3).click();
      await waitFor('unticking block 3', 5_000, async () => /3 of 4 blocks/.test(await summary.innerText()));
      await webview().locator('#blocks vscode-checkbox').nth(1).click();
      await waitFor('unticking block 1', 5_000, async () => /2 of 4 blocks \(0, 2\)/.test(await summary.innerText()));
      await webview().locator('section.prune').scrollIntoViewIfNeeded();
      await shot(page, '06-prune-form');
    });

    await step('UI: "Commit pruned model" writes the folder and shows it', async () => {
      await webview().locator('#commit').click();
      await webview().locator('#written').filter({ hasText: 'Wrote' }).waitFor({ timeout: 60_000 });
      const out = path.join(workspace, 'models', 'tiny-bert-pruned-0_2');
      const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
      if (config.num_hidden_layers !== 2) throw new Error(`num_hidden_layers ${config.num_hidden_layers} in ${out}`);
      await page.waitForTimeout(500);
      await shot(page, '07-committed');
      await webview().locator('#written vscode-link').click();
      await explorerRow('tiny-bert-pruned-0_2').and(page.locator('.selected, [aria-selected="true"]')).waitFor({ timeout: 15_000 });
      await shot(page, '08-revealed-in-explorer');
    });

    await step('UI: the view restores its state after being hidden (getState + ready handshake)', async () => {
      // The previous step revealed the folder in the Explorer, which hid (and tore down) the view.
      await page.locator('.activitybar .action-item a[aria-label^="ProbeScale"]').click();
      await webview().locator('table#scores tbody tr').first().waitFor({ timeout: 30_000 });
      const summary = await webview().locator('#prune-summary').innerText();
      if (!/2 of 4 blocks \(0, 2\)/.test(summary)) throw new Error(`the prune form lost its selection: ${summary}`);
      const written = await webview().locator('#written').innerText();
      if (!/Wrote tiny-bert-pruned-0_2/.test(written)) throw new Error(`the commit result is gone: ${written}`);
    });

    await step('UI: optimize from the command palette (tasks, weights, custom budget), the view shows the Selection', async () => {
      const quick = page.locator('.quick-input-widget');
      const input = quick.locator('.quick-input-box input');
      const rows = quick.locator('.quick-input-list .monaco-list-row');
      await closeMenus();
      await page.keyboard.press('F1');
      await input.waitFor({ timeout: 10_000 });
      await input.fill('>ProbeScale: Optimize for a Parameter Budget');
      await rows.filter({ hasText: 'Optimize for a Parameter Budget' }).first().waitFor({ timeout: 10_000 });
      await page.keyboard.press('Enter');
      // Model: tiny-roberta (the shown report's tiny-bert is listed first).
      await rows.filter({ hasText: 'tiny-roberta' }).first().waitFor({ timeout: 30_000 });
      await input.fill('tiny-roberta');
      await waitFor('the model list filtered to tiny-roberta', 5_000, async () => (await rows.count()) >= 1 && /tiny-roberta/.test(await rows.first().innerText()));
      await page.keyboard.press('Enter');
      // Tasks: last time's choice (spam, sentlen from the probe above) comes ticked.
      await waitFor('the task picker', 30_000, async () => /tasks/.test(await quick.locator('.quick-input-title').innerText()));
      for (const task of ['spam', 'sentlen']) {
        const row = rows.filter({ hasText: task });
        if ((await row.getAttribute('aria-checked')) !== 'true') await row.click();
        await waitFor(`ticking task ${task}`, 5_000, async () => (await row.getAttribute('aria-checked')) === 'true');
      }
      await page.keyboard.press('Enter');
      // Weights: equal.
      await rows.filter({ hasText: 'Equal weights' }).waitFor({ timeout: 10_000 });
      await page.keyboard.press('Enter');
      // Budget: probescale.vocabTrim is on in the test workspace, so the floor is the trimmed one
      // (tiny-roberta's whole table is 88.6 %); the presets above it are offered, and a typed budget
      // one parameter below it is refused.
      const floor = await trimmedFloor(workspace, ['spam', 'sentlen']);
      const custom = rows.filter({ hasText: 'Custom' });
      await custom.waitFor({ timeout: 60_000 });
      const presets = await rows.count();
      if (presets !== floor.presets + 1) throw new Error(`expected ${floor.presets} presets and "Custom…" above the trimmed floor (${floor.pct} %), got ${presets} rows`);
      const placeholder = await input.getAttribute('placeholder');
      if (!(placeholder ?? '').includes(`(${floor.pct} %)`)) throw new Error(`the budget placeholder does not give the trimmed minimum ${floor.pct} %: ${placeholder}`);
      await shot(page, '09-budget-quickpick');
      await rows.last().click();
      await waitFor('the budget input box', 10_000, async () => /fraction/.test(await quick.innerText()));
      await input.fill(String(floor.params - 1));
      await quick.filter({ hasText: 'below the smallest possible model' }).waitFor({ timeout: 5_000 });
      await input.fill(String(floor.twoBlocks));
      await quick.filter({ hasText: 'up to 2 of 4 blocks' }).waitFor({ timeout: 5_000 });
      await page.keyboard.press('Enter');
      // While the job runs: the side view's progress names the stage, the whole job's percentage and
      // (once it can) the time left, wrapped rather than cut; the status-bar item shows the percentage.
      await waitFor('the overall progress in the side view', 30_000, async () => {
        const line = webview().locator('#job .job-overall');
        if (!(await line.count())) return false;
        jobProgress = await line.innerText();
        jobTextCut = await webview().locator('#job .job-text').evaluate((e) => e.scrollWidth > e.clientWidth + 1);
        return /^stage \d of \d, .+ · \d+ % overall/.test(jobProgress);
      });
      await shot(page, '09a-view-job-progress');
      const item = page.locator('.statusbar-item').filter({ hasText: /ProbeScale optimize/ });
      await item.first().waitFor({ timeout: 30_000 });
      statusBarText = await item.first().innerText();
      await shot(page, '09b-status-bar-job');
      await item.first().click();
      await rows.filter({ hasText: 'Show Log' }).waitFor({ timeout: 5_000 });
      await rows.filter({ hasText: 'Cancel Job' }).waitFor({ timeout: 5_000 });
      await page.keyboard.press('Escape');

      const sel = webview().locator('#selection');
      await sel.waitFor({ timeout: 180_000 });
      const out = path.join(workspace, 'models', `tiny-roberta-probescale-${floor.label}`);
      const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
      if (config.probescale?.tasks?.map((t) => t.name).sort().join(',') !== 'sentlen,spam') throw new Error(`committed tasks: ${JSON.stringify(config.probescale?.tasks)}`);
      const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
      const kept = await webview().locator('#kept').innerText();
      const blocks = report.selection.kept.length;
      if (!new RegExp(`\\(${blocks} of 4\\)`).test(kept)) throw new Error(`the Selection says "${kept}"; the report kept ${JSON.stringify(report.selection.kept)}`);
      const figures = await webview().locator('#retention .figure-value').allInnerTexts();
      if (figures.length !== 3 || !/%/.test(figures[0])) throw new Error(`retention figures: ${JSON.stringify(figures)}`);
      const tableRows = await webview().locator('#baselines tbody tr').count();
      if (tableRows !== report.selection.baselines.length + 1) throw new Error(`the comparison has ${tableRows} rows for ${report.selection.baselines.length} baselines + ProbeScale`);
      const first = await webview().locator('#baselines tbody tr').first().innerText();
      if (!/ProbeScale/.test(first)) throw new Error(`the first comparison row is "${first}"`);
      // Each baseline row carries ProbeScale's paired test gap from the report, and the hint names the rule.
      const b0 = report.selection.baselines.find((b) => b.name === 'drop-bottom');
      const g = b0.vsSelected.objective;
      const want = `${g.diff >= 0 ? '+' : '−'}${Math.abs(100 * g.diff).toFixed(1)}±${(100 * g.se).toFixed(1)}`;
      const dropBottom = await webview().locator('#baselines tbody tr', { hasText: 'drop-bottom' }).innerText();
      if (!dropBottom.includes(want)) throw new Error(`the drop-bottom row "${dropBottom}" lacks the gap ${want}`);
      // probescale.vocabTrim is on in the test workspace: the Selection says what was kept.
      if (!report.selection.vocabTrim) throw new Error('the UI optimize ignored probescale.vocabTrim: no vocabTrim in the report');
      const vt = await webview().locator('#vocab-trim').innerText();
      if (!/^Vocabulary trimmed to .+ tokens/.test(vt) || !Object.keys(report.selection.perTask).every((t) => vt.includes(t))) throw new Error(`the vocabulary line says "${vt}"`);
      const hint = await webview().locator('#budget').innerText();
      if (!hint.includes(`rule ${report.selection.rule.name}`)) throw new Error(`the budget hint "${hint}" does not name the rule ${report.selection.rule.name}`);
      const adviceRows = await webview().locator('#advice tbody tr').count();
      if (adviceRows !== 2) throw new Error(`the per-task advice has ${adviceRows} rows for 2 tasks`);
      const embeddingOnly = await webview().locator('#embedding-only').count();
      if (embeddingOnly !== (report.selection.embeddingOnly.reachesTarget ? 1 : 0)) throw new Error(`embeddings-only note shown ${embeddingOnly}×, reachesTarget ${report.selection.embeddingOnly.reachesTarget}`);
      const verify = await webview().locator('#verify').innerText();
      if (!/Re-measured from the written folder/.test(verify) || !/batch 32/.test(verify)) throw new Error(`verification says: ${verify}`);
      const toast = page.locator('.notifications-toasts .notification-toast').filter({ hasText: `tiny-roberta-probescale-${floor.label}` });
      await toast.waitFor({ timeout: 10_000 });
      for (const b of ['Open Model Card', 'Reveal in Explorer']) await toast.getByRole('button', { name: b }).waitFor({ timeout: 5_000 });
      // The section is taller than the window at the default side-bar width: its top, then its end.
      await sel.evaluate((e) => e.scrollIntoView({ block: 'start' }));
      await page.waitForTimeout(500);
      await shot(page, '10-selection');
      await webview().locator('#verify').evaluate((e) => e.scrollIntoView({ block: 'end' }));
      await page.waitForTimeout(300);
      await shot(page, '11-selection-advice-verify');
      await toast.getByRole('button', { name: 'Open Model Card' }).click();
      await page.locator('.tabs-container .tab').filter({ hasText: 'README.md' }).first().waitFor({ timeout: 15_000 });
    });

    await step('UI: the report editor draws the optimize report: points and series match it, hover, click, commit, export, heatmap', async () => {
      await reportEditorChecks(page, webview, workspace);
    });

    await step('UI: the report editor overlays a second report of the same model (Compare with…)', async () => {
      await compareCheck(page, workspace);
    });

    await step('UI: compensated subsets and heuristics have their own markers; clicking one shows its bridges and widths', async () => {
      await compensatedCheck(page, workspace);
    });

    await step('UI: the report editor in light, dark and high-contrast themes', async () => {
      for (const [theme, name, cls] of [['Light Modern', '15-report-editor-light', 'vs'], ['Dark High Contrast', '16-report-editor-high-contrast', 'hc-black'], ['Dark Modern', '17-report-editor-dark', 'vs-dark']]) {
        await runCommand(page, 'Preferences: Color Theme');
        await page.locator('.quick-input-widget .quick-input-box input').fill(theme);
        await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: theme }).first().waitFor({ timeout: 10_000 });
        await page.keyboard.press('Enter');
        let seen = '';
        await waitFor(`the ${theme} theme`, 20_000, async () => (seen = await page.locator('.monaco-workbench').getAttribute('class')).split(/\s+/).includes(cls)).catch((e) => {
          throw new Error(`${e.message}; the workbench has classes "${seen}"`);
        });
        await page.waitForTimeout(800);
        await shot(page, name);
      }
    });

    await step('UI: the walkthrough from a model folder to a verified model is listed and opens', async () => {
      await runCommand(page, 'Welcome: Open Walkthrough');
      const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: 'Make a model smaller for your tasks' });
      await row.first().waitFor({ timeout: 10_000 });
      await row.first().click();
      for (const title of ['Open a model folder', 'Probe every layer', 'Optimize for a parameter budget', 'Read the report', 'Check the committed model']) {
        await page.locator('.gettingStartedContainer').getByText(title, { exact: true }).first().waitFor({ timeout: 15_000 });
      }
      await shot(page, '18-walkthrough');
    });

    await step("UI: no Content Security Policy violations, no page errors from ProbeScale's code", async () => {
      if (workbenchErrors.length) log(`VS Code's own code threw (not counted): ${workbenchErrors.slice(0, 5).join('\n')}`);
      if (consoleProblems.length) throw new Error(consoleProblems.slice(0, 5).join('\n'));
    });

    await step('UI: the status-bar item showed the running optimize with its stage', async () => {
      if (!/ProbeScale optimize: .+ · \d+ %/.test(statusBarText)) throw new Error(`status bar said "${statusBarText}"`);
    });

    await step('UI: the side view showed the optimize stage and overall percentage, its text wrapped, not cut', async () => {
      if (!/^stage \d of \d, .+ · \d+ % overall/.test(jobProgress)) throw new Error(`the view's progress said "${jobProgress}"`);
      if (jobTextCut) throw new Error('the progress text overflows its box (cut off)');
    });
  } finally {
    await shot(page, '99-final').catch(() => {});
    await ctx.close().catch(() => {});
  }
}

// ---- report editor (issue 11) -------------------------------------------------------------------

/** The frame of the open report editor (a webview iframe holding #tradeoff-chart). */
async function editorFrame(page, ms = 30_000) {
  return waitFor('the report editor webview', ms, async () => {
    for (const f of page.frames()) if ((await f.locator('#tradeoff-chart').count().catch(() => 0)) > 0) return f;
    return undefined;
  });
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file) {
  const b = fs.readFileSync(file);
  if (b.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`${file} is not a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Runs a command from the palette by its title. */
async function runCommand(page, title) {
  const quick = page.locator('.quick-input-widget');
  const input = quick.locator('.quick-input-box input');
  // F1 can land in a webview that keeps it, or while another quick pick closes: retry until the palette shows.
  await waitFor('the command palette', 20_000, async () => {
    await page.keyboard.press('Escape');
    await page.locator('.monaco-workbench .part.statusbar').click({ position: { x: 600, y: 5 } }).catch(() => {});
    await page.keyboard.press('F1');
    return input.waitFor({ timeout: 3_000 }).then(() => true, () => false);
  });
  await input.fill(`>${title}`);
  // The row whose label starts with the title ("Preferences: Color Theme", not "…: Browse Color Themes in Marketplace").
  const row = quick.locator(`.quick-input-list .monaco-list-row[aria-label^="${title}"]`).first();
  await row.waitFor({ timeout: 10_000 });
  await row.click();
}

/** ProbeScale's log lines in this run's code-server (the extension host's log channel). */
function extensionLog() {
  const logs = path.join(runDir, 'ud', 'logs');
  const files = [];
  const walk = (d) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name === 'ProbeScale.log') files.push(path.join(d, e.name));
    }
  };
  walk(logs);
  return files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n'));
}

/** The page's last console messages, every frame's (for a failure's log). */
const recentConsole = [];

/** Each frame's URL, load state and what its app root holds: what a blank webview has and lacks. */
async function framesState(page) {
  const rows = [];
  for (const f of page.frames()) {
    const state = await f
      .evaluate(() => {
        const d = globalThis.document;
        return { ready: d.readyState, app: d.getElementById('app')?.childElementCount ?? null, scripts: [...d.scripts].map((s) => s.src.split('/').pop()).join(','), body: d.body?.innerHTML.length ?? 0 };
      })
      .catch((e) => ({ error: e.message.slice(0, 80) }));
    rows.push(`${f.url().replace(/^https?:\/\/[^/]+/, '').slice(0, 90)} ${JSON.stringify(state)}`);
  }
  return rows.join('\n  ');
}

async function reportEditorChecks(page, webview, workspace) {
  // Only the side view's webview open (a Markdown preview is a webview too): close the editors, show the view.
  await runCommand(page, 'View: Close All Editors');
  await runCommand(page, 'ProbeScale: Show Layer Relevance');
  await webview().locator('#open-editor').click();
  // Now and then (5 of 20 runs at load 2-7) the editor's tab opened blank. Seen each time: the editor's
  // webview host frame (VS Code 1.100's, in code-server 4.100.3; newer ones need Node 22) logged
  // "Found unexpected service worker controller … Waiting for controllerchange" and never made the
  // frame of the page, so ProbeScale's script never ran. The extension now reopens an editor whose
  // page is silent for 15 s (reportEditor.ts, reopenBlank): wait for that, and say when it did.
  // If the editor is still blank, do what a user would: close it and open it again, said plainly.
  const f = await editorFrame(page, 45_000).catch(async (e) => {
    await shot(page, '12-report-editor-not-open').catch(() => {});
    log(`${e.message}; frames:\n  ${await framesState(page)}\nrecent console:\n  ${recentConsole.slice(-8).join('\n  ')}\nclosing the blank editor and clicking "Open in Editor" again`);
    // (Closing it also removes its webview, which `webview()`, the last one, would find before the side view's.)
    await runCommand(page, 'View: Close All Editors');
    await webview().locator('#open-editor').click();
    return editorFrame(page);
  });
  // (The extension tests force such a reopen on their own report; this one is the optimize report's.)
  const reopened = extensionLog().filter((l) => /report editor .*tiny-roberta-optimize.* reopening it/.test(l));
  if (reopened.length) log(`the extension reopened a blank report editor: ${reopened.join(' | ')}`);
  const tab = page.locator('.tabs-container .tab.active');
  if (!/tiny-roberta-optimize/.test(await tab.innerText())) throw new Error(`the active tab is "${await tab.innerText()}"`);
  const reportFile = fs.readdirSync(path.join(workspace, '.probescale', 'reports')).filter((n) => n.includes('optimize')).map((n) => path.join(workspace, '.probescale', 'reports', n))[0];
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  const subsets = new Set(report.selection.candidates.map((c) => c.kept.join(','))).size;
  const canvas = f.locator('#tradeoff-chart');
  await waitFor('the chart drawn', 10_000, async () => (await canvas.getAttribute('data-points')) !== null);
  const points = Number(await canvas.getAttribute('data-points'));
  if (points !== subsets) throw new Error(`the chart drew ${points} points; the report measured ${subsets} subsets`);
  if ((await canvas.getAttribute('data-series')) !== '1') throw new Error(`series ${await canvas.getAttribute('data-series')}`);
  const rows = await f.locator('#tradeoff-table tbody tr').count();
  if (rows !== subsets) throw new Error(`the table has ${rows} rows for ${subsets} subsets`);
  // Hover and click ProbeScale's pick.
  const [px, py] = (await canvas.getAttribute('data-pick')).split(',').map(Number);
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + px, box.y + py);
  const kept = report.selection.kept.length ? report.selection.kept.join(', ') : 'none (embeddings only)';
  await waitFor('the hover line', 5_000, async () => (await f.locator('#tradeoff-hover').innerText()).includes(`blocks ${kept}`));
  const hover = await f.locator('#tradeoff-hover').innerText();
  if (!hover.includes(report.selection.params.toLocaleString('en-US'))) throw new Error(`the hover line lacks the parameter count: ${hover}`);
  await shot(page, '12-report-editor-hover');
  await page.mouse.click(box.x + px, box.y + py);
  await f.locator('#point-detail').filter({ hasText: `Selected: blocks ${kept}` }).waitFor({ timeout: 5_000 });
  await f.locator('#commit-subset').click();
  await f.locator('#commit-result').filter({ hasText: /Wrote|Not replaced|Cancelled/ }).waitFor({ timeout: 60_000 });
  const wrote = await f.locator('#commit-result').innerText();
  if (!/Wrote tiny-roberta-pruned-/.test(wrote)) throw new Error(`Commit this subset said: ${wrote}`);
  // Exports land in .probescale/exports; the PNG has the canvas's pixel size.
  const exportsDir = path.join(workspace, '.probescale', 'exports');
  const base = `tiny-roberta-optimize-${(100 * report.selection.budget.fraction).toFixed(0)}-tradeoff`;
  const size = await canvas.evaluate((c) => ({ width: c.width, height: c.height }));
  await f.locator('#tradeoff-png').click();
  const png = path.join(exportsDir, `${base}.png`);
  await waitFor(`the PNG export ${png}`, 10_000, async () => fs.existsSync(png));
  const got = pngSize(png);
  if (got.width !== size.width || got.height !== size.height || fs.statSync(png).size < 2_000) throw new Error(`PNG ${JSON.stringify(got)}, ${fs.statSync(png).size} bytes; canvas ${JSON.stringify(size)}`);
  await f.locator('#tradeoff-svg').click();
  await f.locator('#tradeoff-md').click();
  await waitFor('the SVG and Markdown exports', 10_000, async () => fs.existsSync(path.join(exportsDir, `${base}.svg`)) && fs.existsSync(path.join(exportsDir, `${base}.md`)));
  const svg = fs.readFileSync(path.join(exportsDir, `${base}.svg`), 'utf8');
  // Markers of the plot, not of the key beside it.
  const plot = svg.replace(/<g class="key">.*?<\/g>/s, '');
  const markers = (plot.match(/<circle [^>]*r="3"/g)?.length ?? 0) + (plot.match(/<rect [^>]*width="8"/g)?.length ?? 0);
  if (markers !== subsets) throw new Error(`the SVG has ${markers} markers for ${subsets} subsets`);
  const mdRows = fs.readFileSync(path.join(exportsDir, `${base}.md`), 'utf8').split('\n').filter((l) => l.startsWith('| ')).length - 2;
  if (mdRows !== subsets) throw new Error(`the Markdown table has ${mdRows} rows for ${subsets} subsets`);
  // Heatmap: tasks × hidden states, switchable to Block Influence (one row × blocks); keyboard reachable.
  const cells = async () => f.locator('#heatmap-table tbody tr').count();
  if ((await cells()) !== Object.keys(report.tasks).length) throw new Error(`heatmap rows ${await cells()}`);
  await f.locator('#heatmap-metric').focus();
  await f.locator('#heatmap-metric').selectOption('blockInfluence');
  await waitFor('the Block Influence heatmap', 5_000, async () => (await cells()) === 1 && (await f.locator('#heatmap-table thead th').count()) === 1 + report.model.numLayers);
  const latency = await f.locator('#latency-explain').innerText();
  if (!/ratio of floating-point operations/.test(latency)) throw new Error(`latency explanation: ${latency}`);
  await f.locator('#heatmap').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(300);
  await shot(page, '13b-report-editor-heatmap-latency');
  await f.locator('#tradeoff').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(300);
  await shot(page, '13-report-editor');
}

async function compareCheck(page, workspace) {
  // A second optimize of the same model at another budget, made with the CLI.
  const out = path.join(workspace, 'models', 'tiny-roberta-cli-98');
  const cli = spawn(process.execPath, [path.join(root, 'bin', 'probescale.js'), 'optimize', path.join(workspace, 'models', 'tiny-roberta'), '--task', `spam=${path.join(workspace, 'data', 'tasks', 'spam')}`, '--budget', '0.98', '--limit-train', '60', '--limit-test', '30', '--candidates', '2', '--no-cache', '--out', out, '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise((r) => cli.on('exit', r));
  if (code !== 0) throw new Error(`the CLI optimize exited with ${code}`);
  const f = await editorFrame(page);
  await f.locator('#compare').click();
  const quick = page.locator('.quick-input-widget');
  const input = quick.locator('.quick-input-box input');
  await input.waitFor({ timeout: 10_000 });
  const row = quick.locator('.quick-input-list .monaco-list-row').filter({ hasText: 'tiny-roberta-cli-98' });
  await row.waitFor({ timeout: 15_000 });
  await row.click();
  await waitFor('ticking the CLI report', 5_000, async () => (await row.getAttribute('aria-checked')) === 'true');
  await page.keyboard.press('Enter');
  const canvas = f.locator('#tradeoff-chart');
  await waitFor('two series overlaid', 15_000, async () => (await canvas.getAttribute('data-series')) === '2');
  const second = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  const first = Number((await f.locator('#tradeoff-table-box summary').innerText()).match(/the (\d+) measured/)[1]);
  const want = first + new Set(second.selection.candidates.map((c) => c.kept.join(','))).size;
  const points = Number(await canvas.getAttribute('data-points'));
  if (points !== want) throw new Error(`overlay drew ${points} points; the two reports have ${want}`);
  if ((await f.locator('#compare-table tbody tr').count()) !== 2) throw new Error('the comparison table does not have two rows');
  await f.locator('#tradeoff').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(300);
  await shot(page, '14-report-editor-compare');
}

/** A real --compensate report (docs/results-compensate, roberta-mini bshift at 35 %) opened from Quick Open. */
async function compensatedCheck(page, workspace) {
  const dir = path.join(workspace, 'reports', 'compensated-bshift-35');
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(root, 'docs', 'results-compensate', 'bshift-0.35', 'probescale-report.json');
  fs.copyFileSync(src, path.join(dir, 'probescale-report.json'));
  const report = JSON.parse(fs.readFileSync(src, 'utf8'));
  const compensated = new Set(report.selection.candidates.filter((c) => c.compensation).map((c) => `${c.kept}|${c.compensation.description}`)).size;
  await runCommand(page, 'View: Close All Editors');
  await waitFor('Quick Open', 20_000, async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    return page.locator('.quick-input-widget .quick-input-box input').waitFor({ timeout: 3_000 }).then(() => true, () => false);
  });
  await page.locator('.quick-input-widget .quick-input-box input').fill('compensated-bshift-35/probescale-report.json');
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: 'compensated-bshift-35' }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  const f = await waitFor('the compensated report in the editor', 30_000, async () => {
    for (const fr of page.frames()) {
      const chart = fr.locator('#tradeoff-chart');
      if ((await chart.count().catch(() => 0)) === 0) continue;
      if (((await chart.getAttribute('data-compensated', { timeout: 1_000 }).catch(() => null)) ?? '0') !== '0') return fr;
    }
    return undefined;
  }).catch(async (e) => {
    await shot(page, '14b-report-editor-compensated-failed');
    throw e;
  });
  const canvas = f.locator('#tradeoff-chart');
  const drawn = Number(await canvas.getAttribute('data-compensated'));
  if (drawn !== compensated) throw new Error(`the chart drew ${drawn} compensated markers; the report measured ${compensated} compensated candidates`);
  const legend = await f.locator('#tradeoff .legend').first().innerText();
  for (const k of ['▲ compensated subset', '△ compensated heuristic (named)']) if (!legend.includes(k)) throw new Error(`the legend lacks "${k}": ${legend}`);
  // The table is drawn a page at a time: read every page (Next is clicked in the page, the table sits in a closed <details>).
  let table = '';
  for (let page = 0; page < 100; page++) {
    table += await f.locator('#tradeoff-table').evaluate((e) => e.textContent ?? '');
    const next = f.locator('#tradeoff-table-next');
    if ((await next.count()) === 0 || (await next.evaluate((e) => e.disabled))) break;
    await next.evaluate((e) => e.click());
  }
  if (!table.includes('replaceme-bridge') || !table.includes('flap-uniform')) throw new Error('the table does not name the compensated heuristics');
  const [x, y] = (await canvas.getAttribute('data-compensated-at')).split('|')[0].split(',').map(Number);
  const box = await canvas.boundingBox();
  await page.mouse.click(box.x + x, box.y + y);
  const detail = f.locator('#detail-compensation');
  await detail.waitFor({ timeout: 5_000 });
  const text = await detail.innerText();
  if (!/Bridges/.test(text) || !/Widths/.test(text) || !/(bridge into block|heads and)/.test(text)) throw new Error(`the detail says: ${text}`);
  if (!(await f.locator('#commit-subset').evaluate((e) => e.disabled === true || e.hasAttribute('disabled')))) throw new Error('Commit this subset (the prune path) is enabled for a compensated point');
  await f.locator('#tradeoff').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(300);
  await shot(page, '14b-report-editor-compensated');
}

// ---- main ---------------------------------------------------------------------------------------

async function main() {
  for (const f of ['dist/extension.js', 'dist/webview.js', 'dist/worker.js', 'out/test/integration/index.js', 'out/test/integration/workspace.js']) {
    if (!fs.existsSync(path.join(root, f))) return finish(`${f} is missing; run npm run build first (npm run test:e2e does).`);
  }
  let tools;
  try {
    tools = ensureTools(path.join(e2eDir, 'tools'), log);
  } catch (e) {
    return finish(`could not install the e2e tools: ${e.message}`);
  }
  const { chromium } = require(tools.playwright);
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true });
  fs.rmSync(shotsDir, { recursive: true, force: true });
  fs.mkdirSync(shotsDir, { recursive: true });
  const { prepareWorkspace } = require(path.join(root, 'out', 'test', 'integration', 'workspace.js'));

  const port = await freePort();
  let server;
  const deadline = setTimeout(() => {
    console.error(`e2e: over ${process.env.E2E_TIMEOUT_S ?? 900} s; stopping`);
    stopProcess(server);
    process.exit(finish('timed out'));
  }, 1000 * Number(process.env.E2E_TIMEOUT_S ?? 900));
  try {
    // Each phase gets a fresh copy of the workspace, so runs do not see each other's output.
    let ws = prepareWorkspace(path.join(e2eDir, 'workspace-tests'), root);
    server = startCodeServer(tools.codeServer, port, ws.dir);
    await waitFor('code-server', 60_000, async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok);
    const only = process.env.E2E_ONLY;
    if (only !== 'ui') {
      log(`code-server ${port} up; extension tests`);
      await extensionTests(chromium, port, ws.dir);
    }
    if (only !== 'extension') {
      ws = prepareWorkspace(path.join(e2eDir, 'workspace-ui'), root);
      log('UI tests');
      await uiTests(chromium, port, ws.dir);
    }
  } catch (e) {
    results.push({ name: 'e2e harness', ok: false, error: e?.stack ?? String(e) });
  } finally {
    clearTimeout(deadline);
    if (process.env.E2E_KEEP) log(`code-server left running on http://127.0.0.1:${port} (pid ${server?.pid})`);
    else stopProcess(server);
  }
  return finish();
}

main().then(
  (code) => process.exit(code),
  (e) => process.exit(finish(e?.stack ?? String(e))),
);
