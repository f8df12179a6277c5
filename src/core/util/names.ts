/** File names within the file system's limit of 255 bytes (NAME_MAX). */
import * as crypto from 'node:crypto';

export const NAME_MAX = 255;

/**
 * `name` when it fits in `bytes` UTF-8 bytes; else its longest prefix of whole characters that
 * leaves room for `~` and 8 hex digits of the full name's SHA-256 (distinct long names stay distinct).
 */
export function fitName(name: string, bytes: number): string {
  if (Buffer.byteLength(name) <= bytes) return name;
  let cut = '';
  for (const ch of name) {
    if (Buffer.byteLength(cut + ch) > bytes - 9) break;
    cut += ch;
  }
  return `${cut}~${crypto.createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}
