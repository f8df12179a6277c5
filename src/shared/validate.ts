/**
 * Checks every message a webview posts before the host acts on it. A webview is another
 * context (a compromised or buggy one can post anything), so the host trusts shapes, not
 * types: unknown message types, unknown methods, missing or extra fields, wrong field types and
 * oversized values are refused with a reason. Hand-written because the protocol is small and
 * this file must compile in the webview too (no imports beyond the protocol).
 *
 * Reusable by any ProbeScale webview: `validateFromWebview(raw)` for the relevance view's union,
 * `checkObject`/`field` helpers for other message sets.
 */
import { COMPARE_REPORTS, MAX_BLOCKS, type ComparePicks, type FromWebview, type Method, type ReportData, type ToWebview } from './protocol';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_STRING = 4096;
const MAX_ARRAY = 10_000;

type Check = (v: unknown) => string | null;

export const isString: Check = (v) => (typeof v !== 'string' ? 'not a string' : v.length > MAX_STRING ? `longer than ${MAX_STRING} characters` : v.includes('\0') ? 'contains a NUL character' : null);
export const isIndex: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'not a non-negative integer');
export const isStringList: Check = (v) => list(v, isString);
export const isIndexList: Check = (v) => list(v, isIndex);
export const optional =
  (c: Check): Check =>
  (v) =>
    v === undefined ? null : c(v);

/**
 * Blocks as BlockRanges (protocol.ts): pairs `[first, last]` of block indices below MAX_BLOCKS,
 * ascending, with a gap between pairs. At most MAX_BLOCKS / 2 pairs, which is every subset of the
 * largest model a report may have, so no selection the view can make is refused.
 */
export const isBlockRanges: Check = (v) => {
  if (!Array.isArray(v)) return 'not an array';
  if (v.length > MAX_BLOCKS / 2) return `more than ${MAX_BLOCKS / 2} ranges`;
  let end = -2;
  for (let i = 0; i < v.length; i++) {
    const r: unknown = v[i];
    if (!Array.isArray(r) || r.length !== 2 || !r.every((b) => Number.isSafeInteger(b) && (b as number) >= 0 && (b as number) < MAX_BLOCKS)) return `range ${i}: not a pair of block indices from 0 to ${MAX_BLOCKS - 1}`;
    const [first, last] = r as [number, number];
    if (first > last) return `range ${i}: first block ${first} after last ${last}`;
    if (first <= end + 1) return `range ${i}: not after range ${i - 1} with a gap (ranges are ascending and apart)`;
    end = last;
  }
  return null;
};

/** An exported chart or table: text or base64, at most 64 MiB (far above any chart; the cap keeps a runaway page from filling the disk). */
const MAX_EXPORT = 64 * 1024 * 1024;
const isExportData: Check = (v) => (typeof v !== 'string' ? 'not a string' : v.length > MAX_EXPORT ? `longer than ${MAX_EXPORT} characters` : null);

function list(v: unknown, item: Check): string | null {
  if (!Array.isArray(v)) return 'not an array';
  if (v.length > MAX_ARRAY) return `more than ${MAX_ARRAY} entries`;
  for (let i = 0; i < v.length; i++) {
    const e = item(v[i]);
    if (e) return `entry ${i}: ${e}`;
  }
  return null;
}

/** `v` is a plain object whose keys are exactly those of `shape` (optional ones may be absent) and whose values pass. */
export function checkObject(v: unknown, shape: Record<string, Check>): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  for (const k of Object.keys(v)) if (!(k in shape)) return `unexpected field '${k.slice(0, 40)}'`;
  for (const [k, c] of Object.entries(shape)) {
    const e = c((v as Record<string, unknown>)[k]);
    if (e) return `field '${k}': ${e}`;
  }
  return null;
}

