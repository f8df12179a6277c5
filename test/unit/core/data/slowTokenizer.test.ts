import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer, TextTokenizer } from '../../../../src/core/data/tokenize';
import { loadTask } from '../../../../src/core/data/dataset';
import { UnsupportedModelError } from '../../../../src/core/errors';
import { fixture, quickOptimize, robertaMini, tasksDir, tempDir } from '../../../helpers';

// Many older checkpoints on the Hub hold only a slow tokenizer's files (vocab.txt, or vocab.json and
// merges.txt). Before, such a folder was refused ("tokenizer.json is missing"). The reference is the
// tokenizer.json each fixture ships, which Python's transformers built from the same files.

const tmp = tempDir('ps-slow-tokenizer-');
let counter = 0;

/** A copy of `source` without tokenizer.json (and without `drop`), ONNX left out unless `withOnnx`. */
function slowCopy(source: string, drop: string[] = [], withOnnx = false): string {
  const dir = path.join(tmp, `${path.basename(source)}-${counter++}`);
  fs.cpSync(source, dir, { recursive: true, filter: (f) => !['tokenizer.json', ...drop].includes(path.basename(f)) && (withOnnx || path.basename(f) !== 'onnx') });
  return dir;
}

let texts: Promise<[string, string | undefined][]> | undefined;
/** Training and test texts of every task in data/tasks (pairs where the task has them). */
function taskTexts(): Promise<[string, string | undefined][]> {
  return (texts ??= (async () => {
    const out: [string, string | undefined][] = [];
    for (const name of fs.readdirSync(tasksDir).filter((n) => fs.statSync(path.join(tasksDir, n)).isDirectory())) {
      const t = await loadTask(name, path.join(tasksDir, name), { limitTrain: 300, limitTest: 100 });
      for (const e of [...t.train, ...t.test]) out.push([e.text, e.textPair]);
    }
    out.push(['Héllo Wörld! Ça va? 中文字符 and ümlauts, naïve café — “quotes”\ttabs\u00a0and a non-breaking space', 'a second TEXT, in CAPITALS']);
    return out;
  })());
}

async function assertSameEncodings(a: TextTokenizer, b: TextTokenizer, what: string, limit = Infinity): Promise<number> {
  const all = (await taskTexts()).slice(0, limit);
  for (const [text, pair] of all) {
    assert.deepEqual(b.encodeWithTypes(text), a.encodeWithTypes(text), `${what}: "${text.slice(0, 60)}"`);
    assert.deepEqual(b.encodeWithTypes(text, pair ?? text), a.encodeWithTypes(text, pair ?? text), `${what}: the pair "${text.slice(0, 40)}" / "${(pair ?? text).slice(0, 40)}"`);
  }
  assert.equal(b.unkId, a.unkId, `${what}: unknown id`);
  assert.equal(b.padId, a.padId, `${what}: padding id`);
  assert.deepEqual(b.specialIds, a.specialIds, `${what}: special ids`);
  return all.length;
}

// tiny-mpnet's tokenizer.json follows transformers' MPNetConverter (scripts/ref/mpnet.py; no Python transformers here), so it checks the same rules, not Python itself.
for (const [name, source] of [['tiny-bert', fixture('tiny-bert')], ['tiny-distilbert', fixture('tiny-distilbert')], ['tiny-roberta', fixture('tiny-roberta')], ['tiny-mpnet', fixture('tiny-mpnet')], ['roberta-mini', robertaMini]] as const) {
  test(`${name}: tokenizer.json built from the slow tokenizer's files encodes every task text as the one Python built`, async () => {
    const reference = await loadTokenizer(source, { maxLength: 128 });
    const n = await assertSameEncodings(reference, await loadTokenizer(slowCopy(source), { maxLength: 128 }), 'with tokenizer_config.json');
    assert.ok(n > 1500, `${n} texts`);
    // Without tokenizer_config.json either: the class's defaults (lower case for BERT) and the special tokens map.
    await assertSameEncodings(reference, await loadTokenizer(slowCopy(source, ['tokenizer_config.json']), { maxLength: 128 }), 'without tokenizer_config.json', 400);
  });
}

