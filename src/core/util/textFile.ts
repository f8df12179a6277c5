import * as fs from 'node:fs';

/**
 * A UTF-8 text file as a string, without the byte-order mark that some editors (Notepad) write:
 * JSON.parse refuses it, while Python's tools and transformers.js' own loader skip it.
 */
export function readUtf8(file: string): string {
  return fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
}
