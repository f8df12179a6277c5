/**
 * The hostile-input corpus: each case makes its own files, runs the CLI as a user would and
 * checks the exit code, a fragment of the message, and that nothing was left behind.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeClassifiers } from '../../../src/core/commit/classifier';
import { openModel } from '../../../src/core/model/modelInfo';
import { OnnxModel } from '../../../src/core/onnx/model';
import { externalize, fixture, repoRoot, robertaMini as robertaMiniDir, tasksDir, tempDir } from '../../helpers';

/** The environment without ORT_DISABLE_TELEMETRY, which npm test sets: these runs test ProbeScale's own opt-out. */
function withoutTelemetryOptOut(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { ORT_DISABLE_TELEMETRY: _, ...rest } = env;
  return rest;
}

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const sentlen = path.join(tasksDir, 'sentlen');
/** What a clone without Git LFS holds in place of a large file. */
const LFS_POINTER = 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 667048\n';
const LIMITS = ['--limit-train', '40', '--limit-test', '10', '--c', '1', '--no-cache', '-q'];

interface Case {
  name: string;
  /** Makes the case's files under `dir` and returns the CLI arguments. */
  args: (dir: string) => string[];
  code: number;
  stderr?: RegExp;
  /** Extra checks after the run (files left, source intact). */
  after?: (dir: string, r: { stdout: string; stderr: string }) => void;
  env?: (dir: string) => NodeJS.ProcessEnv;
  /** Working directory of the run (default: this process's). */
  cwd?: (dir: string) => string;
}

/** A private copy of a fixture model, to damage. */
function copyModel(dir: string, name = 'tiny-bert'): string {
  const dst = path.join(dir, name);
  fs.cpSync(fixture(name), dst, { recursive: true });
  return dst;
}

/** A private copy of a fixture model without its onnx/ folder: the graph is built from model.safetensors. */
function safetensorsOnly(dir: string, name = 'tiny-bert'): string {
  const m = copyModel(dir, name);
  fs.rmSync(path.join(m, 'onnx'), { recursive: true });
  return m;
}

/** A private copy of the sentlen task under `dir`/data. */
function copyTask(dir: string): string {
  const dst = path.join(dir, 'data', 'sentlen');
  fs.cpSync(sentlen, dst, { recursive: true });
  return dst;
}

/** Empty files at the given paths under `dir/ds` (their names are all a case looks at); returns `dir/ds`. */
function touch(dir: string, ...files: string[]): string {
  const root = path.join(dir, 'ds');
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), '');
  }
  return root;
}

function patchConfig(model: string, patch: Record<string, unknown>): string {
  const file = path.join(model, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...patch }));
  return model;
}

/** probe with the feature cache in `cacheDir` (LIMITS turns it off). */
const cached = (cacheDir: string) => ['probe', fixture('tiny-bert'), '--task', `s=${sentlen}`, ...LIMITS.filter((a) => a !== '--no-cache' && a !== '-q'), '--cache-dir', cacheDir];
const probe = (model: string, ...extra: string[]) => ['probe', model, '--task', `s=${sentlen}`, ...LIMITS, ...extra];
const prune = (model: string, ...extra: string[]) => ['prune', model, '--layers', '0,2', ...extra];

/** Every entry under `dir`, recursively, with file sizes: a source folder's fingerprint. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort().map((f) => `${f}:${fs.statSync(path.join(dir, f)).size}`);
}
const tiny = listing(fixture('tiny-bert'));

function noTemporaries(dir: string): void {
  const left = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.includes('probescale-tmp'));
  assert.deepEqual(left, [], 'no temporary sibling left');
}

function dataFile(dir: string, name: string, bytes: Buffer): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

/** A classifier folder as optimize writes it (classifiers/<task>/ under a pruned encoder). */
function classifierFolder(dir: string): string {
  const info = openModel(fixture('tiny-bert'));
  const H = info.hiddenSize;
  const probe = { c: 1, standardizer: { mean: new Float64Array(H), scale: new Float64Array(H).fill(1) }, model: { numClasses: 2, dim: H, weights: new Float64Array(H).fill(0.1), bias: new Float64Array(1), iterations: 1, converged: true } };
  writeClassifiers(info, [0, 1], dir, [{ name: 'sentlen', labels: ['a', 'b'], probe }], { pooling: 'mean', maxLength: 128 });
  info.model.close();
  return path.join(dir, 'classifiers', 'sentlen');
}

