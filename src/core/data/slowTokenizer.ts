/**
 * tokenizer.json for a model folder that holds only a "slow" tokenizer's files (vocab.txt, or
 * vocab.json and merges.txt, or a SentencePiece model), as many older checkpoints on the Hub do.
 * Built as Python's transformers builds the fast tokenizer from them (convert_slow_tokenizer.py:
 * BertConverter for BERT, DistilBERT and ELECTRA, MPNetConverter for MPNet, RobertaConverter for
 * RoBERTa, T5Converter for T5 and mT5's spiece.model, XLMRobertaConverter and CamembertConverter
 * for XLM-R's and CamemBERT's sentencepiece.bpe.model, DebertaV2Converter for DeBERTa-v2/v3's
 * spm.model), so that transformers.js (which reads tokenizer.json only) tokenises as
 * Python does. Our own code because transformers.js has no converter. The references it is tested
 * against: the fixtures' and roberta-mini's own tokenizer.json (slowTokenizer.test.ts), and Google's
 * sentencepiece itself for the SentencePiece models (sentencePiece.test.ts, scripts/ref/spm_reference.py).
 */
import * as path from 'node:path';
import { BadInputError, UnsupportedModelError } from '../errors';
import { readUtf8 } from '../util/textFile';
import { notAFile, orAdvice, somethingAt } from '../util/fileKind';
import { PieceType, readSentencePiece, type SentencePieceModel } from './sentencePiece';

type Json = Record<string, unknown>;

/** The files a built tokenizer is read from (besides config.json): a change to any may change the ids. */
export const SLOW_TOKENIZER_FILES = ['vocab.txt', 'vocab.json', 'merges.txt', 'spiece.model', 'sentencepiece.bpe.model', 'spm.model', 'added_tokens.json', 'special_tokens_map.json'];

const WORDPIECE: Record<string, string> = { bert: 'BertTokenizer', distilbert: 'DistilBertTokenizer', electra: 'ElectraTokenizer', mpnet: 'MPNetTokenizer' };
const BYTE_BPE: Record<string, string> = { roberta: 'RobertaTokenizer' };
/** SentencePiece models by model type: the file, and the tokenizer class (mT5 and umT5 use T5's). */
const SENTENCEPIECE: Record<string, { file: string; cls: string }> = {
  t5: { file: 'spiece.model', cls: 'T5Tokenizer' },
  mt5: { file: 'spiece.model', cls: 'T5Tokenizer' },
  umt5: { file: 'spiece.model', cls: 'T5Tokenizer' },
  'xlm-roberta': { file: 'sentencepiece.bpe.model', cls: 'XLMRobertaTokenizer' },
  camembert: { file: 'sentencepiece.bpe.model', cls: 'CamembertTokenizer' },
  'deberta-v2': { file: 'spm.model', cls: 'DebertaV2Tokenizer' },
};
const CLASSES = [...Object.values(WORDPIECE), ...Object.values(BYTE_BPE), 'T5Tokenizer', 'MT5Tokenizer', 'XLMRobertaTokenizer', 'CamembertTokenizer', 'DebertaV2Tokenizer'];

export interface BuiltTokenizer {
  /** The tokenizer.json a fast tokenizer saved from these files would hold. */
  tokenizer: Json;
  /** tokenizer_config.json: the folder's own, or one built when it has none. */
  config: Json;
  /** Which of tokenizer.json and tokenizer_config.json were built (not read from the folder). */
  built: string[];
}

/**
 * tokenizer.json (and tokenizer_config.json where missing) built from the slow tokenizer's files of
 * `dir`; null where the folder has a tokenizer.json, or no slow files of a model type built here.
 * @throws UnsupportedModelError where the files cannot give a tokenizer (a special token missing from the vocabulary, added tokens).
 */
