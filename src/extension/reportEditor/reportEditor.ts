/**
 * The full-width report editor: a read-only custom editor for `probescale-report.json` (and any
 * saved report, through "Open With…" or the view's and notifications' links). Serves
 * webview/report/main.ts (bundled to dist/reportEditor.js) under the same strict CSP as the side
 * view and speaks the same protocol (src/shared/protocol.ts): it answers `ready` with
 * `report/show`, and dispatches requests to the extension's one set of handlers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ToWebview } from '../../shared/protocol';
import { errorMessage } from '../log';
import { readReportFile } from '../reports/reportStore';
import { RequestHandlers, checkIncoming, dispatch, renderHtml } from '../views/relevanceView';

export const REPORT_EDITOR_VIEW_TYPE = 'probescale.report';

/** How long a shown editor's page may take to say `ready` before it is taken as blank (see {@link ReportEditorProvider.reopenBlank}). */
export const EDITOR_READY_MS = 15_000;

/** What the last editor drew, per report file (for the integration tests and the log). */
export interface EditorRendered {
  source: string;
  sections: string[];
  /** How often an editor of this file was reopened because its page stayed blank. */
  reopened: number;
  /** When it drew (Date.now()). */
  at: number;
}

export class ReportEditorProvider implements vscode.CustomReadonlyEditorProvider {
  private readonly renderedBy = new Map<string, EditorRendered>();
  /** Reopens per file since its page last said `ready` (at most one in a row). */
  private readonly reopens = new Map<string, number>();
  /** Reopens per file in all (for the integration tests). */
  private readonly reopenedBy = new Map<string, number>();
  /** Tests shorten it to make every page late. */
  readyMs = EDITOR_READY_MS;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly handlers: RequestHandlers,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  static register(provider: ReportEditorProvider): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(REPORT_EDITOR_VIEW_TYPE, provider, { webviewOptions: { retainContextWhenHidden: false }, supportsMultipleEditorsPerDocument: true });
  }

  /** What the editor of `file` drew last; undefined before it said `rendered`. */
  rendered(file: string): EditorRendered | undefined {
    const r = this.renderedBy.get(file);
    return r && { ...r, reopened: this.reopenedBy.get(file) ?? 0 };
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const file = document.uri.fsPath;
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    const page = this.watchPage(panel, document.uri);
    const sub = panel.webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(panel, file, raw, page.ready));
    // Rewritten (optimize --force, a hand edit) or deleted while open: show what is there now.
    const watcher = watchFile(file, () => this.show(panel, file));
    panel.onDidDispose(() => (sub.dispose(), watcher.dispose(), page.dispose()));
    panel.webview.html = renderHtml(panel.webview, this.extensionUri, 'reportEditor', 'reportEditor');
  }

  /**
   * Waits, while the editor is shown, for its page to say `ready` (a hidden page is dropped, and
   * loads again when shown); a page still silent after `readyMs` is blank, and the editor is
   * reopened once (reopenBlank).
   */
  private watchPage(panel: vscode.WebviewPanel, uri: vscode.Uri): { ready: () => void; dispose: () => void } {
    let ready = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!ready && panel.visible) this.reopenBlank(panel, uri).catch((e: unknown) => this.log.warn(`report editor ${uri.fsPath}: could not reopen it: ${errorMessage(e)}`));
      }, this.readyMs);
    };
    const state = panel.onDidChangeViewState(() => {
      if (!panel.visible) {
        ready = false;
        clearTimeout(timer);
      } else if (!ready) arm();
    });
    arm();
    return {
      ready: () => {
        ready = true;
        clearTimeout(timer);
        this.reopens.delete(uri.fsPath);
      },
      dispose: () => (clearTimeout(timer), state.dispose()),
    };
  }

  /**
   * VS Code 1.100's webview host (code-server 4.100.3: in 5 of 20 of our e2e runs, at load 2-7) can
   * leave a new webview blank: its host frame logs "Found unexpected service worker controller …
   * Waiting for controllerchange", the event never comes, and the frame of the page is never made,
   * so the page never says `ready`. Only a new webview recovers, so the editor is reopened where it
   * was, once in a row per file, and the log says so.
   */
  private async reopenBlank(panel: vscode.WebviewPanel, uri: vscode.Uri): Promise<void> {
    const file = uri.fsPath;
    const seconds = (this.readyMs / 1000).toFixed(this.readyMs < 1000 ? 2 : 0);
    const n = this.reopens.get(file) ?? 0;
    if (n >= 1) {
      this.log.warn(`report editor ${file}: its page has not loaded ${seconds} s after it was reopened; close the editor and open the report again.`);
      return;
    }
    this.reopens.set(file, n + 1);
    this.log.warn(`report editor ${file}: its page had not loaded after ${seconds} s (VS Code's webview host can leave a new webview blank); reopening it.`);
    const column = panel.viewColumn;
    // Closed as its tab, waiting until it is: after panel.dispose() alone, openWith found the
    // closing editor and opened none.
    const tab = vscode.window.tabGroups.all
      .find((g) => g.viewColumn === column)
      ?.tabs.find((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === REPORT_EDITOR_VIEW_TYPE && t.input.uri.toString() === uri.toString());
    if (tab) await vscode.window.tabGroups.close(tab);
    else panel.dispose();
    await vscode.commands.executeCommand('vscode.openWith', uri, REPORT_EDITOR_VIEW_TYPE, column);
    this.reopenedBy.set(file, (this.reopenedBy.get(file) ?? 0) + 1);
  }

  /** Reads `file` and posts it, or why it cannot be read (a page still loading drops it and asks again with `ready`). */
  private show(panel: vscode.WebviewPanel, file: string): void {
    try {
      const { report } = readReportFile(file);
      void panel.webview.postMessage({ type: 'report/show', report, source: file } satisfies ToWebview);
    } catch (e) {
      void panel.webview.postMessage({ type: 'report/error', message: errorMessage(e) } satisfies ToWebview);
    }
  }

  private async onMessage(panel: vscode.WebviewPanel, file: string, raw: unknown, ready: () => void): Promise<void> {
    const post = (msg: ToWebview) => void panel.webview.postMessage(msg);
    const m = checkIncoming(raw, this.log, `report editor ${file}`, post);
    if (!m) return;
    switch (m.type) {
      case 'ready':
        ready();
        this.show(panel, file);
        break;
      case 'rendered':
        this.renderedBy.set(file, { source: file, sections: m.sections, reopened: 0, at: Date.now() });
        this.log.debug(`report editor shows ${file}: ${m.sections.join(', ')}`);
        break;
      case 'request': {
        const reply: ToWebview = { type: 'reply', id: m.id };
        try {
          reply.result = await dispatch(this.handlers, m);
        } catch (e) {
          reply.error = errorMessage(e);
        }
        post(reply);
        break;
      }
      case 'cancel':
      case 'selection':
        break;
    }
  }
}

/**
 * Calls `onChange` (once per burst of writes) when `file` is written, replaced or deleted. Node's
 * fs.watch on its folder rather than vscode's FileSystemWatcher: in code-server the latter
 * delivered no event at all in 3 of 4 runs of test/integration, and this editor reads the local
 * file with fs anyway.
 */
function watchFile(file: string, onChange: () => void): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(path.dirname(file), (_event, name) => {
      if (name !== null && name !== path.basename(file)) return;
      clearTimeout(timer);
      // A hand editor may write in two steps (truncate, then write): read once it has settled.
      timer = setTimeout(onChange, 150);
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    // The folder is gone already: there is nothing to follow, and the page says so on `ready`.
  }
  return { dispose: () => (clearTimeout(timer), watcher?.close()) };
}
