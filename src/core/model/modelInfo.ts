/**
 * A model folder the way users have them (transformers.js / Optimum layout): config.json,
 * tokenizer files, onnx/model.onnx (T5: onnx/encoder_model.onnx), quantized variants.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, badValue, OnnxParseError, UnsupportedModelError } from '../errors';
import { BlockStructure, ENCODER_OUTPUT, findBlocks, producerIndex, sideInputWeights } from '../onnx/blocks';
import { DataType, OnnxModel } from '../onnx/model';
import { GraphFrom } from './encoderGraph';
import { GraphSource, buildGraphFile } from './graphSource';
import { PYTORCH_FILE, hasSafetensors, hasWeights } from './weights';
import { checkExternalData, checkValuesDefined } from '../onnx/integrity';
import { findWordEmbedding, wordEmbeddingWidth } from '../onnx/vocab';
import type { ParamCounts } from '../../shared/params';
import { LAYER_COUNT_KEYS } from './layerCount';
import { notAFile, orAdvice, somethingAt, unreadableFolder } from '../util/fileKind';
import { checkExportMatchesWeights } from './agreement';
import { repeatedKeys, type RepeatedKey } from '../util/jsonKeys';
import { shortName } from '../../shared/bounded';
import { readSentenceTransformers } from './sentenceTransformers';
import { readUtf8 } from '../util/textFile';

export { parseGraphSource } from './graphSource';

export interface ModelInfo {
  dir: string;
  onnxFile: string;
  /** Where the graph came from: the folder's ONNX export, or built from its safetensors weights. */
  graphFrom: GraphFrom;
  /** config.json model_type (bert, roberta, distilbert, t5, ...). */
  architecture: string;
  numLayers: number;
  hiddenSize: number;
  quantized: boolean;
  config: Record<string, unknown>;
  params: ParamCounts;
  blocks: BlockStructure;
  model: OnnxModel;
}

export interface OpenModelOptions {
  /** An explicit ONNX file, absolute or relative to the model folder. */
  onnx?: string;
  /** Use the dynamic-quantized variant (model_quantized.onnx, else model_int8/uint8.onnx); `dtype: 'q8'` names exactly model_quantized.onnx. */
  quantized?: boolean;
  /** Which variant file to load, named as transformers.js names them (`dtype` option). */
  dtype?: Dtype;
  /** Graph source: the ONNX export, or the safetensors weights; default: ONNX when the folder has it. */
  from?: GraphSource;
  /** Where graphs built from safetensors are kept (default: defaultGraphCacheDir()). */
  graphCacheDir?: string;
  /** Where the job's warnings go (config.json giving a key twice with different values); a job passes its context's log. */
  log?: (level: 'warn', message: string) => void;
}

/** The options a job's settings give openModel (every job opens its model the same way). */
export function openOptionsOf(s: Pick<OpenModelOptions, 'onnx' | 'quantized' | 'dtype' | 'from'>): OpenModelOptions {
  return { onnx: s.onnx, quantized: s.quantized, dtype: s.dtype, from: s.from };
}

/**
 * File-name suffix of each dtype, as transformers.js maps them (DEFAULT_DTYPE_SUFFIX_MAPPING in
 * @huggingface/transformers utils/dtypes.js; a test checks the two agree). Copied because that
 * package is ESM-only and resolving a file must stay synchronous.
 */
export const DTYPE_SUFFIX = { fp32: '', fp16: '_fp16', q8: '_quantized', int8: '_int8', uint8: '_uint8', q4: '_q4', q4f16: '_q4f16', bnb4: '_bnb4' } as const;
export type Dtype = keyof typeof DTYPE_SUFFIX;
export const DTYPES = Object.keys(DTYPE_SUFFIX) as Dtype[];
/** Variants whose graphs the probe and pruning edits do not handle yet, and why. */
const REFUSED: Partial<Record<Dtype, string>> = {
  fp16: 'it computes in float16, and the probe graph pools in float32',
  q4: 'its 4-bit MatMulNBits weights are packed per block of columns, which pruning and the parameter count do not read yet',
  q4f16: 'it combines 4-bit MatMulNBits weights with float16 compute',
  bnb4: 'its 4-bit MatMulBnb4 weights are packed, which pruning and the parameter count do not read yet',
};