export function slowTokenizer(dir: string, modelType: unknown): BuiltTokenizer | null {
  if (somethingAt(path.join(dir, 'tokenizer.json'))) return null;
  const type = String(modelType ?? '');
  const has = (f: string) => somethingAt(path.join(dir, f));
  const wordPiece = type in WORDPIECE && has('vocab.txt');
  const bpe = type in BYTE_BPE && has('vocab.json') && has('merges.txt');
  const spm = type in SENTENCEPIECE && has(SENTENCEPIECE[type].file);
  if (!wordPiece && !bpe && !spm) return null;
  // A folder, a dangling link or a Git LFS pointer where a tokenizer file should be is named as such, not read as a damaged file.
  for (const f of [...(wordPiece ? ['vocab.txt'] : bpe ? ['vocab.json', 'merges.txt'] : [SENTENCEPIECE[type].file]), 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json']) {
    const bad = has(f) ? notAFile(path.join(dir, f)) : undefined;
    if (bad) throw new BadInputError(`${path.join(dir, f)} ${orAdvice(bad, '; put the tokenizer file there (download or copy it again)')}.`);
  }
  const ownConfig = has('tokenizer_config.json');
  const config: Json = ownConfig ? readJson(dir, 'tokenizer_config.json') : { tokenizer_class: wordPiece ? WORDPIECE[type] : bpe ? BYTE_BPE[type] : SENTENCEPIECE[type].cls };
  // Another class over the same files (BertJapaneseTokenizer splits words with MeCab first) is not what these converters build.
  const named = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : undefined;
  if (named !== undefined && !CLASSES.includes(named)) return null;
  const specialsMap = has('special_tokens_map.json') ? readJson(dir, 'special_tokens_map.json') : {};
  // A special token as tokenizer_config.json or special_tokens_map.json gives it (a string, or an AddedToken's dict), else the class default.
  const special = (key: string, fallback: string, lstrip = false) => {
    const v = config[key] ?? specialsMap[key] ?? fallback;
    const d = typeof v === 'object' && v !== null ? (v as Json) : { content: v };
    return { content: String(d.content ?? fallback), lstrip: typeof d.lstrip === 'boolean' ? d.lstrip : lstrip, rstrip: d.rstrip === true, single_word: d.single_word === true };
  };
  const tokenizer = wordPiece ? wordPieceJson(dir, config, special, type === 'mpnet') : bpe ? byteBpeJson(dir, config, special) : sentencePieceJson(dir, SENTENCEPIECE[type].file, type, config, special);
  if (has('added_tokens.json')) checkAddedTokens(dir, readJson(dir, 'added_tokens.json'), tokenizer);
  if (!ownConfig) for (const [key, token] of Object.entries(tokenizer.specials as Record<string, { content: string }>)) config[key] = token.content;
  delete tokenizer.specials;
  return { tokenizer, config, built: ownConfig ? ['tokenizer.json'] : ['tokenizer.json', 'tokenizer_config.json'] };
}

/**
 * added_tokens.json as older save_pretrained wrote it: accepted where it only names tokens the built
 * tokenizer already has at those ids (DeBERTa-v3 fine-tunes: {"[MASK]": 128000}, the id the layout
 * gives [MASK]); a token it would add is refused, since the ids after it are not known here.
 */
function checkAddedTokens(dir: string, added: Json, tokenizer: Json): void {
  const model = tokenizer.model as { vocab: Record<string, number> | [string, number][] };
  const idOf = (t: string): number | undefined => (Array.isArray(model.vocab) ? model.vocab.findIndex(([p]) => p === t) : Object.prototype.hasOwnProperty.call(model.vocab, t) ? model.vocab[t] : undefined);
  const other = Object.entries(added).find(([t, id]) => idOf(t) !== id);
  if (other) {
    throw new UnsupportedModelError(`${path.join(dir, 'added_tokens.json')} adds "${other[0]}" at id ${JSON.stringify(other[1])}, which the vocabulary files do not hold there; ProbeScale builds tokenizer.json from vocab files without added tokens. Save the fast tokenizer with Python: AutoTokenizer.from_pretrained("${dir}").save_pretrained("${dir}") writes tokenizer.json.`);
  }
}

type Special = (key: string, fallback: string, lstrip?: boolean) => { content: string; lstrip: boolean; rstrip: boolean; single_word: boolean };

/**
 * BertConverter (MPNetConverter where `mpnet`): WordPiece over vocab.txt (one token per line, its
 * line number its id). MPNet's tokens are RoBERTa's (<s>, </s>, <pad>, a <mask> that strips the
 * space before it; [UNK] for unknown words) and a pair is "<s> A </s> </s> B </s>".
 */
function wordPieceJson(dir: string, config: Json, special: Special, mpnet: boolean): Json {
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  const lines = readUtf8(path.join(dir, 'vocab.txt')).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((t, i) => (vocab[t] = i));
  const specials: Record<string, ReturnType<Special>> = mpnet
    ? { bos_token: special('bos_token', '<s>'), eos_token: special('eos_token', '</s>'), sep_token: special('sep_token', '</s>'), cls_token: special('cls_token', '<s>'), unk_token: special('unk_token', '[UNK]'), pad_token: special('pad_token', '<pad>'), mask_token: special('mask_token', '<mask>', true) }
    : { unk_token: special('unk_token', '[UNK]'), sep_token: special('sep_token', '[SEP]'), pad_token: special('pad_token', '[PAD]'), cls_token: special('cls_token', '[CLS]'), mask_token: special('mask_token', '[MASK]') };
  const id = idIn(dir, 'vocab.txt', vocab);
  const [cls, sep] = [specials.cls_token.content, specials.sep_token.content];
  const secondSep = mpnet ? [{ SpecialToken: { id: sep, type_id: 0 } }] : [];
  const bool = (key: string, fallback: boolean | null) => (typeof config[key] === 'boolean' ? config[key] : fallback);
  return {
    ...header(specials, vocab),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: bool('tokenize_chinese_chars', true), strip_accents: bool('strip_accents', null), lowercase: bool('do_lower_case', true) },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }, ...secondSep, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: sep, type_id: 1 } }],
      special_tokens: { [cls]: { id: cls, ids: [id(cls)], tokens: [cls] }, [sep]: { id: sep, ids: [id(sep)], tokens: [sep] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: specials.unk_token.content, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    specials,
  };
}

