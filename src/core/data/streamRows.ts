// A task file too large for one string, read in chunks: decoded as UTF-8 as it comes, with the
// checks and messages of the whole-file reader in rows.ts, and given out as rows a batch at a time,
// so what is held is what the caller keeps.
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { parse as csvStream } from 'csv-parse';
import { DatasetError } from '../errors';
import {
  cannotRead,
  csvFailure,
  csvOptions,
  delimitedReader,
  emptyFile,
  firstInvalidUtf8,
  isParsed,
  jsonlReader,
  noExamples,
  notUtf8,
  oneLineEnding,
  refuseUtf16,
  requireUnchanged,
  Row,
  TaskFileType,
} from './rows';
import { columnReading, ColumnReading } from './columns';

/** When a task file is read streamed, and in what chunks; tests lower them to stream files of a few KB. */
export interface StreamSettings {
  /** Files larger than this many bytes are read streamed; smaller ones whole, into one string. */
  streamAbove: number;
  /** Files larger than this many bytes are refused unless limits say which rows to keep. */
  holdAtMost: number;
  /** Bytes read at a time from a streamed file. */
  highWaterMark: number;
  /** Called between the two reads of a file that is split streamed (tests change the file there). */
  betweenPasses?: (file: string) => void | Promise<void>;
}

export const streaming: StreamSettings = {
  streamAbove: bufferConstants.MAX_STRING_LENGTH,
  holdAtMost: bufferConstants.MAX_STRING_LENGTH,
  highWaterMark: 1 << 16,
};

/** Sets `streaming` for a test; returns what puts the previous settings back. */
export function setStreamingForTests(s: Partial<StreamSettings>): () => void {
  const before = { ...streaming };
  Object.assign(streaming, s);
  return () => void Object.assign(streaming, { betweenPasses: undefined, ...before });
}

/** Bytes at the start of a file that are looked at for UTF-16 before any is decoded (as the whole-file reader does). */
const HEAD = 4096;

/**
 * A file's bytes as text, chunk by chunk: UTF-8 decoded across chunks (an invalid byte named with its
 * offset and line), the byte-order mark dropped and every line ending made "\n", a CR at a chunk's end
 * held until the next chunk says whether an LF follows.
 */
class Utf8Text {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private head: Buffer[] = [];
  private headBytes = 0;
  /** Bytes given to the decoder, and how many of them it has turned into text. */
  private fed = 0;
  private decoded = 0;
  /** The last bytes fed (at most 3: all a cut character can leave pending) and the LFs fed. */
  private tail = Buffer.alloc(0);
  private newlines = 0;
  private bom = false;
  private started = false;
  private cr = false;
  /** True once a character other than white space is read. */
  sawText = false;

  constructor(private readonly file: string) {}

  push(chunk: Buffer): string {
    if (this.headBytes >= HEAD) return this.tidy(this.decode(chunk, true));
    this.head.push(chunk);
    this.headBytes += chunk.length;
    return this.headBytes >= HEAD ? this.flushHead() : '';
  }

  end(): string {
    const rest = this.headBytes < HEAD ? this.flushHead() : '';
    const last = this.tidy(this.decode(Buffer.alloc(0), false)) + (this.cr ? '\n' : '');
    this.cr = false;
    return rest + last;
  }

  /** Bytes read so far. */
  get bytes(): number {
    return this.fed + (this.headBytes < HEAD ? this.headBytes : 0);
  }

  /** Checks the file's first bytes for UTF-16, then decodes them chunk by chunk as they came. */
  private flushHead(): string {
    const chunks = this.head;
    const head = Buffer.concat(chunks);
    this.head = [];
    this.headBytes = HEAD;
    refuseUtf16(this.file, head);
    this.bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
    return chunks.map((c) => this.tidy(this.decode(c, true))).join('');
  }

