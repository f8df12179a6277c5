import * as fs from 'node:fs';
import * as path from 'node:path';
import * as transformers from '@huggingface/transformers';
import { BadInputError, badValue, UnsupportedModelError } from '../errors';
import { readUtf8 } from '../util/textFile';
import { notAFile, somethingAt } from '../util/fileKind';
import { BuiltTokenizer, slowTokenizer } from './slowTokenizer';
import { restoreMetaspaceSplit } from './metaspaceSplit';

/** A right-padded batch ready for an ONNX encoder (`input_ids`, `attention_mask`, `token_type_ids`), row-major `[batchSize, seqLen]`. */
export interface EncodedBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  batchSize: number;
  seqLen: number;
}

/** A text a model reads: one text, or a pair (a task's `text_pair` rows), encoded as the probes read it. */
export type InputText = string | { text: string; textPair?: string };

/** `t` encoded with its token types: a pair with its separator and second-segment types. */
export function encodeInput(tokenizer: TextTokenizer, t: InputText): { ids: number[]; typeIds: number[] } {
  return typeof t === 'string' ? tokenizer.encodeWithTypes(t) : tokenizer.encodeWithTypes(t.text, t.textPair);
}

/** Tokenises like Python `transformers` with `truncation=True, max_length=maxLength` (strategy `longest_first`). */
export interface TextTokenizer {
  /** Token ids with the model's special tokens; content is truncated so the result (special tokens included) fits `maxLength`. */
  encode(text: string, textPair?: string): number[];
  /** Same as `encode`, plus token type ids (all zeros unless the model has a token-type embedding, e.g. BERT pairs). */
  encodeWithTypes(text: string, textPair?: string): { ids: number[]; typeIds: number[] };
  /** Right-pads `ids` (and `typeIds`, with 0) to the longest row; the attention mask is 1 on tokens and 0 on padding. */
  batch(ids: number[][], typeIds?: number[][]): EncodedBatch;
  /** Id used for padding (the tokenizer's pad token, else the config's `pad_token_id`, else 0). */
  padId: number;
  /** Effective maximum sequence length: the requested one, clamped to `modelLimit`. */
  maxLength: number;
  /** Longest sequence the model's position embeddings can hold, or null when the model has no such limit (e.g. T5) or no config.json. */
  modelLimit: number | null;
  /** Special tokens the model adds to one text (`pair` false) or a text pair (`pair` true). */
  numSpecialTokens(pair: boolean): number;
  /** Id of the unknown token (tokenizer_config's unk_token, else the model's), or null when it has none. */
  unkId: number | null;
  /** Ids of the special tokens (tokenizer.json's special added tokens and the template's), ascending. */
  specialIds?: number[];
  /** What is done to each text before tokenising (a prompt, lowercasing); {} for nothing. */
  preparation: TextPreparation;
}

/**
 * What sentence-transformers does to a text before its tokenizer, in its order: the prompt put
 * before the text (not its pair), then everything lowercased where the model's
 * sentence_bert_config.json says do_lower_case.
 */
export interface TextPreparation {
  prompt?: string;
  lowercase?: boolean;
}

/** `p` with only what does something: {} for no prompt and no lowercasing (so hashes of it stay as before). */
export function preparationOf(p: TextPreparation): TextPreparation {
  return { ...(p.prompt ? { prompt: p.prompt } : {}), ...(p.lowercase ? { lowercase: true } : {}) };
}

/** Options for {@link loadTokenizer}; with a TextPreparation's fields, done to every text. */
export interface LoadTokenizerOptions extends TextPreparation {
  /** Requested maximum length in tokens, special tokens included; clamped to the model's limit. */
  maxLength: number;
  /**
   * Rows of the model's word-embedding table. An id at or past it (a tokenizer.json from a larger
   * vocabulary) is refused, naming the token and the text, before ONNX Runtime's Gather fails on it.
   */
  embeddingRows?: number | null;
}

/** One slot of the post-processor's template: a fixed special token or the place where a text's tokens go. */
type Slot = { kind: 'special'; id: number; typeId: number } | { kind: 'A' | 'B'; typeId: number };

/** The parts of transformers.js' tokenizer this module relies on (`_tokenizer` is the @huggingface/tokenizers instance). */
interface InnerTokenizer {
  post_processor: null | {
    post_process(tokens: string[], pair: string[] | null, addSpecialTokens: boolean): { tokens: string[]; token_type_ids?: number[] };
  };
  token_to_id(token: string): number | undefined;
  id_to_token?(id: number): string | undefined;
  pre_tokenizer?: unknown;
}

