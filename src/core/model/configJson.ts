/**
 * Writing a config.json that Python transformers loads. JSON.parse reads `1.0` as the number 1 and
 * JSON.stringify writes it back as `1`; transformers 5 checks its config fields' types strictly, so
 * a T5 config whose `initializer_factor` went from 1.0 to 1 (or a ModernBERT one whose
 * `initializer_cutoff_factor` went from 2.0 to 2) no longer loads ("Field 'initializer_factor'
 * expected float, got int", seen with transformers 5.17). Every number the source's config.json
 * wrote as a float is written as one again, and so is a whole number under a key that names a float
 * (dropouts, epsilons, rotary bases, factors), for sources whose config a JSON writer already
 * turned into integers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readUtf8 } from '../util/textFile';

/** Keys whose values are floats in transformers' configs, written as floats when whole. */
const FLOAT_KEY = /(dropout|dropout_prob|_eps|epsilon|theta|factor|initializer_range)$/;
const MARK = '\u0000float\u0000';
const SEP = '\u0000';

/**
 * Paths (keys and array indices joined by NUL) of the whole numbers that valid JSON `text` writes as
 * floats (`1.0`, `2e3`). A scan of the text, not a parse: JSON.parse cannot tell 1.0 from 1. Where a
 * key is given twice, a float literal under either counts.
 */
export function floatLiteralPaths(text: string): Set<string> {
  const out = new Set<string>();
  const stack: { key: string | number; object: boolean; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.object && top.expectKey) [top.key, top.expectKey] = [JSON.parse(text.slice(i, j + 1)) as string, false];
      i = j;
    } else if (c === '{' || c === '[') stack.push({ key: c === '[' ? 0 : '', object: c === '{', expectKey: c === '{' });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && top) {
      if (top.object) top.expectKey = true;
      else top.key = (top.key as number) + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i;
      while (j < text.length && /[-+0-9.eE]/.test(text[j])) j++;
      const literal = text.slice(i, j);
      if (/[.eE]/.test(literal) && Number.isInteger(Number(literal))) out.add(stack.map((f) => f.key).join(SEP));
      i = j - 1;
    }
  }
  return out;
}

/** A copy of `v` with each whole number that is to be a float replaced by a marked string. */
function markFloats(v: unknown, at: (string | number)[], floats: Set<string>): unknown {
  if (Array.isArray(v)) return v.map((x, i) => markFloats(x, [...at, i], floats));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, markFloats(x, [...at, k], floats)]));
  const key = at[at.length - 1];
  const float = floats.has(at.join(SEP)) || (typeof key === 'string' && FLOAT_KEY.test(key));
  return typeof v === 'number' && Number.isSafeInteger(v) && float ? `${MARK}${v}` : v;
}

/** config.json's text for `config` (two-space indent, as before), whole numbers written as floats where `floats` or the key says so. */
export function configJsonText(config: Record<string, unknown>, floats: Set<string> = new Set()): string {
  const text = JSON.stringify(markFloats(config, [], floats), null, 2);
  return text.replace(/"\\u0000float\\u0000(-?\d+)"/g, '$1.0') + '\n';
}

/** The float paths of `sourceDir`'s config.json; none where it cannot be read (it was read when the model was opened). */
function sourceFloats(sourceDir: string): Set<string> {
  try {
    return floatLiteralPaths(readUtf8(path.join(sourceDir, 'config.json')));
  } catch {
    return new Set();
  }
}

/** Writes `config` as `dir`/config.json, keeping the floats of `sourceDir`'s config.json floats. */
export function writeConfigJson(dir: string, config: Record<string, unknown>, sourceDir: string): void {
  fs.writeFileSync(path.join(dir, 'config.json'), configJsonText(config, sourceFloats(sourceDir)));
}
