/**
 * A minimal stand-in for the `vscode` module, enough for the extension's job manager and
 * relevance view to run under node --test. `installVscodeStub()` makes `require('vscode')`
 * return it; tests flip `workspace.isTrusted` as they need.
 */
import Module from 'node:module';
import type { ToWebview } from '../src/shared/protocol';

export const vscodeStub = {
  EventEmitter: class {
    private l: ((e: unknown) => void)[] = [];
    event = (f: (e: unknown) => void) => (this.l.push(f), { dispose() {} });
    fire(e: unknown) {
      for (const f of this.l) f(e);
    }
    dispose() {}
  },
  Uri: { joinPath: (base: { path: string }, ...parts: string[]) => ({ path: [base.path, ...parts].join('/') }) },
  commands: { executeCommand: async () => undefined },
  window: { withProgress: (_o: unknown, task: (p: unknown, t: unknown) => Promise<unknown>) => task({ report() {} }, { onCancellationRequested: () => ({ dispose() {} }) }) },
  ProgressLocation: { Notification: 15 },
  TabInputCustom: class {
    constructor(
      readonly uri: unknown,
      readonly viewType: string,
    ) {}
  },
  workspace: { isTrusted: false },
};

export function installVscodeStub(): void {
  const m = Module as unknown as { _resolveFilename: (r: string, ...a: unknown[]) => string };
  const resolve = m._resolveFilename;
  if ((resolve as { stubbed?: boolean }).stubbed) return;
  const wrapped = (request: string, ...rest: unknown[]) => (request === 'vscode' ? 'vscode' : resolve(request, ...rest));
  (wrapped as { stubbed?: boolean }).stubbed = true;
  m._resolveFilename = wrapped;
  require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscodeStub } as unknown as NodeJS.Module;
}

export const silentLog = { info() {}, warn() {}, error() {}, debug() {} } as never;

/** A webview view double that records what the provider sets and posts. */
export function fakeView() {
  const posted: ToWebview[] = [];
  let receive: (m: unknown) => void = () => {};
  const webview = {
    options: {} as { localResourceRoots?: { path: string }[]; enableScripts?: boolean },
    html: '',
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    asWebviewUri: (u: { path: string }) => `https://file+.vscode-resource.vscode-cdn.net${u.path}`,
    onDidReceiveMessage: (f: (m: unknown) => void) => ((receive = f), { dispose() {} }),
    postMessage: async (m: ToWebview) => (posted.push(m), true),
  };
  const view = { webview, visible: true, onDidChangeVisibility: () => ({ dispose() {} }), onDidDispose: () => ({ dispose() {} }), show() {} };
  return { view, posted, send: (m: unknown) => receive(m) };
}
