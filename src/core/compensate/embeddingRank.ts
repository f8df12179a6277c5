/**
 * `--embedding-rank R[,R…]|auto`: which ranks of the factorised word table the search tries.
 * Apart from embedding.ts (the factorisation) so the job types and the CLI can name the choice
 * without importing the graph code.
 */
import { badValue } from '../errors';

/** One rank, several, or `auto` (hidden / 16, / 8 and / 4, resolved once the model is open). */
export type EmbeddingRankChoice = number[] | 'auto';

/** Hidden-size divisors of `auto`: rank 32 (= hidden / 8) was the smallest of three tried on roberta-mini's CV rows (RESULTS §5g); one step either side. */
const AUTO_DIVISORS = [16, 8, 4];

/** `auto`, or whole numbers ≥ 1 separated by commas (range against the hidden size is checked by ranksFor). */
export function parseEmbeddingRank(s: string): EmbeddingRankChoice {
  const v = s.trim();
  if (v === 'auto') return 'auto';
  const parts = v.split(',').map((x) => x.trim());
  // Plain decimal digits only (as --layers): Number() alone reads 0x20 as 32 and 1e1 as 10.
  const ranks = parts.map((x) => (/^\d+$/.test(x) ? Number(x) : NaN));
  if (v === '' || ranks.some((r) => !Number.isInteger(r) || r < 1)) throw badValue('embeddingRank', s, 'give a whole number ≥ 1, a comma-separated list of them (e.g. 16,32,64), or auto.');
  // Past 2^53 a number is read as another (99999999999999999999 as 1e20), which the range check would then name.
  if (ranks.some((r) => !Number.isSafeInteger(r))) throw badValue('embeddingRank', s, 'no model is that wide; give a rank below the hidden size, e.g. 32.');
  return [...new Set(ranks)].sort((a, b) => a - b);
}

/** The ranks to try for a model of this hidden size, ascending; throws naming a rank that does not fit. */
export function ranksFor(choice: EmbeddingRankChoice, hidden: number): number[] {
  if (choice === 'auto') return [...new Set(AUTO_DIVISORS.map((d) => Math.max(1, Math.floor(hidden / d))))].filter((r) => r < hidden).sort((a, b) => a - b);
  for (const r of choice) {
    if (!(Number.isInteger(r) && r >= 1 && r < hidden)) throw badValue('embeddingRank', String(r), `give a whole number from 1 to ${hidden - 1} (the hidden size is ${hidden}), e.g. ${Math.max(1, Math.floor(hidden / 8))}.`);
  }
  return choice;
}

/** As the command line writes it. */
export function formatEmbeddingRank(choice: EmbeddingRankChoice): string {
  return choice === 'auto' ? 'auto' : choice.join(',');
}
