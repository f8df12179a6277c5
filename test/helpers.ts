import * as assert from 'node:assert/strict';
import { SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { externalize as externalizeFile } from '../scripts/externalData';
import { DatasetError } from '../src/core/errors';
import { OnnxModel } from '../src/core/onnx/model';
import type { ReportData } from '../src/shared/protocol';
import * as ort from 'onnxruntime-node';

/** Tests run from the repository root (npm test does so); every fixture path is resolved from it. */
export const repoRoot = process.cwd();
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');
export const tinyModels: string[] = ['tiny-bert', 'tiny-roberta', 'tiny-distilbert', 'tiny-t5-encoder', 'tiny-mpnet'];
export const robertaMini = path.join(repoRoot, 'models', 'probescale-roberta-mini');
export const tasksDir = path.join(repoRoot, 'data', 'tasks');
const made: string[] = [];
/**
 * A new folder in the system temp folder, removed when this test process exits: a test run
 * leaves nothing there (scripts/runTests.mjs checks that it does not).
 */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (made.push(dir) === 1) process.on('exit', () => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  return dir;
}
/** Asserts that `p` rejects with a DatasetError whose message holds every string and matches every pattern of `parts`. */
export async function rejectsWith(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<DatasetError> {
  let error: DatasetError | undefined;
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof DatasetError, `expected DatasetError, got ${e.name}: ${e.message}`);
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
      else assert.match(e.message, part);
    }
    error = e;
    return true;
  });
  return error as DatasetError;
}

export function fixture(...parts: string[]): string {
  return path.join(fixturesDir, ...parts);
}

/**
 * A user's code: transformers.js `pipeline('text-classification')` on a committed classifier
 * folder, nothing of ours but the data loader; returns its accuracy on the sentlen test rows.
 */
export async function pipelineAccuracyOnSentlen(classifierDir: string, limits: { limitTrain: number; limitTest: number }, options: { dtype?: 'fp32' | 'q8' } = {}): Promise<number> {
  const { pipeline, env } = await import('@huggingface/transformers');
  const { loadTask } = await import('../src/core/data/dataset');
  env.allowRemoteModels = false;
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), limits);
  const classify = await pipeline('text-classification', classifierDir, options);
  let correct = 0;
  for (const ex of task.test) {
    const [top] = (await classify(ex.text)) as { label: string }[];
    if (top.label === ex.label) correct++;
  }
  return correct / task.test.length;
}

/**
 * A classifier reads the encoder's weights from `onnx/model.onnx_data` beside its graph, a hard
 * link to the encoder's own file (one copy on disk), and its config tells transformers.js so.
 */
export function assertSharesEncoder(out: string, task: string): void {
  const cdir = path.join(out, 'classifiers', task);
  const data = fs.statSync(path.join(cdir, 'onnx', 'model.onnx_data'));
  const graph = ['model.onnx', 'encoder_model.onnx'].map((f) => path.join(out, 'onnx', f)).find((f) => fs.existsSync(f))!;
  const enc = fs.statSync(fs.existsSync(`${graph}_data`) ? `${graph}_data` : graph);
  assert.equal(data.ino, enc.ino, `${task}: model.onnx_data is a hard link to the encoder's file`);
  assert.ok(fs.statSync(path.join(cdir, 'onnx', 'model.onnx')).size < enc.size / 4, `${task}: the classifier graph holds no copy of the encoder`);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(cdir, 'config.json'), 'utf8'))['transformers.js_config'].use_external_data_format, { 'model.onnx': 1 });
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), new RegExp(`classifiers/${task}/onnx/model.onnx_data\` \\| hard link to \`onnx/(encoder_)?model.onnx`));
}

/** Moves every initializer larger than 1 KiB into `model.onnx_data`, the layout of models over 2 GB. */
export function externalize(src: string, dir: string): string {
  return externalizeFile(src, path.join(dir, 'model.onnx'));
}

/**
 * A report's view data without the fields the twenty-fourth session added (how its texts were read:
 * `preparation`, each task's `pooling` and `textPairs`), for digests pinned before them; the
 * added fields have tests of their own (hostileViews, reportData.golden).
 */
export function withoutPreparation(r: ReportData): ReportData {
  const { preparation, ...rest } = r;
  void preparation;
  return { ...rest, tasks: Object.fromEntries(Object.entries(r.tasks).map(([k, { pooling, textPairs, ...t }]) => (void pooling, void textPairs, [k, t]))) };
}

/** The CLI (out/src/cli/main.js) run on `args`, as a user runs it. */
export function runCli(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(repoRoot, 'out', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', timeout: 300_000 });
}

/** A quick `optimize` of `source` on sentlen (120 training rows, 40 test rows, 2 candidates, no feature cache) into `out`. */
export function quickOptimize(source: string, out: string): SpawnSyncReturns<string> {
  return runCli(['optimize', source, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.95', '--limit-train', '120', '--limit-test', '40', '--candidates', '2', '--no-cache', '--out', out, '-q']);
}

/** The output names of an ONNX graph file, in order. */
export function graphOutputs(file: string): string[] {
  const m = OnnxModel.open(file);
  try {
    return m.outputs.map((o) => o.name);
  } finally {
    m.close();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The reference batch of a tiny fixture (test/fixtures/refs/NAME.refs.json), padded rows included. */
export interface RefBatch {
  input_ids: number[][];
  attention_mask: number[][];
}

/** last_hidden_state of graph `file` on a reference batch (token types 0 where the graph takes them). */
export async function lastHiddenOn(file: string, refs: RefBatch): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const [b, s] = [refs.input_ids.length, refs.input_ids[0].length];
  const t = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [b, s]);
  const feeds: Record<string, ort.Tensor> = { input_ids: t(refs.input_ids), attention_mask: t(refs.attention_mask) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = t(refs.input_ids.map((r) => r.map(() => 0)));
  const out = (await session.run(feeds)).last_hidden_state.data as Float32Array;
  await session.release();
  return out;
}
