/**
 * Builds the feature-extraction graph of an encoder (BERT/ELECTRA, RoBERTa/XLM-R/CamemBERT,
 * DistilBERT, T5/mT5 encoder, MPNet, ModernBERT, DeBERTa-v2/v3: debertaGraph.ts, NomicBERT:
 * nomicGraph.ts) from config.json
 * + safetensors, the way an Optimum / torch.onnx export lays it out: inputs input_ids,
 * attention_mask (+ token_type_ids for BERT/ELECTRA), output last_hidden_state, opset 17, node
 * names in the exporter's module scopes (/encoder/layer.N/..., /transformer/layer.N/...,
 * /encoder/block.N/...), so block finding, probing, pruning and commit treat it like an exported
 * graph.
 *
 * Weights are not copied: each initializer is external data pointing at its byte range in the
 * safetensors file. PyTorch stores Linear weights as [out, in]; the graph transposes them
 * (ONNX Runtime folds that constant once, at session load). fp16 and bf16 weights are cast to
 * float32 in the graph (also folded at load), so the model computes in float32 whatever the
 * file's dtype; embedding tables are gathered first and cast after, so the table stays as stored.
 */
import * as path from 'node:path';
import { BadInputError, UnsupportedModelError } from '../errors';
import { BFLOAT16, GraphBuilder } from '../onnx/build';
import { DataType } from '../onnx/model';
import { ModernBertLayerType, modernBertHalfWindow, modernBertLayerTypes, modernBertRopeTheta } from './modernBert';
import { blockIndexOf, dtypeBytes } from './safetensors';
import { Config, activationName, count, epsilon } from './configValues';
import { EncoderParts, buildDeberta } from './debertaGraph';
import { RotaryParts, buildNomic } from './nomicGraph';
import { WeightSet, WeightTensor } from './weights';

export type GraphFrom = 'onnx' | 'safetensors';

const ONNX_DTYPE: Record<string, number> = { F32: DataType.FLOAT, F16: DataType.FLOAT16, BF16: BFLOAT16 };
const OPSET = 17;
/** torch.finfo(torch.float32).min: the additive mask HF uses for padding. */
const MASK_MIN = -3.4028234663852886e38;

/** The architectures this builder writes, by config.json model_type. */
export const BUILDABLE: Record<string, 'bert' | 'roberta' | 'distilbert' | 't5' | 'mpnet' | 'modernbert' | 'deberta' | 'nomic'> = {
  bert: 'bert',
  electra: 'bert',
  roberta: 'roberta',
  'xlm-roberta': 'roberta',
  camembert: 'roberta',
  distilbert: 'distilbert',
  t5: 't5',
  mt5: 't5',
  umt5: 't5',
  mpnet: 'mpnet',
  modernbert: 'modernbert',
  'deberta-v2': 'deberta',
  nomic_bert: 'nomic',
};

export interface BuiltGraph {
  /** The serialized ModelProto (weights referenced as external data by shard file name). */
  bytes: Buffer;
  /** model.onnx, or encoder_model.onnx for T5 (the names an exported folder uses). */
  fileName: string;
  /** Safetensors files the graph reads, absolute paths (their base names are the external-data locations). */
  shards: string[];
}

/** The weights lack a tensor config.json implies, hold it in another shape, or hold blocks it does not declare. */
export class WeightsMismatchError extends BadInputError {}

/** Builds the encoder graph; throws BadInputError naming the tensor when weights and config disagree (WeightsMismatchError for the tensors themselves). */
export function buildEncoderGraph(config: Config, weights: WeightSet, version: string): BuiltGraph {
  const type = String(config.model_type ?? '');
  const family = BUILDABLE[type];
  if (!family) throw new UnsupportedModelError(`model_type '${type}': ProbeScale builds graphs from safetensors for ${Object.keys(BUILDABLE).join(', ')}; export this model to ONNX instead (optimum-cli export onnx).`);
  const b = new EncoderBuilder(config, weights);
  if (family === 't5') b.t5();
  else if (family === 'mpnet') b.mpnet();
  else if (family === 'modernbert') b.modernBert();
  else if (family === 'deberta') buildDeberta(b, config);
  else if (family === 'nomic') buildNomic(b, config);
  else b.bertLike(family);
  b.g.metadata['probescale.graph'] = JSON.stringify({ builtFrom: 'safetensors', modelType: type, files: weights.files.map((f) => path.basename(f)) });
  return { bytes: b.g.serialize(OPSET, version), fileName: family === 't5' ? 'encoder_model.onnx' : 'model.onnx', shards: weights.files };
}

interface ModernBertDims {
  H: number;
  heads: number;
  I: number;
  eps: number;
  act: string;
  why: string;
  type: (layer: number) => ModernBertLayerType;
}

interface BertDims {
  H: number;
  E: number;
  heads: number;
  inter: number;
  L: number;
  eps: number;
  act: string;
  types: number;
  why: string;
  embWhy: string;
}

/** Module paths (under encoder.layer.N) of a block's attention parts, as BERT and MPNet name them; the FFN's are the same in both. */
const BLOCK_NAMES = {
  bert: { q: 'attention/self/query', k: 'attention/self/key', v: 'attention/self/value', attention: 'attention/self', o: 'attention/output/dense', residual: 'attention/output', norm: 'attention/output/LayerNorm' },
  mpnet: { q: 'attention/attn/q', k: 'attention/attn/k', v: 'attention/attn/v', attention: 'attention/attn', o: 'attention/attn/o', residual: 'attention', norm: 'attention/LayerNorm' },
};

