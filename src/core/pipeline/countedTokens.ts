/**
 * The training texts' token ids, counted once per optimize run with vocabulary trimming. The
 * extension's budget picker counts them before the job (a `count` job with its own progress and
 * Cancel) and hands them to the job with the key of what it counted; the job reuses them when
 * its own prepared run has the same key, and counts again when the task data or the tokenizer
 * changed in between.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { notAFile } from '../util/fileKind';
import { SLOW_TOKENIZER_FILES } from '../data/slowTokenizer';
import type { CountedTokens, JobContext } from '../jobs';
import type { PreparedRun } from './prepare';

export type { CountedTokens };

/** The files loadTokenizer reads (tokenize.ts): any change to one of them may change the ids. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'config.json', ...SLOW_TOKENIZER_FILES];

/**
 * A SHA-256 over what decides the counted ids: the tokenizer's files and length cut, its padding
 * and unknown ids, and every training text of every task in order (as loaded: limits and seed
 * applied). Hashing is milliseconds where tokenising is seconds.
 */
export function countKey(run: PreparedRun): string {
  const h = crypto.createHash('sha256');
  const { tokenizer } = run;
  h.update(JSON.stringify({ maxLength: tokenizer.maxLength, padId: tokenizer.padId, unkId: tokenizer.unkId, ...tokenizer.preparation }));
  for (const f of TOKENIZER_FILES) {
    const file = path.join(run.info.dir, f);
    h.update(`\u0002${f}\u0002`);
    if (notAFile(file) === undefined) h.update(fs.readFileSync(file));
  }
  for (const t of run.tasks) {
    h.update(`\u0003${t.name}\u0003`);
    for (const ex of t.train) h.update(`${ex.text}\u0000${ex.textPair ?? ''}\u0001`);
  }
  return h.digest('hex');
}

/** The ids `counted` holds when they were counted from this run; otherwise undefined (logged), and the caller counts. */
export function reusableCount(counted: CountedTokens | undefined, run: PreparedRun, ctx: JobContext): number[] | undefined {
  if (!counted) return undefined;
  if (counted.key === countKey(run)) return counted.ids;
  ctx.log?.('info', 'the task data or the tokenizer changed after the budget picker counted the training tokens; counting them again.');
  return undefined;
}