  private decode(chunk: Buffer, stream: boolean): string {
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream });
    } catch {
      throw this.invalid(chunk);
    }
    this.fed += chunk.length;
    this.decoded += Buffer.byteLength(text);
    if (this.bom && this.fed >= 3) {
      // The decoder drops a leading byte-order mark: those bytes give no text.
      this.decoded += 3;
      this.bom = false;
    }
    this.tail = Buffer.concat([this.tail, chunk.subarray(-3)]).subarray(-3);
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) this.newlines++;
    return text;
  }

  /** The error for invalid UTF-8 in `chunk` or in the bytes of a character the decoder held from before it. */
  private invalid(chunk: Buffer): DatasetError {
    const pending = this.fed - this.decoded;
    const bytes = Buffer.concat([this.tail.subarray(this.tail.length - pending), chunk]);
    return notUtf8(this.file, bytes, firstInvalidUtf8(bytes), this.fed - pending, this.newlines + 1);
  }

  private tidy(decoded: string): string {
    let text = decoded;
    if (!this.started && text !== '') {
      this.started = true;
      // A second mark, as the whole-file reader drops it.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.cr) text = `\r${text}`;
    this.cr = text.endsWith('\r');
    if (this.cr) text = text.slice(0, -1);
    if (!this.sawText && /\S/.test(text)) this.sawText = true;
    return oneLineEnding(text);
  }
}

/** The file's text, chunk by chunk (see Utf8Text), checked at the end to be the file it was. */
async function* textOf(file: string, before: fs.Stats, text: Utf8Text): AsyncGenerator<string> {
  const stream = fs.createReadStream(file, { highWaterMark: streaming.highWaterMark });
  try {
    for await (const chunk of stream) {
      const t = text.push(chunk as Buffer);
      if (t !== '') yield t;
    }
  } catch (e) {
    throw cannotRead(file, e);
  } finally {
    stream.destroy();
  }
  yield text.end();
  await requireUnchanged(file, before, text.bytes);
}

/**
 * The rows of a file read streamed, a batch at a time, each checked as the whole-file reader checks
 * it; the file must be what it was when `before` was taken. Stopping early stops reading.
 */
export async function* streamRows(file: string, ext: TaskFileType, before: fs.Stats, columns: ColumnReading = columnReading()): AsyncGenerator<Row[]> {
  const text = new Utf8Text(file);
  const pieces = textOf(file, before, text);
  const batches = ext === 'jsonl' ? jsonlBatches(file, pieces, columns) : delimitedBatches(file, pieces, ext === 'tsv' ? '\t' : ',', columns);
  let n = 0;
  for await (const batch of batches) {
    n += batch.length;
    if (batch.length > 0) yield batch;
  }
  if (!text.sawText) throw emptyFile(file, ext);
  if (n === 0) throw noExamples(file);
}

async function* jsonlBatches(file: string, pieces: AsyncIterable<string>, columns: ColumnReading): AsyncGenerator<Row[]> {
  const jsonlRow = jsonlReader(file, columns);
  let partial = '';
  let line = 0;
  for await (const piece of pieces) {
    // A long line comes in many pieces: joined as they come, split once its end is read.
    if (!piece.includes('\n')) {
      partial += piece;
      continue;
    }
    const lines = (partial + piece).split('\n');
    partial = lines.pop() as string;
    const rows: Row[] = [];
    for (const l of lines) {
      const row = jsonlRow(++line, l);
      if (row) rows.push(row);
    }
    yield rows;
  }
  const row = jsonlRow(++line, partial);
  yield row ? [row] : [];
}

const BATCH = 1024;

async function* delimitedBatches(file: string, pieces: AsyncIterable<string>, delimiter: string, columns: ColumnReading): AsyncGenerator<Row[]> {
  const read = delimitedReader(file, delimiter, columns);
  // pipeline: an error in the file (or in parsing) ends both, and reaches the loop below.
  const records = pipeline(Readable.from(pieces), csvStream(csvOptions(delimiter)), () => undefined);
  let rows: Row[] = [];
  try {
    for await (const p of records) {
      if (!isParsed(p)) throw new Error('csv-parse returned rows without their line info');
      const row = read(p);
      if (row) rows.push(row);
      if (rows.length >= BATCH) {
        yield rows;
        rows = [];
      }
    }
  } catch (e) {
    throw csvFailure(file, delimiter, e);
  } finally {
    records.destroy();
  }
  yield rows;
}
