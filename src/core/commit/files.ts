import * as fs from 'node:fs';
import * as path from 'node:path';
import { BuiltTokenizer, slowTokenizer } from '../data/slowTokenizer';
import { readConfig } from '../model/modelInfo';

/** Tokenizer and preprocessing files a runtime needs beside the weights. */
export const TOKENIZER_FILES = /^(tokenizer(_config)?\.json|special_tokens_map\.json|vocab\.(json|txt)|merges\.txt|added_tokens\.json|spiece\.model|sentencepiece\.bpe\.model|preprocessor_config\.json)$/;

/**
 * Copies the tokenizer files of `srcDir` into `dstDir`; returns their names. Where the source holds
 * only a slow tokenizer's files, the tokenizer.json (and tokenizer_config.json) it was read through
 * are written too: transformers.js reads nothing else.
 */
export function copyTokenizerFiles(srcDir: string, dstDir: string): string[] {
  const copied: string[] = [];
  for (const f of fs.readdirSync(srcDir)) {
    if (!TOKENIZER_FILES.test(f)) continue;
    fs.copyFileSync(path.join(srcDir, f), path.join(dstDir, f));
    copied.push(f);
  }
  const built = slowTokenizer(srcDir, readConfig(srcDir).model_type);
  for (const [f, text] of built ? builtFiles(built) : []) {
    fs.writeFileSync(path.join(dstDir, f), text);
    copied.push(f);
  }
  return copied;
}

/** The files a built tokenizer is written as, with their text. */
function builtFiles(built: BuiltTokenizer): [string, string][] {
  return built.built.map((f) => [f, JSON.stringify(f === 'tokenizer.json' ? built.tokenizer : built.config, null, 2) + '\n']);
}

/** Bytes of the files a built tokenizer adds to each folder written. */
export function builtTokenizerBytes(built: BuiltTokenizer): number {
  return builtFiles(built).reduce((n, [, text]) => n + Buffer.byteLength(text), 0);
}