/** RobertaConverter: byte-level BPE over vocab.json and merges.txt. */
function byteBpeJson(dir: string, config: Json, special: Special): Json {
  const vocab = readJson(dir, 'vocab.json') as Record<string, number>;
  const merges = readUtf8(path.join(dir, 'merges.txt'))
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l, i) => l !== '' && !(i === 0 && l.startsWith('#version')))
    .map((l) => l.split(' '));
  const bad = merges.findIndex((m) => m.length !== 2);
  if (bad >= 0) throw new UnsupportedModelError(`${path.join(dir, 'merges.txt')}: merge ${bad + 1} is "${merges[bad].join(' ')}", not two tokens separated by one space; the file is damaged. Download it again.`);
  // RobertaTokenizer's mask token strips the space before it.
  const specials = { bos_token: special('bos_token', '<s>'), eos_token: special('eos_token', '</s>'), sep_token: special('sep_token', '</s>'), cls_token: special('cls_token', '<s>'), unk_token: special('unk_token', '<unk>'), pad_token: special('pad_token', '<pad>'), mask_token: special('mask_token', '<mask>', true) };
  const id = idIn(dir, 'vocab.json', vocab);
  const prefixSpace = config.add_prefix_space === true;
  return {
    ...header(specials, vocab),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: prefixSpace, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: [specials.sep_token.content, id(specials.sep_token.content)], cls: [specials.cls_token.content, id(specials.cls_token.content)], trim_offsets: true, add_prefix_space: prefixSpace },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
    specials,
  };
}

/** The Unigram SentencePiece model `file` of `dir`; other kinds, and normalisers transformers.js does not apply, refused. */
function readUnigram(dir: string, file: string): SentencePieceModel {
  const where = path.join(dir, file);
  const sp = readSentencePiece(where);
  const python = `Save the fast tokenizer with Python: AutoTokenizer.from_pretrained("${dir}").save_pretrained("${dir}") writes tokenizer.json.`;
  if (sp.modelType !== 1) throw new UnsupportedModelError(`${where} is a SentencePiece ${['', 'Unigram', 'BPE', 'word', 'character'][sp.modelType] ?? `type ${sp.modelType}`} model; ProbeScale builds tokenizer.json from Unigram models only. ${python}`);
  // transformers.js applies sentencepiece's default rule (nmt_nfkc) whatever the character map holds, so another rule would give other ids than Python.
  if (sp.charsmap.length > 0 && !['nmt_nfkc', 'nfkc'].includes(sp.normalizerName)) {
    throw new UnsupportedModelError(`${where} normalises text with the rule "${sp.normalizerName}"; transformers.js, which ProbeScale tokenises with, applies only sentencepiece's default (nmt_nfkc), so the ids would differ from Python's. ${python}`);
  }
  return sp;
}

