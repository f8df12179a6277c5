/**
 * `optimize --vocab-trim`: keep the word-embedding rows of the tokens the training texts use (plus
 * padding and the unknown token); every other id reads the row of its nearest kept token
 * (nearestTokens.ts). Measured for real: test features are extracted with unseen ids replaced,
 * exactly what the trimmed graph computes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, throwIfAborted } from '../errors';
import { TaskData } from '../data/dataset';
import { TextTokenizer } from '../data/tokenize';
import { IdRemap } from '../extract/extractor';
import { ModelInfo } from '../model/modelInfo';
import { findWordEmbedding, trimVocabFile, UnseenTokens } from '../onnx/vocab';
import type { JobContext, OptimizeJob } from '../jobs';
import { budgetAccount, BudgetAccount, BudgetOptions } from '../optimize/budgetAccount';
import { countKey, CountedTokens } from './countedTokens';
import { unseenTokenMap } from './nearestTokens';
import { withPrepared } from './prepare';

export interface VocabPlan {
  /** Source ids kept, ascending; row i of the trimmed table is source row kept[i]. */
  kept: number[];
  unkId: number;
  sourceVocab: number;
  hidden: number;
  /** Word-embedding parameters removed: (sourceVocab − kept) × hidden. */
  savedParams: number;
  /** Where dropped ids read; `nearest` falls back to `unknown` for tables it cannot compare. */
  unseen: UnseenTokens;
  remap: IdRemap;
  /** Share of test tokens (special tokens included) that are not kept, per task. */
  unseenTestTokens: Record<string, number>;
}

/** How long the token count runs between yields to the event loop (progress, cancel). */
const YIELD_MS = 30;

/**
 * The source ids a trimmed table keeps, ascending: padding, the unknown token and every id the
 * tasks' training texts encode to. The job's plan and the extension's budget picker both count
 * here. It takes seconds on a large task (spam, 4,234 rows: about 2 s), so it yields every
 * YIELD_MS to report `onRows` and to honour `signal`. Throws BadInputError when the tokenizer has
 * no unknown token to send unseen ids to.
 */
export async function keptTokenIds(tokenizer: TextTokenizer, tasks: TaskData[], info: { dir: string }, signal?: AbortSignal, onRows?: (done: number, total: number) => void): Promise<number[]> {
  if (tokenizer.unkId === null) throw new BadInputError(`{{vocabTrim}}: the tokenizer in ${info.dir} names no unknown token to send unseen ids to; turn {{vocabTrim}} off.`, { param: 'vocabTrim', value: 'true' });
  const keep = new Set<number>([tokenizer.padId, tokenizer.unkId]);
  const total = tasks.reduce((n, t) => n + t.train.length, 0);
  let done = 0;
  let since = Date.now();
  for (const t of tasks) {
    for (const ex of t.train) {
      for (const id of tokenizer.encode(ex.text, ex.textPair)) keep.add(id);
      done++;
      if (Date.now() - since < YIELD_MS) continue;
      onRows?.(done, total);
      await new Promise((resolve) => setImmediate(resolve));
      throwIfAborted(signal);
      since = Date.now();
    }
  }
  onRows?.(done, total);
  throwIfAborted(signal);
  return [...keep].sort((a, b) => a - b);
}

/** `counted`: the kept ids already counted from these tasks and tokenizer (countedTokens.ts); else counted here. */
export async function planVocabTrim(info: ModelInfo, tokenizer: TextTokenizer, tasks: TaskData[], signal?: AbortSignal, unseen: UnseenTokens = 'nearest', counted?: number[]): Promise<VocabPlan> {
  const kept = counted ?? (await keptTokenIds(tokenizer, tasks, info, signal));
  const unkId = tokenizer.unkId!;
  const e = findWordEmbedding(info.model);
  const exclude = new Set([tokenizer.padId, ...(tokenizer.specialIds ?? [])]);
  const map = await unseenTokenMap(info.model, e, kept, unkId, exclude, unseen, signal);
  const keep = new Set(kept);
  const unseenTestTokens: Record<string, number> = {};
  for (const t of tasks) {
    let all = 0;
    let dropped = 0;
    for (const ex of t.test) {
      for (const id of tokenizer.encode(ex.text, ex.textPair)) {
        all++;
        if (!keep.has(id)) dropped++;
      }
    }
    unseenTestTokens[t.name] = all ? dropped / all : 0;
  }
  const tag = crypto.createHash('sha256').update(Buffer.from(map.readsAs.buffer)).digest('hex').slice(0, 16);
  return { kept, unkId, sourceVocab: e.vocab, hidden: e.hidden, savedParams: (e.vocab - kept.length) * e.hidden, unseen: map.policy, remap: { readsAs: map.readsAs, tag }, unseenTestTokens };
}

/**
 * The budget account of an optimize job with --vocab-trim, before the job: the model, tokenizer
 * and tasks opened as its prepare stage opens them and the training texts' tokens counted
 * (seconds on a large task: `onRows` reports, `ctx.signal` cancels).
 */
export async function trimmedBudgetAccount(job: BudgetOptions & Pick<OptimizeJob, 'modelDir' | 'tasks' | 'settings'>, ctx: JobContext, onRows?: (done: number, total: number) => void): Promise<BudgetAccount & { counted: CountedTokens }> {
  // prepare records the tokenizer's length cut in the settings it is given: a copy here.
  return withPrepared(job.modelDir, job.tasks, { ...job.settings }, ctx, async (run) => {
    const kept = await keptTokenIds(run.tokenizer, run.tasks, run.info, ctx.signal, onRows);
    // The job reuses the ids when it prepares the same tasks and tokenizer (countedTokens.ts).
    return { ...budgetAccount(job, run.info, kept.length), counted: { ids: kept, key: countKey(run) } };
  });
}

/** Trims every ONNX graph of a committed folder (encoder variants and task classifiers). */
export function trimCommittedGraphs(dir: string, plan: VocabPlan): string[] {
  const files: string[] = [];
  const graphsIn = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.onnx')).map((f) => path.join(d, f)) : []);
  files.push(...graphsIn(path.join(dir, 'onnx')));
  const cls = path.join(dir, 'classifiers');
  if (fs.existsSync(cls)) for (const t of fs.readdirSync(cls)) files.push(...graphsIn(path.join(cls, t, 'onnx')));
  for (const f of files) trimVocabFile(f, plan.kept, plan.remap.readsAs, { unkId: plan.unkId, unseen: plan.unseen });
  return files.map((f) => path.relative(dir, f));
}
