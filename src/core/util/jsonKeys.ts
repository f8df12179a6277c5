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

/**
 * The first key repeated within one object of `text`, which must already be valid JSON (parse it
 * first: this scan trusts the structure and only tracks objects, arrays and strings).
 */
export function firstDuplicateKey(text: string): DuplicateKey | null {
  // One frame per open object or array: its keys (null for an array), the key it sits under, and
  // whether the next string is a key.
  const stack: { keys: Set<string> | null; at: string; expectKey: boolean; lastKey: string }[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const top = stack[stack.length - 1];
    if (ch === '{' || ch === '[') {
      const at = top === undefined ? '' : top.keys ? (top.at ? `${top.at}.${top.lastKey}` : top.lastKey) : `${top.at}[]`;
      stack.push({ keys: ch === '{' ? new Set() : null, at, expectKey: ch === '{', lastKey: '' });
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      if (top?.keys) top.expectKey = true;
    } else if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, at: top.at };
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j;
    }
  }
  return null;
}
