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

/**
 * The first key repeated within one object of `text`, which must already be valid JSON (parse it
 * first: this scan trusts the structure and only tracks objects, arrays and strings). Given the
 * parsed value, it first counts: every key in the text is followed by a `:`, so when the text has no
 * more colons than the value has keys, no key is repeated, and the scan is skipped.
 */
export function firstDuplicateKey(text: string, parsed?: unknown): DuplicateKey | null {
  if (parsed !== undefined) {
    let colons = 0;
    for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) colons++;
    if (colons <= keyCount(parsed)) return null;
  }
  // One frame per open object or array: its keys (null for an array), the key it sits under, and
  // whether the next string is a key.
  const stack: { keys: Set<string> | null; at: string; expectKey: boolean; lastKey: string }[] = [];
  const structural = /[{}[\],"]/g;
  for (let m = structural.exec(text); m !== null; m = structural.exec(text)) {
    const ch = m[0];
    const i = m.index;
    const top = stack[stack.length - 1];
    if (ch === '{' || ch === '[') {
      const at = top === undefined ? '' : top.keys ? (top.at ? `${top.at}.${top.lastKey}` : top.lastKey) : `${top.at}[]`;
      stack.push({ keys: ch === '{' ? new Set() : null, at, expectKey: ch === '{', lastKey: '' });
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      if (top?.keys) top.expectKey = true;
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
        if (top.keys.has(key)) return { key, at: top.at };
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      structural.lastIndex = j + 1;
    }
  }
  return null;
}
