/** `--compensate`: which least-squares compensation the optimiser may add to dropping blocks. */
import { badValue } from '../errors';

export type Compensation = 'none' | 'bridge' | 'width' | 'all';
export const COMPENSATIONS: Compensation[] = ['none', 'bridge', 'width', 'all'];

export function parseCompensation(v: string): Compensation {
  if ((COMPENSATIONS as string[]).includes(v)) return v as Compensation;
  throw badValue('compensate', v, `unknown; use one of ${COMPENSATIONS.join(', ')}.`);
}
