/**
 * Python's tokenizers cuts a Metaspace pre-tokenizer's output before every `▁` when its `split` is
 * true (its default, and what T5, mT5, umT5, XLM-R and CamemBERT tokenizers save), so a Unigram or
 * BPE model sees one word at a time. transformers.js (4.3) ignores `split` and hands the whole text
 * to the model as one piece. For a Unigram model that is one lattice over the text: the same best
 * path as word by word in exact arithmetic, but segmentations of equal score (a run of dashes cut
 * as 5+16+… in another order) are told apart by rounding that depends on everything before them,
 * and a vocabulary piece holding an inner `▁` could span two words. Seen against Python
 * transformers 5.17 with tokenizers 0.23 (scripts/ref/hf_check.py: a spam e-mail's run of 59
 * dashes). The split is put back on the loaded tokenizer's pre-tokenizer objects.
 */

/** A pre-tokenizer object of transformers.js, as far as it is touched here. */
interface PreTokenizerObject {
  pre_tokenize_text?: (text: string, options?: unknown) => string[];
  tokenizers?: (PreTokenizerObject | null)[];
}

/** `s` cut before every `mark` but one at its start, the mark kept with what follows (tokenizers' MergedWithNext). */
export function splitBefore(s: string, mark: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = s.indexOf(mark, 1); i >= 0; i = s.indexOf(mark, i + mark.length)) {
    if (i > start) out.push(s.slice(start, i));
    start = i;
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

/**
 * Makes each Metaspace of `config` (tokenizer.json's `pre_tokenizer`, Sequences walked) whose
 * `split` is not false split its output, on the matching object of `preTokenizer`. Returns how many
 * were changed.
 */
export function restoreMetaspaceSplit(preTokenizer: unknown, config: unknown): number {
  // transformers.js' pre-tokenizers are callable objects: functions to typeof.
  if (!['object', 'function'].includes(typeof preTokenizer) || preTokenizer === null || typeof config !== 'object' || config === null) return 0;
  const c = config as { type?: unknown; split?: unknown; replacement?: unknown; pretokenizers?: unknown };
  const p = preTokenizer as PreTokenizerObject;
  if (c.type === 'Sequence' && Array.isArray(c.pretokenizers) && Array.isArray(p.tokenizers)) {
    return c.pretokenizers.reduce((n: number, child: unknown, i) => n + restoreMetaspaceSplit(p.tokenizers![i], child), 0);
  }
  if (c.type !== 'Metaspace' || c.split === false || typeof p.pre_tokenize_text !== 'function') return 0;
  const mark = typeof c.replacement === 'string' && c.replacement.length > 0 ? c.replacement : '\u2581';
  const whole = p.pre_tokenize_text.bind(p);
  p.pre_tokenize_text = (text, options) => whole(text, options).flatMap((piece) => splitBefore(piece, mark));
  return 1;
}
