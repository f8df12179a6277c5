/**
 * The `probescale.relevance` webview view: serves webview/main.ts (bundled to dist/webview.js)
 * under a strict CSP, and speaks src/shared/protocol.ts with it.
 *
 * Ready handshake: the host posts nothing until the webview says `ready`, and answers `ready`
 * with a snapshot (current report, running job). Everything posted while the webview is not
 * listening (not yet loaded, or hidden and torn down) is therefore dropped, not queued: the
 * next snapshot supersedes it.
 */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { FromWebview, fromBlockRanges, Method, Params, Result, ToWebview } from '../../shared/protocol';
import { errorMessage } from '../log';
import { validateFromWebview } from '../../shared/validate';

export const RELEVANCE_VIEW_ID = 'probescale.relevance';

/** What the view needs from the rest of the extension. */
export interface RelevanceViewHost {
  /** Messages that make up the current state (report, running job), sent after each `ready`. */
  snapshot(): ToWebview[];
  /** One handler per request method (a missing one does not compile); a rejection becomes the reply's `error`. */
  readonly handlers: RequestHandlers;
  cancel(jobId: string): void;
  selectionChanged(modelDir: string, kept: number[]): void;
}

/** What the webview last drew (its `rendered` message). */
export type RenderedReport = Omit<Extract<FromWebview, { type: 'rendered' }>, 'type'>;

export type RequestHandlers = { [M in Method]: (params: Params<M>) => Promise<Result<M>> };

/**
 * Returns the message if it passes the protocol's validator; otherwise logs it and, for a request
 * with a usable id, posts the refusal as its reply (the page is waiting for that id).
 */
export function checkIncoming(raw: unknown, log: vscode.LogOutputChannel, who: string, post: (reply: ToWebview) => void): FromWebview | undefined {
  const checked = validateFromWebview(raw);
  if (checked.ok) return checked.value;
  log.warn(`${who}: refused a message (${checked.error}): ${preview(raw)}`);
  const id = (raw as { type?: unknown; id?: unknown } | null)?.id;
  if ((raw as { type?: unknown } | null)?.type === 'request' && Number.isSafeInteger(id)) post({ type: 'reply', id: id as number, error: `refused: ${checked.error}` });
  return undefined;
}

/**
 * A refused message in at most about 200 characters, read only as far as that needs: its first
 * few fields, entries and characters (a hostile page can post arrays of millions of entries).
 */
export function preview(raw: unknown): string {
  const seen = { chars: 0 };
  const cut = (v: unknown, depth: number): unknown => {
    if (seen.chars > 200) return '…';
    if (typeof v === 'string') return (seen.chars += Math.min(v.length, 60)), v.length > 60 ? `${v.slice(0, 60)}…` : v;
    if (typeof v === 'function') return '…';
    if (typeof v !== 'object' || v === null) return (seen.chars += 8), v;
    if (depth > 3) return '…';
    if (Array.isArray(v)) {
      const head = v.slice(0, 5).map((x) => cut(x, depth + 1));
      return v.length > 5 ? [...head, `…${v.length - 5} more`] : head;
    }
    const keys = Object.keys(v);
    const out: Record<string, unknown> = {};
    for (const k of keys.slice(0, 8)) out[k.slice(0, 40)] = cut((v as Record<string, unknown>)[k], depth + 1);
    if (keys.length > 8) out['…'] = `${keys.length - 8} more fields`;
    return out;
  };
  return (JSON.stringify(cut(raw, 0)) ?? String(raw)).slice(0, 300);
}

export function dispatch<M extends Method>(handlers: RequestHandlers, m: { method: M; params: Params<M> }): Promise<Result<M>> {
  return handlers[m.method](m.params);
}

