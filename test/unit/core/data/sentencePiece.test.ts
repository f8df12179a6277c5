import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer, TextTokenizer } from '../../../../src/core/data/tokenize';
import { readSentencePiece } from '../../../../src/core/data/sentencePiece';
import { BadInputError, UnsupportedModelError } from '../../../../src/core/errors';
import { BufferSource, encodeVarint, parseFields, tag, WireType } from '../../../../src/core/onnx/wire';
import { fixture, pipelineAccuracyOnSentlen, quickOptimize, tempDir } from '../../../helpers';

// T5, mT5 and XLM-R checkpoints often hold only a SentencePiece model (spiece.model,
// sentencepiece.bpe.model) and no tokenizer.json. The reference is Google's sentencepiece itself:
// scripts/ref/spm_reference.py trained test/fixtures/spm's models and wrote the ids the slow
// tokenizers of Python's transformers give for 758 task and stress texts (reference.json).

const spmDir = fixture('spm');
const tmp = tempDir('ps-spm-');
let counter = 0;
interface Row {
  text: string;
  pair: string | null;
  t5: number[];
  'xlm-roberta': number[];
  'tiny-t5': number[];
}
const referenceRows = (JSON.parse(fs.readFileSync(path.join(spmDir, 'reference.json'), 'utf8')) as { rows: Row[] }).rows;
const rows = referenceRows;

/** A folder holding one SentencePiece file, a config.json of `modelType` and `extra` files. */
function folder(modelType: string, file: string, from: string, extra: Record<string, unknown> = {}): string {
  const dir = path.join(tmp, `${modelType}-${counter++}`);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(spmDir, from, file), path.join(dir, file));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: modelType }));
  for (const [name, content] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), JSON.stringify(content));
  return dir;
}

const cases = [
  { name: 't5', modelType: 't5', file: 'spiece.model', eos: [1], bos: [] as number[], between: [] as number[], offset: 0 },
  { name: 'xlm-roberta', modelType: 'xlm-roberta', file: 'sentencepiece.bpe.model', eos: [2], bos: [0], between: [2], offset: 1 },
] as const;

/**
 * Every text encodes to sentencepiece's ids, or (float rounding in the Viterbi search) to other
 * pieces with exactly the same total score; pairs follow the slow tokenizer's template.
 */
function assertAsSentencePiece(tok: TextTokenizer, key: 'tiny-t5' | 't5' | 'xlm-roberta', scores: number[], offset: number, pairOf: (a: number[], b: number[]) => number[], rows = referenceRows): string {
  const byText = new Map(rows.map((r) => [r.text, r[key]]));
  const score = (ids: number[]) => ids.reduce((s, i) => s + (scores[i - offset] ?? 0), 0);
  let same = 0;
  for (const r of rows) {
    const got = tok.encode(r.text);
    if (JSON.stringify(got) === JSON.stringify(r[key])) same++;
    else assert.ok(Math.abs(score(got) - score(r[key])) < 1e-4, `${key}: "${r.text.slice(0, 60)}" gives ${JSON.stringify(got)}, sentencepiece ${JSON.stringify(r[key])}, and their scores differ`);
    if (r.pair !== null) assert.deepEqual(tok.encode(r.text, r.pair), pairOf(tok.encode(r.text), tok.encode(r.pair)), `${key}: the pair "${r.text.slice(0, 40)}"`);
    if (r.pair !== null && JSON.stringify(tok.encode(r.text)) === JSON.stringify(r[key]) && JSON.stringify(tok.encode(r.pair)) === JSON.stringify(byText.get(r.pair))) {
      assert.deepEqual(tok.encode(r.text, r.pair), pairOf(r[key], byText.get(r.pair)!), `${key}: the pair, against sentencepiece`);
    }
  }
  assert.ok(same >= 0.98 * rows.length, `${key}: ${same} of ${rows.length} texts exactly as sentencepiece`);
  return `${key}: ${same} of ${rows.length} texts with sentencepiece's ids, ${rows.length - same} with pieces of equal total score in another order`;
}

