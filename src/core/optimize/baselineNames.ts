/**
 * What `--baselines` can name, apart from the baselines themselves (optimize/baselines.ts) so
 * that the job types can name the choice without importing the search.
 */
import { badValue } from '../errors';

/**
 * The baselines `--baselines` can name: the published heuristics, the random subsets (random-1..R
 * as one name) and the compensated ones (--compensate; drop-top-factorised with --embedding-rank).
 */
export const BASELINE_NAMES = ['drop-top', 'drop-bottom', 'alternate', 'symmetric', 'dalvi-prefix', 'shortgpt', 'gromov', 'random', 'drop-top-factorised', 'replaceme-bridge', 'flap-uniform'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];
/** Which baselines optimize measures: all of them (the default), or the named ones ([] = none). */
export type BaselineChoice = 'all' | BaselineName[];
/** The baselines that need --compensate. */
export const COMPENSATED_BASELINES: readonly BaselineName[] = ['drop-top-factorised', 'replaceme-bridge', 'flap-uniform'];

/** `all`, `none`, or a comma-separated list of BASELINE_NAMES. */
export function parseBaselines(s: string): BaselineChoice {
  const v = s.trim();
  if (v === 'all') return 'all';
  if (v === 'none') return [];
  const names = v.split(',').map((x) => x.trim());
  for (const n of names) {
    if (!(BASELINE_NAMES as readonly string[]).includes(n)) throw badValue('baselines', n || s, `give all, none, or a comma-separated list of ${BASELINE_NAMES.join(', ')}.`);
  }
  return [...new Set(names as BaselineName[])];
}

