// Writes a task folder's train and test JSON lines as load_dataset's cache writes a dataset
// (RESULTS §6, twenty-first session): `<name>-train.arrow` and `<name>-validation.arrow`, IPC
// streams of 1,000-row record batches with a ClassLabel in the `huggingface` schema metadata, the
// text under TEXT_COLUMN; the test rows become the validation split, as GLUE's labelled split is.
//   node scripts/arrowCache.mjs data/tasks/spam /tmp/arrowcache [TEXT_COLUMN]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Int64, RecordBatch, Schema, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';

const [source, out, textColumn = 'text'] = process.argv.slice(2);
const read = (split) => fs.readFileSync(path.join(source, `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const names = [...new Set(read('train').map((r) => String(r.label)))].sort();
const features = { [textColumn]: { dtype: 'string', _type: 'Value' }, label: { names, _type: 'ClassLabel' } };
const metadata = new Map([['huggingface', JSON.stringify({ info: { features } })]]);
fs.mkdirSync(out, { recursive: true });
for (const [split, as] of [['train', 'train'], ['test', 'validation']]) {
  const rows = read(split);
  const batches = [];
  let schema;
  for (let s = 0; s < rows.length; s += 1000) {
    const part = rows.slice(s, s + 1000);
    const t = new Table({ [textColumn]: vectorFromArray(part.map((r) => r.text), new Utf8()), label: vectorFromArray(part.map((r) => BigInt(names.indexOf(String(r.label)))), new Int64()) });
    schema ??= new Schema(t.schema.fields, metadata);
    batches.push(...t.batches.map((b) => new RecordBatch(schema, b.data)));
  }
  fs.writeFileSync(path.join(out, `${path.basename(source)}-${as}.arrow`), tableToIPC(new Table(batches), 'stream'));
}
fs.writeFileSync(path.join(out, 'dataset_info.json'), JSON.stringify({ builder_name: path.basename(source), dataset_name: path.basename(source), config_name: 'default' }));