/**
 * T5Converter, XLMRobertaConverter or CamembertConverter over a Unigram SentencePiece model, with
 * SpmConverter's normaliser (the model's character map, right strip, runs of spaces as one ▁) and
 * Metaspace; the vocabulary as `sentencePieceLayout` lays it out. DeBERTa: debertaSpmJson.
 */
function sentencePieceJson(dir: string, file: string, modelType: string, config: Json, special: Special): Json {
  const sp = readUnigram(dir, file);
  if (modelType === 'deberta-v2') return debertaSpmJson(dir, file, sp, config, special);
  const t5 = file === 'spiece.model';
  const layout = sentencePieceLayout(dir, file, sp, t5 ? 't5' : modelType === 'camembert' ? 'camembert' : 'xlm-roberta', config, special);
  const normalizers: Json[] = [{ type: 'Strip', strip_left: false, strip_right: true }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '▁' }];
  if (sp.charsmap.length > 0) normalizers.unshift({ type: 'Precompiled', precompiled_charsmap: sp.charsmap.toString('base64') });
  const [bos, eos] = [token('<s>'), token('</s>')];
  const template = t5
    ? { single: [text('A'), eos], pair: [text('A'), eos, text('B'), eos], named: ['</s>'] }
    : { single: [bos, text('A'), eos], pair: [bos, text('A'), eos, eos, text('B'), eos], named: ['<s>', '</s>'] };
  return unigramJson(layout, normalizers, metaspaceOf(config), template, metaspaceOf(config));
}

/** Template pieces: a special token, or text A or B, of token type `type`. */
const token = (t: string, type = 0) => ({ SpecialToken: { id: t, type_id: type } });
const text = (s: 'A' | 'B', type = 0) => ({ Sequence: { id: s, type_id: type } });

/** SpmConverter's Metaspace: ▁ prepended always, to the first word only (legacy false) or never (add_prefix_space false); words split. */
const metaspaceOf = (config: Json) => ({ type: 'Metaspace', replacement: '▁', prepend_scheme: config.add_prefix_space === false ? 'never' : config.legacy === false ? 'first' : 'always', split: true });

/** A Unigram tokenizer.json: the layout's vocabulary and added tokens, the normalisers and pre-tokenizer given, a template over the `named` special tokens, a Metaspace decoder. */
function unigramJson(layout: ReturnType<typeof sentencePieceLayout>, normalizers: Json[], preTokenizer: Json, template: { single: Json[]; pair: Json[]; named: string[] }, decoder: Json): Json {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: layout.added,
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: preTokenizer,
    post_processor: { type: 'TemplateProcessing', single: template.single, pair: template.pair, special_tokens: Object.fromEntries(template.named.map((t) => [t, { id: t, ids: [layout.id(t)], tokens: [t] }])) },
    decoder,
    model: { type: 'Unigram', unk_id: layout.unkId, vocab: layout.vocab, byte_fallback: false },
    specials: layout.specials,
  };
}

/**
 * DebertaV2Converter: the pieces as they are (DeBERTa-v3's spm.model starts [PAD] [CLS] [SEP]
 * [UNK]) and [MASK] after them where the model lacks it, as DebertaV2Tokenizer adds it; normaliser
 * (lower case where do_lower_case), strip both ends, the character map, runs of spaces as one
 * space; pre-tokenizer (punctuation isolated where split_by_punct) then Metaspace; "[CLS] A [SEP]"
 * and "[CLS] A [SEP] B [SEP]", B of type 1.
 */
