// Parquet pages as pyarrow (and so the Hugging Face Hub) writes them by default: version-1 data
// pages, their levels and dictionary indices inside the compressed data. Read as the version-2
// pages hyparquet-writer writes are, and damage inside them refused before hyparquet decodes it
// (src/core/data/parquetPages.ts). test/unit/core/fuzz.test.ts mutates such files at random.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { loadTask } from '../../../../src/core/data/dataset';
import { SectionEdit, toVersion1Pages } from '../../../parquetV1';
import { rejectsWith, tempDir } from '../../../helpers';
import { Rng } from '../../../../src/core/util/rng';

const tmp = tempDir('probescale-parquet-pages-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

const N = 40;
const TEXTS = Array.from({ length: N }, (_, i) => `text ${i % 13} ${'word '.repeat(i % 3)}`.trim() + (i >= 13 ? ` ${i}` : ''));
const LABELS = Array.from({ length: N }, (_, i) => BigInt(i % 3 === 0 ? 1 : 0));

/** A task folder whose train split is a Parquet file of the rows above, version-1 pages unless `v2`, each section changed by `edit`. */
function taskDir(opts: { codec: 'SNAPPY' | 'UNCOMPRESSED'; dictionary: boolean; v2?: boolean; edit?: SectionEdit }): string {
  const dir = fs.mkdtempSync(path.join(tmp, `t${counter++}-`));
  const bytes = new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'text', data: TEXTS, type: 'STRING', encoding: opts.dictionary ? 'RLE_DICTIONARY' : 'PLAIN' },
        { name: 'label', data: LABELS, type: 'INT64' },
      ],
      codec: opts.codec,
      rowGroupSize: 25,
    }),
  );
  fs.writeFileSync(path.join(dir, 'train.parquet'), opts.v2 ? bytes : toVersion1Pages(bytes, opts.edit));
  fs.writeFileSync(path.join(dir, 'test.jsonl'), ['a b', 'c d', 'e f'].map((text, i) => JSON.stringify({ text, label: String(i % 2) })).join('\n'));
  return dir;
}

test("version-1 pages (pyarrow's default), snappy or not, texts plain or dictionary-encoded: the same rows as version 2", async () => {
  for (const codec of ['SNAPPY', 'UNCOMPRESSED'] as const) {
    for (const dictionary of [false, true]) {
      const v1 = await loadTask('t', taskDir({ codec, dictionary }));
      const v2 = await loadTask('t', taskDir({ codec, dictionary, v2: true }));
      assert.deepEqual(v1.train.map((e) => [e.text, e.label]), TEXTS.map((t, i) => [t, String(LABELS[i])]), `${codec}, dictionary ${dictionary}`);
      assert.deepEqual(v1.train, v2.train);
    }
  }
});

/** A 5-byte varint: an RLE run header of 2^31 − 1 values (the largest hyparquet reads). */
const HUGE_RUN = [0xfe, 0xff, 0xff, 0xff, 0x0f];
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];

/** A text column's section with its definition levels replaced by `levels`. */
const levels = (levelBytes: number[]): SectionEdit => (section, column) => {
  if (column !== 'text') return section;
  const old = new DataView(section.buffer, section.byteOffset).getUint32(0, true);
  return new Uint8Array([...u32(levelBytes.length), ...levelBytes, ...section.subarray(4 + old)]);
};

/** A text column's section with its dictionary indices (after the levels) replaced by `indices` (bit width first). */
const indices = (indexBytes: number[]): SectionEdit => (section, column) => {
  if (column !== 'text') return section;
  const old = new DataView(section.buffer, section.byteOffset).getUint32(0, true);
  return new Uint8Array([...section.subarray(0, 4 + old), ...indexBytes]);
};

// Before the checks, each of these made hyparquet write 2^31 − 1 values into an array sized for the
// page: the process grew until V8 aborted it (the extension host with it), or spun for minutes.
test('damaged runs inside version-1 pages are refused naming the column and the run, compressed or not', async () => {
  for (const codec of ['SNAPPY', 'UNCOMPRESSED'] as const) {
    await rejectsWith(loadTask('t', taskDir({ codec, dictionary: false, edit: levels([...HUGE_RUN, 1]) })), /train\.parquet, rows 1–25: cannot be read as Parquet \(column "text": the page at byte \d+ has a run of 2147483647 definition levels where 25 remain\)/);
    await rejectsWith(loadTask('t', taskDir({ codec, dictionary: true, edit: indices([4, ...HUGE_RUN, 0]) })), /column "text": the page at byte \d+ has a run of 2147483647 dictionary indices where 25 remain/);
    // Zero-bit indices in one bit-packed run of 2^31 − 8 values, which reads no bytes.
    await rejectsWith(loadTask('t', taskDir({ codec, dictionary: true, edit: indices([0, 0xff, 0xff, 0xff, 0xff, 0x0f]) })), /a run of 17179869176 dictionary indices where 25 remain/);
    // Levels that stop short: hyparquet would read on into the values as levels.
    await rejectsWith(loadTask('t', taskDir({ codec, dictionary: false, edit: levels([2 * 10, 1]) })), /definition levels that end after 10 of 25 values/);
  }
});

test('SnappyPrefix: any prefix equals the whole decompressed page; damage throws an Error, never reads or writes out of bounds', async () => {
  const { snappyCompress } = await import('hyparquet-writer/src/snappy.js');
  const { SnappyPrefix } = await import('../../../../src/core/data/snappyPrefix');
  const rng = new Rng(7);
  // Runs (overlapping copies), repeated phrases (far copies) and noise (literals, long ones too).
  const page = new Uint8Array(70000);
  for (let i = 0; i < page.length; ) {
    const kind = rng.int(3);
    const n = 1 + rng.int(kind === 2 ? 5000 : 300);
    for (let j = 0; j < n && i < page.length; j++, i++) page[i] = kind === 0 ? 7 : kind === 1 ? TEXTS[0].charCodeAt(j % TEXTS[0].length) : rng.int(256);
  }
  const packed = snappyCompress(page);
  for (const n of [0, 1, 5, 4096, 65536, 69999, 70000, 1e9]) {
    assert.deepEqual(new SnappyPrefix(packed, page.length).bytes(n), page.subarray(0, n));
  }
  assert.throws(() => new SnappyPrefix(packed, page.length + 1), /snappy data of 70000 bytes where the page header says 70001/);
  let thrown = 0;
  for (let k = 0; k < 300; k++) {
    const bad = packed.slice(0, rng.int(2) ? packed.length : rng.int(packed.length));
    bad[rng.int(bad.length)] = rng.int(256);
    try {
      const out = new SnappyPrefix(bad, page.length).bytes(page.length);
      assert.equal(out.length, page.length);
    } catch (e) {
      assert.ok(e instanceof Error && /snappy/.test(e.message), String(e));
      thrown++;
    }
  }
  assert.ok(thrown > 100, `${thrown} of 300 damaged streams refused`);
});