/** The parts of transformers.js' inner tokenizer read here (not in its public types). */
function isInnerTokenizer(x: unknown): x is InnerTokenizer {
  return typeof x === 'object' && x !== null && 'post_processor' in x && 'token_to_id' in x && typeof x.token_to_id === 'function';
}

/**
 * Model types whose position ids start after `padding_idx` (fairseq heritage), so they hold
 * `max_position_embeddings - pad_token_id - 1` tokens (514 - 2 = 512 for roberta-base).
 */
const PADDING_OFFSET_MODELS = new Set(['roberta', 'xlm-roberta', 'xlm-roberta-xl', 'camembert', 'data2vec-text', 'longformer', 'mpnet']);

const MARK_A = '\u0000probescale-A\u0000';
/**
 * Raised whenever a change here can give other ids for the same text and tokenizer files, so that
 * feature-cache entries made with the old ids are not read (2: Metaspace split restored).
 */
export const TOKENIZATION_REVISION = 2;

const MARK_B = '\u0000probescale-B\u0000';

/**
 * Loads the tokenizer of a local model folder (`tokenizer.json` + `tokenizer_config.json`, as written by
 * Python's `save_pretrained`) without touching the network.
 *
 * Truncation follows Python `transformers` (the Rust `tokenizers` backend), not transformers.js: the text
 * is tokenised without special tokens, cut to `maxLength - numSpecialTokens`, and the special tokens are
 * added afterwards from the model's post-processor template, so a truncated RoBERTa input still ends
 * with `</s>`. Pairs are cut with `longest_first`.
 *
 * @param modelDir folder holding the tokenizer files; relative paths are resolved against the cwd.
 * @throws BadInputError when the folder or the files are missing, or `maxLength` leaves no room for text.
 * @throws UnsupportedModelError when the tokenizer's post-processor cannot be understood.
 */
export async function loadTokenizer(modelDir: string, opts: LoadTokenizerOptions): Promise<TextTokenizer> {
  const dir = path.resolve(modelDir);
  const built = requireTokenizerFolder(dir, opts.maxLength);
  const config = readConfig(dir);
  const { tok, inner, ppType } = await readTokenizer(dir, built);

  const single = templateOf(inner, false, dir, ppType);
  const pair = templateOf(inner, true, dir, ppType);
  const nSingle = specialCount(single);
  const nPair = specialCount(pair);
  const modelLimit = positionLimit(config);
  const maxLength = roomForText(dir, config, opts.maxLength, modelLimit, nSingle);

  const cfgPad = typeof config?.pad_token_id === 'number' ? config.pad_token_id : undefined;
  const padId = typeof tok.pad_token_id === 'number' ? tok.pad_token_id : (cfgPad ?? 0);
  const contentIds = (text: string): number[] => tok.encode(text, { add_special_tokens: false });
  const unkId = unknownTokenId(dir, tok._tokenizerJSON as TokenizerJson, inner, built);
  const specialIds = specialTokenIds(tok._tokenizerJSON as TokenizerJson, [...single, ...pair]);
  // Without a known table size, ids are still checked to be whole numbers from 0.
  const rows = opts.embeddingRows ?? Infinity;
  requireIdsInTable(dir, rows, [...single, ...pair].flatMap((s) => (s.kind === 'special' ? [s.id] : [])).concat(padId), 'its special tokens', inner);
  const preparation = preparationOf(opts);
  const usesTypes = usesTokenTypes(config, ppType);
  if (usesTypes) requireTypeIdsInTable(dir, config, { single, pair });
  const template = templateEncoder(contentIds, single, pair, maxLength, usesTypes);
  const encode = prepared(template, preparation);
  const encodeWithTypes: TextTokenizer['encodeWithTypes'] = (text, textPair) => {
    const r = encode(text, textPair);
    requireIdsInTable(dir, rows, r.ids, `the text "${preview(textPair === undefined ? text : `${text}" / "${textPair}`)}"`, inner);
    return r;
  };

  return {
    encode: (text, textPair) => encodeWithTypes(text, textPair).ids,
    encodeWithTypes,
    batch: (ids, typeIds) => padBatch(ids, typeIds, padId),
    padId,
    maxLength,
    modelLimit,
    numSpecialTokens: (isPair) => (isPair ? nPair : nSingle),
    unkId,
    specialIds,
    preparation,
  };
}

