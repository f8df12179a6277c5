import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fixture, repoRoot, robertaMini, tasksDir, tempDir } from '../../helpers';
import { cliFlag, jobFromArgs } from '../../../src/cli/main';
import { messageIn } from '../../../src/core/errors';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = () => tempDir('ps-cli-');
const sentlen = `sentlen=${path.join(tasksDir, 'sentlen')}`;

test('bad input exits 1 with one line naming the value, and writes nothing', () => {
  const dir = tmp();
  const cases: [string[], RegExp][] = [
    [['probe', robertaMini], /no --task given/],
    [['probe', '/nope/model', '--task', sentlen], /model folder not found: \/nope\/model/],
    [['probe', robertaMini, '--task', 'x=/nope/data'], /\/nope\/data/],
    [['probe', robertaMini, '--task', sentlen, '--pooling', 'sum'], /--pooling sum: use mean, first, max, mean-sqrt-len, weighted-mean, last\./],
    [['probe', robertaMini, '--task', sentlen, '--provider', 'tpu'], /--provider tpu/],
    [['probe', robertaMini, '--task', sentlen, '--c=-1'], /--c -1/],
    [['prune', robertaMini, '--layers', '0,x', '--out', path.join(dir, 'p')], /'x' is not a block index/],
    [['prune', robertaMini, '--layers', '0,12', '--out', path.join(dir, 'p')], /--layers 0,12: block 12 does not exist; this model has blocks 0..11/],
    [['optimize', robertaMini, '--task', sentlen, '--budget', '0.1', '--out', path.join(dir, 'o')], /--budget '0.1' \(\d+ parameters\) is below the smallest possible model/],
    [['optimize', robertaMini, '--task', sentlen, '--budget', '0.5', '--out', dir], /--out .*: the folder already exists; choose another path or allow replacing it \(--force\)/],
    [['frobnicate', robertaMini], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args, '-q');
    assert.equal(r.code, 1, `${args.join(' ')} → ${r.code}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    // Without -q, progress lines may come first; the error is still the last line.
    const loud = run(...args);
    assert.equal(loud.code, 1);
    assert.match(loud.err.trim().split('\n').at(-1)!, re);
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
});

test('probe prints a per-layer table and writes the contract report', () => {
  const out = path.join(tmp(), 'r.json');
  const r = run('probe', fixture('tiny-roberta'), '--task', sentlen, '--task', `bshift=${path.join(tasksDir, 'bshift')}`, '--limit-train', '80', '--limit-test', '40', '--c', '1', '--no-cache', '--out', out, '-q');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /sentlen: 6 labels, 80 train \/ 40 test/);
  assert.match(r.out, / \*\n/);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(rep.model.architecture, 'roberta');
  assert.equal(rep.model.numLayers, 4);
  assert.equal(rep.model.params.perBlock.length, 4);
  for (const t of ['sentlen', 'bshift']) {
    const task = rep.tasks[t];
    assert.equal(task.pooling, 'mean');
    assert.deepEqual(task.layers.map((l: { layer: number }) => l.layer), [0, 1, 2, 3, 4]);
    for (const l of task.layers) for (const k of ['accuracy', 'macroF1', 'controlAccuracy', 'c']) assert.equal(typeof l[k], 'number');
    assert.equal(typeof task.majority, 'number');
  }
});

test('--provider webgpu without a GPU says so and falls back; --strict-provider fails clearly', () => {
  const args = ['probe', fixture('tiny-bert'), '--task', sentlen, '--limit-train', '30', '--limit-test', '12', '--c', '1', '--no-cache'];
  const soft = run(...args, '--provider', 'webgpu');
  assert.equal(soft.code, 0, soft.err);
  if (/· webgpu/.test(soft.out)) return; // a machine with a WebGPU adapter runs it for real
  assert.match(soft.err, /execution provider webgpu is not available \(.*\).*Falling back/);
  assert.match(soft.out, /· cpu/);
  const strict = run(...args, '--provider', 'webgpu', '--strict-provider');
  assert.equal(strict.code, 1);
  assert.match(strict.err, /--provider webgpu: it cannot start on this machine/);
});

test('prune writes a drop-in folder atomically and refuses to overwrite without --force', () => {
  const out = path.join(tmp(), 'pruned');
  const r = run('prune', fixture('tiny-t5-encoder'), '--layers', '1,3', '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /kept blocks 1,3/);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.num_layers, 2);
  assert.deepEqual(cfg.probescale.keptBlocks, [1, 3]);
  for (const f of ['onnx/encoder_model.onnx', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
  const again = run('prune', fixture('tiny-t5-encoder'), '--layers', '0', '--out', out);
  assert.equal(again.code, 1);
  assert.match(again.err, /already exists.*--force/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).num_layers, 2, 'untouched');
  const forced = run('prune', fixture('tiny-t5-encoder'), '--layers', '0', '--out', out, '--force');
  assert.equal(forced.code, 0, forced.err);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).num_layers, 1);
  assert.deepEqual(fs.readdirSync(path.dirname(out)), ['pruned'], 'no temporary folders left');
});

test('--width-score where no block is narrowed (--compensate none or bridge) is refused, naming it: it would change nothing', () => {
  const base = ['optimize', robertaMini, '--task', sentlen, '--budget', '0.5', '--out', path.join(os.tmpdir(), 'never-written')];
  for (const c of [[], ['--compensate', 'none'], ['--compensate', 'bridge']]) {
    assert.throws(
      () => jobFromArgs([...base, ...c, '--width-score', 'task']),
      (e: unknown) => /^--width-score task: it ranks the heads and FFN neurons of narrowed blocks, and --compensate (none|bridge) narrows none; add --compensate width \(or all\), or leave it out\.$/.test(messageIn(e, cliFlag)),
      c.join(' '),
    );
  }
  for (const c of ['width', 'all']) assert.doesNotThrow(() => jobFromArgs([...base, '--compensate', c, '--width-score', 'mixed']));
  assert.doesNotThrow(() => jobFromArgs([...base, '--compensate', 'bridge']), 'the default score is not a choice the user made');
});

test('--vocab-unseen: read only with --vocab-trim, one of nearest|unknown, default nearest, and recorded in the command line when not the default', () => {
  const base = ['optimize', robertaMini, '--task', sentlen, '--budget', '0.5', '--out', path.join(os.tmpdir(), 'never-written')];
  assert.throws(
    () => jobFromArgs([...base, '--vocab-unseen', 'unknown']),
    (e: unknown) => messageIn(e, cliFlag) === '--vocab-unseen unknown: it says where the ids --vocab-trim drops are read, and there is no --vocab-trim; add it, or leave this out.',
  );
  assert.throws(
    () => jobFromArgs([...base, '--vocab-trim', '--vocab-unseen', 'unk']),
    (e: unknown) => /^--vocab-unseen unk: use nearest .* or unknown/.test(messageIn(e, cliFlag)),
  );
  const job = (args: string[]) => {
    const r = jobFromArgs([...base, '--vocab-trim', ...args]);
    assert.ok(r !== 'help' && r.job.type === 'optimize');
    return r.job;
  };
  assert.equal(job([]).vocabUnseen, undefined);
  assert.doesNotMatch(job(['--vocab-unseen', 'nearest']).command!, /--vocab-unseen/);
  const unknown = job(['--vocab-unseen', 'unknown']);
  assert.equal(unknown.vocabUnseen, 'unknown');
  assert.match(unknown.command!, /--vocab-trim --vocab-unseen unknown/);
});

/** The tasks `probe` reads with tasks a and b and `args`. */
function probeTasks(...args: string[]) {
  const r = jobFromArgs(['probe', robertaMini, '--task', 'a=data/a', '--task', 'b=data/b', ...args]);
  assert.ok(r !== 'help' && 'tasks' in r.job);
  return r.job.tasks;
}

test('--columns: for one task (NAME:) or every task, each task once, every entry KEY=COLUMN, in probe, eval and optimize', () => {
  const tasks = (...args: string[]) => probeTasks(...args).map((t) => t.columns);
  assert.deepEqual(tasks(), [undefined, undefined]);
  assert.deepEqual(tasks('--columns', 'text=sentence'), [{ text: 'sentence' }, { text: 'sentence' }], 'without NAME: every task');
  assert.deepEqual(tasks('--columns', 'label=y', '--columns', 'b:text=body,label=stars'), [{ label: 'y' }, { text: 'body', label: 'stars' }], "a task's own wins");
  assert.deepEqual(tasks('--columns', 'a:text=x:y'), [{ text: 'x:y' }, undefined], 'a column may hold a colon');
  const refused: [string[], RegExp][] = [
    [['--columns', 'c:text=x'], /--columns c:text=x: there is no task "c"; name one of a, b before the colon/],
    [['--columns', 'a:text=x', '--columns', 'a:label=y'], /--columns is given twice for task "a"/],
    [['--columns', 'text=x', '--columns', 'label=y'], /--columns is given twice for every task/],
    [['--columns', 'a:txt=x'], /--columns "txt=x": "txt=x" is not KEY=COLUMN/],
  ];
  for (const [args, re] of refused) assert.throws(() => tasks(...args), re, args.join(' '));
  assert.throws(() => jobFromArgs(['prune', robertaMini, '--layers', '0', '--out', 'x', '--columns', 'text=a']), /prune does not read --columns/);
  const ev = jobFromArgs(['eval', robertaMini, '--task', 'a=data/a', '--columns', 'text=s']);
  assert.ok(ev !== 'help' && ev.job.type === 'eval');
  assert.deepEqual(ev.job.tasks[0].columns, { text: 's' });
});

test('--test-split: for one task (NAME:) or every task, once per task; recorded on the task', () => {
  const splits = (...args: string[]) => probeTasks(...args).map((t) => t.testSplit);
  assert.deepEqual(splits(), [undefined, undefined]);
  assert.deepEqual(splits('--test-split', 'a:validation_matched'), ['validation_matched', undefined]);
  assert.deepEqual(splits('--test-split', 'validation', '--test-split', 'b:dev'), ['validation', 'dev']);
  assert.throws(() => splits('--test-split', 'x:dev'), /--test-split x:dev: there is no task "x"/);
  assert.throws(() => splits('--test-split', 'dev', '--test-split', 'validation'), /--test-split is given twice for every task/);
});
