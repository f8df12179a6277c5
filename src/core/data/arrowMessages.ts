// The message headers of an Arrow IPC file, checked before apache-arrow decodes them. apache-arrow
// trusts the counts in a header's flatbuffer: a damaged record batch that claims billions of field
// nodes makes it fill an array of that length until the process runs out of memory (found by
// fuzzing, test/fuzz.ts), which no try/catch survives. Here each message is framed as the IPC
// format frames it, its header is read with apache-arrow's own flatbuffer classes, and every count
// must fit in the bytes that hold it.
import * as fs from 'node:fs';
import { ByteBuffer } from 'flatbuffers';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch } from 'apache-arrow/fb/record-batch';
import { DictionaryBatch } from 'apache-arrow/fb/dictionary-batch';
import { Schema } from 'apache-arrow/fb/schema';
import { Field } from 'apache-arrow/fb/field';

/** Bytes of one message's metadata read (real ones are a few kB; a schema of thousands of columns, a few MB). */
const MAX_METADATA = 64 * 2 ** 20;
/** Nesting of a schema's fields followed (a list of structs of lists … is a few levels). */
const MAX_DEPTH = 64;

/** Throws an Error saying what does not fit when a count of `n` elements of `size` bytes exceeds the `room` bytes of the message. */
function fits(what: string, n: number, size: number, room: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n * size > room) throw new Error(`${what}: ${n} in ${room} bytes`);
}

function checkBatch(b: RecordBatch | null, room: number, body: number): void {
  if (!b) throw new Error('a record batch message without its header');
  fits('field nodes', b.nodesLength(), 16, room);
  fits('buffers', b.buffersLength(), 16, room);
  fits('variadic buffer counts', b.variadicBufferCountsLength(), 8, room);
  // A row takes at least one bit of some buffer of the body (a validity bitmap, an offset, a value).
  const rows = Number(b.length());
  if (!(rows >= 0) || rows > 8 * body + 64) throw new Error(`${String(b.length())} rows in a body of ${body} bytes`);
  for (let i = 0; i < b.nodesLength(); i++) {
    const n = Number(b.nodes(i)?.length());
    if (!(n >= 0) || n > 8 * body + 64) throw new Error(`field node ${i} of ${n} values in a body of ${body} bytes`);
  }
}

function checkFields(count: number, field: (i: number) => Field | null, room: number, depth: number): void {
  fits('fields', count, 4, room);
  if (depth > MAX_DEPTH) throw new Error(`fields nested more than ${MAX_DEPTH} deep`);
  for (let i = 0; i < count; i++) {
    const f = field(i);
    if (!f) continue;
    fits('field metadata', f.customMetadataLength(), 4, room);
    checkFields(f.childrenLength(), (j) => f.children(j), room, depth + 1);
  }
}

/** Checks one message's metadata bytes; returns the length of the body that follows it. */
function checkMessage(meta: Uint8Array): number {
  const m = Message.getRootAsMessage(new ByteBuffer(meta));
  const body = Number(m.bodyLength());
  if (!Number.isSafeInteger(body) || body < 0) throw new Error(`a body of ${String(m.bodyLength())} bytes`);
  const room = meta.byteLength;
  fits('message metadata', m.customMetadataLength(), 4, room);
  const type = m.headerType();
  if (type === MessageHeader.RecordBatch) checkBatch(m.header(new RecordBatch()), room, body);
  else if (type === MessageHeader.DictionaryBatch) checkBatch((m.header(new DictionaryBatch()) as DictionaryBatch | null)?.data() ?? null, room, body);
  else if (type === MessageHeader.Schema) {
    const s = m.header(new Schema()) as Schema | null;
    if (!s) throw new Error('a schema message without its header');
    fits('schema metadata', s.customMetadataLength(), 4, room);
    checkFields(s.fieldsLength(), (i) => s.fields(i), room, 0);
  }
  return body;
}

async function readAt(fd: fs.promises.FileHandle, at: number, n: number): Promise<Uint8Array> {
  const b = new Uint8Array(n);
  const { bytesRead } = await fd.read(b, 0, n, at);
  return b.subarray(0, bytesRead);
}

/**
 * Throws an Error naming the byte where the message is when a message of the Arrow stream (or file)
 * `file` has a header that does not fit its bytes. Stops at the end-of-stream marker or where the
 * bytes run out (apache-arrow then says how the stream ends).
 */
export async function checkArrowMessages(file: string): Promise<void> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const size = (await fd.stat()).size;
    const magic = new TextDecoder().decode(await readAt(fd, 0, 6));
    let pos = magic === 'ARROW1' ? 8 : 0;
    while (pos + 4 <= size) {
      const at = pos;
      const word = new DataView((await readAt(fd, pos, 8)).slice().buffer);
      let len = word.getInt32(0, true);
      pos += 4;
      if (len === -1) {
        if (pos + 4 > size) return;
        len = word.getInt32(4, true);
        pos += 4;
      }
      if (len === 0) return;
      if (len < 0 || len > MAX_METADATA || pos + len > size) throw new Error(`the message at byte ${at} has ${len} bytes of metadata where ${size - pos} remain`);
      let body: number;
      try {
        body = checkMessage(await readAt(fd, pos, len));
      } catch (e) {
        throw new Error(`the message at byte ${at} is damaged (${(e as Error).message})`);
      }
      pos += len;
      if (pos + body > size) throw new Error(`the message at byte ${at} has a body of ${body} bytes where ${size - pos} remain`);
      pos += body;
    }
  } finally {
    await fd.close();
  }
}
