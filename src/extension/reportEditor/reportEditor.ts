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

/** What the last editor drew, per report file (for the integration tests and the log). */
export interface EditorRendered {
  source: string;
  sections: string[];
}

export class ReportEditorProvider implements vscode.CustomReadonlyEditorProvider {
  private readonly renderedBy = new Map<string, EditorRendered>();

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
    return this.renderedBy.get(file);
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
    const sub = panel.webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(panel, file, raw));
    // Rewritten (optimize --force, a hand edit) or deleted while open: show what is there now.
    const watcher = watchFile(file, () => this.show(panel, file));
    panel.onDidDispose(() => (sub.dispose(), watcher.dispose()));
    panel.webview.html = renderHtml(panel.webview, this.extensionUri, 'reportEditor', 'reportEditor');
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

  private async onMessage(panel: vscode.WebviewPanel, file: string, raw: unknown): Promise<void> {
    const post = (msg: ToWebview) => void panel.webview.postMessage(msg);
    const m = checkIncoming(raw, this.log, `report editor ${file}`, post);
    if (!m) return;
    switch (m.type) {
      case 'ready':
        this.show(panel, file);
        break;
      case 'rendered':
        this.renderedBy.set(file, { source: file, sections: m.sections });
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