class EncoderBuilder implements EncoderParts, RotaryParts {
  readonly g = new GraphBuilder();
  private prefix = '';
  /** Float32 view of each weight registered so far (its name, or the Cast of it), and its transpose where made. */
  private readonly cast = new Map<string, string>();
  private readonly transposed = new Map<string, string>();
  private readonly registered = new Set<string>();
  /** Row ranges of stored tensors used as tensors of their own (rowsOf), by full name. */
  private readonly parts = new Map<string, WeightTensor>();

  constructor(
    private readonly config: Config,
    private readonly weights: WeightSet,
  ) {}

  /** The tensor `prefix + name`, checked against the shape config.json implies (`why` names the config keys). */
  private tensor(name: string, shape: number[], why: string): WeightTensor {
    const full = this.prefix + name;
    const t = this.parts.get(full) ?? this.weights.tensors.get(full);
    if (!t) throw new WeightsMismatchError(`tensor '${full}' is missing from ${this.weights.files.join(', ')}; config.json (model_type ${String(this.config.model_type)}) needs it. Check the folder holds the whole model.`);
    if (!(t.dtype in ONNX_DTYPE)) throw new BadInputError(`tensor '${full}' has dtype ${t.dtype} in ${t.file}; ProbeScale reads F32, F16 and BF16 weights: save the model in one of them (in Python, model.float().save_pretrained(...)) or export it to ONNX.`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new WeightsMismatchError(`tensor '${full}' has shape [${t.shape.join(', ')}] but config.json (${why}) implies [${shape.join(', ')}]; the weights and config.json do not belong together.`);
    }
    return t;
  }

  /** Weights of a block at or past the `L` blocks config.json declares (`key`): the ONNX path refuses that mismatch, so does this one. */
  refuseExtraBlocks(L: number, key: string): void {
    const extra = [...this.weights.tensors.values()].find((t) => t.name.startsWith(this.prefix) && (blockIndexOf(t.name) ?? -1) >= L);
    if (extra) throw new WeightsMismatchError(`tensor '${extra.name}' in ${extra.file} is in block ${blockIndexOf(extra.name)}, but config.json says ${key} ${L}; the weights and config.json do not belong together: set ${key} to the number of blocks the weights hold.`);
  }

  /** Declares tensor `t` as an initializer whose bytes stay in its safetensors file (once). */
  private register(t: WeightTensor): void {
    if (this.registered.has(t.name)) return;
    this.registered.add(t.name);
    this.g.external.push({ name: t.name, dataType: ONNX_DTYPE[t.dtype], dims: t.shape, location: path.basename(t.file), offset: t.offset, length: t.length });
  }

  /**
   * Rows [from, to) of the 2-D (or 1-D) weight `name` as a tensor of their own, named `part`: its
   * bytes are a contiguous range of the stored tensor, so the graph reads them in place too.
   * ModernBERT stores Q, K and V as one Wqkv and the GLU's two halves as one Wi; split, they are the
   * separate projections width pruning and the parameter count know.
   */
  rowsOf(name: string, shape: number[], why: string, part: string, from: number, to: number): void {
    const t = this.tensor(name, shape, why);
    const rowBytes = dtypeBytes(t.dtype) * (shape[1] ?? 1);
    this.parts.set(this.prefix + part, { ...t, name: this.prefix + part, shape: [to - from, ...shape.slice(1)], offset: t.offset + from * rowBytes, length: (to - from) * rowBytes });
  }

  /** A float32 tensor holding weight `name` (cast when stored as fp16/bf16, transposed when `transpose`). */
  weight(scope: string, name: string, shape: number[], why: string, transpose = false): string {
    const t = this.tensor(name, shape, why);
    this.register(t);
    let out = this.cast.get(t.name);
    if (out === undefined) {
      out = t.dtype === 'F32' ? t.name : this.g.op(scope, 'Cast', [t.name], { to: DataType.FLOAT });
      this.cast.set(t.name, out);
    }
    if (!transpose) return out;
    // One Transpose per weight, however many MatMuls read it (DeBERTa's query and key projections read twice).
    let tr = this.transposed.get(out);
    if (tr === undefined) this.transposed.set(out, (tr = this.g.op(scope, 'Transpose', [out], { perm: [1, 0] })));
    return tr;
  }

  /** Rows of embedding table `name` for `ids`, as float32 (gathered in the stored dtype, then cast). */
  embed(scope: string, name: string, shape: number[], why: string, ids: string): string {
    const t = this.tensor(name, shape, why);
    this.register(t);
    const rows = this.g.op(scope, 'Gather', [t.name, ids]);
    return t.dtype === 'F32' ? rows : this.g.op(scope, 'Cast', [rows], { to: DataType.FLOAT });
  }

  /** y = x·Wᵀ (+ b), PyTorch Linear named `name` (weight [outDim, inDim]) in module scope `scope`. */
  linear(scope: string, x: string, name: string, outDim: number, inDim: number, why: string, bias = true): string {
    const w = this.weight(scope, `${name}.weight`, [outDim, inDim], why, true);
    const y = this.g.op(scope, 'MatMul', [x, w]);
    return bias ? this.g.op(scope, 'Add', [this.weight(scope, `${name}.bias`, [outDim], why), y]) : y;
  }