/** The page of a ProbeScale webview: `dist/<entry>.js` and `media/<css>.css` under a strict CSP with a nonce. */
export function renderHtml(webview: vscode.Webview, extensionUri: vscode.Uri, entry = 'webview', css = 'relevance'): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', `${entry}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', `${css}.css`));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    // The nonce lets the component library probe for :focus-visible with a <style> it tags with it.
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta property="csp-nonce" content="${nonce}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${style}">
  <title>ProbeScale</title>
</head>
<body>
  <main id="app"></main>
  <script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

export class RelevanceViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private viewDisposables: vscode.Disposable[] = [];
  private readonly readyEmitter = new vscode.EventEmitter<void>();
  /** Fires each time the webview (re)loads and completes the handshake. */
  readonly onDidBecomeReady = this.readyEmitter.event;
  private lastRendered: RenderedReport | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: RelevanceViewHost,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get isReady(): boolean {
    return this.ready;
  }

  /** The report the webview last drew and which sections it showed. */
  get rendered(): RenderedReport | undefined {
    return this.lastRendered;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.disposeView();
    this.view = view;
    this.ready = false;
    view.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    this.viewDisposables.push(
      view.webview.onDidReceiveMessage((raw: unknown) => this.receive(view, raw)),
      // A hidden view's webview is torn down; it says `ready` again when shown.
      view.onDidChangeVisibility(() => {
        if (!view.visible) this.ready = false;
      }),
      view.onDidDispose(() => {
        if (this.view === view) {
          this.view = undefined;
          this.ready = false;
        }
        this.disposeView();
      }),
    );
    view.webview.html = renderHtml(view.webview, this.extensionUri);
  }

  /** Posts to the webview if it is listening; see the handshake note at the top. */
  post(message: ToWebview): void {
    if (!this.view || !this.ready) return;
    void this.view.webview.postMessage(message);
  }

  /** Opens the view (and its container) and waits until the webview has said `ready`. */
  async reveal(): Promise<void> {
    if (this.view && this.ready) {
      this.view.show(true);
      return;
    }
    const readyNow = new Promise<void>((resolve) => {
      const sub = this.onDidBecomeReady(() => {
        sub.dispose();
        resolve();
      });
    });
    await vscode.commands.executeCommand(`${RELEVANCE_VIEW_ID}.focus`);
    await readyNow;
  }

  private receive(view: vscode.WebviewView, raw: unknown): void {
    const m = checkIncoming(raw, this.log, 'ProbeScale view', (reply) => void view.webview.postMessage(reply));
    if (m) void this.onMessage(m);
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        for (const s of this.host.snapshot()) this.post(s);
        this.readyEmitter.fire();
        break;
      case 'cancel':
        this.host.cancel(m.jobId);
        break;
      case 'selection':
        this.host.selectionChanged(m.modelDir, fromBlockRanges(m.kept));
        break;
      case 'rendered':
        this.lastRendered = { modelDir: m.modelDir, createdAt: m.createdAt, kind: m.kind, sections: m.sections };
        this.log.debug(`view shows the ${m.kind} report of ${m.modelDir} (${m.createdAt}): ${m.sections.join(', ')}`);
        break;
      case 'request': {
        const reply: ToWebview = { type: 'reply', id: m.id };
        try {
          reply.result = await dispatch(this.host.handlers, m);
        } catch (e) {
          reply.error = errorMessage(e);
        }
        // Replies go out even if a snapshot is due: the webview that asked is waiting for this id.
        if (this.view) void this.view.webview.postMessage(reply);
        break;
      }
      default:
        this.log.warn(`unknown message from the ProbeScale view: ${JSON.stringify(assertNeverSafe(m))}`);
    }
  }

  private disposeView(): void {
    for (const d of this.viewDisposables) d.dispose();
    this.viewDisposables = [];
  }

  dispose(): void {
    this.disposeView();
    this.readyEmitter.dispose();
  }
}

/** Messages come from another context; an unknown one is logged, not thrown. */
function assertNeverSafe(m: never): unknown {
  return m;
}
