import * as fs from 'node:fs';
import * as path from 'node:path';

/** Tokenizer and preprocessing files a runtime needs beside the weights. */
export const TOKENIZER_FILES = /^(tokenizer(_config)?\.json|special_tokens_map\.json|vocab\.(json|txt)|merges\.txt|added_tokens\.json|spiece\.model|sentencepiece\.bpe\.model|preprocessor_config\.json)$/;

/** Copies the tokenizer files of `srcDir` into `dstDir`; returns their names. */
export function copyTokenizerFiles(srcDir: string, dstDir: string): string[] {
  const copied: string[] = [];
  for (const f of fs.readdirSync(srcDir)) {
    if (!TOKENIZER_FILES.test(f)) continue;
    fs.copyFileSync(path.join(srcDir, f), path.join(dstDir, f));
    copied.push(f);
  }
  return copied;
}