/** `encode` on texts prepared as sentence-transformers prepares them: prompt + text (cut as a whole), then lowercased. */
function prepared(encode: TextTokenizer['encodeWithTypes'], p: TextPreparation): TextTokenizer['encodeWithTypes'] {
  if (!p.prompt && !p.lowercase) return encode;
  const prompt = p.prompt ?? '';
  const lower = (t: string) => (p.lowercase ? t.toLowerCase() : t);
  return (text, textPair) => encode(lower(prompt + text), textPair === undefined ? undefined : lower(textPair));
}

/**
 * Refuses an id past the model's word-embedding table: ONNX Runtime would stop at its Gather with
 * "indices element out of data bounds", which says nothing of the tokenizer files that caused it.
 */
function requireIdsInTable(dir: string, rows: number, ids: readonly number[], what: string, inner: InnerTokenizer): void {
  let bad = -1;
  for (const id of ids) {
    // An id that is not a whole number from 0 (a damaged tokenizer.json's "id": 0.5) would fail later, in BigInt, unexplained.
    if (!Number.isSafeInteger(id) || id < 0) {
      throw new UnsupportedModelError(`${path.join(dir, 'tokenizer.json')} gives ${what} the id ${id}, which is not a token id (a whole number from 0): the file is damaged. Save the tokenizer again with Python: AutoTokenizer.from_pretrained(...).save_pretrained("${dir}").`);
    }
    if (id >= rows && id > bad) bad = id;
  }
  if (bad < 0) return;
  const token = inner.id_to_token?.(bad);
  throw new UnsupportedModelError(
    `${path.join(dir, 'tokenizer.json')} gives ${what} the token ${token === undefined ? '' : `${JSON.stringify(token)} `}with id ${bad}, but the model's word-embedding table has ${rows} rows (ids 0 to ${rows - 1}): the tokenizer files and the model do not belong together. Save the tokenizer that came with this model beside it (AutoTokenizer.from_pretrained(<the model's name>).save_pretrained(...)).`,
  );
}

/** The first 60 characters of a text, for a message. */
export function preview(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/**
 * Checks the option and that the folder holds both tokenizer files, before anything is read; returns
 * them built from a slow tokenizer's files where the folder has no tokenizer.json (slowTokenizer.ts).
 */
function requireTokenizerFolder(dir: string, maxLength: number): BuiltTokenizer | null {
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw badValue('maxLength', maxLength, 'give a positive integer, e.g. 128.');
  }
  if (!isDirectory(dir)) {
    throw new BadInputError(`model folder not found: ${dir}. Pass the folder that holds tokenizer.json and config.json.`);
  }
  const built = slowTokenizer(dir, readConfig(dir)?.model_type);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    const file = path.join(dir, f);
    if (built?.built.includes(f)) continue;
    if (!somethingAt(file)) {
      throw new BadInputError(`${file} is missing. Save the tokenizer with Python: AutoTokenizer.from_pretrained(...).save_pretrained("${dir}").`);
    }
    const bad = notAFile(file);
    if (bad) throw new BadInputError(`${file} ${bad}.`);
  }
  return built;
}

type HfTokenizer = InstanceType<typeof transformers.PreTrainedTokenizer>;

/**
 * transformers.js' tokenizer of `dir`, its inner tokenizer and the type of its post-processor.
 *
 * Built as AutoTokenizer.from_pretrained builds it (the class `tokenizer_class` names, from the two
 * JSON files), but from files read here: its own loader wraps each file in a Response-like object
 * whose `new Headers()` loads Node's fetch, and with it a WebAssembly HTTP parser whose memory
 * reserves 4 GiB of address space. Under `ulimit -v` that reservation left ONNX Runtime too
 * little room at some limits (exactly 6000000 KiB failed on roberta-mini where 5800000 ran).
 */
