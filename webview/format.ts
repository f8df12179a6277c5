/** Number formatting shared by the charts, table and prune form. */
import { formatCount } from '../src/shared/params';

export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : (100 * x).toFixed(digits);
}

/** Percentage points with a sign, for selectivity. */
export function points(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const v = 100 * x;
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;
}

/** 11_712_512 → "11.7 M", 8_544 → "8.5 k" (see src/shared/params.ts). */
export function count(n: number): string {
  return formatCount(n);
}

export function exact(n: number): string {
  return n.toLocaleString('en-US');
}

export function basename(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

export function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A speed-up factor: 2.137 → "×2.14", 36.1 → "×36.1". */
export function times(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return `×${x >= 10 ? x.toFixed(1) : x.toFixed(2)}`;
}