const PARAMS: { [M in Method]: Record<string, Check> } = {
  'probe/start': { modelDir: optional(isString) },
  'report/open': {},
  'prune/commit': { modelDir: isString, layers: isBlockRanges },
  'explorer/reveal': { path: isString },
  'optimize/start': { modelDir: optional(isString) },
  'modelCard/open': { dir: isString },
  'report/openEditor': { path: isString },
  // The open report and those overlaid: at most 1 + COMPARE_REPORTS files; room for at most COMPARE_REPORTS more.
  'report/compare': {
    exclude: (v) => (Array.isArray(v) && v.length > 1 + COMPARE_REPORTS ? `more than ${1 + COMPARE_REPORTS} files` : isStringList(v)),
    room: (v) => isIndex(v) ?? ((v as number) > COMPARE_REPORTS ? `more than ${COMPARE_REPORTS}` : null),
  },
  'export/save': { fileName: isString, format: (v) => (v === 'png' || v === 'svg' || v === 'md' ? null : 'not png, svg or md'), data: isExportData },
};

const MESSAGES: Record<Exclude<FromWebview['type'], 'request'>, Record<string, Check>> = {
  ready: {},
  cancel: { jobId: isString },
  selection: { modelDir: isString, kept: isBlockRanges },
  // Section ids are words (`selection`, `heatmap`); a page lists a handful.
  rendered: { modelDir: isString, createdAt: isString, kind: isString, sections: (v) => (Array.isArray(v) && v.length > 64 ? 'more than 64 sections' : list(v, (s) => (typeof s === 'string' && s.length > 64 ? 'longer than 64 characters' : isString(s)))) },
};

const isType = (v: unknown): Check => (t) => (t === v ? null : 'wrong');

/** The message as the protocol types it, or the reason it is refused. */
export function validateFromWebview(raw: unknown): Checked<FromWebview> {
  const type = (raw as { type?: unknown } | null)?.type;
  if (type === 'request') {
    const r = raw as { method?: unknown; id?: unknown };
    if (typeof r.method !== 'string' || !Object.prototype.hasOwnProperty.call(PARAMS, r.method)) return { ok: false, error: `unknown request method ${JSON.stringify(r.method)?.slice(0, 60)}` };
    const e = checkObject(raw, { type: isType('request'), id: isIndex, method: isString, params: (p) => checkObject(p, PARAMS[r.method as Method]) });
    return e ? { ok: false, error: `request ${r.method}: ${e}` } : { ok: true, value: raw as FromWebview };
  }
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(MESSAGES, type)) return { ok: false, error: `unknown message type ${JSON.stringify(type)?.slice(0, 60)}` };
  const e = checkObject(raw, { type: isType(type), ...MESSAGES[type as keyof typeof MESSAGES] });
  return e ? { ok: false, error: `message ${type}: ${e}` } : { ok: true, value: raw as FromWebview };
}

// ---- what the host posts, checked by the page -------------------------------------------------

const isNumber: Check = (v) => (typeof v === 'number' ? null : 'not a number');
const isNumberOrNull: Check = (v) => (v === null || typeof v === 'number' ? null : 'not a number or null');
const isText: Check = (v) => (typeof v === 'string' ? null : 'not a string');
const isTextOrNull: Check = (v) => (v === null || typeof v === 'string' ? null : 'not a string or null');
const isObject: Check = (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'not an object');
const optionalObject: Check = (v) => (v === undefined ? null : isObject(v));

/** `v` is an object whose listed fields pass (other fields are allowed: reports grow). */
function fields(v: unknown, shape: Record<string, Check>): string | null {
  const e = isObject(v);
  if (e) return e;
  for (const [k, c] of Object.entries(shape)) {
    const fe = c((v as Record<string, unknown>)[k]);
    if (fe) return `'${k}': ${fe}`;
  }
  return null;
}

function every(v: unknown, item: Check): string | null {
  if (!Array.isArray(v)) return 'not an array';
  for (let i = 0; i < v.length; i++) {
    const e = item(v[i]);
    if (e) return `entry ${i}: ${e}`;
  }
  return null;
}

const isLayerRow: Check = (v) => fields(v, { layer: isNumber, accuracy: isNumber, macroF1: isNumber, controlAccuracy: isNumberOrNull, selectivity: isNumberOrNull });
const isTrue: Check = (v) => (v === true ? null : 'not true');
const isTask: Check = (v) => fields(v, { labels: (x) => every(x, isText), majority: isNumber, weight: isNumber, nTrain: isNumber, nTest: isNumber, layers: (x) => every(x, isLayerRow), bestLayer: isNumber, final: optionalObject, pooling: optional(isText), textPairs: optional(isTrue) });
const isPreparation: Check = (v) => fields(v, { maxLength: optional(isNumber), prompt: optional(isText), lowercase: optional(isTrue) });