const cases: Case[] = [
  // Models
  {
    name: 'an ONNX file with an initializer missing',
    args: (d) => {
      const m = copyModel(d);
      const file = path.join(m, 'onnx', 'model.onnx');
      const src = OnnxModel.open(fixture('tiny-bert', 'onnx', 'model.onnx'));
      const victim = [...src.initializers.keys()].find((n) => n.includes('layer.1') && n.includes('weight'))!;
      src.write(file, { nodes: src.nodes, keepInitializer: (n) => n !== victim });
      src.close();
      return probe(m);
    },
    code: 1,
    stderr: /reads '.*', which no initializer, graph input or node provides \(an initializer is missing\)/,
  },
  { name: 'config hidden_size of the wrong type', args: (d) => probe(patchConfig(copyModel(d), { hidden_size: '32' })), code: 1, stderr: /hidden_size is "32"; it must be an integer ≥ 1/ },
  { name: 'config num_hidden_layers negative', args: (d) => probe(patchConfig(copyModel(d), { num_hidden_layers: -4 })), code: 1, stderr: /num_hidden_layers is -4; it must be an integer ≥ 0/ },
  { name: 'config without model_type', args: (d) => probe(patchConfig(copyModel(d), { model_type: undefined })), code: 1, stderr: /config\.json has no "model_type"; add the model's type \(bert, roberta, distilbert, t5, /, after: (_d, r) => assert.doesNotMatch(r.stderr, /'unknown'/) },
  { name: 'config max_position_embeddings a float', args: (d) => probe(patchConfig(copyModel(d), { max_position_embeddings: 512.5 })), code: 1, stderr: /max_position_embeddings is 512.5/ },
  { name: 'config hidden_size disagreeing with the graph', args: (d) => probe(patchConfig(copyModel(d), { hidden_size: 64 })), code: 1, stderr: /says hidden size 64 but the graph's word embeddings are 32 wide/ },
  { name: 'eval on a classifier folder optimize wrote', args: (d) => ['eval', classifierFolder(d), '--task', `s=${sentlen}`, ...LIMITS], code: 1, stderr: /is a text classifier \(its graph outputs logits, task 'sentlen'\).*The pruned encoder it was made from is/ },
  {
    name: 'an external data file truncated (probe)',
    args: (d) => {
      const m = copyModel(d);
      externalize(fixture('tiny-bert', 'onnx', 'model.onnx'), path.join(m, 'onnx'));
      fs.truncateSync(path.join(m, 'onnx', 'model.onnx_data'), 5000);
      return probe(m);
    },
    code: 1,
    stderr: /model\.onnx_data, which has 5000 bytes: the data file is truncated/,
  },
  {
    name: 'an external data file truncated (prune copies nothing)',
    args: (d) => {
      const m = copyModel(d);
      externalize(fixture('tiny-bert', 'onnx', 'model.onnx'), path.join(m, 'onnx'));
      fs.truncateSync(path.join(m, 'onnx', 'model.onnx_data'), 5000);
      return prune(m, '--out', path.join(d, 'out'));
    },
    code: 1,
    stderr: /the data file is truncated/,
    after: (d) => assert.ok(!fs.existsSync(path.join(d, 'out'))),
  },
  {
    name: 'an external data file missing',
    args: (d) => {
      const m = copyModel(d);
      externalize(fixture('tiny-bert', 'onnx', 'model.onnx'), path.join(m, 'onnx'));
      fs.rmSync(path.join(m, 'onnx', 'model.onnx_data'));
      return probe(m);
    },
    code: 1,
    stderr: /its data file model\.onnx_data is missing/,
  },
  {
    name: '--max-length beyond the model positions is recorded as what was used',
    args: (d) => probe(fixture('tiny-bert'), '--max-length', '100000', '--out', path.join(d, 'r.json')),
    code: 0,
    stderr: /--max-length 100000 is beyond the 128 positions of .*; inputs are cut at 128, and the report records 128/,
    after: (d) => assert.equal(JSON.parse(fs.readFileSync(path.join(d, 'r.json'), 'utf8')).settings.maxLength, 128),
  },
  // Outputs and the source
  ...[
    ['the task folder', (data: string) => data],
    ['a folder holding the task folder', (data: string) => path.dirname(data)],
  ].map(([what, outOf]) => ({
    name: `optimize --out ${what as string} --force`,
    args: (d: string) => {
      const data = copyTask(d);
      return ['optimize', fixture('tiny-bert'), '--task', `s=${data}`, '--budget', '0.95', '--out', (outOf as (p: string) => string)(data), '--force', ...LIMITS];
    },
    code: 1,
    stderr: /that path (is|contains) the task data .*sentlen; writing there would replace it\. Choose a path outside it\./,
    after: (d: string) => assert.deepEqual(fs.readdirSync(path.join(d, 'data', 'sentlen')).sort(), ['test.jsonl', 'train.jsonl'], 'the task data is intact'),
  })),
  {
    name: 'probe --out a task data file',
    args: (d) => ['probe', fixture('tiny-bert'), '--task', `s=${copyTask(d)}`, ...LIMITS, '--out', path.join(d, 'data', 'sentlen', 'train.jsonl')],
    code: 1,
    stderr: /that path is inside the task data .*sentlen and exists; ProbeScale never replaces its inputs/,
    after: (d) => assert.equal(fs.readFileSync(path.join(d, 'data', 'sentlen', 'train.jsonl'), 'utf8'), fs.readFileSync(path.join(sentlen, 'train.jsonl'), 'utf8')),
  },
  { name: 'prune --out the source folder --force', args: () => prune(fixture('tiny-bert'), '--out', fixture('tiny-bert'), '--force'), code: 1, stderr: /is the source model folder; writing there would replace the source/, after: () => assert.deepEqual(listing(fixture('tiny-bert')), tiny) },
  { name: 'prune --out the parent of the source --force', args: () => prune(fixture('tiny-bert'), '--out', fixture(), '--force'), code: 1, stderr: /contains the source model folder/, after: () => assert.deepEqual(listing(fixture('tiny-bert')), tiny) },
  { name: 'prune --out a symlink to the source --force', args: (d) => (fs.symlinkSync(fixture('tiny-bert'), path.join(d, 'link')), prune(fixture('tiny-bert'), '--out', path.join(d, 'link'), '--force')), code: 1, stderr: /is the source model folder/, after: () => assert.deepEqual(listing(fixture('tiny-bert')), tiny) },
  { name: 'prune --out an existing folder inside the source --force', args: () => prune(fixture('tiny-bert'), '--out', fixture('tiny-bert', 'onnx'), '--force'), code: 1, stderr: /inside the source model folder .* and exists/, after: () => assert.deepEqual(listing(fixture('tiny-bert')), tiny) },
  { name: 'prune onto an existing file', args: (d) => prune(fixture('tiny-bert'), '--out', dataFile(d, 'x.txt', Buffer.from('x'))), code: 1, stderr: /a file of that name exists/ },
  { name: 'probe --out an existing folder', args: (d) => probe(fixture('tiny-bert'), '--out', d), code: 1, stderr: /that is a folder; give a file path/ },
  { name: 'probe --out under a file', args: (d) => probe(fixture('tiny-bert'), '--out', path.join(dataFile(d, 'f', Buffer.from('x')), 'r.json')), code: 1, stderr: /is a file, not a folder/ },
  ...(process.platform === 'linux'
    ? [{ name: 'probe --out in a folder that cannot be written (/proc)', args: () => probe(fixture('tiny-bert'), '--out', '/proc/probescale-report.json'), code: 1, stderr: /the folder \/proc is not writable/ }]
    : []),
  {
    name: 'a successful run leaves its output mode by the umask and no mat-debug log in the temp folder',
    args: (d) => (fs.mkdirSync(path.join(d, 'tmp')), prune(fixture('tiny-bert'), '--out', path.join(d, 'out'))),
    env: (d) => withoutTelemetryOptOut({ ...process.env, TMPDIR: path.join(d, 'tmp') }),
    code: 0,
    after: (d) => {
      assert.deepEqual(fs.readdirSync(path.join(d, 'tmp')), [], 'nothing written to the temp folder');
      assert.equal(fs.statSync(path.join(d, 'out')).mode & 0o777, 0o777 & ~process.umask(), 'folder mode follows the umask');
    },
  },
  {
    name: 'probe leaves no mat-debug log in the temp folder and no telemetry device id in the home folder',
    args: (d) => (fs.mkdirSync(path.join(d, 'tmp')), probe(fixture('tiny-bert'))),
    env: (d) => withoutTelemetryOptOut({ ...process.env, TMPDIR: path.join(d, 'tmp'), HOME: path.join(d, 'home'), XDG_CACHE_HOME: path.join(d, 'home', '.cache') }),
    code: 0,
    after: (d) => {
      assert.deepEqual(fs.readdirSync(path.join(d, 'tmp')).filter((f) => /mat-debug|\.ses/.test(f)), []);
      // ONNX Runtime's telemetry keeps a device id and its event store in ~/.cache/Microsoft/DeveloperTools.
      assert.equal(fs.existsSync(path.join(d, 'home', '.cache', 'Microsoft')), false, 'no ~/.cache/Microsoft');
    },
  },
  {
    name: 'eval of a committed folder whose report was edited by hand says the claim differs',
    args: (d) => {
      const out = path.join(d, 'committed');
      const made = spawnSync(process.execPath, [cli, 'optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.95', '--out', out, ...LIMITS], { encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      const file = path.join(out, 'probescale-report.json');
      const report = JSON.parse(fs.readFileSync(file, 'utf8'));
      report.selection.perTask.s.test.accuracy = 0.987;
      fs.writeFileSync(file, JSON.stringify(report));
      return ['eval', out, '--task', `s=${sentlen}`, ...LIMITS];
    },
    code: 0,
    after: (_d, r) => assert.match(r.stdout, /final \(as shipped\): acc [\d.]+ %, F1 [\d.]+ % \(the committed report claims 98\.7 %\)/),
  },
  {
    name: 'eval of a committed folder with --pooling and --max-length other than committed reports what the classifiers used',
    args: (d) => {
      const out = path.join(d, 'committed');
      const made = spawnSync(process.execPath, [cli, 'optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.95', '--candidates', '1', '--baselines', 'none', '--out', out, ...LIMITS], { encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      return ['eval', out, '--task', `s=${sentlen}`, '--limit-test', '10', '--no-cache', '--pooling', 'first', '--max-length', '8', '--out', path.join(d, 'r.json')];
    },
    code: 0,
    stderr: /the committed classifiers pool mean and cut inputs at 128 tokens \(config\.json\); the --pooling first and --max-length 8 given do not apply to them/,
    after: (d) => {
      const r = JSON.parse(fs.readFileSync(path.join(d, 'r.json'), 'utf8'));
      assert.deepEqual([r.settings.pooling, r.settings.maxLength, r.tasks.s.pooling], ['mean', 128, 'mean']);
    },
  },
  {
    // Before: the report said "graph built from safetensors" while the ONNX classifiers were scored.
    name: 'eval of a committed folder with --from safetensors says the classifiers are ONNX and reports the ONNX model',
    args: (d) => {
      const out = path.join(d, 'committed');
      const made = spawnSync(process.execPath, [cli, 'optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.95', '--candidates', '1', '--baselines', 'none', '--out', out, ...LIMITS], { encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      return ['eval', out, '--task', `s=${sentlen}`, '--limit-test', '10', '--no-cache', '--from', 'safetensors', '--out', path.join(d, 'r.json')];
    },
    code: 0,
    stderr: /the committed classifiers are ONNX graphs \(classifiers\/<task>\/onnx\/\); --from safetensors does not apply to them/,
    after: (d) => assert.equal(JSON.parse(fs.readFileSync(path.join(d, 'r.json'), 'utf8')).model.graphFrom, 'onnx'),
  },
  // Task names and specs
  ...['..', '.', 'a/b', '.hidden', 'NUL'].map((name) => ({
    name: `task name '${name}'`,
    args: (d: string) => ['optimize', fixture('tiny-bert'), '--task', `${name}=${sentlen}`, '--budget', '0.9', '--out', path.join(d, 'out'), ...LIMITS],
    code: 1,
    stderr: /is not a safe folder name/,
    after: (d: string) => assert.ok(!fs.existsSync(path.join(d, 'out'))),
  })),
  { name: 'a weight :abc', args: () => probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${sentlen}:abc` : a)), code: 1, stderr: /has weight "abc"; a weight must be a number > 0/ },
  // --layers
  ...[
    ['0,,2', /entry 2 is empty/],
    ['-1', /'-1' is not a block index/],
    ['0x1', /'0x1' is not a block index/],
    ['1e0', /'1e0' is not a block index/],
  ].map(([layers, re]) => ({ name: `--layers ${layers}`, args: (d: string) => ['prune', fixture('tiny-bert'), '--layers', layers as string, '--out', path.join(d, 'out')], code: 1, stderr: re as RegExp })),
  // Data files
  { name: 'UTF-16 data', args: (d) => probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${dataFile(d, 'u16.csv', Buffer.from('\ufefftext,label\nab,a\ncd,b\n', 'utf16le'))}` : a)), code: 1, stderr: /is encoded as UTF-16 \(byte-order mark\), not UTF-8/ },
  { name: 'latin-1 data', args: (d) => probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${dataFile(d, 'l1.csv', Buffer.from('text,label\ncaf\xe9,a\nab,b\n', 'latin1'))}` : a)), code: 1, stderr: /is not valid UTF-8: byte 0xe9 at offset 14 \(line 2\); it looks like latin-1/ },
  { name: 'a single file too small to split', args: (d) => probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${dataFile(d, 'two.csv', Buffer.from('text,label\nab,a\ncd,b\n'))}` : a)), code: 1, stderr: /too few to hold out 20% of each label for testing \(each of its 2 labels is split on its own, and the largest has 1 row\)\. Add rows, or give a folder with train and test files\./, after: (_d, r) => assert.doesNotMatch(r.stderr, /test fraction/) },
  // The command line itself
  // A repository cloned without Git LFS: each large file is a small text naming it. Before, each
  // reader refused it in its own words ("unsupported wire type 6", "header length 2336927755350992246").
  ...(['onnx/model.onnx', 'tokenizer.json'] as const).map((file) => ({
    name: `${file} a Git LFS pointer`,
    args: (d: string) => {
      const m = copyModel(d);
      fs.writeFileSync(path.join(m, file), LFS_POINTER);
      return probe(m);
    },
    code: 1,
    stderr: new RegExp(`${file.replace('.', '\\.')} is a Git LFS pointer \\(131 bytes standing for a file of 667,048 bytes\\), not the file itself; the folder was cloned without Git LFS: run \`git lfs install && git lfs pull\` in the repository`),
  })),
  { name: 'model.safetensors a Git LFS pointer (no ONNX export)', args: (d) => (fs.writeFileSync(path.join(safetensorsOnly(d), 'model.safetensors'), LFS_POINTER), probe(path.join(d, 'tiny-bert'))), code: 1, stderr: /model\.safetensors is a Git LFS pointer/ },
  {
    name: 'model.onnx_data a Git LFS pointer',
    args: (d) => {
      const m = copyModel(d);
      externalize(fixture('tiny-bert', 'onnx', 'model.onnx'), path.join(m, 'onnx'));
      fs.writeFileSync(path.join(m, 'onnx', 'model.onnx_data'), LFS_POINTER);
      return probe(m);
    },
    code: 1,
    stderr: /its data file .*model\.onnx_data is a Git LFS pointer/,
  },
  {
    name: 'a train file that is a Git LFS pointer',
    args: (d) => {
      const task = copyTask(d);
      fs.writeFileSync(path.join(task, 'train.jsonl'), LFS_POINTER);
      return probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${task}` : a));
    },
    code: 1,
    stderr: /train\.jsonl is a Git LFS pointer/,
  },
  // Data as Hugging Face datasets keep it (twentieth session: Parquet is read, tests in core/data/parquet.test.ts): before the nineteenth, "has no train file" or "unknown file type", with nothing on what to do.
  ...(
    [
      ['a dataset repository\'s Parquet folder, its files empty', (d: string) => touch(d, 'data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet', 'data/test-00000-of-00001.parquet') + '/data', /data\/train-00000-of-00002\.parquet is empty\. Write it again with pandas, pyarrow, polars or DuckDB, or give the rows as JSON lines\./],
      ['a dataset repository\'s root with two validation splits and no test split (MNLI)', (d: string) => touch(d, 'README.md', 'data/train-00000-of-00001.parquet', 'data/validation_matched-00000-of-00001.parquet', 'data/validation_mismatched-00000-of-00001.parquet'), /ds\/data has no test file\. .* It has validation_matched-00000-of-00001\.parquet, validation_mismatched-00000-of-00001\.parquet: to test on one of those splits, name it with --test-split \(e\.g\. --test-split validation_matched\), or rename it test-00000-of-00001\.parquet\./],
      ['one empty Parquet file', (d: string) => touch(d, 'train.parquet') + '/train.parquet', /train\.parquet is empty\./],
      ['a save_to_disk folder without a test split', (d: string) => touch(d, 'dataset_dict.json', 'train/data-00000-of-00001.arrow'), /has no test file\. .* It is a DatasetDict saved by datasets' save_to_disk; its splits are train\./],
    ] as const
  ).map(([name, make, stderr]) => ({ name: `--task ${name}`, args: (d: string) => probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${make(d)}` : a)), code: 1, stderr })),
  // JSON lines with the text under another name, as datasets name it: before, only 'missing "text"'.
  ...(
    [
      ['a "review" column', '{"review": "a good film", "label": 1, "idx": 0}\n{"review": "bad", "label": 0, "idx": 1}\n', /line 1: missing "text" \(its keys: "review", "label", "idx"\)\. Every example needs a non-empty "text"; to read "review" as the text, pass --columns text=review\./],
      ['"premise" without "hypothesis"', '{"premise": "a", "label": 1}\n', /missing "text" \(its keys: "premise", "label"\)\. Every example needs a non-empty "text"; or name the text column with --columns text=COLUMN\./],
      ['"labels" for "label"', '{"text": "a", "labels": 1}\n', /missing "label" \(its keys: "text", "labels"\)\. Every example needs a label \(a string or a number\); or name the label column with --columns label=COLUMN\./],
    ] as const
  ).map(([name, body, stderr]) => ({ name: `JSON lines with ${name}`, args: (d: string) => probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${dataFile(d, 'rows.jsonl', Buffer.from(body))}` : a)), code: 1, stderr })),
  // Before: "Error: ENAMETOOLONG: name too long, lstat '…'", Node's words for either.
  { name: '--task a path whose name is 300 bytes', args: (d) => probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${path.join(d, 'a'.repeat(300))}` : a)), code: 1, stderr: /task "s": .*a{300} has a name too long for the file system \(at most 255 bytes in a name, 4096 in a path\)\. Pass a folder/ },
  {
    name: 'a train file that links to a name of 300 bytes',
    args: (d) => {
      const task = copyTask(d);
      fs.rmSync(path.join(task, 'train.jsonl'));
      fs.symlinkSync(path.join(d, 'b'.repeat(300)), path.join(task, 'train.jsonl'));
      return probe(fixture('tiny-bert')).map((a) => (a === `s=${sentlen}` ? `s=${task}` : a));
    },
    code: 1,
    stderr: /train\.jsonl is a symbolic link to .*b{300}, which has a name too long for the file system/,
  },
  { name: 'no arguments', args: () => [], code: 1, stderr: /no command given\.\nusage:/ },
  // Seventh session: a hostile pass over prune, eval, probe and their options.
  { name: '--onnx a folder', args: () => probe(fixture('tiny-bert'), '--onnx', 'onnx'), code: 1, stderr: /--onnx onnx: .*onnx is a folder; name the graph file in it, e\.g\. --onnx onnx\/model\.onnx/ },
  { name: "--onnx another model's graph with fewer rows than the vocabulary", args: () => probe(fixture('tiny-roberta'), '--onnx', fixture('tiny-distilbert', 'onnx', 'model.onnx')), code: 1, stderr: /config\.json says vocab_size 8192 but the graph's word embeddings have 4096 rows; the ONNX file and config\.json do not belong together/ },
  { name: "--onnx another model's graph with more rows than the vocabulary", args: () => probe(fixture('tiny-bert'), '--onnx', fixture('tiny-roberta', 'onnx', 'model.onnx')), code: 1, stderr: /config\.json says vocab_size 4096 but the graph's word embeddings have 8192 rows/ },
  { name: '--seed past 32 bits (aliased seed 0)', args: () => probe(fixture('tiny-bert'), '--seed', '4294967296'), code: 1, stderr: /--seed 4294967296: expected an integer from 0 to 2147483647/ },
  { name: 'prune with options it does not read', args: (d) => prune(fixture('tiny-bert'), '--out', path.join(d, 'out'), '--task', `s=${sentlen}`, '--max-length', '8'), code: 1, stderr: /prune does not read --task, --max-length; it reads --layers, --out, --force, --from, --onnx, --dtype, --quantized\. Remove them/, after: (d) => assert.ok(!fs.existsSync(path.join(d, 'out'))) },
  { name: 'probe --layers (probe measures every block)', args: () => probe(fixture('tiny-bert'), '--layers', '0,2'), code: 1, stderr: /probe does not read --layers;/ },
  { name: 'eval --budget', args: () => ['eval', fixture('tiny-bert'), '--task', `s=${sentlen}`, ...LIMITS, '--budget', '0.5'], code: 1, stderr: /eval does not read --budget;/ },
  { name: '--layers past the safe integers', args: (d) => ['prune', fixture('tiny-bert'), '--layers', '99999999999999999999', '--out', path.join(d, 'out')], code: 1, stderr: /block 99999999999999999999 does not exist/ },
  // The feature cache only saves time: a folder that cannot hold it is a warning, never a failure or a hang.
  { name: '--cache-dir a file', args: (d) => cached(dataFile(d, 'cache', Buffer.from('x'))), code: 0, stderr: /warn: s\/train: cannot write the feature cache in .*cache \(EEXIST.*\); going on without it/, after: (d) => assert.equal(fs.readFileSync(path.join(d, 'cache'), 'utf8'), 'x') },
  ...(process.platform === 'linux' ? [{ name: '--cache-dir under /proc (mkdir -p never returns there in Node 20)', args: () => cached('/proc/probescale-cache'), code: 0, stderr: /cannot write the feature cache in \/proc\/probescale-cache/ }] : []),
  ...(process.platform === 'linux'
    ? [{ name: 'the graph cache (XDG_CACHE_HOME) under /proc, for a safetensors-only folder', args: (d: string) => probe(safetensorsOnly(d)), env: () => ({ ...process.env, XDG_CACHE_HOME: '/proc/probescale-xdg' }), code: 1, stderr: /cannot create the folder \/proc\/probescale-xdg\/probescale\/graphs for the graph built from .*safetensors \(ENOENT\); set XDG_CACHE_HOME to a folder you can write to/ }]
    : []),
  { name: '--threads far beyond the cores (each is an ONNX Runtime thread)', args: () => probe(fixture('tiny-bert'), '--threads', '10000'), code: 1, stderr: new RegExp(`--threads 10000: this machine runs ${os.availableParallelism()} threads at once; more only make ONNX Runtime's threads wait on each other\\. Give at most ${os.availableParallelism()}, or leave it out`) },
  { name: '--cache-dir with --no-cache', args: (d) => probe(fixture('tiny-bert'), '--cache-dir', d), code: 1, stderr: /--cache-dir .* with --no-cache: they disagree; pass one of them/ },
  ...(
    [
      ['tiny-distilbert', 'n_layers', /tensor 'transformer\.layer\.2\.[\w.]+' in .* is in block 2, but config\.json says n_layers 2/],
      ['tiny-t5-encoder', 'num_layers', /tensor 'encoder\.block\.2\.[\w.]+' in .* is in block 2, but config\.json says num_layers 2/],
    ] as const
  ).map(([name, key, re]) => ({
    name: `${name} from safetensors with fewer blocks in config.json`,
    args: (d: string) => probe(patchConfig(safetensorsOnly(d, name), { [key]: 2 })),
    code: 1,
    stderr: re,
  })),
  // Ninth session: options given twice, numbers in other notations, options that contradict, `~`.
  { name: '--budget given twice', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.95', '--out', path.join(d, 'out'), '--budget', '0.9', ...LIMITS], code: 1, stderr: /--budget is given twice \(0\.95 and 0\.9\); give it once, with the value you mean/, after: (d) => assert.ok(!fs.existsSync(path.join(d, 'out'))) },
  { name: '--out given twice', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.95', '--out', path.join(d, 'a'), '--out', path.join(d, 'b'), ...LIMITS], code: 1, stderr: /--out is given twice \(.*a and .*b\)/, after: (d) => assert.deepEqual(fs.readdirSync(d), []) },
  { name: '--c given twice with one value (let through)', args: () => probe(fixture('tiny-bert'), '--c', '1'), code: 0 },
  { name: '--limit-train in hex', args: () => ['probe', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--limit-train', '0x10'], code: 1, stderr: /--limit-train 0x10: expected an integer ≥ 1, written in decimal/ },
  { name: '--limit-train empty', args: () => ['probe', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--limit-train', ''], code: 1, stderr: /--limit-train "": expected an integer ≥ 1/ },
  { name: '--c 1e-400 (0 as a double)', args: () => ['probe', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--c', '1e-400'], code: 1, stderr: /--c 1e-400: expected a positive number, written in decimal \(1e-400 is below the range of a double\)/ },
  { name: '--target-retention 0x1', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.95', '--out', path.join(d, 'out'), '--target-retention', '0x1'], code: 1, stderr: /--target-retention 0x1: give a fraction in \(0, 1\]/ },
  { name: '--baselines empty', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.95', '--out', path.join(d, 'out'), '--baselines', ''], code: 1, stderr: /--baselines "": give all, none, or a comma-separated list/ },
  { name: '--onnx with --dtype q8', args: () => probe(fixture('tiny-bert'), '--onnx', 'onnx/model.onnx', '--dtype', 'q8'), code: 1, stderr: /--onnx onnx\/model\.onnx: it names the graph file, and --dtype q8 picks one too; pass one of them/ },
  { name: 'prune --onnx with --quantized', args: (d) => prune(fixture('tiny-bert'), '--out', path.join(d, 'out'), '--onnx', 'onnx/model.onnx', '--quantized'), code: 1, stderr: /--onnx onnx\/model\.onnx: it names the graph file, and --quantized picks one too/, after: (d) => assert.ok(!fs.existsSync(path.join(d, 'out'))) },
  { name: '--strict-provider with --provider auto', args: () => probe(fixture('tiny-bert'), '--strict-provider'), code: 1, stderr: /--strict-provider with --provider auto: auto falls back by design/ },
  // parseArgs' own advice fits other programs: said for this one.
  { name: 'a misspelt option', args: () => ['probe', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--limit-tran', '5'], code: 1, stderr: /unknown option --limit-tran; did you mean --limit-train\? probescale --help lists the options/ },
  { name: 'a value that starts with "-"', args: () => ['probe', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--out', '-r.json'], code: 1, stderr: /--out -r\.json: a value that starts with "-" reads as an option; write --out=-r\.json if it is the value/ },
  { name: 'a value given to a switch', args: () => ['probe', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--no-cache=yes'], code: 1, stderr: /--no-cache takes no value; write --no-cache alone/ },
  {
    name: '--budget above the model warns that nothing is traded for size',
    args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '1e9', '--candidates', '1', '--baselines', 'none', '--out', path.join(d, 'out'), ...LIMITS],
    code: 0,
    stderr: /--budget 1e9 \(1000000000 parameters\) is not below the model's \d+: every subset fits/,
  },
  { name: '--budget= (empty)', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget=', '--out', path.join(d, 'out')], code: 1, stderr: /--budget '' is not a fraction in \(0, 1\]/, after: (d) => assert.ok(!fs.existsSync(path.join(d, 'out'))) },
  { name: '--cache-dir empty (was: the feature cache written in the working directory)', args: () => ['probe', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--limit-train', '40', '--limit-test', '10', '--c', '1', '--cache-dir', ''], cwd: (d) => d, code: 1, stderr: /--cache-dir "": give a folder for the feature cache, or pass --no-cache/, after: (d) => assert.deepEqual(fs.readdirSync(d), []) },
  { name: '--onnx empty (was: dropped unsaid)', args: () => probe(fixture('tiny-bert'), '--onnx', ''), code: 1, stderr: /--onnx "": give the graph file/ },
  { name: 'probe --out empty (was: "contains the source model folder")', args: () => probe(fixture('tiny-bert'), '--out', ' '), code: 1, stderr: /--out " ": give the path to write/ },
  // Seventeenth session: the compensation options given hostile values. Was: "set --compensate to all", which T5 then refused.
  { name: '--embedding-rank on T5 without --compensate', args: (d) => ['optimize', fixture('tiny-t5-encoder'), '--task', `s=${sentlen}`, '--budget', '0.5', '--embedding-rank', '4', '--out', path.join(d, 'out')], code: 1, stderr: /--embedding-rank 4: factorising the word embeddings is a compensation; set --compensate to all \(or bridge, width\)\./, after: (d) => assert.ok(!fs.existsSync(path.join(d, 'out'))) },
  { name: '--embedding-rank at the hidden size', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.9', '--compensate', 'all', '--embedding-rank', '32', '--out', path.join(d, 'out')], code: 1, stderr: /--embedding-rank 32: give a whole number from 1 to 31 \(the hidden size is 32\)/ },
  { name: '--embedding-rank 2.5, auto,4', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.9', '--compensate', 'all', '--embedding-rank', 'auto,4', '--out', path.join(d, 'out')], code: 1, stderr: /--embedding-rank auto,4: give a whole number ≥ 1, a comma-separated list of them/ },
  { name: '--compensate given twice', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.9', '--compensate', 'bridge', '--compensate', 'width', '--out', path.join(d, 'out')], code: 1, stderr: /--compensate is given twice \(bridge and width\)/ },
  { name: '--compensate ALL', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.9', '--compensate', 'ALL', '--out', path.join(d, 'out')], code: 1, stderr: /--compensate ALL: unknown; use one of none, bridge, width, all/ },
  { name: '--vocab-unseen empty', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.9', '--vocab-trim', '--vocab-unseen', '', '--out', path.join(d, 'out')], code: 1, stderr: /--vocab-unseen "": use nearest .* or unknown/ },
  { name: '--candidates 0.5', args: (d) => ['optimize', fixture('tiny-bert'), '--task', `s=${sentlen}`, '--budget', '0.9', '--candidates', '0.5', '--out', path.join(d, 'out')], code: 1, stderr: /--candidates 0\.5: expected an integer ≥ 1, written in decimal/ },
  { name: '--dtype q8 with --compensate', args: (d) => ['optimize', robertaMiniDir, '--task', `s=${sentlen}`, '--budget', '0.5', '--dtype', 'q8', '--compensate', 'all', '--embedding-rank', '32', '--out', path.join(d, 'out')], code: 1, stderr: /compensation rewrites float weights and this graph is quantized/ },
  {
    name: '--out=~/… and --task s=~/… (the shell leaves ~ after =) read ~ as the home folder',
    args: (d) => {
      fs.mkdirSync(path.join(d, 'home', 'data'), { recursive: true });
      fs.cpSync(sentlen, path.join(d, 'home', 'data', 'sentlen'), { recursive: true });
      fs.mkdirSync(path.join(d, 'work'));
      return ['probe', fixture('tiny-bert'), '--task', 's=~/data/sentlen', ...LIMITS, '--out=~/r.json'];
    },
    env: (d) => ({ ...process.env, HOME: path.join(d, 'home') }),
    cwd: (d) => path.join(d, 'work'),
    code: 0,
    after: (d) => {
      assert.ok(fs.existsSync(path.join(d, 'home', 'r.json')));
      assert.deepEqual(fs.readdirSync(path.join(d, 'work')), [], 'no folder named ~ in the working directory');
    },
  },
];

test(`hostile-input corpus: ${cases.length} cases end with the right exit code and message, leaving nothing behind`, () => {
  for (const c of cases) {
    const dir = tempDir('ps-hostile-');
    const r = spawnSync(process.execPath, [cli, ...c.args(dir)], { encoding: 'utf8', timeout: 120_000, env: c.env?.(dir) ?? process.env, cwd: c.cwd?.(dir) });
    const what = `${c.name}: exit ${r.status}\n${r.stderr}`;
    assert.equal(r.status, c.code, what);
    if (c.stderr) assert.match(r.stderr, c.stderr, what);
    assert.doesNotMatch(r.stderr, /probescale: internal error|\n\s+at .*:\d+:\d+/, `${what}: no stack trace`);
    noTemporaries(dir);
    c.after?.(dir, r);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