test('the slow tokenizer’s settings are followed (do_lower_case), and files that cannot give a tokenizer are refused naming them', async () => {
  const cased = slowCopy(fixture('tiny-bert'));
  const config = JSON.parse(fs.readFileSync(path.join(cased, 'tokenizer_config.json'), 'utf8'));
  fs.writeFileSync(path.join(cased, 'tokenizer_config.json'), JSON.stringify({ ...config, do_lower_case: false }));
  const lower = await loadTokenizer(slowCopy(fixture('tiny-bert')), { maxLength: 32 });
  const kept = await loadTokenizer(cased, { maxLength: 32 });
  assert.deepEqual(lower.encode('THE CAT'), lower.encode('the cat'));
  assert.notDeepEqual(kept.encode('THE CAT'), kept.encode('the cat'), 'do_lower_case false keeps capitals');

  const noSep = slowCopy(fixture('tiny-bert'));
  fs.writeFileSync(path.join(noSep, 'vocab.txt'), fs.readFileSync(path.join(noSep, 'vocab.txt'), 'utf8').replace('[SEP]\n', '[SEPARATOR]\n'));
  await assert.rejects(loadTokenizer(noSep, { maxLength: 32 }), (e: Error) => e instanceof UnsupportedModelError && /vocab\.txt has no entry for the special token "\[SEP\]"/.test(e.message));

  // A folder where vocab.txt should be is named as one (it failed with "EISDIR: illegal operation on a directory").
  const folderVocab = slowCopy(fixture('tiny-bert'));
  fs.rmSync(path.join(folderVocab, 'vocab.txt'));
  fs.mkdirSync(path.join(folderVocab, 'vocab.txt'));
  await assert.rejects(loadTokenizer(folderVocab, { maxLength: 32 }), /vocab\.txt is a folder, not a file; put the tokenizer file there/);

  const added = slowCopy(fixture('tiny-roberta'));
  fs.writeFileSync(path.join(added, 'added_tokens.json'), JSON.stringify({ '<new>': 8192 }));
  await assert.rejects(loadTokenizer(added, { maxLength: 32 }), (e: Error) => e instanceof UnsupportedModelError && /added_tokens\.json adds "<new>" at id 8192, which the vocabulary files do not hold there; .*save_pretrained/.test(e.message));
  // One that only names a token the vocabulary has at that id (older save_pretrained wrote them) changes nothing.
  const named = slowCopy(fixture('tiny-roberta'));
  fs.writeFileSync(path.join(named, 'added_tokens.json'), JSON.stringify({ '<mask>': (JSON.parse(fs.readFileSync(path.join(named, 'vocab.json'), 'utf8')) as Record<string, number>)['<mask>'] }));
  assert.deepEqual((await loadTokenizer(named, { maxLength: 32 })).encode('a <mask> b'), (await loadTokenizer(slowCopy(fixture('tiny-roberta')), { maxLength: 32 })).encode('a <mask> b'));

  // Another tokenizer class over the same files, and a T5 folder with no spiece.model either, are still refused as before.
  const japanese = slowCopy(fixture('tiny-bert'));
  fs.writeFileSync(path.join(japanese, 'tokenizer_config.json'), JSON.stringify({ ...config, tokenizer_class: 'BertJapaneseTokenizer' }));
  await assert.rejects(loadTokenizer(japanese, { maxLength: 32 }), /tokenizer\.json is missing/);
  const t5 = slowCopy(fixture('tiny-t5-encoder'));
  await assert.rejects(loadTokenizer(t5, { maxLength: 32 }), /tokenizer\.json is missing/);
});

test('a folder with only a slow tokenizer is optimized and committed; the committed folder carries tokenizer.json, which transformers.js loads', async () => {
  const source = slowCopy(fixture('tiny-bert'), ['tokenizer_config.json'], true);
  const out = path.join(tmp, 'committed');
  const r = quickOptimize(source, out);
  assert.equal(r.status, 0, r.stderr);
  for (const dir of [out, path.join(out, 'classifiers', 'sentlen')]) {
    assert.ok(fs.existsSync(path.join(dir, 'tokenizer.json')) && fs.existsSync(path.join(dir, 'tokenizer_config.json')), `${dir} has tokenizer.json and tokenizer_config.json`);
  }
  const reference = await loadTokenizer(fixture('tiny-bert'), { maxLength: 128 });
  await assertSameEncodings(reference, await loadTokenizer(out, { maxLength: 128 }), 'the committed folder', 400);
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const js = await AutoTokenizer.from_pretrained(out);
  const text = 'The committed tokenizer, read by transformers.js.';
  assert.deepEqual(js.encode(text), reference.encode(text));
});