  layerNorm(scope: string, x: string, name: string, dim: number, eps: number, why: string, out?: string): string {
    const w = this.weight(scope, `${name}.weight`, [dim], why);
    const b = this.weight(scope, `${name}.bias`, [dim], why);
    return this.g.op(scope, 'LayerNormalization', [x, w, b], { axis: -1, epsilon: { float: eps } }, out);
  }

  /** T5LayerNorm: x / sqrt(mean(x²) + eps) · w (no mean subtraction, no bias). */
  rmsNorm(scope: string, x: string, name: string, dim: number, eps: number, why: string, out?: string): string {
    const g = this.g;
    const w = this.weight(scope, `${name}.weight`, [dim], why);
    const ms = g.op(scope, 'ReduceMean', [g.op(scope, 'Pow', [x, g.float(2)])], { axes: [-1], keepdims: 1 });
    const inv = g.op(scope, 'Div', [g.float(1), g.op(scope, 'Sqrt', [g.op(scope, 'Add', [ms, g.float(eps)])])]);
    return g.op(scope, 'Mul', [w, g.op(scope, 'Mul', [x, inv])], undefined, out);
  }

  activation(scope: string, x: string, act: string): string {
    const g = this.g;
    switch (act) {
      case 'gelu':
        // Exact (erf) GELU, as torch.nn.functional.gelu.
        return g.op(scope, 'Mul', [g.op(scope, 'Mul', [x, g.op(scope, 'Add', [g.op(scope, 'Erf', [g.op(scope, 'Div', [x, g.float(Math.SQRT2)])]), g.float(1)])]), g.float(0.5)]);
      case 'gelu_new':
      case 'gelu_pytorch_tanh':
      case 'gelu_fast': {
        const cube = g.op(scope, 'Mul', [x, g.op(scope, 'Mul', [x, x])]);
        const inner = g.op(scope, 'Mul', [g.op(scope, 'Add', [x, g.op(scope, 'Mul', [cube, g.float(0.044715)])]), g.float(Math.sqrt(2 / Math.PI))]);
        return g.op(scope, 'Mul', [g.op(scope, 'Mul', [x, g.float(0.5)]), g.op(scope, 'Add', [g.op(scope, 'Tanh', [inner]), g.float(1)])]);
      }
      case 'relu':
        return g.op(scope, 'Relu', [x]);
      case 'silu':
      case 'swish':
        return g.op(scope, 'Mul', [x, g.op(scope, 'Sigmoid', [x])]);
      default:
        throw new UnsupportedModelError(`config.json: activation '${act}' is not supported when building from safetensors (gelu, gelu_new, gelu_pytorch_tanh, relu, silu are); export the model to ONNX instead.`);
    }
  }

  /** Additive attention mask [batch, 1, 1, seq]: 0 where attention_mask is 1, float32 min where it is 0. */
  maskBias(scope: string): string {
    const g = this.g;
    const m = g.op(scope, 'Cast', ['attention_mask'], { to: DataType.FLOAT });
    const bias = g.op(scope, 'Mul', [g.op(scope, 'Sub', [g.float(1), m]), g.float(MASK_MIN)]);
    return g.op(scope, 'Unsqueeze', [bias, g.ints([1, 2])]);
  }

  /**
   * Multi-head self-attention from projections q, k, v ([batch, seq, heads·dim]) to the context
   * [batch, seq, heads·dim]; `biases` are added to the scores ([.., heads|1, seq, seq]).
   */
  attention(scope: string, q: string, k: string, v: string, heads: number, dim: number, scale: boolean, biases: string[]): string {
    const g = this.g;
    const split = g.ints([0, 0, heads, dim]);
    const qh = g.op(scope, 'Transpose', [g.op(scope, 'Reshape', [q, split])], { perm: [0, 2, 1, 3] });
    const kt = g.op(scope, 'Transpose', [g.op(scope, 'Reshape', [k, split])], { perm: [0, 2, 3, 1] });
    const vh = g.op(scope, 'Transpose', [g.op(scope, 'Reshape', [v, split])], { perm: [0, 2, 1, 3] });
    let scores = g.op(scope, 'MatMul', [qh, kt]);
    if (scale) scores = g.op(scope, 'Mul', [scores, g.float(1 / Math.sqrt(dim))]);
    for (const b of biases) scores = g.op(scope, 'Add', [scores, b]);
    const probs = g.op(scope, 'Softmax', [scores], { axis: -1 });
    const ctx = g.op(scope, 'Transpose', [g.op(scope, 'MatMul', [probs, vh])], { perm: [0, 2, 1, 3] });
    return g.op(scope, 'Reshape', [ctx, g.ints([0, 0, heads * dim])]);
  }

  declareIO(tokenTypes: boolean, hidden: number): void {
    const dims = ['batch_size', 'sequence_length'];
    this.g.inputs.push({ name: 'input_ids', elemType: DataType.INT64, shape: dims }, { name: 'attention_mask', elemType: DataType.INT64, shape: dims });
    if (tokenTypes) this.g.inputs.push({ name: 'token_type_ids', elemType: DataType.INT64, shape: dims });
    this.g.outputs.push({ name: 'last_hidden_state', elemType: DataType.FLOAT, shape: [...dims, hidden] });
  }

