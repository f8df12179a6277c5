/**
 * Checks a message from a webview before the host acts on it: a webview is another context, so
 * its messages are data, not trusted types. Returns the message typed, or why it was refused.
 */
import { FromWebview, Method, Requests } from '../../shared/protocol';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length <= 4096;
const isBlocks = (v: unknown): v is number[] => Array.isArray(v) && v.length <= 4096 && v.every((b) => Number.isInteger(b) && b >= 0);

/** Per request method: does `params` have the declared shape? (Adding a method fails to compile until it is listed.) */
const PARAMS: { [M in Method]: (p: Json) => boolean } = {
  'probe/start': (p) => p.modelDir === undefined || isStr(p.modelDir),
  'report/open': () => true,
  'prune/commit': (p) => isStr(p.modelDir) && isBlocks(p.layers),
  'explorer/reveal': (p) => isStr(p.path),
  'optimize/start': (p) => p.modelDir === undefined || isStr(p.modelDir),
  'modelCard/open': (p) => isStr(p.dir),
  'report/openEditor': (p) => isStr(p.path),
  'report/compare': (p) => Array.isArray(p.exclude) && p.exclude.length <= 256 && p.exclude.every(isStr),
  // 64 MiB of base64 is far above any chart; the cap keeps a runaway page from filling the disk.
  'export/save': (p) => isStr(p.fileName) && (p.format === 'png' || p.format === 'svg' || p.format === 'md') && typeof p.data === 'string' && p.data.length <= 64 * 1024 * 1024,
};

export function checkMessage(m: unknown): FromWebview | string {
  if (!isObj(m) || typeof m.type !== 'string') return 'not an object with a "type"';
  switch (m.type) {
    case 'ready':
      return { type: 'ready' };
    case 'cancel':
      return isStr(m.jobId) ? { type: 'cancel', jobId: m.jobId } : 'cancel without a jobId';
    case 'selection':
      return isStr(m.modelDir) && isBlocks(m.kept) ? { type: 'selection', modelDir: m.modelDir, kept: m.kept } : 'selection with a bad modelDir or kept';
    case 'rendered':
      return isStr(m.modelDir) && isStr(m.createdAt) && isStr(m.kind) && Array.isArray(m.sections) && m.sections.every(isStr)
        ? { type: 'rendered', modelDir: m.modelDir, createdAt: m.createdAt, kind: m.kind, sections: m.sections as string[] }
        : 'rendered with bad fields';
    case 'request': {
      if (!Number.isInteger(m.id)) return `request with a bad id ${JSON.stringify(m.id)}`;
      if (typeof m.method !== 'string' || !Object.hasOwn(PARAMS, m.method)) return `request with an unknown method ${JSON.stringify(m.method)}`;
      const method = m.method as keyof Requests;
      if (!isObj(m.params) || !PARAMS[method](m.params)) return `request ${method} with bad params`;
      return m as FromWebview;
    }
    default:
      return `unknown type ${JSON.stringify(m.type)}`;
  }
}
