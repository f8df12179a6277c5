/**
 * The feature-extraction graph of a DeBERTa-v2/v3 encoder (model_type deberta-v2) from config.json
 * and its weights, as transformers' modeling_deberta_v2.py computes it in eval mode: embeddings
 * (word, + absolute positions where position_biased_input, + token types where type_vocab_size > 0,
 * → embed_proj where embedding_size differs → LayerNorm → × attention_mask), then post-LayerNorm
 * blocks whose attention adds to the content scores the disentangled terms: content→position (c2p)
 * and position→content (p2c), read from one table of relative-position embeddings (LayerNorm'd
 * where norm_rel_ebd says so) projected by each layer's own query and key projections (or its
 * pos_query_proj / pos_key_proj where share_att_key is false), at log-bucketed relative positions.
 * Node scopes are the exporter's (/encoder/layer.N/attention/self/...), so block finding, probing
 * and pruning treat it as they treat an export; the relative positions and the normalised table are
 * made once, outside the blocks, as every block reads the same ones.
 */
import { BadInputError, UnsupportedModelError } from '../errors';
import { GraphBuilder } from '../onnx/build';
import { DataType } from '../onnx/model';
import { Config, activationName, count, epsilon, flag, num } from './configValues';

/** What the DeBERTa graph needs of the encoder builder (encoderGraph.ts's EncoderBuilder has it). */
export interface EncoderParts {
  readonly g: GraphBuilder;
  weight(scope: string, name: string, shape: number[], why: string, transpose?: boolean): string;
  embed(scope: string, name: string, shape: number[], why: string, ids: string): string;
  linear(scope: string, x: string, name: string, outDim: number, inDim: number, why: string, bias?: boolean): string;
  layerNorm(scope: string, x: string, name: string, dim: number, eps: number, why: string, out?: string): string;
  activation(scope: string, x: string, act: string): string;
  maskBias(scope: string): string;
  declareIO(tokenTypes: boolean, hidden: number): void;
  findPrefix(anchor: string): void;
  refuseExtraBlocks(L: number, key: string): void;
}

interface DebertaDims {
  H: number;
  heads: number;
  /** Size of one head (attention_head_size, or hidden_size / heads). */
  d: number;
  inter: number;
  L: number;
  eps: number;
  act: string;
  /** content→position and position→content terms, as pos_att_type lists them. */
  c2p: boolean;
  p2c: boolean;
  /** Relative attention: the span of the relative-embedding table (it holds 2·span rows); 0 where relative_attention is off. */
  span: number;
  /** Log buckets (position_buckets > 0): bucket count and the largest position; 0 where relative positions are used as they are. */
  buckets: number;
  maxRelative: number;
  shareKey: boolean;
  normRel: boolean;
  why: string;
}

/** pos_att_type as DebertaV2Config reads it: a list, or a string such as "p2c|c2p". */
function positionTerms(c: Config): string[] {
  const v = c.pos_att_type ?? [];
  if (typeof v === 'string') return v.toLowerCase().split('|').map((s) => s.trim());
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw new BadInputError(`config.json: 'pos_att_type' is ${JSON.stringify(v)}; expected a list such as ["p2c", "c2p"] or a string such as "p2c|c2p".`);
}