  /** The tensor-name prefix (`bert.`, `roberta.`, `electra.`, `distilbert.`, or none) of the encoder's weights. */
  findPrefix(anchor: string): void {
    const found = [...this.weights.tensors.keys()].filter((n) => n.endsWith(anchor)).map((n) => n.slice(0, n.length - anchor.length));
    const prefixes = found.filter((p) => p === '' || p.endsWith('.')).sort((a, b) => a.length - b.length);
    if (prefixes.length === 0) throw new WeightsMismatchError(`tensor '${anchor}' is missing from ${this.weights.files.join(', ')} (under any prefix); config.json (model_type ${String(this.config.model_type)}) needs it.`);
    this.prefix = prefixes[0];
  }

  /** The sizes a BERT-family config declares (DistilBERT names them differently); `why` quotes them for errors. */
  private bertDims(family: 'bert' | 'roberta' | 'distilbert'): BertDims {
    const c = this.config;
    const distil = family === 'distilbert';
    const H = distil ? count(c, 'dim') : count(c, 'hidden_size');
    const heads = distil ? count(c, 'n_heads') : count(c, 'num_attention_heads');
    const inter = distil ? count(c, 'hidden_dim') : count(c, 'intermediate_size');
    const E = distil ? H : count(c, 'embedding_size', H);
    if (H % heads !== 0) throw new BadInputError(`config.json: hidden size ${H} is not a multiple of the ${heads} attention heads.`);
    if (!distil && (c.position_embedding_type ?? 'absolute') !== 'absolute') throw new UnsupportedModelError(`config.json: position_embedding_type '${String(c.position_embedding_type)}' is not supported when building from safetensors (absolute is); export the model to ONNX instead.`);
    const hk = distil ? 'dim' : 'hidden_size';
    return {
      H,
      E,
      heads,
      inter,
      L: distil ? count(c, 'n_layers', undefined, 0) : count(c, 'num_hidden_layers', undefined, 0),
      eps: distil ? 1e-12 : epsilon(c, 'layer_norm_eps', 1e-12),
      act: distil ? activationName(c, 'activation', 'gelu') : activationName(c, 'hidden_act', 'gelu'),
      types: distil ? 0 : count(c, 'type_vocab_size', 2, 0),
      why: `${hk} ${H}, ${distil ? 'hidden_dim' : 'intermediate_size'} ${inter}`,
      embWhy: `${E === H ? hk : 'embedding_size'} ${E}`,
    };
  }

  bertLike(family: 'bert' | 'roberta' | 'distilbert'): void {
    const d = this.bertDims(family);
    const tokenTypes = family === 'bert' && d.types > 1;
    this.findPrefix('embeddings.word_embeddings.weight');
    this.declareIO(tokenTypes, d.H);
    let x = this.bertEmbeddings(family, d, tokenTypes);
    const mask = this.maskBias('');
    for (let i = 0; i < d.L; i++) x = family === 'distilbert' ? this.distilBlock(i, x, mask, d) : this.bertBlock(i, x, [mask], d);
    this.refuseExtraBlocks(d.L, family === 'distilbert' ? 'n_layers' : 'num_hidden_layers');
    this.g.op('', 'Identity', [x], undefined, 'last_hidden_state');
  }

  /** word + position (+ token type) embeddings → LayerNorm (→ ELECTRA's projection when embedding_size ≠ hidden_size). */
  private bertEmbeddings(family: 'bert' | 'roberta' | 'distilbert', d: BertDims, tokenTypes: boolean, padIndex?: number): string {
    const g = this.g;
    const s = '/embeddings';
    const vocab = count(this.config, 'vocab_size');
    const maxPos = count(this.config, 'max_position_embeddings');
    let x = this.embed(`${s}/word_embeddings`, 'embeddings.word_embeddings.weight', [vocab, d.E], `vocab_size ${vocab}, ${d.embWhy}`, 'input_ids');
    let pos: string;
    if (family === 'roberta') {
      // HF create_position_ids_from_input_ids: cumsum over non-pad tokens, offset by the padding index.
      const pad = padIndex ?? count(this.config, 'pad_token_id', 1, 0);
      // Positions run from pad + 1: a pad id at or past the table's end leaves no position for any token.
      if (pad + 1 >= maxPos) throw new BadInputError(`config.json: pad_token_id ${pad} is not below max_position_embeddings ${maxPos} − 1; RoBERTa-style positions start after the padding index, so no token would have a position. Fix pad_token_id (RoBERTa uses 1) or re-download config.json.`);
      const nonPad = g.op(s, 'Cast', [g.op(s, 'Not', [g.op(s, 'Equal', ['input_ids', g.ints([pad], true)])])], { to: DataType.INT64 });
      pos = g.op(s, 'Add', [g.op(s, 'Mul', [g.op(s, 'CumSum', [nonPad, g.ints([1], true)]), nonPad]), g.ints([pad], true)]);
    } else {
      pos = g.op(s, 'Range', [g.ints([0], true), g.op(s, 'Gather', [g.op(s, 'Shape', ['input_ids']), g.ints([1], true)]), g.ints([1], true)]);
    }
    if (d.types > 0) {
      const tt = this.embed(`${s}/token_type_embeddings`, 'embeddings.token_type_embeddings.weight', [d.types, d.E], `type_vocab_size ${d.types}, ${d.embWhy}`, tokenTypes ? 'token_type_ids' : g.ints([0], true));
      x = g.op(s, 'Add', [x, tt]);
    }
    x = g.op(s, 'Add', [x, this.embed(`${s}/position_embeddings`, 'embeddings.position_embeddings.weight', [maxPos, d.E], `max_position_embeddings ${maxPos}, ${d.embWhy}`, pos)]);
    x = this.layerNorm(`${s}/LayerNorm`, x, 'embeddings.LayerNorm', d.E, d.eps, d.embWhy);
    return d.E === d.H ? x : this.linear('/embeddings_project', x, 'embeddings_project', d.H, d.E, `hidden_size ${d.H}, embedding_size ${d.E}`);
  }

