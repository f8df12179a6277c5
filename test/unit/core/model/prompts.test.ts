/**
 * Prompts (sentence-transformers' `prompts` and `default_prompt_name` in
 * config_sentence_transformers.json; e5's "query: "): put before every text as
 * SentenceTransformer.encode does, followed where the user chose none, given by text or name,
 * recorded in committed classifiers and re-applied by verify and eval.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const LIMITS = ['--task', `s=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '60', '--limit-test', '20', '--c', '1', '--no-cache'];
const PROMPTS = { query: 'query: ', passage: 'passage: ' };

/** tiny-bert as a sentence-transformers folder (mean pooling) whose config_sentence_transformers.json is `stConfig`. */
function stFolder(dir: string, name: string, stConfig: unknown): string {
  const folder = path.join(dir, name);
  fs.cpSync(fixture('tiny-bert'), folder, { recursive: true });
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  ];
  fs.writeFileSync(path.join(folder, 'modules.json'), JSON.stringify(modules));
  fs.mkdirSync(path.join(folder, '1_Pooling'));
  fs.writeFileSync(path.join(folder, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 32, pooling_mode_mean_tokens: true, include_prompt: true }));
  fs.writeFileSync(path.join(folder, 'config_sentence_transformers.json'), typeof stConfig === 'string' ? stConfig : JSON.stringify(stConfig));
  return folder;
}

function cliRun(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
}

const probe = (folder: string, out: string, ...extra: string[]) => {
  const r = cliRun('probe', folder, '--out', out, ...LIMITS, ...extra);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(fs.readFileSync(out, 'utf8')) as { settings: Record<string, unknown>; tasks: { s: { layers: { accuracy: number; cvAccuracy: number }[] } } };
  return { stderr: r.stderr, settings: report.settings, layers: report.tasks.s.layers.map((l) => [l.accuracy, l.cvAccuracy]) };
};

test('a prompt is put before the text, not its pair, and counts against the max length, as sentence-transformers joins and cuts them', async () => {
  const plain = await loadTokenizer(fixture('tiny-bert'), { maxLength: 12 });
  const prompted = await loadTokenizer(fixture('tiny-bert'), { maxLength: 12, prompt: 'query: ' });
  assert.deepEqual(plain.preparation, {});
  assert.deepEqual(prompted.preparation, { prompt: 'query: ' });
  for (const text of ['a short one', 'a much longer text that the twelve tokens cannot hold at all, so it is cut']) {
    assert.deepEqual(prompted.encode(text), plain.encode(`query: ${text}`));
    assert.notDeepEqual(prompted.encode(text), plain.encode(text));
    assert.ok(prompted.encode(text).length <= 12);
  }
  assert.deepEqual(prompted.encodeWithTypes('one', 'two'), plain.encodeWithTypes('query: one', 'two'));
});

