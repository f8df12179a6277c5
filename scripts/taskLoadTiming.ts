/**
 * How long a task takes to load from JSON lines, Parquet and Arrow (RESULTS §6, twentieth and
 * twenty-first sessions): writes the same N rows per split (texts cut from data/tasks/spam, each
 * made distinct) as train/test.jsonl, as the Hub's data/train-00000-of-00001.parquet (snappy, a
 * ClassLabel), the same with version-1 data pages (pyarrow's default, whose levels and indices are
 * checked after a second decompression; twenty-fifth session) and as datasets' cache files
 * glue-train.arrow (an IPC stream of 1,000-row batches, the same ClassLabel), then loads each
 * alternately, `runs` times, in one process.
 *   node out/scripts/taskLoadTiming.js [ROWS] [RUNS]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Int64, RecordBatch, Schema, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { loadTask } from '../src/core/data/dataset';
import { toVersion1Pages } from '../test/parquetV1';

async function main(): Promise<void> {
  const [n, runs] = [Number(process.argv[2] ?? 25000), Number(process.argv[3] ?? 3)];
  const source = fs.readFileSync(path.join(__dirname, '..', '..', 'data', 'tasks', 'spam', 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });
  const names = [...new Set(source.map((r) => r.label))].sort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-load-'));
  try {
    for (const split of ['train', 'test']) {
      const rows = Array.from({ length: n }, (_, i) => ({ text: `${source[(i * 7) % source.length].text.slice(0, 1300)} ${split} ${i}`, label: source[(i * 7) % source.length].label }));
      fs.writeFileSync(path.join(dir, `${split}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fs.mkdirSync(path.join(dir, 'hub', 'data'), { recursive: true });
      const kvMetadata = [{ key: 'huggingface', value: JSON.stringify({ info: { features: { label: { names, _type: 'ClassLabel' } } } }) }];
      const columnData = [
        { name: 'text', data: rows.map((r) => r.text), type: 'STRING' as const },
        { name: 'label', data: rows.map((r) => BigInt(names.indexOf(r.label))), type: 'INT64' as const },
      ];
      const parquet = new Uint8Array(parquetWriteBuffer({ columnData, kvMetadata }));
      fs.writeFileSync(path.join(dir, 'hub', 'data', `${split}-00000-of-00001.parquet`), parquet);
      fs.mkdirSync(path.join(dir, 'hubv1', 'data'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'hubv1', 'data', `${split}-00000-of-00001.parquet`), toVersion1Pages(parquet));
      fs.mkdirSync(path.join(dir, 'cache'), { recursive: true });
      const batches: RecordBatch[] = [];
      let schema: Schema | undefined;
      for (let s = 0; s < n; s += 1000) {
        const part = rows.slice(s, s + 1000);
        const t = new Table({ text: vectorFromArray(part.map((r) => r.text), new Utf8()), label: vectorFromArray(part.map((r) => BigInt(names.indexOf(r.label))), new Int64()) });
        schema ??= new Schema(t.schema.fields, new Map([[kvMetadata[0].key, kvMetadata[0].value]]));
        batches.push(...t.batches.map((b) => new RecordBatch(schema as Schema, b.data)));
      }
      fs.writeFileSync(path.join(dir, 'cache', `glue-${split}.arrow`), tableToIPC(new Table(batches), 'stream'));
    }
    const size = (p: string) => fs.readdirSync(p).filter((f) => f.includes('.')).reduce((a, f) => a + fs.statSync(path.join(p, f)).size, 0);
    console.log(`${n} rows per split: JSON lines ${(size(dir) / 1e6).toFixed(1)} MB, Parquet ${(size(path.join(dir, 'hub', 'data')) / 1e6).toFixed(1)} MB, Arrow ${(size(path.join(dir, 'cache')) / 1e6).toFixed(1)} MB`);
    for (let r = 0; r < runs; r++) {
      for (const [label, p] of [['JSON lines', dir], ['Parquet', path.join(dir, 'hub')], ['Parquet v1', path.join(dir, 'hubv1')], ['Arrow', path.join(dir, 'cache')]]) {
        const t0 = performance.now();
        const task = await loadTask('t', p);
        console.log(`${label.padEnd(10)} ${(performance.now() - t0).toFixed(0).padStart(6)} ms  ${task.train.length} + ${task.test.length} rows, labels ${task.labels.join(', ')}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