function debertaDims(c: Config): DebertaDims {
  const H = count(c, 'hidden_size');
  const heads = count(c, 'num_attention_heads');
  // transformers refuses this whatever attention_head_size says.
  if (H % heads !== 0) throw new BadInputError(`config.json: hidden_size ${H} is not a multiple of the ${heads} attention heads; transformers refuses such a DeBERTa too. Fix config.json or re-download it.`);
  const conv = num(c, 'conv_kernel_size', 0);
  if (conv > 0) throw new UnsupportedModelError(`config.json: conv_kernel_size ${conv}: DeBERTa-v2's convolution after the first layer (deberta-v2-xlarge and -xxlarge) is not built from safetensors; export this model to ONNX instead (optimum-cli export onnx) and open the export.`);
  const terms = positionTerms(c);
  const relative = flag(c, 'relative_attention', false);
  const maxRel = num(c, 'max_relative_positions', -1) < 1 ? count(c, 'max_position_embeddings') : count(c, 'max_relative_positions');
  const buckets = num(c, 'position_buckets', -1) > 0 ? count(c, 'position_buckets', undefined, 2) : 0;
  // make_log_bucket_position divides by log((max − 1) / (buckets / 2)): that must be a positive number.
  if (relative && buckets > 0 && maxRel - 1 <= Math.floor(buckets / 2)) {
    throw new BadInputError(`config.json: position_buckets ${buckets} needs relative positions up to more than ${Math.floor(buckets / 2) + 1}, but max_relative_positions (or max_position_embeddings where it is below 1) gives ${maxRel}; transformers' log buckets would divide by zero or run backwards. Fix config.json (DeBERTa-v3: position_buckets 256, max_position_embeddings 512).`);
  }
  const d = c.attention_head_size === undefined ? H / heads : count(c, 'attention_head_size');
  const inter = count(c, 'intermediate_size');
  return {
    H,
    heads,
    d,
    inter,
    L: count(c, 'num_hidden_layers', undefined, 0),
    eps: epsilon(c, 'layer_norm_eps', 1e-7),
    act: activationName(c, 'hidden_act', 'gelu'),
    c2p: terms.includes('c2p'),
    p2c: terms.includes('p2c'),
    span: relative ? buckets || maxRel : 0,
    buckets,
    maxRelative: maxRel,
    shareKey: flag(c, 'share_att_key', false),
    normRel: String(c.norm_rel_ebd ?? 'none').toLowerCase().split('|').map((s) => s.trim()).includes('layer_norm'),
    why: `hidden_size ${H}, num_attention_heads ${heads}, intermediate_size ${inter}`,
  };
}

/** Builds the whole DeBERTa-v2/v3 encoder into `b` (inputs, embeddings, blocks, last_hidden_state). */
export function buildDeberta(b: EncoderParts, config: Config): void {
  const d = debertaDims(config);
  const types = count(config, 'type_vocab_size', 0, 0);
  b.findPrefix('embeddings.word_embeddings.weight');
  b.declareIO(types > 1, d.H);
  let x = embeddings(b, config, d, types);
  const mask = b.maskBias('/encoder');
  const rel = d.span > 0 ? relativeParts(b, d) : null;
  for (let i = 0; i < d.L; i++) x = block(b, i, x, mask, rel, d);
  b.refuseExtraBlocks(d.L, 'num_hidden_layers');
  b.g.op('', 'Identity', [x], undefined, 'last_hidden_state');
}

/** word (+ position) (+ token type) → embed_proj where embedding_size ≠ hidden_size → LayerNorm → × attention_mask. */
function embeddings(b: EncoderParts, c: Config, d: DebertaDims, types: number): string {
  const g = b.g;
  const s = '/embeddings';
  const E = count(c, 'embedding_size', d.H);
  const vocab = count(c, 'vocab_size');
  const embWhy = `${E === d.H ? 'hidden_size' : 'embedding_size'} ${E}`;
  let x = b.embed(`${s}/word_embeddings`, 'embeddings.word_embeddings.weight', [vocab, E], `vocab_size ${vocab}, ${embWhy}`, 'input_ids');
  if (flag(c, 'position_biased_input', true)) {
    const maxPos = count(c, 'max_position_embeddings');
    const pos = g.op(s, 'Range', [g.ints([0], true), g.op(s, 'Gather', [g.op(s, 'Shape', ['input_ids']), g.ints([1], true)]), g.ints([1], true)]);
    x = g.op(s, 'Add', [x, b.embed(`${s}/position_embeddings`, 'embeddings.position_embeddings.weight', [maxPos, E], `max_position_embeddings ${maxPos}, ${embWhy}`, pos)]);
  }
  if (types > 0) {
    const ids = types > 1 ? 'token_type_ids' : g.ints([0], true);
    x = g.op(s, 'Add', [x, b.embed(`${s}/token_type_embeddings`, 'embeddings.token_type_embeddings.weight', [types, E], `type_vocab_size ${types}, ${embWhy}`, ids)]);
  }
  if (E !== d.H) x = b.linear(`${s}/embed_proj`, x, 'embeddings.embed_proj', d.H, E, `hidden_size ${d.H}, embedding_size ${E}`, false);
  x = b.layerNorm(`${s}/LayerNorm`, x, 'embeddings.LayerNorm', d.H, d.eps, `hidden_size ${d.H}`);
  const m = g.op(s, 'Cast', [g.op(s, 'Unsqueeze', ['attention_mask', g.ints([2])])], { to: DataType.FLOAT });
  return g.op(s, 'Mul', [x, m]);
}