/**
 * The parts of a report every view draws, with the types the views assume: what the report reader
 * (src/core/reportData.ts) guarantees. A page checks what it is sent and what it restores from an
 * older version's saved state against this, and says what is wrong instead of failing half-drawn.
 * Optional parts (selection, verify, signals, claimed) are checked to be objects; the pages draw
 * them inside a guard that reports a part it cannot draw.
 */
export function checkReportData(v: unknown): string | null {
  const e = fields(v, {
    kind: isText,
    createdAt: isText,
    provider: isText,
    model: (m) =>
      fields(m, {
        dir: isText,
        architecture: isText,
        numLayers: (n) => (Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= MAX_BLOCKS ? null : `not a block count from 0 to ${MAX_BLOCKS}`),
        hiddenSize: isNumber,
        params: (p) => fields(p, { total: isNumber, embeddings: isNumber, other: isNumber, perBlock: (x) => every(x, isNumber) }),
        taskHead: optional((x) => every(x, isText)),
      }),
    tasks: (t) => {
      const te = isObject(t);
      if (te) return te;
      const entries = Object.entries(t as Record<string, unknown>);
      if (entries.length === 0) return 'no tasks';
      for (const [name, task] of entries) {
        const ke = isTask(task);
        if (ke) return `task '${name.slice(0, 40)}': ${ke}`;
      }
      return null;
    },
    preparation: optional(isPreparation),
    selection: optionalObject,
    verify: optionalObject,
    signals: optionalObject,
    claimed: optionalObject,
  });
  if (e) return e;
  const m = (v as ReportData).model;
  return m.params.perBlock.length === m.numLayers ? null : `'model': ${m.params.perBlock.length} perBlock entries for ${m.numLayers} blocks`;
}

/**
 * The host's answer to "Compare with…" as the editor uses it: the envelope (each report with a
 * source, the refusals with reasons, the left-out count). Each report is checked on its own
 * (checkReportData) by the editor, so one damaged file is refused without the others, and the
 * editor overlays no more than it has room for whatever the host sends.
 */
export function checkComparePicks(v: unknown): Checked<ComparePicks> {
  const e = fields(v, {
    reports: (r) => every(r, (x) => fields(x, { source: isString })),
    refused: (r) => every(r, (x) => fields(x, { source: isString, reason: isText })),
    leftOut: (l) => fields(l, { count: isIndex, sources: (x) => every(x, isString) }),
  });
  return e ? { ok: false, error: e } : { ok: true, value: v as ComparePicks };
}

const JOB_KINDS = ['probe', 'prune', 'eval', 'optimize', 'count'];
const isJobKind: Check = (v) => (typeof v === 'string' && JOB_KINDS.includes(v) ? null : 'not a job kind');

const TO_WEBVIEW: Record<ToWebview['type'], Record<string, Check>> = {
  reply: { id: isIndex },
  'report/show': { report: (r) => checkReportData(r), source: isTextOrNull },
  'report/error': { message: isText },
  'job/progress': { jobId: isText, job: isJobKind, message: isText, fraction: isNumberOrNull, overall: isText },
  'job/done': { jobId: isText, job: isJobKind, outcome: (o) => (o === 'done' || o === 'cancelled' || o === 'failed' ? null : 'not done, cancelled or failed'), message: isText },
};

/** A message the host posted, as the protocol types it, or why the page cannot use it. */
export function validateToWebview(raw: unknown): Checked<ToWebview> {
  const type = (raw as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(TO_WEBVIEW, type)) return { ok: false, error: type === undefined ? 'a message without a type' : `unknown message type ${JSON.stringify(type)?.slice(0, 60)}` };
  const e = fields(raw, TO_WEBVIEW[type as ToWebview['type']]);
  return e ? { ok: false, error: `message ${type}: ${e}` } : { ok: true, value: raw as ToWebview };
}