for (const c of cases) {
  test(`${c.name}: tokenizer.json built from ${c.file} encodes every text as sentencepiece and the slow tokenizer do`, async (t) => {
    const dir = folder(c.modelType, c.file, c.name);
    const tok = await loadTokenizer(dir, { maxLength: 100_000 });
    const scores = readSentencePiece(path.join(dir, c.file)).pieces.map((p) => p.score);
    t.diagnostic(assertAsSentencePiece(tok, c.name, scores, c.offset, (a, b) => (c.name === 't5' ? [...a, ...b] : [...a, ...c.between, ...b.slice(1)])));
    assert.equal(rows.length, 758);
    assert.deepEqual(tok.encode(''), [...c.bos, ...c.eos]);
    // Special tokens written in the text are split out as transformers does; <extra_id_0> is T5's last id, <mask> XLM-R's.
    const [eos, last] = c.name === 't5' ? ['</s>', '<extra_id_0>'] : ['</s>', '<mask>'];
    const ids = tok.encode(`a ${eos} b ${last}`);
    assert.ok(ids.includes(c.eos[0]) && ids.indexOf(c.eos[0]) < ids.length - 1, `${eos} inside the text keeps its id: ${JSON.stringify(ids)}`);
    assert.ok(ids.includes(c.name === 't5' ? 2099 : 2001), `${last} is one token: ${JSON.stringify(ids)}`);
    assert.equal(tok.unkId, c.name === 't5' ? 2 : 3);
    assert.equal(tok.padId, c.name === 't5' ? 0 : 1);
  });
}

test('camembert: tokenizer.json built from sentencepiece.bpe.model encodes every text as CamemBERT\'s slow tokenizer does', async (t) => {
  // CamembertTokenizer: <s>NOTUSED <pad> </s>NOTUSED <unk> <unk>NOTUSED, then sentencepiece's pieces from its <s> on, so a
  // sentencepiece id i is i + 4 (<s> 5, </s> 6) and its <unk> (0) is 3. reference.json's XLM-R ids are sentencepiece's + 1.
  const dir = folder('camembert', 'sentencepiece.bpe.model', 'xlm-roberta');
  const tok = await loadTokenizer(dir, { maxLength: 100_000 });
  const asCamembert = (xlmr: number[]) => [5, ...xlmr.slice(1, -1).map((i) => (i === 3 ? 3 : i + 3)), 6];
  const camembertRows = rows.map((r) => ({ ...r, t5: asCamembert(r['xlm-roberta']) }));
  const scores = readSentencePiece(path.join(dir, 'sentencepiece.bpe.model')).pieces.map((p) => p.score);
  t.diagnostic(assertAsSentencePiece(tok, 't5', scores, 4, (a, b) => [...a, 6, ...b.slice(1)], camembertRows).replace('t5', 'camembert'));
  assert.deepEqual(tok.encode(''), [5, 6]);
  assert.deepEqual([tok.unkId, tok.padId], [3, 1]);
  assert.ok(tok.encode('a <mask>').includes(2004), '<mask> is the last id: 5 + 1,999 pieces');
});

test('a real T5 folder with only spiece.model (tiny-t5-encoder\'s vocabulary) tokenises as sentencepiece, and as its own tokenizer.json on the task texts', async (t) => {
  const dir = path.join(tmp, 'tiny-t5');
  fs.cpSync(fixture('tiny-t5-encoder'), dir, { recursive: true, filter: (f) => !['tokenizer.json', 'onnx'].includes(path.basename(f)) });
  fs.copyFileSync(path.join(spmDir, 'tiny-t5', 'spiece.model'), path.join(dir, 'spiece.model'));
  const tok = await loadTokenizer(dir, { maxLength: 100_000 });
  const scores = readSentencePiece(path.join(dir, 'spiece.model')).pieces.map((p) => p.score);
  t.diagnostic(assertAsSentencePiece(tok, 'tiny-t5', scores, 0, (a, b) => [...a, ...b]));
  // The fixture's own tokenizer.json was trained by tokenizers with another normaliser (NFKC, two spaces as one); on ordinary text the two agree.
  const own = await loadTokenizer(fixture('tiny-t5-encoder'), { maxLength: 100_000 });
  const ordinary = rows.filter((r) => r.text.length > 0 && !/\s\s|^\s|\s$|[^\x20-\x7e]/.test(r.text));
  assert.ok(ordinary.length > 500, `${ordinary.length} ordinary texts`);
  // Each word is its own lattice (Metaspace split); where two cuts of a word tie ("!!!!" as ! + !!! or
  // !!! + !), the two files' scores (float32 in spiece.model, float64 in tokenizer.json) may break the tie
  // otherwise: the same pieces in another order, never other pieces.
  let reordered = 0;
  for (const r of ordinary) {
    const [a, b] = [tok.encode(r.text), own.encode(r.text)];
    if (a.join() === b.join()) continue;
    reordered++;
    assert.deepEqual([...a].sort((x, y) => x - y), [...b].sort((x, y) => x - y), r.text.slice(0, 60));
  }
  assert.ok(reordered <= ordinary.length / 100, `${reordered} of ${ordinary.length} reordered`);
  t.diagnostic(`tiny-t5: ${ordinary.length} texts without non-ASCII characters or repeated, leading or trailing spaces encode as the folder's own tokenizer.json does (${reordered} with tied pieces in another order)`);
});