  /** A post-LayerNorm block, its parts named as `names` says; `biases` are added to the attention scores. */
  private bertBlock(i: number, x: string, biases: string[], d: BertDims, names = BLOCK_NAMES.bert): string {
    const { H, heads, inter, eps, act, why } = d;
    const s = `/encoder/layer.${i}`;
    const n = `encoder.layer.${i}`;
    // A module path's scope is /encoder/layer.i/a/b, its weights encoder.layer.i.a.b.*.
    const lin = (path: string, input: string, outDim: number, inDim: number) => this.linear(`${s}/${path}`, input, `${n}.${path.replace(/\//g, '.')}`, outDim, inDim, why);
    const norm = (path: string, input: string) => this.layerNorm(`${s}/${path}`, input, `${n}.${path.replace(/\//g, '.')}`, H, eps, why);
    const [q, k, v] = [names.q, names.k, names.v].map((p) => lin(p, x, H, H));
    const o = lin(names.o, this.attention(`${s}/${names.attention}`, q, k, v, heads, H / heads, true, biases), H, H);
    const a = norm(names.norm, this.g.op(`${s}/${names.residual}`, 'Add', [o, x]));
    const f = this.activation(`${s}/intermediate/intermediate_act_fn`, lin('intermediate/dense', a, inter, H), act);
    return norm('output/LayerNorm', this.g.op(`${s}/output`, 'Add', [lin('output/dense', f, H, inter), a]));
  }

  private distilBlock(i: number, x: string, mask: string, d: BertDims): string {
    const { H, heads, inter, act, why } = d;
    const s = `/transformer/layer.${i}`;
    const n = `transformer.layer.${i}`;
    const q = this.linear(`${s}/attention/q_lin`, x, `${n}.attention.q_lin`, H, H, why);
    const k = this.linear(`${s}/attention/k_lin`, x, `${n}.attention.k_lin`, H, H, why);
    const v = this.linear(`${s}/attention/v_lin`, x, `${n}.attention.v_lin`, H, H, why);
    const ctx = this.attention(`${s}/attention`, q, k, v, heads, H / heads, true, [mask]);
    const o = this.linear(`${s}/attention/out_lin`, ctx, `${n}.attention.out_lin`, H, H, why);
    const a = this.layerNorm(`${s}/sa_layer_norm`, this.g.op(s, 'Add', [o, x]), `${n}.sa_layer_norm`, H, 1e-12, why);
    const f = this.activation(`${s}/ffn/activation`, this.linear(`${s}/ffn/lin1`, a, `${n}.ffn.lin1`, inter, H, why), act);
    const y = this.linear(`${s}/ffn/lin2`, f, `${n}.ffn.lin2`, H, inter, why);
    return this.layerNorm(`${s}/output_layer_norm`, this.g.op(s, 'Add', [y, a]), `${n}.output_layer_norm`, H, 1e-12, why);
  }

  /**
   * MPNet (modeling_mpnet.py): RoBERTa-style embeddings whose padding index is always 1, no token
   * types, and one relative position bias made in the encoder and added to every block's scores.
   */
  mpnet(): void {
    const d = { ...this.bertDims('roberta'), types: 0 };
    const tableRows = count(this.config, 'relative_attention_num_buckets', 32);
    // MPNetEncoder.compute_position_bias always buckets into 32 (its num_buckets default), whatever the table holds.
    if (tableRows < 32) throw new BadInputError(`config.json: relative_attention_num_buckets is ${tableRows}; MPNet looks up 32 relative-position buckets, so the table needs at least 32 rows. Fix config.json or re-download it.`);
    this.findPrefix('embeddings.word_embeddings.weight');
    this.declareIO(false, d.H);
    let x = this.bertEmbeddings('roberta', d, false, 1);
    const mask = this.maskBias('');
    const posBias = this.relativePositionBias('/encoder', 'encoder.relative_attention_bias.weight', tableRows, 32, 128, d.heads, 'num_attention_heads');
    for (let i = 0; i < d.L; i++) x = this.bertBlock(i, x, [posBias, mask], d, BLOCK_NAMES.mpnet);
    this.refuseExtraBlocks(d.L, 'num_hidden_layers');
    this.g.op('', 'Identity', [x], undefined, 'last_hidden_state');
  }