function debertaSpmJson(dir: string, file: string, sp: SentencePieceModel, config: Json, special: Special): Json {
  const layout = sentencePieceLayout(dir, file, sp, 'deberta', config, special);
  const normalizers: Json[] = [
    ...(config.do_lower_case === true ? [{ type: 'Lowercase' }] : []),
    { type: 'Strip', strip_left: true, strip_right: true },
    ...(sp.charsmap.length > 0 ? [{ type: 'Precompiled', precompiled_charsmap: sp.charsmap.toString('base64') }] : []),
    { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
  ];
  const pretokenizers = [...(config.split_by_punct === true ? [{ type: 'Punctuation', behavior: 'Isolated' }] : []), metaspaceOf(config)];
  const [cls, sep] = [layout.specials.cls_token.content, layout.specials.sep_token.content];
  const template = { single: [token(cls), text('A'), token(sep)], pair: [token(cls), text('A'), token(sep), text('B', 1), token(sep, 1)], named: [cls, sep] };
  return unigramJson(layout, normalizers, { type: 'Sequence', pretokenizers }, template, metaspaceOf(config));
}

/**
 * How each converter lays out the vocabulary: the tokens it puts first, how many of sentencepiece's
 * own pieces it skips (their ids shift by head − skip), and what it appends (layoutTokens). T5: the
 * pieces, then <extra_id_N> from the highest N down. XLM-R and CamemBERT (fairseq's layouts)
 * replace sentencepiece's <unk> <s> </s> by their own tokens and end with <mask>. DeBERTa: the
 * pieces as they are.
 */
const LAYOUTS = {
  t5: { head: [] as [string, number][], skip: 0, unkId: undefined as number | undefined },
  'xlm-roberta': { head: [['<s>', 0], ['<pad>', 0], ['</s>', 0], ['<unk>', 0]] as [string, number][], skip: 3, unkId: 3 },
  camembert: { head: [['<s>NOTUSED', 0], ['<pad>', 0], ['</s>NOTUSED', 0], ['<unk>', 0], ['<unk>NOTUSED', -100]] as [string, number][], skip: 1, unkId: 3 },
  deberta: { head: [] as [string, number][], skip: 0, unkId: undefined as number | undefined },
};

/**
 * The vocabulary, special tokens and added tokens of a SentencePiece model as the converters lay
 * them out (LAYOUTS). Control and user-defined pieces are added tokens (the converters' rule), and
 * so are the special tokens, as the fast tokenizer adds them.
 */
function sentencePieceLayout(dir: string, file: string, sp: SentencePieceModel, kind: keyof typeof LAYOUTS, config: Json, special: Special) {
  const where = path.join(dir, file);
  const { head, skip } = LAYOUTS[kind];
  const unkId = LAYOUTS[kind].unkId ?? sp.unkId;
  if (sp.pieces.length < skip) throw new UnsupportedModelError(`${where} has ${sp.pieces.length} pieces, fewer than the ${skip} its layout replaces; the file is damaged. Download it again.`);
  if (sp.unkId < 0 || sp.unkId >= sp.pieces.length) throw new UnsupportedModelError(`${where} gives the unknown piece the id ${sp.unkId}, outside its ${sp.pieces.length} pieces; the file is damaged. Download it again.`);
  const { appended, specials } = layoutTokens(kind, sp, config, special);
  const vocab: [string, number][] = [...head, ...sp.pieces.slice(skip).map((p): [string, number] => [p.piece, p.score]), ...appended.map((t): [string, number] => [t, 0])];
  const ids: Record<string, number> = Object.create(null) as Record<string, number>;
  vocab.forEach(([t], i) => (ids[t] ??= i));
  const id = idIn(dir, file, ids);
  const plain = { single_word: false, lstrip: false, rstrip: false };
  const added = new Map<number, Json>();
  sp.pieces.forEach((p, i) => {
    const at = i - skip + head.length;
    if ((p.type === PieceType.Control || p.type === PieceType.UserDefined) && i >= skip) added.set(at, { id: at, content: p.piece, ...plain, normalized: false, special: p.type === PieceType.Control });
  });
  // The extra ids and CamemBERT's NOTUSED placeholders are additional special tokens of the fast tokenizer.
  const additional = kind === 't5' ? appended : head.map(([t]) => t).filter((t) => t.endsWith('NOTUSED'));
  for (const t of [...Object.values(specials), ...additional.map((content) => ({ content, ...plain }))]) {
    added.set(id(t.content), { id: id(t.content), content: t.content, single_word: t.single_word, lstrip: t.lstrip, rstrip: t.rstrip, normalized: false, special: true });
  }
  return { vocab, specials, id, unkId, added: [...added.values()].sort((a, b) => (a.id as number) - (b.id as number)) };
}

/**
 * A layout's special tokens and the tokens it appends after the pieces: T5's extra ids; XLM-R's and
 * CamemBERT's <mask>; DeBERTa's special tokens the model lacks (DeBERTa-v3: [MASK]), in the order
 * transformers adds them.
 */
function layoutTokens(kind: keyof typeof LAYOUTS, sp: SentencePieceModel, config: Json, special: Special): { appended: string[]; specials: Record<string, ReturnType<Special>> } {
  if (kind === 't5') {
    const extra = Number.isInteger(config.extra_ids) && (config.extra_ids as number) >= 0 ? (config.extra_ids as number) : 100;
    const specials = { eos_token: special('eos_token', '</s>'), unk_token: special('unk_token', '<unk>'), pad_token: special('pad_token', '<pad>') };
    return { appended: Array.from({ length: extra }, (_, i) => `<extra_id_${extra - 1 - i}>`), specials };
  }
  if (kind === 'deberta') {
    const specials = { bos_token: special('bos_token', '[CLS]'), eos_token: special('eos_token', '[SEP]'), unk_token: special('unk_token', '[UNK]'), sep_token: special('sep_token', '[SEP]'), pad_token: special('pad_token', '[PAD]'), cls_token: special('cls_token', '[CLS]'), mask_token: special('mask_token', '[MASK]') };
    const pieces = new Set(sp.pieces.map((p) => p.piece));
    return { appended: [...new Set(Object.values(specials).map((t) => t.content))].filter((t) => !pieces.has(t)), specials };
  }
  const specials = { bos_token: special('bos_token', '<s>'), eos_token: special('eos_token', '</s>'), sep_token: special('sep_token', '</s>'), cls_token: special('cls_token', '<s>'), unk_token: special('unk_token', '<unk>'), pad_token: special('pad_token', '<pad>'), mask_token: special('mask_token', '<mask>', true) };
  return { appended: ['<mask>'], specials };
}

/** The id of a special token in the vocabulary, which must hold it (the converters fail otherwise). */
function idIn(dir: string, file: string, vocab: Record<string, number>) {
  return (token: string): number => {
    const id = Object.prototype.hasOwnProperty.call(vocab, token) ? vocab[token] : undefined;
    if (typeof id !== 'number') throw new UnsupportedModelError(`${path.join(dir, file)} has no entry for the special token "${token}" that tokenizer_config.json or special_tokens_map.json names; the tokenizer files do not belong together. Download them again.`);
    return id;
  };
}

/** The fields every tokenizer.json starts with; each special token in the vocabulary is an added token, in id order. */
function header(specials: Record<string, ReturnType<Special>>, vocab: Record<string, number>): Json {
  const seen = new Map<string, ReturnType<Special>>();
  for (const t of Object.values(specials)) if (Object.prototype.hasOwnProperty.call(vocab, t.content) && !seen.has(t.content)) seen.set(t.content, t);
  const added = [...seen.values()].sort((a, b) => vocab[a.content] - vocab[b.content]).map((t) => ({ id: vocab[t.content], content: t.content, single_word: t.single_word, lstrip: t.lstrip, rstrip: t.rstrip, normalized: false, special: true }));
  return { version: '1.0', truncation: null, padding: null, added_tokens: added };
}

function readJson(dir: string, file: string): Json {
  const where = path.join(dir, file);
  let v: unknown;
  try {
    v = JSON.parse(readUtf8(where));
  } catch (e) {
    throw new UnsupportedModelError(`${where} is not valid JSON (${(e as Error).message}); download it again.`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UnsupportedModelError(`${where} is not a JSON object; download it again.`);
  return v as Json;
}
