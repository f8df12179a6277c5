/**
 * The webview's side of src/shared/protocol.ts: typed posting, request/reply pairing, and the
 * persisted view state. The only place that touches `acquireVsCodeApi`.
 */
import type { FromWebview, Method, Params, Result, ToWebview } from '../src/shared/protocol';
import { validateToWebview } from '../src/shared/validate';

/** What VS Code gives a webview script; declared here rather than as `any`. */
interface VsCodeApi<S> {
  postMessage(message: FromWebview): void;
  getState(): S | undefined;
  setState(state: S): S;
}

declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Incoming = Exclude<ToWebview, { type: 'reply' }>;

export class Host<S> {
  private readonly api = acquireVsCodeApi<S>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /**
   * Starts listening; call once, before `ready()`. A message that does not have the protocol's
   * shape (src/shared/validate.ts) goes to `onInvalid` with the reason, never to `onMessage`.
   */
  listen(onMessage: (m: Incoming) => void, onInvalid: (reason: string) => void): void {
    window.addEventListener('message', (ev: MessageEvent<unknown>) => {
      const checked = validateToWebview(ev.data);
      if (!checked.ok) return onInvalid(checked.error);
      const m = checked.value;
      if (m.type === 'reply') {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.result);
        return;
      }
      onMessage(m);
    });
  }

  /** Tells the host the listener is up; it answers with the current report and job. */
  ready(): void {
    this.api.postMessage({ type: 'ready' });
  }

  post(m: Exclude<FromWebview, { type: 'request' | 'ready' }>): void {
    this.api.postMessage(m);
  }

  /** Sends a request and resolves with its reply; rejects with the host's one-line error. */
  request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      // The mapped union cannot be built from a generic M without a cast; the signature keeps callers exact.
      this.api.postMessage({ type: 'request', id, method, params } as FromWebview);
    });
  }

  get state(): S | undefined {
    return this.api.getState();
  }

  set state(s: S) {
    this.api.setState(s);
  }
}