  /**
   * ModernBERT (modeling_modernbert.py, eval, padded): LayerNorm(tok_embeddings[ids]); pre-norm
   * layers (layer 0 without an attention norm) with rotary Q and K, global or sliding-window
   * attention by layer, a GLU feed-forward act(a)·g; final_norm. Norms and projections have biases
   * only where norm_bias / attention_bias / mlp_bias say so. Wqkv and Wi are read as their row
   * ranges (rowsOf), so the graph has the separate Q, K, V and up projections of other encoders.
   */
  modernBert(): void {
    const c = this.config;
    const H = count(c, 'hidden_size');
    const heads = count(c, 'num_attention_heads');
    const L = count(c, 'num_hidden_layers', undefined, 0);
    const vocab = count(c, 'vocab_size');
    if (H % heads !== 0 || (H / heads) % 2 !== 0) throw new BadInputError(`config.json: hidden_size ${H} is not a multiple of ${heads} attention heads of an even size; ModernBERT's rotary embedding needs that. Fix config.json or re-download it.`);
    if (c.head_dim != null && c.head_dim !== H / heads) throw new UnsupportedModelError(`config.json: head_dim ${JSON.stringify(c.head_dim)} differs from hidden_size / num_attention_heads = ${H / heads}; transformers' ModernBERT rotates head_dim columns but attends over ${H / heads}, which ProbeScale does not build. Export the model to ONNX instead.`);
    const d: ModernBertDims = { H, heads, I: count(c, 'intermediate_size'), eps: epsilon(c, 'norm_eps', 1e-5), act: activationName(c, 'hidden_activation', 'gelu'), why: '', type: modernBertLayerTypes(c, L) };
    d.why = `hidden_size ${H}, intermediate_size ${d.I}`;
    this.findPrefix('embeddings.tok_embeddings.weight');
    this.declareIO(false, H);
    let x = this.modernNorm('/embeddings/norm', this.embed('/embeddings/tok_embeddings', 'embeddings.tok_embeddings.weight', [vocab, H], `vocab_size ${vocab}, ${d.why}`, 'input_ids'), 'embeddings.norm', d);
    const rope = this.rotaryTables(H / heads, (type) => modernBertRopeTheta(c, type as ModernBertLayerType));
    const half = modernBertHalfWindow(c);
    const masks = new Map<ModernBertLayerType, string>();
    const mask = (type: ModernBertLayerType) => masks.get(type) ?? masks.set(type, type === 'full_attention' ? this.maskBias('') : this.slidingWindowMask(half)).get(type)!;
    for (let i = 0; i < L; i++) x = this.modernBertLayer(i, x, d, rope(d.type(i)), mask(d.type(i)));
    this.refuseExtraBlocks(L, 'num_hidden_layers');
    this.modernNorm('/final_norm', x, 'final_norm', d, 'last_hidden_state');
  }

  /** ModernBERT's LayerNorm: a bias only where norm_bias says so. */
  private modernNorm(scope: string, x: string, name: string, d: ModernBertDims, out?: string): string {
    const w = this.weight(scope, `${name}.weight`, [d.H], d.why);
    const inputs = this.config.norm_bias === true ? [x, w, this.weight(scope, `${name}.bias`, [d.H], d.why)] : [x, w];
    return this.g.op(scope, 'LayerNormalization', inputs, { axis: -1, epsilon: { float: d.eps } }, out);
  }

  /** Layer i: x + Wo(attention(attn_norm(x))), then + mlp.Wo(act(a)·g) of mlp_norm; Wqkv and Wi split by rows. */
  private modernBertLayer(i: number, x: string, d: ModernBertDims, rope: { cos: string; sin: string }, mask: string): string {
    const { H, I, why } = d;
    const g = this.g;
    const s = `/layers.${i}`;
    const n = `layers.${i}`;
    const [attnBias, mlpBias] = [this.config.attention_bias === true, this.config.mlp_bias === true];
    // transformers gives layer 0 no attention norm; a pruned folder's new layer 0 keeps the one it had.
    const h = i > 0 || this.weights.tensors.has(`${this.prefix}${n}.attn_norm.weight`) ? this.modernNorm(`${s}/attn_norm`, x, `${n}.attn_norm`, d) : x;
    const parts = (module: string, rows: number, names: readonly string[], withBias: boolean) => {
      names.forEach((part, j) => {
        this.rowsOf(`${module}.weight`, [names.length * rows, H], why, `${module}.${part}.weight`, j * rows, (j + 1) * rows);
        if (withBias) this.rowsOf(`${module}.bias`, [names.length * rows], why, `${module}.${part}.bias`, j * rows, (j + 1) * rows);
      });
    };
    parts(`${n}.attn.Wqkv`, H, ['q', 'k', 'v'], attnBias);
    const [q, k, v] = (['q', 'k', 'v'] as const).map((p) => this.linear(`${s}/attn/Wqkv/${p}`, h, `${n}.attn.Wqkv.${p}`, H, H, why, attnBias));
    const ctx = this.rotaryAttention(`${s}/attn`, q, k, v, d.heads, H / d.heads, rope, mask);
    x = g.op(s, 'Add', [x, this.linear(`${s}/attn/Wo`, ctx, `${n}.attn.Wo`, H, H, why, attnBias)]);
    const f = this.modernNorm(`${s}/mlp_norm`, x, `${n}.mlp_norm`, d);
    parts(`${n}.mlp.Wi`, I, ['input', 'gate'], mlpBias);
    const act = this.activation(`${s}/mlp/act`, this.linear(`${s}/mlp/Wi/input`, f, `${n}.mlp.Wi.input`, I, H, why, mlpBias), d.act);
    const glu = g.op(`${s}/mlp`, 'Mul', [act, this.linear(`${s}/mlp/Wi/gate`, f, `${n}.mlp.Wi.gate`, I, H, why, mlpBias)]);
    return g.op(s, 'Add', [x, this.linear(`${s}/mlp/Wo`, glu, `${n}.mlp.Wo`, H, I, why, mlpBias)]);
  }