test('tokenizer_config.json settings are followed: add_prefix_space false, legacy false', async () => {
  const always = await loadTokenizer(folder('t5', 'spiece.model', 't5'), { maxLength: 64 });
  const never = await loadTokenizer(folder('t5', 'spiece.model', 't5', { 'tokenizer_config.json': { tokenizer_class: 'T5Tokenizer', add_prefix_space: false } }), { maxLength: 64 });
  const first = await loadTokenizer(folder('t5', 'spiece.model', 't5', { 'tokenizer_config.json': { tokenizer_class: 'T5Tokenizer', legacy: false } }), { maxLength: 64 });
  assert.notDeepEqual(never.encode('the house'), always.encode('the house'), 'no ▁ before the first word');
  assert.deepEqual(first.encode('the house'), always.encode('the house'));
  // After a special token in the text, legacy false adds no ▁ to the next section.
  assert.notDeepEqual(first.encode('a</s>house'), always.encode('a</s>house'));
  // mT5 reads the same file with T5's converter.
  const mt5 = await loadTokenizer(folder('mt5', 'spiece.model', 't5'), { maxLength: 64 });
  assert.deepEqual(mt5.encode('the house'), always.encode('the house'));
});

/** `file` rewritten with the message `num` of ModelProto (trainer_spec 2, normalizer_spec 3) changed by `edit`. */
function rewrite(file: string, num: number, edit: (fields: Buffer[]) => Buffer[]): Buffer {
  const buf = fs.readFileSync(file);
  const src = new BufferSource(buf);
  const out: Buffer[] = [];
  for (const f of parseFields(src, 0, buf.length)) {
    if (f.num !== num) {
      out.push(buf.subarray(f.start, f.end));
      continue;
    }
    const inner = Buffer.concat(edit(parseFields(src, f.valStart, f.valEnd).map((g) => Buffer.from(buf.subarray(g.start, g.end)))));
    out.push(tag(num, WireType.Len), encodeVarint(inner.length), inner);
  }
  return Buffer.concat(out);
}

