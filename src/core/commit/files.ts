import * as fs from 'node:fs';
import * as path from 'node:path';
import { BuiltTokenizer, SLOW_TOKENIZER_FILES, slowTokenizer } from '../data/slowTokenizer';
import { readConfig } from '../model/modelInfo';

/** Tokenizer and preprocessing files a runtime needs beside the weights (the slow tokenizer's files among them, so Python can rebuild it). */
const NAMES = new Set(['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json', ...SLOW_TOKENIZER_FILES]);
export const TOKENIZER_FILES = { test: (file: string): boolean => NAMES.has(file) };

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