test("probe follows a model's default prompt unless told; --prompt-name picks one of its prompts; names it lacks, two prompts at once and broken configs are said", () => {
  const dir = tempDir('ps-prompt-');
  const folder = stFolder(dir, 'e5', { prompts: PROMPTS, default_prompt_name: 'query' });
  const followed = probe(folder, path.join(dir, 'followed.json'));
  assert.equal(followed.settings.prompt, 'query: ');
  assert.equal(followed.settings.followModel, undefined);
  assert.match(followed.stderr, /--prompt "query: ": the model's default prompt \("query" in config_sentence_transformers\.json\), which sentence-transformers puts before every text, so probes do too/);
  const byText = probe(fixture('tiny-bert'), path.join(dir, 'text.json'), '--prompt', 'query: ');
  assert.deepEqual(followed.layers, byText.layers, 'the same as --prompt "query: " on the plain folder');
  assert.match(cliRun('probe', folder, ...LIMITS).stdout, /^s: \d+ labels, 60 train \/ 20 test, mean pooling, prompt "query: ", majority/m, 'the table says the prompt');
  const none = probe(fixture('tiny-bert'), path.join(dir, 'none.json'));
  assert.notDeepEqual(byText.layers, none.layers, 'the prompt changes what the probes read');

  const off = probe(folder, path.join(dir, 'off.json'), '--prompt', '');
  assert.equal(off.settings.prompt, undefined);
  assert.deepEqual(off.layers, none.layers);
  assert.doesNotMatch(off.stderr, /default prompt|--prompt/);

  const named = probe(folder, path.join(dir, 'named.json'), '--prompt-name', 'passage');
  assert.equal(named.settings.prompt, 'passage: ');
  assert.equal(named.settings.promptName, undefined);
  assert.deepEqual(named.layers, probe(fixture('tiny-bert'), path.join(dir, 'passage.json'), '--prompt', 'passage: ').layers);

  const unknown = cliRun('probe', folder, ...LIMITS, '--prompt-name', 'search');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /--prompt-name search: .* has no prompt of that name: its prompts are query \("query: "\), passage \("passage: "\)\. Give one of them, or the text itself with --prompt\./);
  const plainNamed = cliRun('probe', fixture('tiny-bert'), ...LIMITS, '--prompt-name', 'query');
  assert.equal(plainNamed.status, 1);
  assert.match(plainNamed.stderr, /has no prompt of that name: it names no prompts/);
  const filling = cliRun('probe', fixture('tiny-bert'), ...LIMITS, '--max-length', '16', '--prompt', 'represent this sentence for searching relevant passages about the weather: ');
  assert.equal(filling.status, 1);
  assert.match(filling.stderr, /--prompt "represent this sentence .*: it takes 14 or more tokens with .*'s tokenizer, and with the special tokens that fills the max length of 16: no text would get in\. Shorten the prompt or raise --max-length\./);
  const both = cliRun('probe', folder, ...LIMITS, '--prompt', 'q: ', '--prompt-name', 'query');
  assert.equal(both.status, 1);
  assert.match(both.stderr, /--prompt "q: " and --prompt-name query: give one/);

  // Prompts but no default: probed without one, and the user told which there are.
  const noDefault = stFolder(dir, 'bge', { prompts: { query: 'Represent this sentence for searching relevant passages: ' }, default_prompt_name: null });
  const nd = probe(noDefault, path.join(dir, 'nd.json'));
  assert.equal(nd.settings.prompt, undefined);
  assert.deepEqual(nd.layers, none.layers);
  assert.match(nd.stderr, /the model has prompts \(query \("Represent this sentence for searching relevant passages: "\)\) and no default one/);
  // A default the prompts lack, and a config that is not JSON: said, no prompt.
  const missing = probe(stFolder(dir, 'missing', { prompts: PROMPTS, default_prompt_name: 'search' }), path.join(dir, 'missing.json'));
  assert.equal(missing.settings.prompt, undefined);
  assert.match(missing.stderr, /names the default prompt "search", which its prompts \(query \("query: "\), passage \("passage: "\)\) lack; probing the texts without a prompt/);
  // A Pooling that leaves the prompt out (INSTRUCTOR-style include_prompt false): probes pool over it, and say so.
  const excluded = stFolder(dir, 'excluded', { prompts: PROMPTS, default_prompt_name: 'query' });
  fs.writeFileSync(path.join(excluded, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 32, pooling_mode_mean_tokens: true, include_prompt: false }));
  const ex = probe(excluded, path.join(dir, 'excluded.json'));
  assert.deepEqual(ex.layers, followed.layers);
  assert.match(ex.stderr, /leaves the prompt's tokens out of its pooling \(include_prompt false\); ProbeScale pools over them too/);
  assert.doesNotMatch(off.stderr, /include_prompt/);
  const broken = probe(stFolder(dir, 'broken', '{"prompts": '), path.join(dir, 'broken.json'));
  assert.equal(broken.settings.prompt, undefined);
  assert.match(broken.stderr, /config_sentence_transformers\.json cannot be read as JSON .*; probing the texts without a prompt/);
});

test('optimize with a prompt: the classifiers record it, verify and eval re-apply it, the card and the command line say it', () => {
  const dir = tempDir('ps-prompt-opt-');
  const folder = stFolder(dir, 'e5', { prompts: PROMPTS, default_prompt_name: null });
  const out = path.join(dir, 'out');
  const r = cliRun('optimize', folder, ...LIMITS, '--prompt-name', 'query', '--budget', '0.95', '--candidates', '2', '--out', out, '-q');
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  assert.equal(rep.settings.prompt, 'query: ');
  assert.equal(rep.verify.allEqual, true, JSON.stringify(rep.verify.perTask));
  assert.match(rep.command, / --prompt-name query( |$)/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'classifiers', 's', 'config.json'), 'utf8')).probescale.prompt, 'query: ');
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).probescale.prompt, 'query: ');
  const card = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /classify\("query: " \+ 'some text'\)/);
  assert.match(card, /with the prompt "query: " before it/);

  // eval re-applies the committed prompt, whatever it is told, and gets the claimed accuracy.
  const evalOut = path.join(dir, 'eval.json');
  const e = cliRun('eval', out, ...LIMITS, '--prompt', 'something else: ', '--out', evalOut);
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stderr, /the committed classifiers pool mean, cut inputs at 128 tokens and put "query: " before each text \(config\.json\); the --prompt "something else: " given do not apply to them/);
  const ev = JSON.parse(fs.readFileSync(evalOut, 'utf8'));
  assert.equal(ev.tasks.s.final.accuracy, rep.selection.perTask.s.test.accuracy);
  assert.equal(ev.settings.prompt, 'query: ');

  // Followed from the model, the command line leaves it to the model; --prompt '' is written.
  const followed = stFolder(dir, 'e5d', { prompts: PROMPTS, default_prompt_name: 'query' });
  const f = cliRun('optimize', followed, ...LIMITS, '--budget', '0.95', '--candidates', '1', '--baselines', 'none', '--out', path.join(dir, 'f'), '-q');
  assert.equal(f.status, 0, f.stderr);
  const fr = JSON.parse(fs.readFileSync(path.join(dir, 'f', 'probescale-report.json'), 'utf8'));
  assert.equal(fr.settings.prompt, 'query: ');
  assert.doesNotMatch(fr.command, /--prompt/);
  const o = cliRun('optimize', followed, ...LIMITS, '--prompt', '', '--budget', '0.95', '--candidates', '1', '--baselines', 'none', '--out', path.join(dir, 'o'), '-q');
  assert.equal(o.status, 0, o.stderr);
  const or = JSON.parse(fs.readFileSync(path.join(dir, 'o', 'probescale-report.json'), 'utf8'));
  assert.equal(or.settings.prompt, undefined);
  assert.match(or.command, / --prompt ''( |$)/);
});

