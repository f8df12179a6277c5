import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadTokenizer, truncateLongestFirst, positionLimit } from '../../../../src/core/data/tokenize';
import { BadInputError } from '../../../../src/core/errors';
import { fixture, robertaMini, tinyModels, repoRoot, tempDir } from '../../../helpers';

interface Refs {
  texts: string[];
  input_ids: number[][];
  attention_mask: number[][];
}

const LONG =
  'Probing classifiers are trained on the hidden states of every layer of a frozen encoder, and the layers ' +
  'that carry the information a task needs are kept while the rest of the network is pruned away to make it smaller and faster.';
const MEDIUM = 'The quick brown fox jumps over the lazy dog while the farmer sleeps under an old oak tree near the river.';

for (const name of tinyModels) {
  test(`${name}: batch of encodings reproduces Python transformers input_ids and attention_mask`, async () => {
    const refs = JSON.parse(fs.readFileSync(fixture('refs', `${name}.refs.json`), 'utf8')) as Refs;
    const tok = await loadTokenizer(fixture(name), { maxLength: 128 });
    const b = tok.batch(refs.texts.map((t) => tok.encode(t)));
    assert.equal(b.batchSize, refs.texts.length);
    assert.equal(b.seqLen, refs.input_ids[0].length);
    assert.deepEqual(Array.from(b.inputIds, Number), refs.input_ids.flat());
    assert.deepEqual(Array.from(b.attentionMask, Number), refs.attention_mask.flat());
    assert.deepEqual(Array.from(b.tokenTypeIds, Number), refs.input_ids.flat().map(() => 0));
  });
}

test('roberta-mini: truncation keeps <s> and </s> and cuts the content like Python', async () => {
  const full = await loadTokenizer(robertaMini, { maxLength: 128 });
  const short = await loadTokenizer(robertaMini, { maxLength: 16 });
  const all = full.encode(LONG);
  assert.ok(all.length > 30, `test text too short: ${all.length} tokens`);
  const ids = short.encode(LONG);
  assert.equal(ids.length, 16);
  assert.equal(ids[0], 0);
  assert.equal(ids[15], 2);
  assert.deepEqual(ids.slice(1, 15), all.slice(1, 15));
  // A text that fits is left alone.
  assert.deepEqual(short.encode('Short.'), full.encode('Short.'));
});

test('tiny-bert: truncation keeps [CLS] and [SEP]', async () => {
  const full = await loadTokenizer(fixture('tiny-bert'), { maxLength: 128 });
  const short = await loadTokenizer(fixture('tiny-bert'), { maxLength: 10 });
  const all = full.encode(LONG);
  const ids = short.encode(LONG);
  assert.equal(ids.length, 10);
  assert.equal(ids[0], 2);
  assert.equal(ids[9], 3);
  assert.deepEqual(ids.slice(1, 9), all.slice(1, 9));
});

test('tiny-t5-encoder: truncation keeps the closing </s>', async () => {
  const full = await loadTokenizer(fixture('tiny-t5-encoder'), { maxLength: 512 });
  const short = await loadTokenizer(fixture('tiny-t5-encoder'), { maxLength: 12 });
  const all = full.encode(LONG);
  assert.equal(all[all.length - 1], 1);
  const ids = short.encode(LONG);
  assert.equal(ids.length, 12);
  assert.equal(ids[11], 1);
  assert.deepEqual(ids.slice(0, 11), all.slice(0, 11));
});