interface RelativeParts {
  /** The relative-embedding table, LayerNorm'd where norm_rel_ebd says so, as a batch of one: [1, 2·span, H]. */
  table: string;
  /** Gather indices [1, 1, seq, seq] into the 2·span positions: c2p's at (query, key), p2c's at (key, query). */
  c2p: string;
  p2c: string;
}

/**
 * The relative position of query i to key j (i − j), log-bucketed as make_log_bucket_position does
 * (the same float32 operations in the same order, so bucket boundaries agree), and the clamped
 * indices c2p and p2c read the projected table at; the table, normalised.
 */
function relativeParts(b: EncoderParts, d: DebertaDims): RelativeParts {
  const g = b.g;
  const s = '/encoder';
  const seq = g.op(s, 'Gather', [g.op(s, 'Shape', ['input_ids']), g.ints([1], true)]);
  const r = g.op(s, 'Range', [g.ints([0], true), seq, g.ints([1], true)]);
  let rel = g.op(s, 'Sub', [g.op(s, 'Unsqueeze', [r, g.ints([1])]), g.op(s, 'Unsqueeze', [r, g.ints([0])])]);
  if (d.buckets > 0 && d.maxRelative > 0) {
    const mid = Math.floor(d.buckets / 2);
    const near = g.op(s, 'And', [g.op(s, 'Less', [rel, g.ints([mid], true)]), g.op(s, 'Greater', [rel, g.ints([-mid], true)])]);
    const abs = g.op(s, 'Where', [near, g.ints([mid - 1], true), g.op(s, 'Abs', [rel])]);
    const ratio = g.op(s, 'Div', [g.op(s, 'Cast', [abs], { to: DataType.FLOAT }), g.float(mid)]);
    const scaled = g.op(s, 'Mul', [g.op(s, 'Div', [g.op(s, 'Log', [ratio]), g.op(s, 'Log', [g.float((d.maxRelative - 1) / mid)])]), g.float(mid - 1)]);
    const logPos = g.op(s, 'Add', [g.op(s, 'Ceil', [scaled]), g.float(mid)]);
    const signed = g.op(s, 'Mul', [logPos, g.op(s, 'Cast', [g.op(s, 'Sign', [rel])], { to: DataType.FLOAT })]);
    const bucket = g.op(s, 'Where', [g.op(s, 'LessOrEqual', [abs, g.ints([mid], true)]), g.op(s, 'Cast', [rel], { to: DataType.FLOAT }), signed]);
    rel = g.op(s, 'Cast', [bucket], { to: DataType.INT64 });
  }
  const clamp = (t: string) => g.op(s, 'Unsqueeze', [g.op(s, 'Min', [g.op(s, 'Max', [t, g.ints([0], true)]), g.ints([2 * d.span - 1], true)]), g.ints([0, 1])]);
  const c2p = clamp(g.op(s, 'Add', [rel, g.ints([d.span], true)]));
  const p2c = clamp(g.op(s, 'Sub', [g.ints([d.span], true), rel]));
  const rows = `max_relative_positions / position_buckets give ${2 * d.span} rows, hidden_size ${d.H}`;
  let table = b.weight(`${s}/rel_embeddings`, 'encoder.rel_embeddings.weight', [2 * d.span, d.H], rows);
  if (d.normRel) table = b.layerNorm(`${s}/LayerNorm`, table, 'encoder.LayerNorm', d.H, d.eps, `hidden_size ${d.H}`);
  return { table: g.op(s, 'Unsqueeze', [table, g.ints([0])]), c2p, p2c };
}