  /** cos and sin [seq, headDim] of a layer kind's rotary base `theta(kind)` (transformers' default rotary embedding, float32), made once per kind used. */
  rotaryTables(headDim: number, theta: (kind: string) => number): (kind: string) => { cos: string; sin: string } {
    const g = this.g;
    const s = '/rotary_emb';
    const tables = new Map<string, { cos: string; sin: string }>();
    let pos: string | undefined;
    return (type) => {
      const made = tables.get(type);
      if (made) return made;
      pos ??= g.op(s, 'Unsqueeze', [g.op(s, 'Cast', [g.op(s, 'Range', [g.ints([0], true), g.op(s, 'Gather', [g.op(s, 'Shape', ['input_ids']), g.ints([1], true)]), g.ints([1], true)])], { to: DataType.FLOAT }), g.ints([1])]);
      // inv_freq = 1 / theta ** (arange(0, dim, 2) / dim), computed in float32 as torch does; made in the
      // graph from integers, so it is no float initializer the parameter count would take for a weight.
      const exponents = g.op(s, 'Div', [g.op(s, 'Cast', [g.op(s, 'Range', [g.ints([0], true), g.ints([headDim], true), g.ints([2], true)])], { to: DataType.FLOAT }), g.float(headDim)]);
      const invFreq = g.op(s, 'Reciprocal', [g.op(s, 'Pow', [g.float(theta(type)), exponents])]);
      const freqs = g.op(s, 'Mul', [pos, invFreq]);
      const angles = g.op(s, 'Concat', [freqs, freqs], { axis: -1 });
      const table = { cos: g.op(s, 'Cos', [angles]), sin: g.op(s, 'Sin', [angles]) };
      tables.set(type, table);
      return table;
    };
  }

  /** The padding mask [batch, 1, seq, seq] with keys farther than `half` positions from the query masked too (HF's sliding_window_mask). */
  private slidingWindowMask(half: number): string {
    const g = this.g;
    const s = '/sliding_window';
    const seq = g.op(s, 'Gather', [g.op(s, 'Shape', ['input_ids']), g.ints([1], true)]);
    const r = g.op(s, 'Range', [g.ints([0], true), seq, g.ints([1], true)]);
    const dist = g.op(s, 'Abs', [g.op(s, 'Sub', [g.op(s, 'Unsqueeze', [r, g.ints([1])]), g.op(s, 'Unsqueeze', [r, g.ints([0])])])]);
    return g.op(s, 'Where', [g.op(s, 'LessOrEqual', [dist, g.ints([half], true)]), this.maskBias(s), g.float(MASK_MIN)]);
  }

  /**
   * Self-attention with rotary Q and K (rotate_half: [−x₂, x₁] over each head's halves), scaled by
   * 1/√headDim, plus the additive `mask`. Heads are split as `attention` splits them, with K
   * transposed after its rotation, so width pruning finds the layout it knows.
   */
  rotaryAttention(scope: string, q: string, k: string, v: string, heads: number, dim: number, rope: { cos: string; sin: string }, mask: string): string {
    const g = this.g;
    const split = g.ints([0, 0, heads, dim]);
    const toHeads = (t: string) => g.op(scope, 'Transpose', [g.op(scope, 'Reshape', [t, split])], { perm: [0, 2, 1, 3] });
    const rotate = (t: string) => {
      const first = g.op(scope, 'Slice', [t, g.ints([0]), g.ints([dim / 2]), g.ints([3])]);
      const second = g.op(scope, 'Slice', [t, g.ints([dim / 2]), g.ints([dim]), g.ints([3])]);
      const half = g.op(scope, 'Concat', [g.op(scope, 'Neg', [second]), first], { axis: 3 });
      return g.op(scope, 'Add', [g.op(scope, 'Mul', [t, rope.cos]), g.op(scope, 'Mul', [half, rope.sin])]);
    };
    const kt = g.op(scope, 'Transpose', [rotate(toHeads(k))], { perm: [0, 1, 3, 2] });
    const scores = g.op(scope, 'Add', [g.op(scope, 'Mul', [g.op(scope, 'MatMul', [rotate(toHeads(q)), kt]), g.float(1 / Math.sqrt(dim))]), mask]);
    const ctx = g.op(scope, 'Transpose', [g.op(scope, 'MatMul', [g.op(scope, 'Softmax', [scores], { axis: -1 }), toHeads(v)])], { perm: [0, 2, 1, 3] });
    return g.op(scope, 'Reshape', [ctx, g.ints([0, 0, heads * dim])]);
  }