test('tiny-bert pair: longest_first truncation, [CLS] a [SEP] b [SEP], token types 0 then 1', async () => {
  const full = await loadTokenizer(fixture('tiny-bert'), { maxLength: 128 });
  const a = full.encode(LONG).slice(1, -1);
  const b = full.encode(MEDIUM).slice(1, -1);
  assert.ok(a.length > b.length && b.length > 10);

  // Both long: budget 14 - 3 = 11 splits 6 (longer, first) / 5.
  const tok = await loadTokenizer(fixture('tiny-bert'), { maxLength: 14 });
  const r = tok.encodeWithTypes(LONG, MEDIUM);
  assert.deepEqual(r.ids, [2, ...a.slice(0, 6), 3, ...b.slice(0, 5), 3]);
  assert.deepEqual(r.typeIds, [...Array(8).fill(0), ...Array(6).fill(1)]);

  // Short second text is kept whole; only the first is cut.
  const tok2 = await loadTokenizer(fixture('tiny-bert'), { maxLength: 12 });
  const c = full.encode('Yes.').slice(1, -1);
  const r2 = tok2.encodeWithTypes(LONG, 'Yes.');
  assert.deepEqual(r2.ids, [2, ...a.slice(0, 12 - 3 - c.length), 3, ...c, 3]);

  // No truncation needed: same as the untruncated pair.
  assert.deepEqual(full.encode('Yes.', 'No.'), [2, ...c, 3, ...full.encode('No.').slice(1, -1), 3]);
});

test('roberta-mini pair: <s> a </s></s> b </s> with all-zero token types', async () => {
  const full = await loadTokenizer(robertaMini, { maxLength: 128 });
  const a = full.encode(LONG).slice(1, -1);
  const b = full.encode(MEDIUM).slice(1, -1);
  const tok = await loadTokenizer(robertaMini, { maxLength: 16 });
  const r = tok.encodeWithTypes(LONG, MEDIUM);
  // budget 16 - 4 = 12 -> 6 / 6
  assert.deepEqual(r.ids, [0, ...a.slice(0, 6), 2, 2, ...b.slice(0, 6), 2]);
  assert.deepEqual(r.typeIds, Array(16).fill(0));
  assert.equal(tok.numSpecialTokens(true), 4);
  assert.equal(tok.numSpecialTokens(false), 2);
});

test('tiny-distilbert and tiny-t5 pairs: template tokens, zero token types', async () => {
  const bert = await loadTokenizer(fixture('tiny-distilbert'), { maxLength: 64 });
  const r = bert.encodeWithTypes('Hello there.', 'How are you?');
  assert.equal(r.ids[0], 2);
  assert.equal(r.ids.filter((x) => x === 3).length, 2);
  assert.ok(r.typeIds.every((t) => t === 0));

  const t5 = await loadTokenizer(fixture('tiny-t5-encoder'), { maxLength: 64 });
  const a = t5.encode('Hello there.').slice(0, -1);
  const b = t5.encode('How are you?').slice(0, -1);
  assert.deepEqual(t5.encode('Hello there.', 'How are you?'), [...a, 1, ...b, 1]);
});

