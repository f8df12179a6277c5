/**
 * The workspace the extension tests open: copies of the tiny-bert and tiny-roberta fixtures and
 * two real tasks (and a dataset repository of Parquet shards made from one), with settings that keep probes and optimize runs to seconds. Shared by both launchers (test-electron and the
 * code-server route in scripts/e2e.mjs), which call it from the compiled out/ tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Int64, RecordBatch, Schema, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';

export interface TestWorkspace {
  dir: string;
  modelDir: string;
  /** tiny-roberta: the model the optimize tests prune. */
  optimizeModelDir: string;
  tasks: Record<string, string>;
}

export const TEST_TASKS = ['spam', 'sentlen'] as const;

/** Creates (or re-creates) the test workspace in `dir` from the repository at `repoRoot`. */
export function prepareWorkspace(dir: string, repoRoot: string): TestWorkspace {
  fs.rmSync(dir, { recursive: true, force: true });
  const modelDir = path.join(dir, 'models', 'tiny-bert');
  const optimizeModelDir = path.join(dir, 'models', 'tiny-roberta');
  fs.mkdirSync(path.dirname(modelDir), { recursive: true });
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'tiny-bert'), modelDir, { recursive: true });
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'tiny-roberta'), optimizeModelDir, { recursive: true });
  // A folder as downloaded from the Hub: config, tokenizer and model.safetensors, no ONNX export.
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'tiny-distilbert'), path.join(dir, 'models', 'tiny-distilbert-safetensors'), { recursive: true, filter: (src) => path.basename(src) !== 'onnx' });
  const tasks: Record<string, string> = {};
  for (const t of TEST_TASKS) {
    tasks[t] = path.join(dir, 'data', 'tasks', t);
    fs.mkdirSync(tasks[t], { recursive: true });
    for (const split of ['train.jsonl', 'test.jsonl']) fs.copyFileSync(path.join(repoRoot, 'data', 'tasks', t, split), path.join(tasks[t], split));
  }
  // A dataset repository as the Hub keeps one: README.md and data/{train,test}-00000-of-00001.parquet (spam's first rows, a ClassLabel).
  const hub = path.join(dir, 'data', 'hub-emails');
  fs.mkdirSync(path.join(hub, 'data'), { recursive: true });
  fs.writeFileSync(path.join(hub, 'README.md'), '---\nlicense: apache-2.0\n---\n');
  for (const split of ['train', 'test']) {
    const rows = fs.readFileSync(path.join(repoRoot, 'data', 'tasks', 'spam', `${split}.jsonl`), 'utf8').split('\n').slice(0, 120).filter(Boolean).map((l) => JSON.parse(l) as { text: string; label: string });
    const columnData = [
      { name: 'text', data: rows.map((r) => r.text), type: 'STRING' as const },
      { name: 'label', data: rows.map((r) => BigInt(r.label === 'spam' ? 1 : 0)), type: 'INT64' as const },
    ];
    const kvMetadata = [{ key: 'huggingface', value: JSON.stringify({ info: { features: { label: { names: ['ham', 'spam'], _type: 'ClassLabel' } } } }) }];
    fs.writeFileSync(path.join(hub, 'data', `${split}-00000-of-00001.parquet`), new Uint8Array(parquetWriteBuffer({ columnData, kvMetadata })));
  }
  // A folder of datasets' cache as load_dataset leaves it (named by a hash): spam's first rows as Arrow streams with a ClassLabel, the
  // text under GLUE's "sentence", validation and no test split, and dataset_info.json naming it.
  const cache = path.join(dir, 'data', 'hf-datasets', 'mail_cache', 'default', '0.0.0', '3f2c9a1b7e5d4c60');
  fs.mkdirSync(cache, { recursive: true });
  fs.writeFileSync(path.join(cache, 'dataset_info.json'), JSON.stringify({ builder_name: 'mail_cache', dataset_name: 'mail_cache', config_name: 'default' }));
  for (const [split, as] of [['train', 'train'], ['test', 'validation']]) {
    const rows = fs.readFileSync(path.join(repoRoot, 'data', 'tasks', 'spam', `${split}.jsonl`), 'utf8').split('\n').slice(0, 120).filter(Boolean).map((l) => JSON.parse(l) as { text: string; label: string });
    const t = new Table({ sentence: vectorFromArray(rows.map((r) => r.text), new Utf8()), label: vectorFromArray(rows.map((r) => BigInt(r.label === 'spam' ? 1 : 0)), new Int64()) });
    const schema = new Schema(t.schema.fields, new Map([['huggingface', JSON.stringify({ info: { features: { label: { names: ['ham', 'spam'], _type: 'ClassLabel' } } } })]]));
    fs.writeFileSync(path.join(cache, `mail_cache-${as}.arrow`), tableToIPC(new Table(t.batches.map((b) => new RecordBatch(schema, b.data))), 'stream'));
  }
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, '.vscode', 'settings.json'),
    JSON.stringify({ 'probescale.limitTrain': 60, 'probescale.limitTest': 30, 'probescale.provider': 'cpu', 'probescale.candidates': 2, 'probescale.vocabTrim': true }, null, 2) + '\n',
  );
  fs.writeFileSync(path.join(dir, 'README.md'), '# ProbeScale test workspace\n\nCreated by test/integration/workspace.ts; safe to delete.\n');
  return { dir, modelDir, optimizeModelDir, tasks };
}