  t5(): void {
    const c = this.config;
    const g = this.g;
    const D = count(c, 'd_model');
    const heads = count(c, 'num_heads');
    const kv = count(c, 'd_kv');
    const ff = count(c, 'd_ff');
    const L = count(c, 'num_layers', undefined, 0);
    const eps = epsilon(c, 'layer_norm_epsilon', 1e-6);
    const vocab = count(c, 'vocab_size');
    const buckets = count(c, 'relative_attention_num_buckets', 32);
    const maxDist = count(c, 'relative_attention_max_distance', 128);
    const { gated, act } = t5FeedForward(c);
    this.declareIO(false, D);
    const embName = this.weights.tensors.has('shared.weight') ? 'shared.weight' : 'encoder.embed_tokens.weight';
    let x = this.embed('/encoder/embed_tokens', embName, [vocab, D], `vocab_size ${vocab}, d_model ${D}`, 'input_ids');
    const mask = this.maskBias('/encoder');
    const why = `d_model ${D}, num_heads ${heads}, d_kv ${kv}, d_ff ${ff}`;
    const inner = heads * kv;
    let posBias = '';
    const perBlockBias = c.model_type === 'umt5';
    for (let i = 0; i < L; i++) {
      const s = `/encoder/block.${i}`;
      const n = `encoder.block.${i}`;
      const sa = `${s}/layer.0/SelfAttention`;
      // T5 computes the relative position bias in block 0 only; every block adds that one. umT5's blocks each make their own.
      if (i === 0 || perBlockBias) posBias = this.relativePositionBias(sa, `${n}.layer.0.SelfAttention.relative_attention_bias.weight`, buckets, buckets, maxDist, heads, 'num_heads');
      const h = this.rmsNorm(`${s}/layer.0/layer_norm`, x, `${n}.layer.0.layer_norm`, D, eps, why);
      const q = this.linear(`${sa}/q`, h, `${n}.layer.0.SelfAttention.q`, inner, D, why, false);
      const k = this.linear(`${sa}/k`, h, `${n}.layer.0.SelfAttention.k`, inner, D, why, false);
      const v = this.linear(`${sa}/v`, h, `${n}.layer.0.SelfAttention.v`, inner, D, why, false);
      const ctx = this.attention(sa, q, k, v, heads, kv, false, [posBias, mask]);
      x = g.op(`${s}/layer.0`, 'Add', [x, this.linear(`${sa}/o`, ctx, `${n}.layer.0.SelfAttention.o`, D, inner, why, false)]);
      const f = this.rmsNorm(`${s}/layer.1/layer_norm`, x, `${n}.layer.1.layer_norm`, D, eps, why);
      const dd = `${s}/layer.1/DenseReluDense`;
      const dn = `${n}.layer.1.DenseReluDense`;
      const hidden = gated
        ? g.op(dd, 'Mul', [this.activation(`${dd}/act`, this.linear(`${dd}/wi_0`, f, `${dn}.wi_0`, ff, D, why, false), act), this.linear(`${dd}/wi_1`, f, `${dn}.wi_1`, ff, D, why, false)])
        : this.activation(`${dd}/act`, this.linear(`${dd}/wi`, f, `${dn}.wi`, ff, D, why, false), act);
      x = g.op(`${s}/layer.1`, 'Add', [x, this.linear(`${dd}/wo`, hidden, `${dn}.wo`, D, ff, why, false)]);
    }
    this.refuseExtraBlocks(L, 'num_layers');
    this.rmsNorm('/encoder/final_layer_norm', x, 'encoder.final_layer_norm', D, eps, `d_model ${D}`, 'last_hidden_state');
  }

  /**
   * The bidirectional relative position bias [1, heads, seq, seq] of T5 and MPNet, as HF
   * `_relative_position_bucket` (MPNet: `relative_position_bucket`, the same arithmetic) computes it
   * (same float32 operations in the same order, so bucket boundaries agree), looked up in a table
   * of `tableRows` rows.
   */
  private relativePositionBias(scope: string, name: string, tableRows: number, buckets: number, maxDist: number, heads: number, headsKey: string): string {
    const g = this.g;
    const seq = g.op(scope, 'Gather', [g.op(scope, 'Shape', ['input_ids']), g.ints([1], true)]);
    const r = g.op(scope, 'Range', [g.ints([0], true), seq, g.ints([1], true)]);
    const rel = g.op(scope, 'Sub', [g.op(scope, 'Unsqueeze', [r, g.ints([0])]), g.op(scope, 'Unsqueeze', [r, g.ints([1])])]);
    const half = Math.floor(buckets / 2);
    const exact = Math.floor(half / 2);
    const side = g.op(scope, 'Mul', [g.op(scope, 'Cast', [g.op(scope, 'Greater', [rel, g.ints([0], true)])], { to: DataType.INT64 }), g.ints([half], true)]);
    const dist = g.op(scope, 'Abs', [rel]);
    // Max(·, 1) keeps log finite where the small-distance branch is taken anyway.
    const ratio = g.op(scope, 'Div', [g.op(scope, 'Max', [g.op(scope, 'Cast', [dist], { to: DataType.FLOAT }), g.float(1)]), g.float(exact)]);
    const scaled = g.op(scope, 'Mul', [g.op(scope, 'Div', [g.op(scope, 'Log', [ratio]), g.float(Math.log(maxDist / exact))]), g.float(half - exact)]);
    const large = g.op(scope, 'Min', [g.op(scope, 'Add', [g.op(scope, 'Cast', [scaled], { to: DataType.INT64 }), g.ints([exact], true)]), g.ints([half - 1], true)]);
    const bucket = g.op(scope, 'Add', [side, g.op(scope, 'Where', [g.op(scope, 'Less', [dist, g.ints([exact], true)]), dist, large])]);
    const values = this.embed(`${scope}/relative_attention_bias`, name, [tableRows, heads], `relative_attention_num_buckets ${tableRows}, ${headsKey} ${heads}`, bucket);
    return g.op(scope, 'Unsqueeze', [g.op(scope, 'Transpose', [values], { perm: [2, 0, 1] }), g.ints([0])]);
  }
}

/** A T5 config's feed-forward kind, as transformers' T5Config reads it: gated (T5 v1.1, flan-T5: `gated-gelu`) or not, and its activation. */
export function t5FeedForward(c: Record<string, unknown>): { gated: boolean; act: string } {
  const proj = String(c.feed_forward_proj ?? 'relu');
  const gated = typeof c.is_gated_act === 'boolean' ? c.is_gated_act : proj.startsWith('gated-');
  return { gated, act: String(c.dense_act_fn ?? (proj.replace(/^gated-/, '') === 'gelu' ? 'gelu_new' : proj.replace(/^gated-/, ''))) };
}