test('the feature cache keeps prompted and plain features apart', () => {
  const dir = tempDir('ps-prompt-cache-');
  const cache = ['--cache-dir', path.join(dir, 'cache')];
  const args = LIMITS.filter((a) => a !== '--no-cache');
  const run = (name: string, ...extra: string[]) => {
    const out = path.join(dir, `${name}.json`);
    const r = cliRun('probe', fixture('tiny-bert'), '--out', out, ...args, ...cache, ...extra);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(fs.readFileSync(out, 'utf8')).tasks.s.layers.map((l: { accuracy: number; cvAccuracy: number }) => [l.accuracy, l.cvAccuracy]);
  };
  const plain = run('plain');
  const prompted = run('prompted', '--prompt', 'query: ');
  assert.notDeepEqual(prompted, plain);
  assert.deepEqual(run('plain-again'), plain);
  assert.deepEqual(run('prompted-again', '--prompt', 'query: '), prompted);
});

test('do_lower_case in sentence_bert_config.json: texts (prompt and pair included) are lowercased before tokenising, in probes, committed classifiers, verify and eval', async () => {
  const plain = await loadTokenizer(fixture('tiny-roberta'), { maxLength: 32 });
  const lower = await loadTokenizer(fixture('tiny-roberta'), { maxLength: 32, lowercase: true, prompt: 'Query: ' });
  assert.deepEqual(lower.preparation, { prompt: 'Query: ', lowercase: true });
  assert.deepEqual(lower.encodeWithTypes('Hello World', 'Second ONE'), plain.encodeWithTypes('query: hello world', 'second one'));
  assert.notDeepEqual(plain.encode('Hello World'), plain.encode('hello world'), 'the tokenizer is cased: lowercasing changes the ids');

  const dir = tempDir('ps-lower-');
  const folder = path.join(dir, 'st');
  fs.cpSync(fixture('tiny-roberta'), folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'modules.json'), JSON.stringify([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' }]));
  fs.writeFileSync(path.join(folder, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 128, do_lower_case: true }));
  // The same task with every text lowercased, for the plain folder.
  const task = path.join(dir, 'lower');
  fs.mkdirSync(task);
  for (const split of ['train', 'test']) {
    const rows = fs.readFileSync(path.join(tasksDir, 'sentlen', `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: unknown });
    fs.writeFileSync(path.join(task, `${split}.jsonl`), rows.map((r) => JSON.stringify({ ...r, text: r.text.toLowerCase() })).join('\n') + '\n');
  }
  const followed = probe(folder, path.join(dir, 'followed.json'));
  assert.equal(followed.settings.lowercase, true);
  assert.match(followed.stderr, /texts lowercased before tokenising: the model's sentence-transformers config \(sentence_bert_config\.json\) says do_lower_case/);
  const onLower = cliRun('probe', fixture('tiny-roberta'), '--out', path.join(dir, 'lower.json'), ...LIMITS.map((a) => (a.startsWith('s=') ? `s=${task}` : a)));
  assert.equal(onLower.status, 0, onLower.stderr);
  const lowerLayers = JSON.parse(fs.readFileSync(path.join(dir, 'lower.json'), 'utf8')).tasks.s.layers.map((l: { accuracy: number; cvAccuracy: number }) => [l.accuracy, l.cvAccuracy]);
  assert.deepEqual(followed.layers, lowerLayers, 'the same as the plain folder on lowercased texts');
  assert.notDeepEqual(followed.layers, probe(fixture('tiny-roberta'), path.join(dir, 'cased.json')).layers, 'and not as on the texts as they are');

  const out = path.join(dir, 'out');
  const r = cliRun('optimize', folder, ...LIMITS, '--budget', '0.95', '--candidates', '1', '--baselines', 'none', '--out', out, '-q');
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  assert.equal(rep.verify.allEqual, true);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'classifiers', 's', 'config.json'), 'utf8')).probescale.lowercase, true);
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /classify\(\('some text'\)\.toLowerCase\(\)\)/);
  const evalOut = path.join(dir, 'eval.json');
  const e = cliRun('eval', out, ...LIMITS, '--out', evalOut);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(JSON.parse(fs.readFileSync(evalOut, 'utf8')).tasks.s.final.accuracy, rep.selection.perTask.s.test.accuracy);
});
