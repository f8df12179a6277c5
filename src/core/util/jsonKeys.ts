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

/** The scan behind both: stops at the first repeat (`first`, values not read) or reads them all. */
function scan(text: string, parsed: unknown, first: boolean): RepeatedKey[] {
  if (parsed !== undefined) {
    let colons = 0;
    for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) colons++;
    if (colons <= keyCount(parsed)) return [];
  }
  const out: RepeatedKey[] = [];
  const stack: Frame[] = [];
  // The value of the frame's last key ends at `end` (the `,` or `}` after it).
  const endValue = (f: Frame, end: number) => {
    if (f.valueStart < 0) return;
    const spans = f.keys!.get(f.lastKey)!;
    spans[spans.length - 1][1] = end;
    f.valueStart = -1;
  };
  const structural = /[{}[\],"]/g;
  for (let m = structural.exec(text); m !== null; m = structural.exec(text)) {
    const ch = m[0];
    const i = m.index;
    const top = stack[stack.length - 1];
    if (ch === '{' || ch === '[') {
      const at = top === undefined ? '' : top.keys ? (top.at ? `${top.at}.${top.lastKey}` : top.lastKey) : `${top.at}[]`;
      stack.push({ keys: ch === '{' ? new Map() : null, at, expectKey: ch === '{', lastKey: '', valueStart: -1 });
    } else if (ch === '}' || ch === ']') {
      if (top?.keys) {
        endValue(top, i);
        for (const [key, spans] of top.keys) if (spans && spans.length > 1) out.push({ key, at: top.at, values: spans.map(([a, b]) => JSON.parse(text.slice(a, b)) as unknown) });
      }
      stack.pop();
    } else if (ch === ',') {
      if (top?.keys) {
        endValue(top, i);
        top.expectKey = true;
      }
    } else {
      // The closing quote: the first one not escaped (preceded by an even run of backslashes).
      let j = text.indexOf('"', i + 1);
      for (;;) {
        let b = j - 1;
        while (text[b] === '\\') b--;
        if ((j - 1 - b) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, j);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
        if (first) {
          if (top.keys.has(key)) return [{ key, at: top.at, values: [] }];
          top.keys.set(key, null);
        } else {
          // The value starts after the `:` that follows the key.
          const start = text.indexOf(':', j + 1) + 1;
          const spans = top.keys.get(key);
          if (spans) spans.push([start, -1]);
          else top.keys.set(key, [[start, -1]]);
          top.valueStart = start;
        }
        top.lastKey = key;
        top.expectKey = false;
      }
      structural.lastIndex = j + 1;
    }
  }
  return out;
}