test('SentencePiece files that cannot give this tokenizer are refused, naming the file and what to do', async () => {
  const source = path.join(spmDir, 't5', 'spiece.model');
  const refused = async (bytes: Buffer, pattern: RegExp) => {
    const dir = folder('t5', 'spiece.model', 't5');
    fs.writeFileSync(path.join(dir, 'spiece.model'), bytes);
    await assert.rejects(loadTokenizer(dir, { maxLength: 32 }), (e: Error) => (e instanceof UnsupportedModelError || e instanceof BadInputError) && e.message.includes(path.join(dir, 'spiece.model')) && pattern.test(e.message));
  };
  // model_type (field 3 of TrainerSpec) 2: a BPE model.
  const bpe = rewrite(source, 2, (fields) => [...fields.filter((b) => b[0] !== 0x18), Buffer.from([0x18, 2])]);
  assert.equal(readSentencePiece(writeTo('bpe.model', bpe)).modelType, 2);
  await refused(bpe, /SentencePiece BPE model; ProbeScale builds tokenizer\.json from Unigram models only\. Save the fast tokenizer with Python/);
  // A normalisation rule transformers.js does not apply (case folding).
  const name = Buffer.from('nmt_nfkc_cf');
  const folded = rewrite(source, 3, (fields) => [Buffer.concat([tag(1, WireType.Len), encodeVarint(name.length), name]), ...fields.filter((b) => b[0] !== 0x0a)]);
  assert.equal(readSentencePiece(writeTo('cf.model', folded)).normalizerName, 'nmt_nfkc_cf');
  await refused(folded, /normalises text with the rule "nmt_nfkc_cf"; transformers\.js, .* applies only sentencepiece's default/);
  // Cut short, and not a protocol buffer at all.
  const whole = fs.readFileSync(source);
  await refused(whole.subarray(0, Math.floor(whole.length / 2)), /does not parse as a SentencePiece model .* damaged or cut short\. Download it again/);
  await refused(Buffer.from('this is not a sentencepiece model\n'), /does not parse as a SentencePiece model/);
  await refused(Buffer.alloc(0), /is empty \(0 bytes\), not a SentencePiece model; download it again/);
  // Named as what it is, not read as a damaged model: a Git LFS pointer, a folder, a link to nothing (as vocab.txt is for BERT).
  await refused(Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:4e28ff6ebdf584f5372d9de68867399142435d9aab8d6a6b2a6aba0e5b7a6b1f\nsize 791656\n'), /is a Git LFS pointer .* git lfs pull/);
  for (const make of [(f: string) => fs.mkdirSync(f), (f: string) => fs.symlinkSync(path.join(tmp, 'nothing-here'), f)]) {
    const dir = folder('t5', 'spiece.model', 't5');
    fs.rmSync(path.join(dir, 'spiece.model'));
    make(path.join(dir, 'spiece.model'));
    await assert.rejects(loadTokenizer(dir, { maxLength: 32 }), /spiece\.model (is a folder, not a file|is a symbolic link to .*nothing-here, which does not exist); put the tokenizer file there/);
  }
  // A folder whose tokenizer_config.json names another class over the file is still refused as missing tokenizer.json.
  const other = folder('t5', 'spiece.model', 't5', { 'tokenizer_config.json': { tokenizer_class: 'ByT5Tokenizer' } });
  await assert.rejects(loadTokenizer(other, { maxLength: 32 }), /tokenizer\.json is missing/);
});

function writeTo(name: string, bytes: Buffer): string {
  const file = path.join(tmp, `${counter++}-${name}`);
  fs.writeFileSync(file, bytes);
  return file;
}

test('a T5 folder with only spiece.model is optimized and committed; the committed folder carries tokenizer.json, which transformers.js loads', async () => {
  const source = path.join(tmp, 'tiny-t5-commit');
  fs.cpSync(fixture('tiny-t5-encoder'), source, { recursive: true, filter: (f) => path.basename(f) !== 'tokenizer.json' });
  fs.copyFileSync(path.join(spmDir, 'tiny-t5', 'spiece.model'), path.join(source, 'spiece.model'));
  const out = path.join(tmp, 'tiny-t5-committed');
  const r = quickOptimize(source, out);
  assert.equal(r.status, 0, r.stderr);
  for (const dir of [out, path.join(out, 'classifiers', 'sentlen')]) {
    assert.ok(fs.existsSync(path.join(dir, 'tokenizer.json')) && fs.existsSync(path.join(dir, 'spiece.model')), `${dir} has tokenizer.json and spiece.model`);
  }
  const built = await loadTokenizer(source, { maxLength: 100_000 });
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const js = await AutoTokenizer.from_pretrained(out);
  for (const row of rows.slice(0, 200)) assert.deepEqual(js.encode(row.text), built.encode(row.text), row.text.slice(0, 60));
});

// DeBERTa-v3 folders on the Hub (microsoft/deberta-v3-*) hold spm.model and a tokenizer_config.json
// ({"do_lower_case": false, "vocab_type": "spm"}), no tokenizer.json. deberta-v3/spm.model is laid out
// as theirs ([PAD] [CLS] [SEP] [UNK] first; scripts/ref/spm_reference.py --only deberta), and
// deberta-reference.json holds DebertaV2Tokenizer's ids: [CLS] + sentencepiece's + [SEP].
interface DebertaRow {
  text: string;
  pair: string | null;
  ids: number[];
  lower: number[];
}
const debertaRows = (JSON.parse(fs.readFileSync(path.join(spmDir, 'deberta-reference.json'), 'utf8')) as { rows: DebertaRow[] }).rows;
const hubConfig = { 'tokenizer_config.json': { do_lower_case: false, vocab_type: 'spm' } };

for (const lower of [false, true]) {
  test(`deberta-v2: tokenizer.json built from spm.model${lower ? ' with do_lower_case' : ''} encodes every text as sentencepiece and DebertaV2Tokenizer do`, async (t) => {
    const dir = folder('deberta-v2', 'spm.model', 'deberta-v3', lower ? { 'tokenizer_config.json': { do_lower_case: true, vocab_type: 'spm' } } : hubConfig);
    const tok = await loadTokenizer(dir, { maxLength: 100_000 });
    const scores = readSentencePiece(path.join(dir, 'spm.model')).pieces.map((p) => p.score);
    const asRows = debertaRows.map((r) => ({ text: r.text, pair: r.pair, t5: lower ? r.lower : r.ids, 'xlm-roberta': [], 'tiny-t5': [] }));
    t.diagnostic(assertAsSentencePiece(tok, 't5', scores, 0, (a, b) => [...a, ...b.slice(1)], asRows).replace('t5', lower ? 'deberta (lower case)' : 'deberta'));
    assert.equal(debertaRows.length, 758);
    assert.deepEqual(tok.encode(''), [1, 2]);
    assert.deepEqual([tok.unkId, tok.padId], [3, 0]);
    const ids = tok.encode('a [MASK] b [SEP] c');
    assert.ok(ids.includes(2000) && ids.indexOf(2) < ids.length - 1, `[MASK] after the 2,000 pieces, [SEP] in the text keeps its id: ${JSON.stringify(ids)}`);
    if (lower) assert.deepEqual(tok.encode('CAPITALS Here'), tok.encode('capitals here'));
  });
}

test('a DeBERTa-v3 folder as the Hub has it (spm.model, no tokenizer.json, no export) is optimized and committed; transformers.js loads the committed tokenizer.json and runs the classifier as measured', async () => {
  const source = path.join(tmp, 'deberta-hub');
  fs.cpSync(fixture('tiny-deberta-v3'), source, { recursive: true, filter: (f) => !['onnx', 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'].includes(path.basename(f)) });
  fs.copyFileSync(path.join(spmDir, 'deberta-v3', 'spm.model'), path.join(source, 'spm.model'));
  fs.writeFileSync(path.join(source, 'tokenizer_config.json'), JSON.stringify(hubConfig['tokenizer_config.json']));
  // Fine-tunes saved by older transformers carry added_tokens.json naming [MASK] at the id after the pieces.
  fs.writeFileSync(path.join(source, 'added_tokens.json'), JSON.stringify({ '[MASK]': 2000 }));
  const out = path.join(tmp, 'deberta-hub-committed');
  const r = quickOptimize(source, out);
  assert.equal(r.status, 0, r.stderr);
  const classifier = path.join(out, 'classifiers', 'sentlen');
  for (const dir of [out, classifier]) assert.ok(['tokenizer.json', 'spm.model', 'added_tokens.json'].every((f) => fs.existsSync(path.join(dir, f))), `${dir} has tokenizer.json, spm.model and added_tokens.json`);
  const built = await loadTokenizer(source, { maxLength: 100_000 });
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const js = await AutoTokenizer.from_pretrained(out);
  for (const row of debertaRows.slice(0, 200)) assert.deepEqual(js.encode(row.text), built.encode(row.text), row.text.slice(0, 60));
  const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { model: { graphFrom: string }; verify: { perTask: Record<string, { measured: { accuracy: number } }> } };
  assert.equal(report.model.graphFrom, 'safetensors');
  assert.equal(await pipelineAccuracyOnSentlen(classifier, { limitTrain: 120, limitTest: 40 }), report.verify.perTask.sentlen.measured.accuracy);
});