/** DebertaV2Layer i: LayerNorm(x + dense(attention)), then LayerNorm(a + dense(act(dense(a)))). */
function block(b: EncoderParts, i: number, x: string, mask: string, rel: RelativeParts | null, d: DebertaDims): string {
  const s = `/encoder/layer.${i}`;
  const n = `encoder.layer.${i}`;
  const A = d.heads * d.d;
  const ctx = disentangledAttention(b, i, x, mask, rel, d);
  const o = b.linear(`${s}/attention/output/dense`, ctx, `${n}.attention.output.dense`, d.H, A, d.why);
  const a = b.layerNorm(`${s}/attention/output/LayerNorm`, b.g.op(`${s}/attention/output`, 'Add', [o, x]), `${n}.attention.output.LayerNorm`, d.H, d.eps, d.why);
  const f = b.activation(`${s}/intermediate/intermediate_act_fn`, b.linear(`${s}/intermediate/dense`, a, `${n}.intermediate.dense`, d.inter, d.H, d.why), d.act);
  const y = b.linear(`${s}/output/dense`, f, `${n}.output.dense`, d.H, d.inter, d.why);
  return b.layerNorm(`${s}/output/LayerNorm`, b.g.op(`${s}/output`, 'Add', [y, a]), `${n}.output.LayerNorm`, d.H, d.eps, d.why);
}

/**
 * DisentangledSelfAttention: (Q·Kᵀ + c2p + p2c) / √(d·(1 + terms)), key padding masked, softmax, ·V.
 * c2p[i, j] = Qᵢ · posK[c2pIdx(i, j)] and p2c[i, j] = Kⱼ · posQ[p2cIdx(j, i)], where posQ and posK
 * are the relative table through the layer's query and key projections (or pos_query_proj and
 * pos_key_proj); each is gathered from the full [seq, 2·span] product, as transformers does.
 */
function disentangledAttention(b: EncoderParts, i: number, x: string, mask: string, rel: RelativeParts | null, d: DebertaDims): string {
  const g = b.g;
  const s = `/encoder/layer.${i}/attention/self`;
  const n = `encoder.layer.${i}.attention.self`;
  const A = d.heads * d.d;
  const proj = (name: string, input: string, scope = name) => b.linear(`${s}/${scope}`, input, `${n}.${name}`, A, d.H, d.why);
  const toHeads = (t: string) => g.op(s, 'Transpose', [g.op(s, 'Reshape', [t, g.ints([0, 0, d.heads, d.d])])], { perm: [0, 2, 1, 3] });
  const [q, k, v] = ['query_proj', 'key_proj', 'value_proj'].map((p) => toHeads(proj(p, x)));
  let scores = g.op(s, 'MatMul', [q, g.op(s, 'Transpose', [k], { perm: [0, 1, 3, 2] })]);
  if (rel && (d.c2p || d.p2c)) {
    // [1, 2·span, A] → [1, heads, d, 2·span]: each head's projected positions, split as K is (so width pruning cuts them with K's heads).
    const positions = (name: string) => g.op(s, 'Transpose', [g.op(s, 'Reshape', [proj(name, rel.table, `${name}_1`), g.ints([0, 0, d.heads, d.d])])], { perm: [0, 2, 3, 1] });
    const shape = g.op(s, 'Shape', [scores]);
    const pick = (full: string, idx: string) => g.op(s, 'GatherElements', [full, g.op(s, 'Expand', [idx, shape])], { axis: 3 });
    let terms = scores;
    if (d.c2p) terms = g.op(s, 'Add', [terms, pick(g.op(s, 'MatMul', [q, positions(d.shareKey ? 'key_proj' : 'pos_key_proj')]), rel.c2p)]);
    if (d.p2c) terms = g.op(s, 'Add', [terms, g.op(s, 'Transpose', [pick(g.op(s, 'MatMul', [k, positions(d.shareKey ? 'query_proj' : 'pos_query_proj')]), rel.p2c)], { perm: [0, 1, 3, 2] })]);
    scores = terms;
  }
  const factor = 1 + Number(d.c2p) + Number(d.p2c);
  const scaled = g.op(s, 'Div', [scores, g.float(Math.fround(Math.sqrt(Math.fround(d.d * factor))))]);
  const probs = g.op(s, 'Softmax', [g.op(s, 'Add', [scaled, mask])], { axis: -1 });
  const ctx = g.op(s, 'Transpose', [g.op(s, 'MatMul', [probs, v])], { perm: [0, 2, 1, 3] });
  return g.op(s, 'Reshape', [ctx, g.ints([0, 0, A])]);
}