async function readTokenizer(dir: string, built: BuiltTokenizer | null): Promise<{ tok: HfTokenizer; inner: InnerTokenizer; ppType: string }> {
  let tok: HfTokenizer;
  try {
    const json = (file: string): Record<string, unknown> => JSON.parse(readUtf8(path.join(dir, file))) as Record<string, unknown>;
    const tokenizerJSON = built?.tokenizer ?? json('tokenizer.json');
    const tokenizerConfig = built?.config ?? json('tokenizer_config.json');
    const named = typeof tokenizerConfig.tokenizer_class === 'string' ? tokenizerConfig.tokenizer_class.replace(/Fast$/, '') : 'PreTrainedTokenizer';
    const Class = tokenizerClass(named);
    tok = new Class(tokenizerJSON, tokenizerConfig);
  } catch (e) {
    throw new UnsupportedModelError(`cannot load the tokenizer in ${dir}: ${(e as Error).message}. Its tokenizer.json or tokenizer_config.json may be damaged or cut short: save the tokenizer again with Python: AutoTokenizer.from_pretrained(...).save_pretrained("${dir}").`);
  }
  const inner: unknown = tok._tokenizer;
  if (!isInnerTokenizer(inner)) throw new UnsupportedModelError(`cannot load the tokenizer in ${dir}: this version of transformers.js keeps no post-processor to read the special tokens from.`);
  restoreMetaspaceSplit(inner.pre_tokenizer, (tok._tokenizerJSON as { pre_tokenizer?: unknown } | undefined)?.pre_tokenizer);
  // The type from tokenizer.json, not constructor.name, which a minifying bundler may rename.
  const ppType = String((tok._tokenizerJSON as { post_processor?: { type?: unknown } } | undefined)?.post_processor?.type ?? 'none');
  return { tok, inner, ppType };
}

/** transformers.js' tokenizer class of that name (as AutoTokenizer picks it), else its base class. */
function tokenizerClass(name: string): typeof transformers.PreTrainedTokenizer {
  const found: unknown = (transformers as Record<string, unknown>)[name];
  return typeof found === 'function' && (found === transformers.PreTrainedTokenizer || found.prototype instanceof transformers.PreTrainedTokenizer) ? (found as typeof transformers.PreTrainedTokenizer) : transformers.PreTrainedTokenizer;
}

function specialCount(template: Slot[]): number {
  return template.filter((s) => s.kind === 'special').length;
}

/** The requested maximum length clamped to the model's limit, once it is sure to leave room for text. */
function roomForText(dir: string, config: Record<string, unknown> | null, requested: number, modelLimit: number | null, nSingle: number): number {
  const maxLength = modelLimit === null ? requested : Math.min(requested, modelLimit);
  if (modelLimit !== null && modelLimit <= nSingle) {
    // The limit comes from config.json, not from the option: naming the option would send the user to the wrong fix.
    throw new BadInputError(
      `${path.join(dir, 'config.json')}: max_position_embeddings ${String(config?.max_position_embeddings)}${modelLimit !== config?.max_position_embeddings ? ` less pad_token_id ${String(config?.pad_token_id)} + 1` : ''} leaves ${modelLimit} positions, no room for text after the model's ${nSingle} special tokens. Fix config.json (RoBERTa uses pad_token_id 1) or re-download it.`,
    );
  }
  if (maxLength <= nSingle) {
    throw new BadInputError(
      `{{maxLength}} ${maxLength} leaves no room for text: the model adds ${nSingle} special tokens; raise it.`,
      { param: 'maxLength', value: String(maxLength) },
    );
  }
  return maxLength;
}

/**
 * Only a token-type embedding with 2+ rows reads type ids (BERT); DistilBERT and T5 have none and
 * RoBERTa has 1 row. Without config.json, trust the template, except that Python's RobertaProcessing
 * sets every type id to 0 where transformers.js gives the pair 1s.
 */
function usesTokenTypes(config: Record<string, unknown> | null, ppType: string): boolean {
  return config !== null
    ? typeof config.type_vocab_size === 'number' && config.type_vocab_size > 1
    : ppType !== 'RobertaProcessing';
}

/**
 * The template's type ids must be rows of the token-type table (type_vocab_size): one past it makes
 * ONNX Runtime's Gather fail on the first batch, deep in a run, with no word of the tokenizer.
 */
function requireTypeIdsInTable(dir: string, config: Record<string, unknown> | null, templates: Record<'single' | 'pair', Slot[]>): void {
  const rows = typeof config?.type_vocab_size === 'number' ? config.type_vocab_size : Infinity;
  for (const [name, slots] of Object.entries(templates)) {
    const bad = slots.find((s) => !Number.isInteger(s.typeId) || s.typeId < 0 || s.typeId >= rows);
    if (bad) {
      throw new UnsupportedModelError(`the post-processor of ${dir}/tokenizer.json gives type id ${bad.typeId} in its "${name}" template, but config.json's type_vocab_size is ${rows}: the model has no token-type row for it. Fix the template's type_id (0 or 1 for BERT-style models), or save the tokenizer again with Python: AutoTokenizer.from_pretrained(...).save_pretrained("${dir}").`);
    }
  }
}

