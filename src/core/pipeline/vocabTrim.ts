/**
 * `optimize --vocab-trim`: keep the word-embedding rows of the tokens the training texts use (plus
 * padding and the unknown token); every other id reads the unknown token's row. Measured for real:
 * test features are extracted with unseen ids replaced, exactly what the trimmed graph computes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError } from '../errors';
import { TaskData } from '../data/dataset';
import { TextTokenizer } from '../data/tokenize';
import { IdRemap } from '../extract/extractor';
import { ModelInfo } from '../model/modelInfo';
import { findWordEmbedding, trimVocabFile } from '../onnx/vocab';

export interface VocabPlan {
  /** Source ids kept, ascending; row i of the trimmed table is source row kept[i]. */
  kept: number[];
  unkId: number;
  sourceVocab: number;
  hidden: number;
  /** Word-embedding parameters removed: (sourceVocab − kept) × hidden. */
  savedParams: number;
  remap: IdRemap;
  /** Share of test tokens (special tokens included) that are not kept, per task. */
  unseenTestTokens: Record<string, number>;
}

export function planVocabTrim(info: ModelInfo, tokenizer: TextTokenizer, tasks: TaskData[]): VocabPlan {
  if (tokenizer.unkId === null) throw new BadInputError(`{{vocabTrim}}: the tokenizer in ${info.dir} names no unknown token to send unseen ids to; turn {{vocabTrim}} off.`, { param: 'vocabTrim', value: 'true' });
  const e = findWordEmbedding(info.model);
  const keep = new Set<number>([tokenizer.padId, tokenizer.unkId]);
  for (const t of tasks) for (const ex of t.train) for (const id of tokenizer.encode(ex.text, ex.textPair)) keep.add(id);
  const unseenTestTokens: Record<string, number> = {};
  for (const t of tasks) {
    let all = 0;
    let unseen = 0;
    for (const ex of t.test) {
      for (const id of tokenizer.encode(ex.text, ex.textPair)) {
        all++;
        if (!keep.has(id)) unseen++;
      }
    }
    unseenTestTokens[t.name] = all ? unseen / all : 0;
  }
  const kept = [...keep].sort((a, b) => a - b);
  const tag = crypto.createHash('sha256').update(kept.join(',')).digest('hex').slice(0, 16);
  return { kept, unkId: tokenizer.unkId, sourceVocab: e.vocab, hidden: e.hidden, savedParams: (e.vocab - kept.length) * e.hidden, remap: { keep, unkId: tokenizer.unkId, tag }, unseenTestTokens };
}

/** Trims every ONNX graph of a committed folder (encoder variants and task classifiers). */
export function trimCommittedGraphs(dir: string, plan: VocabPlan): string[] {
  const files: string[] = [];
  const graphsIn = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.onnx')).map((f) => path.join(d, f)) : []);
  files.push(...graphsIn(path.join(dir, 'onnx')));
  const cls = path.join(dir, 'classifiers');
  if (fs.existsSync(cls)) for (const t of fs.readdirSync(cls)) files.push(...graphsIn(path.join(cls, t, 'onnx')));
  for (const f of files) trimVocabFile(f, plan.kept, plan.unkId);
  return files.map((f) => path.relative(dir, f));
}