test('truncateLongestFirst matches huggingface/tokenizers truncate_encodings', () => {
  // Table from tokenizers/src/utils/truncation.rs (max_length 7; lengths 0, 2, 4, 8).
  const cases: [number, number, number, number][] = [
    [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
    [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
    [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
    [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4],
  ];
  for (const [l1, l2, n1, n2] of cases) assert.deepEqual(truncateLongestFirst(l1, l2, 7), [n1, n2], `${l1},${l2}`);
  assert.deepEqual(truncateLongestFirst(5, 5, 0), [0, 0]);
});

test('maxLength is clamped to the position limit of the model', async () => {
  const roberta = await loadTokenizer(robertaMini, { maxLength: 512 });
  assert.equal(roberta.modelLimit, 128); // max_position_embeddings 130 - padding offset 2
  assert.equal(roberta.maxLength, 128);
  const ids = roberta.encode(Array(60).fill(LONG).join(' '));
  assert.equal(ids.length, 128);
  assert.equal(ids[127], 2);

  const bert = await loadTokenizer(fixture('tiny-bert'), { maxLength: 1000 });
  assert.equal(bert.maxLength, 128);
  const small = await loadTokenizer(fixture('tiny-bert'), { maxLength: 32 });
  assert.equal(small.maxLength, 32);

  const t5 = await loadTokenizer(fixture('tiny-t5-encoder'), { maxLength: 1000 });
  assert.equal(t5.modelLimit, null);
  assert.equal(t5.maxLength, 1000);

  assert.equal(positionLimit({ model_type: 'xlm-roberta', max_position_embeddings: 514, pad_token_id: 1 }), 512);
  assert.equal(positionLimit({ model_type: 'bert', max_position_embeddings: 512 }), 512);
  assert.equal(positionLimit(null), null);
  // NomicBERT: n_positions, or max_trained_positions where Nomic's code rescales the rotary base past it.
  assert.equal(positionLimit({ model_type: 'nomic_bert', n_positions: 8192, max_trained_positions: 2048, rotary_scaling_factor: null }), 8192);
  assert.equal(positionLimit({ model_type: 'nomic_bert', n_positions: 8192, max_trained_positions: 2048, rotary_scaling_factor: 2 }), 2048);
  assert.equal(positionLimit({ model_type: 'nomic_bert', n_positions: 8192, rotary_scaling_factor: 2 }), 2048);
  const nomic = await loadTokenizer(fixture('tiny-nomic-bert'), { maxLength: 10000 });
  assert.equal(nomic.maxLength, 8192);
});

test('batch pads right with padId and zero mask, keeps type ids', async () => {
  const tok = await loadTokenizer(robertaMini, { maxLength: 64 });
  assert.equal(tok.padId, 1);
  const b = tok.batch([[0, 5, 2], [0, 2]], [[0, 0, 1], [1, 1]]);
  assert.equal(b.batchSize, 2);
  assert.equal(b.seqLen, 3);
  assert.deepEqual(Array.from(b.inputIds), [0n, 5n, 2n, 0n, 2n, 1n]);
  assert.deepEqual(Array.from(b.attentionMask), [1n, 1n, 1n, 1n, 1n, 0n]);
  assert.deepEqual(Array.from(b.tokenTypeIds), [0n, 0n, 1n, 1n, 1n, 0n]);
  const empty = tok.batch([]);
  assert.equal(empty.batchSize, 0);
  assert.equal(empty.inputIds.length, 0);
});

test('loads from an absolute folder outside the working directory, and from a relative path', async () => {
  const dir = tempDir('probescale tok--');
  try {
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'config.json']) {
      fs.copyFileSync(fixture('tiny-roberta', f), path.join(dir, f));
    }
    const copy = await loadTokenizer(dir, { maxLength: 32 });
    const orig = await loadTokenizer(path.relative(repoRoot, fixture('tiny-roberta')), { maxLength: 32 });
    assert.deepEqual(copy.encode(LONG), orig.encode(LONG));
    assert.equal(copy.encode(LONG).length, 32);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated tokenizer.json is named with what to do', async () => {
  const dir = tempDir('probescale-tok-');
  try {
    for (const f of ['tokenizer_config.json', 'config.json']) fs.copyFileSync(fixture('tiny-bert', f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), fs.readFileSync(fixture('tiny-bert', 'tokenizer.json')).subarray(0, 300));
    await assert.rejects(loadTokenizer(dir, { maxLength: 16 }), (e: Error) => {
      assert.match(e.message, /cannot load the tokenizer/);
      assert.match(e.message, /save_pretrained/);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('clear errors for a missing folder, missing tokenizer files and a too small maxLength', async () => {
  await assert.rejects(loadTokenizer(path.join(os.tmpdir(), 'no-such-model-dir-xyz'), { maxLength: 16 }), BadInputError);
  const dir = tempDir('probescale-tok-');
  try {
    fs.copyFileSync(fixture('tiny-bert', 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
    await assert.rejects(loadTokenizer(dir, { maxLength: 16 }), (e: Error) => {
      assert.ok(e instanceof BadInputError);
      assert.match(e.message, /tokenizer\.json is missing/);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(loadTokenizer(robertaMini, { maxLength: 2 }), /no room for text/);
  await assert.rejects(loadTokenizer(robertaMini, { maxLength: 0 }), BadInputError);
});

test('without config.json: no position limit, token types as the template gives them (RoBERTa: all 0), pad id from the tokenizer', async () => {
  const dir = tempDir('probescale-tok-');
  const withoutConfig = (model: string) => {
    const d = path.join(dir, model);
    fs.mkdirSync(d);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(fixture(model, f), path.join(d, f));
    return loadTokenizer(d, { maxLength: 1000 });
  };
  try {
    const distil = await withoutConfig('tiny-distilbert');
    assert.equal(distil.modelLimit, null);
    assert.equal(distil.maxLength, 1000);
    assert.equal(distil.padId, (await loadTokenizer(fixture('tiny-distilbert'), { maxLength: 16 })).padId);
    // Its config.json has no token-type embedding; without it the template's second segment is type 1.
    const types = distil.encodeWithTypes('a b', 'c d').typeIds;
    assert.deepEqual(new Set(types), new Set([0, 1]));
    assert.ok(types.indexOf(1) > 0 && types.slice(types.indexOf(1)).every((t) => t === 1), types.join());
    const inFolder = await loadTokenizer(fixture('tiny-distilbert'), { maxLength: 1000 });
    assert.ok(inFolder.encodeWithTypes('a b', 'c d').typeIds.every((t) => t === 0));

    const roberta = await withoutConfig('tiny-roberta');
    assert.equal(roberta.modelLimit, null);
    assert.ok(roberta.encodeWithTypes('a b', 'c d').typeIds.every((t) => t === 0));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a pair whose special tokens do not fit maxLength is refused, naming the option; one text still fits', async () => {
  const tok = await loadTokenizer(fixture('tiny-roberta'), { maxLength: 3 });
  assert.equal(tok.numSpecialTokens(true), 4);
  assert.equal(tok.encode('a b c d e').length, 3);
  assert.throws(() => tok.encode('a', 'b'), (e: Error) => {
    assert.ok(e instanceof BadInputError);
    assert.match(e.message, /max length 3: it is below the 4 special tokens of a text pair; raise it\./);
    return true;
  });
});

test("loading a tokenizer leaves Node's fetch unloaded (its WebAssembly HTTP parser reserves 4 GiB of address space)", () => {
  // Before: transformers.js' file loader made `new Headers()`, which loads undici and compiles llhttp;
  // VmSize went from 0.7 to 5.2 GiB (11 GiB with the trap handler), and under exactly
  // `ulimit -v 6000000` a roberta-mini probe ran out of memory in ONNX Runtime.
  const code = `const { loadTokenizer } = require('./out/src/core/data/tokenize.js');
    const vm = () => Number(/VmSize:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]);
    const before = vm();
    loadTokenizer(${JSON.stringify(robertaMini)}, { maxLength: 32 }).then((t) => {
      console.log(JSON.stringify({ ids: t.encode('hello world').length, undici: process.moduleLoadList.filter((m) => /undici/.test(m)), grewKiB: vm() - before }));
    });`;
  const r = spawnSync(process.execPath, ['--disable-wasm-trap-handler', '-e', code], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { ids: number; undici: string[]; grewKiB: number };
  assert.ok(got.ids > 2, 'the tokenizer works');
  assert.deepEqual(got.undici, [], 'undici (fetch) was loaded');
  assert.ok(got.grewKiB < 1024 * 1024, `loading the tokenizer grew the address space by ${(got.grewKiB / 1024).toFixed(0)} MiB`);
});

test('a tokenizer_class that names no tokenizer class (unknown, "__proto__", "constructor", a number, absent) loads the base class, as AutoTokenizer does', async () => {
  const text = 'The quick brown fox, unaffable, jumps.';
  const named = (await loadTokenizer(fixture('tiny-bert'), { maxLength: 32 })).encodeWithTypes(text, 'second');
  for (const cls of ['NoSuchTokenizer', '__proto__', 'constructor', 'toString', 7, undefined]) {
    const dir = tempDir('probescale-tokclass-');
    try {
      for (const f of ['tokenizer.json', 'config.json']) fs.copyFileSync(fixture('tiny-bert', f), path.join(dir, f));
      const config = JSON.parse(fs.readFileSync(fixture('tiny-bert', 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
      if (cls === undefined) delete config.tokenizer_class;
      else config.tokenizer_class = cls;
      fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
      assert.deepEqual((await loadTokenizer(dir, { maxLength: 32 })).encodeWithTypes(text, 'second'), named, String(cls));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('tokenizer.json, tokenizer_config.json and config.json saved with a UTF-8 byte-order mark load as without it', async () => {
  // transformers.js' own loader (a Response's text()) skipped the mark; JSON.parse refuses it.
  const text = 'The quick brown fox, unaffable, jumps.';
  const plain = (await loadTokenizer(fixture('tiny-bert'), { maxLength: 32 })).encodeWithTypes(text, 'second');
  const dir = tempDir('probescale-tokbom-');
  try {
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'config.json']) fs.writeFileSync(path.join(dir, f), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fs.readFileSync(fixture('tiny-bert', f))]));
    assert.deepEqual((await loadTokenizer(dir, { maxLength: 32 })).encodeWithTypes(text, 'second'), plain);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged tokenizer.json: a template that is not a list, a token id that is not a whole number: refused naming the file, not a TypeError inside transformers.js', async () => {
  const dir = tempDir('probescale-tok-');
  // The parts of tokenizer.json changed here.
  type TokenizerJson = { post_processor: { single: unknown[]; pair: unknown }; added_tokens: { content: string; id: number }[]; model: { vocab: Record<string, number> } };
  const damaged = (model: string, change: (json: TokenizerJson) => void) => {
    const d = fs.mkdtempSync(path.join(dir, `${model}-`));
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'config.json']) fs.copyFileSync(fixture(model, f), path.join(d, f));
    const json = JSON.parse(fs.readFileSync(path.join(d, 'tokenizer.json'), 'utf8')) as TokenizerJson;
    change(json);
    fs.writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify(json));
    return loadTokenizer(d, { maxLength: 16 });
  };
  try {
    // Found by test/jsonFuzz.ts: "Cannot use 'in' operator to search for 'SpecialToken' in true".
    await assert.rejects(damaged('tiny-bert', (j) => (j.post_processor.single[0] = true)), /cannot follow the post-processor \(TemplateProcessing\) of .*tokenizer\.json: it fails on a text \(.*\), so its "single" template is damaged\. Save the tokenizer again/);
    await assert.rejects(damaged('tiny-bert', (j) => (j.post_processor.pair = 'x')), /it fails on a text pair .* its "pair" template is damaged/);
    // RoBERTa's <pad> given id 0.5 failed in BigInt when the first batch was padded.
    const pad = (j: TokenizerJson) => {
      j.added_tokens.find((t) => t.content === '<pad>')!.id = 0.5;
      j.model.vocab['<pad>'] = 0.5;
    };
    await assert.rejects(damaged('tiny-roberta', pad), /tokenizer\.json gives its special tokens the id 0\.5, which is not a token id \(a whole number from 0\): the file is damaged/);
    // Found by test/jsonFuzz.ts on tiny-nomic-bert: a type id past type_vocab_size failed in ONNX Runtime's Gather on the first batch.
    type Special = { SpecialToken: { type_id: number } };
    for (const [where, id] of [['single', 1000000000], ['pair', 2], ['pair', -1]] as const) {
      const change = (j: TokenizerJson) => (((where === 'single' ? j.post_processor.single : (j.post_processor.pair as unknown[])) as Special[]).at(-1)!.SpecialToken.type_id = id);
      await assert.rejects(damaged('tiny-bert', change), new RegExp(`tokenizer\\.json gives type id ${id} in its "${where}" template, but config\\.json's type_vocab_size is 2: the model has no token-type row for it`));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