export function parseDtype(v: string): Dtype {
  if ((DTYPES as string[]).includes(v)) return v as Dtype;
  throw badValue('dtype', v, `unknown; use one of ${DTYPES.join(', ')} (the names transformers.js uses).`);
}

const SUPPORTED = ['bert', 'roberta', 'distilbert', 't5', 'electra', 'xlm-roberta', 'camembert', 'mt5', 'umt5', 'mpnet', 'modernbert', 'deberta-v2', 'nomic_bert'];

export function readConfig(dir: string): Record<string, unknown> {
  return readConfigFile(dir).config;
}

/**
 * config.json of `dir`, and a warning for each key it gives twice with different values. Python's
 * json (so transformers) keeps the last value, as JSON.parse does: refusing would reject folders
 * transformers loads, so the last value is used and the warning says so.
 */
export function readConfigFile(dir: string): { config: Record<string, unknown>; warnings: string[] } {
  const file = path.join(dir, 'config.json');
  // First: a folder this user may not enter (or one above it) does not "exist" for existsSync.
  const locked = unreadableFolder(dir);
  if (locked) throw new BadInputError(`the model folder ${dir} ${locked}.`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new BadInputError(`model folder not found: ${dir}. Pass a folder holding config.json, tokenizer files and onnx/model.onnx or model.safetensors.`);
  if (!somethingAt(file)) {
    // An older sentence-transformers folder keeps its transformer in a module folder (0_Transformer).
    const inner = readSentenceTransformers(dir)?.transformerPath;
    if (inner) throw new BadInputError(`${dir} has no config.json: it is a sentence-transformers folder whose transformer is in ${path.join(dir, inner)}; pass that folder (with {{pooling}} as its Pooling module embeds); the pruned folder then holds the transformer alone, to put in place of ${inner}.`);
    throw new BadInputError(`${dir} has no config.json; pass a Hugging Face style model folder (config.json, tokenizer.json, onnx/model.onnx or model.safetensors).`);
  }
  const bad = notAFile(file);
  if (bad) throw new BadInputError(`${file} ${orAdvice(bad, "; put the model's config.json there")}.`);
  let json: unknown;
  let text: string;
  try {
    text = readUtf8(file);
    json = JSON.parse(text);
  } catch (e) {
    throw new BadInputError(`${file} is not valid JSON (${(e as Error).message}); fix or re-export the model folder.`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BadInputError(`${file} holds ${json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`}, not a JSON object of settings such as {"model_type": "bert", ...}; fix or re-export the model folder.`);
  }
  return { config: json as Record<string, unknown>, warnings: repeatedKeys(text, json).flatMap((r) => repeatedKeyWarning(file, r)) };
}

/** The warning for a key given with different values (none when every value is the same). */
function repeatedKeyWarning(file: string, r: RepeatedKey): string[] {
  if (new Set(r.values.map(sortedJson)).size === 1) return [];
  const shown = r.values.map((v) => shortName(JSON.stringify(v), 80));
  const name = r.at === '' ? `"${r.key}"` : `"${r.at}.${r.key}"`;
  return [`${file} gives ${name} ${r.values.length === 2 ? 'twice' : `${r.values.length} times`}: ${shown.join(', then ')}; the last (${shown[shown.length - 1]}) is used, as transformers reads it. Remove the other${r.values.length === 2 ? '' : 's'} from config.json if the last is not what you meant.`];
}

/** The file name transformers.js loads an encoder graph from, without `.onnx` and variant suffix: T5's encoder is `encoder_model`. */
export function graphBase(architecture: string): 'model' | 'encoder_model' {
  return architecture.includes('t5') ? 'encoder_model' : 'model';
}

/** JSON text with object keys sorted, so that two objects with the same entries in another order read as the same value. */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function resolveOnnxFile(dir: string, config: Record<string, unknown>, opts: OpenModelOptions = {}): string {
  if (opts.onnx) {
    // Both name the graph file; the dtype was dropped unsaid, and the report recorded the file given.
    if (opts.dtype || opts.quantized) throw badValue('onnx', opts.onnx, `it names the graph file, and ${opts.dtype ? `{{dtype}} ${opts.dtype}` : '{{quantized}}'} picks one too; pass one of them.`);
    const f = path.resolve(dir, opts.onnx);
    if (!fs.existsSync(f)) throw badValue('onnx', opts.onnx, `no such file (looked for ${f}).`);
    if (fs.statSync(f).isDirectory()) throw badValue('onnx', opts.onnx, `${f} is a folder; name the graph file in it, e.g. {{onnx}} ${path.join(opts.onnx, 'model.onnx')}.`);
    const bad = notAFile(f);
    if (bad) throw new OnnxParseError(`${f} ${bad}.`);
    return f;
  }
  const base = graphBase(String(config.model_type ?? ''));
  const dtype = opts.dtype ?? (opts.quantized ? undefined : 'fp32');
  const reason = dtype ? REFUSED[dtype] : undefined;
  if (dtype && reason) throw new UnsupportedModelError(`{{dtype}} ${dtype} (${base}${DTYPE_SUFFIX[dtype]}.onnx): not supported, ${reason}. Use {{dtype}} fp32, q8, int8 or uint8.`);
  const names = dtype ? [`${base}${DTYPE_SUFFIX[dtype]}.onnx`] : [`${base}_quantized.onnx`, `${base}_int8.onnx`, `${base}_uint8.onnx`];
  for (const n of names) {
    for (const f of [path.join(dir, 'onnx', n), path.join(dir, n)]) {
      if (!somethingAt(f)) continue;
      const bad = notAFile(f);
      // Not a BadInputError: that would make resolveEncoderGraph fall back to the safetensors as if there were no export.
      if (bad) throw new OnnxParseError(`${f} ${orAdvice(bad, `; put the model's ONNX export there, or remove it${hasWeights(dir) ? ` to build the graph from the ${hasSafetensors(dir) ? 'safetensors' : PYTORCH_FILE} weights` : ''}`)}.`);
      return f;
    }
  }
  const present = DTYPES.filter((d) => fs.existsSync(path.join(dir, 'onnx', `${base}${DTYPE_SUFFIX[d]}.onnx`)));
  const which = present.length ? ` It has: ${present.map((d) => `{{dtype}} ${d} (${base}${DTYPE_SUFFIX[d]}.onnx)`).join(', ')}.` : ' Export the model to ONNX (e.g. optimum-cli export onnx) or name its graph file in {{onnx}}.';
  throw new BadInputError(`${dir}: no ${names[0]} in onnx/ (or the folder itself).${which}`);
}

/**
 * The graph to run for a model folder: its ONNX export when it has one (or `from: 'onnx'`, or a
 * variant is named), else a graph built from config.json + safetensors (or `from: 'safetensors'`),
 * written once to the graph cache and referencing the weights in place.
 */
export function resolveEncoderGraph(dir: string, config: Record<string, unknown>, opts: OpenModelOptions = {}): { file: string; from: GraphFrom } {
  const from = opts.from ?? 'auto';
  const variant = opts.onnx ? 'onnx' : opts.quantized ? 'quantized' : opts.dtype ? 'dtype' : null;
  if (from === 'safetensors') {
    if (variant) throw badValue('from', 'safetensors', `cannot be combined with {{${variant}}}: a graph built from safetensors is the float32 model.`);
    return { file: buildGraphFile(dir, config, opts.graphCacheDir), from: 'safetensors' };
  }
  try {
    return { file: resolveOnnxFile(dir, config, opts), from: 'onnx' };
  } catch (e) {
    if (!(e instanceof BadInputError) || from === 'onnx' || variant) throw e;
    if (!hasWeights(dir)) throw e;
    return { file: buildGraphFile(dir, config, opts.graphCacheDir), from: 'safetensors' };
  }
}

/** Counts weights per block by who reads them; integer shape constants and scalars are not parameters; a task head's are not counted (the encoder leaves it out). */
export function countParams(model: OnnxModel, blocks: BlockStructure): ParamCounts {
  const weightTypes = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.UINT8, DataType.INT8, 16 /* BFLOAT16 */]);
  const producer = producerIndex(model);
  const encoder = blocks.headOutputs.length ? ancestors(model, producer, blocks.finalOutput) : null;
  const readers = new Map<string, Set<number>>();
  model.nodes.forEach((n, i) => {
    if (encoder && !encoder.has(i)) return;
    for (const t of n.inputs) {
      if (!model.initializers.has(t)) continue;
      let s = readers.get(t);
      if (!s) readers.set(t, (s = new Set()));
      s.add(blocks.blockOf[i]);
    }
  });
  // Embedding-side nodes: ancestors of the hidden state entering block 0.
  const embeddingNodes = ancestors(model, producer, blocks.embeddingOutput);
  const embeddingInits = new Set<string>();
  embeddingNodes.forEach((i) => model.nodes[i].inputs.forEach((t) => model.initializers.has(t) && embeddingInits.add(t)));

  const perBlock = new Array<number>(blocks.numBlocks).fill(0);
  let embeddings = 0;
  let other = 0;
  // Counted once as shared: a model keeping no block at all has these few fewer (T5: buckets × heads).
  const shared = sideInputWeights(model, blocks);
  for (const [name, t] of model.initializers) {
    const size = model.initializerSize(name);
    if (!weightTypes.has(t.dataType) || size <= 1) continue;
    const bs = readers.get(name);
    if (!bs) continue;
    if (bs.size === 1 && [...bs][0] >= 0 && !shared.has(name)) perBlock[[...bs][0]] += size;
    else if (embeddingInits.has(name)) embeddings += size;
    else other += size;
  }
  const total = embeddings + other + perBlock.reduce((a, b) => a + b, 0);
  return { total, embeddings, perBlock, other };
}

/** Indices of the nodes `tensor` is computed from (its producer's, transitively). */
function ancestors(model: OnnxModel, producer: Map<string, number>, tensor: string): Set<number> {
  const found = new Set<number>();
  const stack = [tensor];
  while (stack.length) {
    const p = producer.get(stack.pop()!);
    if (p === undefined || found.has(p)) continue;
    found.add(p);
    stack.push(...model.nodes[p].inputs);
  }
  return found;
}

/** The first of `keys` config.json sets, which must be an integer ≥ `min`; undefined when none is set. */
function configCount(dir: string, config: Record<string, unknown>, keys: string[], min = 1): number | undefined {
  const key = keys.find((k) => config[k] !== undefined && config[k] !== null);
  if (key === undefined) return undefined;
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new BadInputError(`${path.join(dir, 'config.json')}: ${key} is ${JSON.stringify(v)}; it must be an integer ≥ ${min}. Fix config.json or re-export the model.`);
  return v;
}

/** A classifier folder (optimize's classifiers/<task>/) ends in logits, not hidden states: name the encoder to use instead. */
function refuseClassifier(dir: string, config: Record<string, unknown>, model: OnnxModel): void {
  if (!model.outputs.some((o) => o.name === 'logits')) return;
  const task = (config.probescale as { task?: unknown } | undefined)?.task;
  const encoder = typeof task === 'string' ? ` The pruned encoder it was made from is ${path.resolve(dir, '..', '..')}.` : '';
  model.close();
  throw new BadInputError(`${dir} is a text classifier (its graph outputs logits${typeof task === 'string' ? `, task '${task}'` : ''}); probe, eval and prune need an encoder folder whose graph outputs hidden states.${encoder} To score the classifier itself, load it with transformers.js pipeline('text-classification').`);
}

/**
 * A graph that ends in a task head (a fine-tuned classifier exported with its head: logits) is
 * probed and pruned as the encoder under the head, which every edited graph leaves out; said once
 * as a warning, since a committed folder then holds an encoder, not the classifier.
 */
function acceptTaskHead(dir: string, onnxFile: string, config: Record<string, unknown>, model: OnnxModel, blocks: BlockStructure, log: OpenModelOptions['log']): void {
  const outs = blocks.headOutputs.join(', ');
  if (String(config.model_type).includes('t5')) {
    model.close();
    throw new UnsupportedModelError(`${onnxFile} ends in a task head (outputs ${outs}); ProbeScale takes the encoder from under a head for BERT-style models only. Export the T5 encoder alone (optimum-cli export onnx --task feature-extraction).`);
  }
  const arch = Array.isArray(config.architectures) && typeof config.architectures[0] === 'string' ? ` (${config.architectures[0]})` : '';
  log?.('warn', `${dir}: its graph ends in a task head${arch} with outputs ${outs}; ProbeScale probes and prunes the encoder under it, and a pruned or committed folder holds that encoder (output ${ENCODER_OUTPUT}) without the head. Your tasks get their own classifiers.`);
}

/** Width of the float word-embedding table read with input_ids; null when the graph has none (quantized, trimmed). */
function graphHiddenSize(model: OnnxModel): number | null {
  try {
    const w = findWordEmbedding(model);
    return w.weight.dataType === DataType.FLOAT || w.weight.dataType === DataType.FLOAT16 ? wordEmbeddingWidth(model, w) : null;
  } catch {
    return null;
  }
}

/** Rows of the word-embedding table input_ids index directly; null when no table is read that way (a vocabulary-trimmed graph remaps the ids first). */
export function graphVocabRows(model: OnnxModel): number | null {
  try {
    return findWordEmbedding(model).vocab;
  } catch {
    return null;
  }
}

export function openModel(dir: string, opts: OpenModelOptions = {}): ModelInfo {
  const abs = path.resolve(dir);
  const { config, warnings } = readConfigFile(abs);
  for (const w of warnings) opts.log?.('warn', w);
  if (config.model_type === undefined) throw new UnsupportedModelError(`${path.join(abs, 'config.json')} has no "model_type"; add the model's type (${SUPPORTED.join(', ')}) as Hugging Face's save_pretrained writes it.`);
  const architecture = String(config.model_type);
  if (!SUPPORTED.includes(architecture)) {
    throw new UnsupportedModelError(`${abs}: model_type '${architecture}' is not supported; ProbeScale handles encoders of type ${SUPPORTED.join(', ')}.`);
  }
  // 0 layers is a legal pruned model (embeddings only).
  const declared = configCount(abs, config, [...LAYER_COUNT_KEYS], 0);
  const hiddenSize = configCount(abs, config, ['hidden_size', 'd_model', 'dim', 'n_embd']) ?? 0;
  configCount(abs, config, ['max_position_embeddings', 'n_positions']);
  const { file: onnxFile, from: graphFrom } = resolveEncoderGraph(abs, config, opts);
  const model = OnnxModel.open(onnxFile);
  checkValuesDefined(model);
  checkExternalData(model);
  if (typeof (config.probescale as { task?: unknown } | undefined)?.task === 'string') refuseClassifier(abs, config, model);
  const blocks = findBlocks(model, onnxFile);
  if (blocks.headOutputs.length === 0) refuseClassifier(abs, config, model);
  else acceptTaskHead(abs, onnxFile, config, model, blocks, opts.log);
  if (declared !== undefined && declared !== blocks.numBlocks) {
    throw new UnsupportedModelError(`${onnxFile} has ${blocks.numBlocks} blocks but config.json says ${declared}; the ONNX file and config.json do not belong together.`);
  }
  const graphHidden = graphHiddenSize(model);
  if (graphHidden !== null && hiddenSize !== graphHidden) {
    throw new UnsupportedModelError(`${abs}/config.json says hidden size ${hiddenSize} but the graph's word embeddings are ${graphHidden} wide; the ONNX file and config.json do not belong together.`);
  }
  const vocab = configCount(abs, config, ['vocab_size']);
  const rows = graphVocabRows(model);
  if (vocab !== undefined && rows !== null && rows !== vocab) {
    throw new UnsupportedModelError(`${abs}/config.json says vocab_size ${vocab} but the graph's word embeddings have ${rows} rows; the ONNX file and config.json do not belong together.`);
  }
  // Last: the checks above name a config.json that does not fit the graph more precisely.
  if (graphFrom === 'onnx' && hasSafetensors(abs)) {
    try {
      checkExportMatchesWeights(abs, model, onnxFile, config);
    } catch (e) {
      model.close();
      throw e;
    }
  }
  const quantized = model.nodes.some((n) => n.opType === 'MatMulInteger' || n.opType === 'DynamicQuantizeLinear' || n.opType === 'QLinearMatMul');
  return { dir: abs, onnxFile, graphFrom, architecture, numLayers: blocks.numBlocks, hiddenSize, quantized, config, params: countParams(model, blocks), blocks, model };
}

/** Attention heads per block as config.json says (BERT num_attention_heads, DistilBERT n_heads, T5 num_heads, NomicBERT n_head); 0 when it does not. */
export function headCount(config: Record<string, unknown>): number {
  return Number(config.num_attention_heads ?? config.n_heads ?? config.num_heads ?? config.n_head ?? 0);
}
