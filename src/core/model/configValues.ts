/**
 * Numbers and names read from a config.json to build a graph: each refused with the key, the value
 * and what would fix it, never replaced by a default the file did not ask for.
 */
import { BadInputError } from '../errors';

export type Config = Record<string, unknown>;

export function num(config: Config, key: string, fallback?: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadInputError(`config.json: '${key}' is ${JSON.stringify(config[key])}; expected a number.`);
  return v;
}

/** A size or count from config.json: an integer ≥ `min` (2.5 heads or 0 layers of width would build a graph that cannot run). */
export function count(config: Config, key: string, fallback?: number, min = 1): number {
  const v = num(config, key, fallback);
  if (!Number.isInteger(v) || v < min) throw new BadInputError(`config.json: '${key}' is ${JSON.stringify(config[key])}; it must be an integer ≥ ${min}. Fix config.json (Hugging Face's save_pretrained writes it) or re-download it.`);
  return v;
}

/** A layer-norm epsilon: a number ≥ 0 (a negative one makes the square root of a negative variance). */
export function epsilon(config: Config, key: string, fallback: number): number {
  const v = num(config, key, fallback);
  if (v < 0) throw new BadInputError(`config.json: '${key}' is ${v}; a layer-norm epsilon must be ≥ 0 (usually 1e-12 or 1e-6). Fix config.json or re-download it.`);
  return v;
}

/** The activation a config names (`key`), `fallback` when it names none; a value that is not a name is refused, not replaced. */
export function activationName(config: Config, key: string, fallback: string): string {
  const v = config[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new BadInputError(`config.json: '${key}' is ${JSON.stringify(v)}; expected the activation's name, such as "${fallback}".`);
  return v;
}

/** A yes/no switch, `fallback` when absent; anything but true or false is refused. */
export function flag(config: Config, key: string, fallback: boolean): boolean {
  const v = config[key] ?? fallback;
  if (typeof v !== 'boolean') throw new BadInputError(`config.json: '${key}' is ${JSON.stringify(config[key])}; expected true or false.`);
  return v;
}