/** `encodeWithTypes`: the content cut to fit `maxLength` (a pair by `longest_first`), then laid into the template. */
function templateEncoder(contentIds: (text: string) => number[], single: Slot[], pair: Slot[], maxLength: number, usesTypes: boolean): TextTokenizer['encodeWithTypes'] {
  const nSingle = specialCount(single);
  const nPair = specialCount(pair);
  return (text, textPair) => {
    const a = contentIds(text);
    if (textPair === undefined) return fillTemplate(single, a.slice(0, maxLength - nSingle), [], usesTypes);
    const budget = maxLength - nPair;
    if (budget < 0) {
      throw badValue('maxLength', maxLength, `it is below the ${nPair} special tokens of a text pair; raise it.`);
    }
    const b = contentIds(textPair);
    const [n1, n2] = truncateLongestFirst(a.length, b.length, budget);
    return fillTemplate(pair, a.slice(0, n1), b.slice(0, n2), usesTypes);
  };
}

/** The template's special tokens with the texts `a` and `b` in their slots; type ids all 0 unless `usesTypes`. */
function fillTemplate(layout: Slot[], a: number[], b: number[], usesTypes: boolean): { ids: number[]; typeIds: number[] } {
  const ids: number[] = [];
  const typeIds: number[] = [];
  for (const slot of layout) {
    const part = slot.kind === 'special' ? [slot.id] : slot.kind === 'A' ? a : b;
    for (const id of part) {
      ids.push(id);
      typeIds.push(usesTypes ? slot.typeId : 0);
    }
  }
  return { ids, typeIds };
}

interface TokenizerJson {
  model?: { unk_token?: string | null; unk_id?: number | null };
  added_tokens?: { id?: unknown; special?: unknown }[];
}

function specialTokenIds(json: TokenizerJson | undefined, slots: Slot[]): number[] {
  const ids = new Set<number>();
  for (const t of Array.isArray(json?.added_tokens) ? json.added_tokens : []) if (t?.special === true && typeof t.id === 'number') ids.add(t.id);
  for (const s of slots) if (s.kind === 'special') ids.add(s.id);
  return [...ids].sort((a, b) => a - b);
}

/**
 * The unknown token's id. Byte-level BPE models never emit it, so tokenizer.json's model often
 * has none; tokenizer_config.json still names one (RoBERTa's <unk>), which is what to use.
 */
function unknownTokenId(dir: string, json: TokenizerJson | undefined, inner: InnerTokenizer, built: BuiltTokenizer | null): number | null {
  let name: unknown = null;
  try {
    name = ((built?.config ?? JSON.parse(readUtf8(path.join(dir, 'tokenizer_config.json')))) as { unk_token?: unknown }).unk_token;
  } catch {
    name = null;
  }
  if (name !== null && typeof name === 'object') name = (name as { content?: unknown }).content;
  if (typeof name !== 'string') name = json?.model?.unk_token ?? null;
  if (typeof name === 'string') {
    const id = inner.token_to_id(name);
    if (typeof id === 'number') return id;
  }
  return typeof json?.model?.unk_id === 'number' ? json.model.unk_id : null;
}

/**
 * Content lengths after Python's `longest_first` truncation of a pair to `budget` tokens (special tokens
 * already taken off). Mirrors `truncate_encodings` in huggingface/tokenizers: the shorter text is kept
 * whole when it fits in half the budget; otherwise both get half, and the odd token goes to the longer
 * text (to the second one on a tie).
 */
export function truncateLongestFirst(len1: number, len2: number, budget: number): [number, number] {
  if (budget <= 0) return [0, 0];
  if (len1 + len2 <= budget) return [len1, len2];
  const swap = len1 > len2;
  let n1 = swap ? len2 : len1;
  let n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}

/**
 * Longest input the model's position embeddings allow, from config.json: `max_position_embeddings`, minus
 * `pad_token_id + 1` for RoBERTa-style models; null when the config has no such field.
 */
export function positionLimit(config: Record<string, unknown> | null): number | null {
  if (config?.model_type === 'nomic_bert') return nomicPositionLimit(config);
  const mpe = config?.max_position_embeddings;
  if (typeof mpe !== 'number' || !Number.isFinite(mpe) || mpe <= 0) return null;
  const modelType = typeof config?.model_type === 'string' ? config.model_type : '';
  if (PADDING_OFFSET_MODELS.has(modelType)) {
    const pad = typeof config?.pad_token_id === 'number' ? config.pad_token_id : 1;
    return mpe - pad - 1;
  }
  return mpe;
}

