/** Where a trimmed vocabulary's dropped ids read (`--vocab-unseen`; pipeline/nearestTokens.ts). */
import { badValue } from '../errors';

export const UNSEEN_TOKENS = ['nearest', 'unknown'] as const;
export type UnseenTokens = (typeof UNSEEN_TOKENS)[number];

export function parseUnseenTokens(v: string): UnseenTokens {
  const known = UNSEEN_TOKENS.find((x) => x === v);
  if (known) return known;
  throw badValue('vocabUnseen', v, `use nearest (dropped ids read their nearest kept token's row) or unknown (the unknown token's row).`);
}

