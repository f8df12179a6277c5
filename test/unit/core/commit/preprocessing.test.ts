/**
 * A committed classifier reads a text as its probe was trained to: cut at the run's max length
 * and, where the run had one, after its prompt. ProbeScale's verify and eval read both from the
 * classifier's config.json; transformers.js cuts at its tokenizer_config.json's model_max_length.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, env } from '@huggingface/transformers';
import { loadTask } from '../../../../src/core/data/dataset';
import { fixture, pipelineAccuracyOnSentlen, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const SPAM = ['--task', `spam=${path.join(tasksDir, 'spam')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--no-cache'];

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

test('--max-length 12 on long texts: the classifiers record it, verify and eval re-measure what the report claims, and transformers.js cuts there too', async () => {
  const dir = tempDir('ps-cut-');
  const out = path.join(dir, 'model');
  run('optimize', fixture('tiny-roberta'), ...SPAM, '--max-length', '12', '--budget', '0.95', '--candidates', '2', '--out', out, '-q');
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  assert.equal(rep.settings.maxLength, 12);
  assert.equal(rep.verify.allEqual, true, JSON.stringify(rep.verify.perTask));
  const cdir = path.join(out, 'classifiers', 'spam');
  assert.equal(JSON.parse(fs.readFileSync(path.join(cdir, 'config.json'), 'utf8')).probescale.maxLength, 12);
  assert.equal(JSON.parse(fs.readFileSync(path.join(cdir, 'tokenizer_config.json'), 'utf8')).model_max_length, 12);
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /cuts inputs at 12 tokens \(`model_max_length` in its tokenizer_config\.json\)/);

  // eval of the folder, told nothing of the length, re-measures the claim.
  const evalOut = path.join(dir, 'eval.json');
  run('eval', out, ...SPAM, '--out', evalOut, '-q');
  const final = JSON.parse(fs.readFileSync(evalOut, 'utf8')).tasks.spam.final;
  assert.equal(final.accuracy, rep.selection.perTask.spam.test.accuracy);

  // transformers.js reads the classifier's tokenizer: long texts come out 12 tokens long.
  env.allowRemoteModels = false;
  const tok = await AutoTokenizer.from_pretrained(cdir);
  const task = await loadTask('spam', path.join(tasksDir, 'spam'), { limitTrain: 150, limitTest: 60 });
  const long = task.test.map((e) => e.text).find((t) => t.length > 200)!;
  assert.equal(tok(long, { truncation: true }).input_ids.dims.at(-1), 12);
});

test('a task of text pairs: the card shows the tokenizer with text_pair and the model, which give the reported accuracy (the pipeline reads no pairs)', async () => {
  const dir = tempDir('ps-pairs-');
  // Which of two sentlen texts has more words: a task only the pair can answer.
  const task = path.join(dir, 'task');
  fs.mkdirSync(task);
  for (const split of ['train', 'test']) {
    const texts = fs.readFileSync(path.join(tasksDir, 'sentlen', `${split}.jsonl`), 'utf8').trim().split('\n').slice(0, 240).map((l) => JSON.parse(l).text as string);
    const words = (t: string) => t.split(/\s+/).length;
    const rows = texts.slice(0, 120).map((a, i) => ({ sentence1: a, sentence2: texts[120 + i] })).filter((p) => words(p.sentence1) !== words(p.sentence2));
    fs.writeFileSync(path.join(task, `${split}.jsonl`), rows.map((p) => JSON.stringify({ ...p, label: words(p.sentence1) > words(p.sentence2) ? 'first' : 'second' })).join('\n') + '\n');
  }
  const out = path.join(dir, 'model');
  run('optimize', fixture('tiny-bert'), '--task', `pair=${task}`, '--c', '1', '--no-cache', '--budget', '0.95', '--candidates', '2', '--out', out, '-q');
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  assert.equal(rep.tasks.pair.textPairs, true);
  assert.equal(rep.verify.allEqual, true);
  const card = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /`pair` reads text pairs, which `pipeline\('text-classification'\)` does not take/);
  assert.match(card, /model\(tokenizer\('first text', \{ text_pair: 'second text', truncation: true \}\)\)/);
  assert.doesNotMatch(card, /await pipeline\('text-classification'/, 'no single-text task to show the pipeline with');

  // The card's code, on every test pair.
  env.allowRemoteModels = false;
  const cdir = path.join(out, 'classifiers', 'pair');
  const tokenizer = await AutoTokenizer.from_pretrained(cdir);
  const model = await AutoModelForSequenceClassification.from_pretrained(cdir);
  const rows = fs.readFileSync(path.join(task, 'test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { sentence1: string; sentence2: string; label: string });
  const { id2label } = model.config as unknown as { id2label: Record<number, string> };
  let correct = 0;
  for (const r of rows) {
    const { logits } = await model(tokenizer(r.sentence1, { text_pair: r.sentence2, truncation: true }));
    const scores = Array.from(logits.data as Float32Array);
    if (id2label[scores.indexOf(Math.max(...scores))] === r.label) correct++;
  }
  assert.equal(correct / rows.length, rep.selection.perTask.pair.test.accuracy);
});

test('classifiers committed with last-token, weighted-mean and mean/√length pooling give the reported accuracy through transformers.js', async () => {
  const dir = tempDir('ps-poolings-');
  for (const pooling of ['last', 'weighted-mean', 'mean-sqrt-len']) {
    const out = path.join(dir, pooling);
    run('optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--no-cache', '--pooling', pooling, '--budget', '0.95', '--candidates', '1', '--baselines', 'none', '--out', out, '-q');
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
    assert.equal(rep.tasks.sentlen.pooling, pooling);
    assert.equal(rep.verify.allEqual, true, pooling);
    assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), { limitTrain: 150, limitTest: 60 }), rep.selection.perTask.sentlen.test.accuracy, pooling);
  }
});