/**
 * NomicBERT's rotary attention has no table to run out of; n_positions is its stated limit. Where
 * rotary_scaling_factor is set, Nomic's code rescales the rotary base past max_trained_positions
 * (dynamic NTK), which the graph ProbeScale builds does not: there the limit is max_trained_positions.
 */
function nomicPositionLimit(config: Record<string, unknown>): number | null {
  const key = config.rotary_scaling_factor != null ? 'max_trained_positions' : 'n_positions';
  const n = config[key] ?? (key === 'max_trained_positions' ? 2048 : undefined);
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null;
}

function padBatch(ids: number[][], typeIds: number[][] | undefined, padId: number): EncodedBatch {
  if (typeIds !== undefined && typeIds.length !== ids.length) {
    throw new BadInputError(`batch: ${ids.length} id rows but ${typeIds.length} type-id rows.`);
  }
  const batchSize = ids.length;
  let seqLen = 0;
  for (const row of ids) seqLen = Math.max(seqLen, row.length);
  const inputIds = new BigInt64Array(batchSize * seqLen).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(batchSize * seqLen);
  const tokenTypeIds = new BigInt64Array(batchSize * seqLen);
  for (let r = 0; r < batchSize; r++) {
    const row = ids[r];
    const types = typeIds?.[r];
    if (types !== undefined && types.length !== row.length) {
      throw new BadInputError(`batch: row ${r} has ${row.length} ids but ${types.length} type ids.`);
    }
    const base = r * seqLen;
    for (let i = 0; i < row.length; i++) {
      inputIds[base + i] = BigInt(row[i]);
      attentionMask[base + i] = 1n;
      if (types !== undefined) tokenTypeIds[base + i] = BigInt(types[i]);
    }
  }
  return { inputIds, attentionMask, tokenTypeIds, batchSize, seqLen };
}

/** Runs the post-processor on placeholder tokens to learn where it puts special tokens around the text(s). */
function templateOf(inner: InnerTokenizer, isPair: boolean, dir: string, ppType: string): Slot[] {
  const pp = inner.post_processor;
  if (pp === null) return isPair ? [{ kind: 'A', typeId: 0 }, { kind: 'B', typeId: 1 }] : [{ kind: 'A', typeId: 0 }];
  let out: ReturnType<NonNullable<InnerTokenizer['post_processor']>['post_process']>;
  try {
    out = pp.post_process([MARK_A], isPair ? [MARK_B] : null, true);
  } catch (e) {
    // transformers.js reads the template as it finds it: `"single": true` fails inside it as a TypeError.
    throw new UnsupportedModelError(
      `cannot follow the post-processor (${ppType}) of ${dir}/tokenizer.json: it fails on ${isPair ? 'a text pair' : 'a text'} (${(e as Error).message}), so its ${isPair ? '"pair"' : '"single"'} template is damaged. Save the tokenizer again with Python: AutoTokenizer.from_pretrained(...).save_pretrained("${dir}").`,
    );
  }
  const slots: Slot[] = out.tokens.map((t, i) => {
    const typeId = out.token_type_ids?.[i] ?? 0;
    if (t === MARK_A) return { kind: 'A', typeId };
    if (t === MARK_B) return { kind: 'B', typeId };
    const id = inner.token_to_id(t);
    if (id === undefined) {
      throw new UnsupportedModelError(`the post-processor of ${dir}/tokenizer.json adds "${t}", which is not in the vocabulary.`);
    }
    return { kind: 'special', id, typeId };
  });
  const order = slots.filter((s) => s.kind !== 'special').map((s) => s.kind);
  const expected = isPair ? ['A', 'B'] : ['A'];
  if (order.join() !== expected.join()) {
    throw new UnsupportedModelError(
      `cannot follow the post-processor (${ppType}) of ${dir}/tokenizer.json: it places the text(s) as [${order.join(', ')}].`,
    );
  }
  return slots;
}

function readConfig(dir: string): Record<string, unknown> | null {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return null;
  try {
    const parsed: unknown = JSON.parse(readUtf8(file));
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
  } catch (e) {
    throw new UnsupportedModelError(`${file} is not valid JSON (${(e as Error).message}). Re-save the model with save_pretrained.`);
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
