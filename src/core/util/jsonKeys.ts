/**
 * Duplicate keys in a JSON text. JSON.parse keeps the last value of a repeated key and says
 * nothing, so a file holding two values for one name cannot be told from one holding only the
 * last; this scan walks the text itself to find them.
 */

/** A key that occurs twice in one object: the key and the path of that object ('' for the top level, else `a.b`). */
export interface DuplicateKey {
  key: string;
  at: string;
}

/** Keys of every object in a parsed JSON value. */
function keyCount(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + keyCount(x), 0);
  if (v === null || typeof v !== 'object') return 0;
  return Object.values(v).reduce((n: number, x) => n + 1 + keyCount(x), 0);
}

/** A key given more than once in one object, with each value it was given, in file order (JSON.parse keeps the last). */
export interface RepeatedKey extends DuplicateKey {
  values: unknown[];
}

/**
 * The first key repeated within one object of `text`, which must already be valid JSON (parse it
 * first: this scan trusts the structure and only tracks objects, arrays and strings). Given the
 * parsed value, it first counts: every key in the text is followed by a `:`, so when the text has no
 * more colons than the value has keys, no key is repeated, and the scan is skipped.
 */
export function firstDuplicateKey(text: string, parsed?: unknown): DuplicateKey | null {
  const found = scan(text, parsed, true)[0];
  return found ? { key: found.key, at: found.at } : null;
}

/** Every key repeated within one object of `text` (valid JSON, as for firstDuplicateKey), with the values it was given. */
export function repeatedKeys(text: string, parsed?: unknown): RepeatedKey[] {
  return scan(text, parsed, false);
}

/** One open object or array: its keys with where each value starts and ends (null for an array), the key it sits under, whether the next string is a key, and the value being read. */
interface Frame {
  /** Null spans when only the first repeat is wanted (no value is read then). */
  keys: Map<string, [number, number][] | null> | null;
  at: string;
  expectKey: boolean;
  lastKey: string;
  valueStart: number;
}

/** Whether the text has no more colons than the parsed value has keys, so that no key can be repeated. */
function tooFewColons(text: string, parsed: unknown): boolean {
  if (parsed === undefined) return false;
  let colons = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) colons++;
  return colons <= keyCount(parsed);
}

/** The frame an `{` or `[` opens inside `top` (undefined at the top level), with the path it sits at. */
function openFrame(top: Frame | undefined, ch: string): Frame {
  const at = top === undefined ? '' : top.keys ? (top.at ? `${top.at}.${top.lastKey}` : top.lastKey) : `${top.at}[]`;
  return { keys: ch === '{' ? new Map() : null, at, expectKey: ch === '{', lastKey: '', valueStart: -1 };
}

/** The value of the frame's last key ends at `end` (the `,` or `}` after it). */
function endValue(f: Frame, end: number): void {
  if (f.valueStart < 0) return;
  const spans = f.keys!.get(f.lastKey)!;
  spans[spans.length - 1][1] = end;
  f.valueStart = -1;
}

/** The keys of an object closed at `end` that were given more than once, with their values. */
function closeObject(text: string, f: Frame, end: number): RepeatedKey[] {
  endValue(f, end);
  const out: RepeatedKey[] = [];
  for (const [key, spans] of f.keys!) if (spans && spans.length > 1) out.push({ key, at: f.at, values: spans.map(([a, b]) => JSON.parse(text.slice(a, b)) as unknown) });
  return out;
}

/** The closing quote of the string opened at `i`: the first one not escaped (preceded by an even run of backslashes). */
function closingQuote(text: string, i: number): number {
  let j = text.indexOf('"', i + 1);
  for (;;) {
    let b = j - 1;
    while (text[b] === '\\') b--;
    if ((j - 1 - b) % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
}

/** Records the key quoted from `i` to `j` in the object `f`; returns it when it is a repeat and only the first is wanted. */
function readKey(text: string, f: Frame, i: number, j: number, first: boolean): RepeatedKey | null {
  const raw = text.slice(i + 1, j);
  const key = raw.includes('\\') ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
  if (first) {
    if (f.keys!.has(key)) return { key, at: f.at, values: [] };
    f.keys!.set(key, null);
  } else {
    // The value starts after the `:` that follows the key.
    const start = text.indexOf(':', j + 1) + 1;
    const spans = f.keys!.get(key);
    if (spans) spans.push([start, -1]);
    else f.keys!.set(key, [[start, -1]]);
    f.valueStart = start;
  }
  f.lastKey = key;
  f.expectKey = false;
  return null;
}

/** The scan behind both: stops at the first repeat (`first`, values not read) or reads them all. */
function scan(text: string, parsed: unknown, first: boolean): RepeatedKey[] {
  if (tooFewColons(text, parsed)) return [];
  const out: RepeatedKey[] = [];
  const stack: Frame[] = [];
  const structural = /[{}[\],"]/g;
  for (let m = structural.exec(text); m !== null; m = structural.exec(text)) {
    const ch = m[0];
    const i = m.index;
    const top = stack[stack.length - 1];
    if (ch === '{' || ch === '[') stack.push(openFrame(top, ch));
    else if (ch === '}' || ch === ']') {
      if (top?.keys) out.push(...closeObject(text, top, i));
      stack.pop();
    } else if (ch === ',') {
      if (top?.keys) {
        endValue(top, i);
        top.expectKey = true;
      }
    } else {
      const j = closingQuote(text, i);
      if (top?.keys && top.expectKey) {
        const repeat = readKey(text, top, i, j, first);
        if (repeat) return [repeat];
      }
      structural.lastIndex = j + 1;
    }
  }
  return out;
}
