/**
 * Numbers as people write them: an optional sign, digits with an optional point, an optional
 * exponent. Number() also reads '0x10', '0b1', '0o7', 'Infinity' and '' (as 0), which nobody
 * means as a row count or a C.
 */
export function isDecimal(text: string): boolean {
  return /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/.test(text);
}

/** A value as a message shows it: quoted when it is empty or padded with spaces, so that it can be seen. */
export function shownValue(v: string): string {
  return v === '' || v.trim() !== v ? JSON.stringify(v) : v;
}
