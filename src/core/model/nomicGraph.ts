/**
 * The feature-extraction graph of a NomicBERT encoder (model_type nomic_bert: nomic-embed-text-v1 and
 * v1.5, and models built on nomic-bert-2048) from config.json and its weights, as Nomic's own modeling
 * code (modeling_hf_nomic_bert.py, loaded with trust_remote_code) computes it in eval mode:
 * emb_ln(word + token-type embeddings), no position embeddings; then post-norm blocks whose
 * attention rotates Q and K (rotary over whole heads, GPT-NeoX halves, base rotary_emb_base) from
 * one fused Wqkv, and whose FFN is gated (swiglu: fc2(fc11(x) · silu(fc12(x)))) or plain (fc2(gelu(fc1(x)))).
 * Wqkv is read in place as its q, k and v row ranges, so the graph has the separate Q, K and V
 * projections width pruning rewrites. Node scopes are the exporter's (/encoder/layers.N/...).
 * Reference: scripts/ref/nomic.py (a transcription of Nomic's code) and its fixture.
 */
import { UnsupportedModelError } from '../errors';
import { Config, activationName, count, epsilon, flag, num } from './configValues';
import { EncoderParts } from './debertaGraph';

/** What the NomicBERT graph needs of the encoder builder beyond EncoderParts (encoderGraph.ts's EncoderBuilder has it). */
export interface RotaryParts extends EncoderParts {
  rowsOf(name: string, shape: number[], why: string, part: string, from: number, to: number): void;
  rotaryTables(headDim: number, theta: (kind: string) => number): (kind: string) => { cos: string; sin: string };
  rotaryAttention(scope: string, q: string, k: string, v: string, heads: number, dim: number, rope: { cos: string; sin: string }, mask: string): string;
}

interface NomicDims {
  H: number;
  heads: number;
  L: number;
  /** The FFN width the weights have (the gated MLP rounds n_inner up to a multiple of 256). */
  I: number;
  /** Gated FFN: the activation applied to fc12 (silu, gelu, sigmoid); plain FFN: null (exact gelu). */
  gate: 'silu' | 'gelu' | 'sigmoid' | null;
  eps: number;
  qkvBias: boolean;
  fc1Bias: boolean;
  fc2Bias: boolean;
  why: string;
}

const GATES: Record<string, NomicDims['gate']> = { swiglu: 'silu', geglu: 'gelu', glu: 'sigmoid' };
const PLAIN = new Set(['gelu', 'gelu_new', 'gelu_fast', 'gelu_pytorch_tanh']);

/** Switches Nomic's code has that this builder does not build, with the value that it does. */
const REFUSED: [key: string, built: unknown, what: string][] = [
  ['prenorm', false, 'pre-norm blocks'],
  ['parallel_block', false, 'parallel attention and MLP'],
  ['causal', false, 'causal attention'],
  ['use_rms_norm', false, 'RMS norms'],
  ['rotary_emb_interleaved', false, 'interleaved (GPT-J) rotary'],
  ['rotary_head_dim', false, 'rotary over the head axis'],
];

/** The FFN a NomicBERT config describes: n_inner as given (or its default), the width its weights have, and the gate's activation. */
export function nomicFfn(c: Config): { inner: number; width: number; gate: NomicDims['gate'] } {
  const act = activationName(c, 'activation_function', 'gelu_new');
  const gate = GATES[act] ?? null;
  if (!gate && !PLAIN.has(act)) throw new UnsupportedModelError(`config.json: activation_function '${act}' is not one NomicBERT has (swiglu, geglu, glu, gelu); fix config.json or export the model to ONNX.`);
  const H = count(c, 'n_embd');
  const inner = c.n_inner == null ? (gate ? Math.floor((8 * H) / 3) : 4 * H) : count(c, 'n_inner');
  // NomciBertGatedMLP rounds its width up to a multiple of 256 (multiple_of); NomicBertMLP does not.
  return { inner, width: gate ? Math.ceil(inner / 256) * 256 : inner, gate };
}

function nomicDims(c: Config): NomicDims {
  for (const [key, built, what] of REFUSED) {
    if ((c[key] ?? built) !== built) throw new UnsupportedModelError(`config.json: ${key} ${JSON.stringify(c[key])} (${what}) is not built from safetensors by ProbeScale (${JSON.stringify(built)} is, as nomic-embed-text has it); export the model to ONNX instead.`);
  }
  if (num(c, 'rotary_emb_fraction', 0) !== 1) throw new UnsupportedModelError(`config.json: rotary_emb_fraction ${JSON.stringify(c.rotary_emb_fraction ?? 0)}: ProbeScale builds NomicBERT with rotary over whole heads (1.0, as nomic-embed-text has it), not ${c.rotary_emb_fraction === undefined || Number(c.rotary_emb_fraction) <= 0 ? 'absolute position embeddings' : 'partial rotary'}; export the model to ONNX instead.`);
  if (c.rotary_emb_scale_base != null) throw new UnsupportedModelError(`config.json: rotary_emb_scale_base ${JSON.stringify(c.rotary_emb_scale_base)} (xPos scaling) is not built from safetensors by ProbeScale; export the model to ONNX instead.`);
  const H = count(c, 'n_embd');
  const heads = count(c, 'n_head');
  if (H % heads !== 0 || (H / heads) % 2 !== 0) throw new UnsupportedModelError(`config.json: n_embd ${H} is not a multiple of ${heads} heads of an even size; NomicBERT's rotary embedding needs that. Fix config.json or re-download it.`);
  if (c.num_heads_kv != null && c.num_heads_kv !== heads) throw new UnsupportedModelError(`config.json: num_heads_kv ${JSON.stringify(c.num_heads_kv)} differs from n_head ${heads} (grouped-query attention), which ProbeScale does not build; export the model to ONNX instead.`);
  const { inner, width: I, gate } = nomicFfn(c);
  const L = count(c, 'n_layer', undefined, 0);
  const why = `n_embd ${H}, n_head ${heads}, n_inner ${c.n_inner == null ? 'unset' : inner}${I !== inner ? ` (${I} after Nomic's rounding up to a multiple of 256)` : ''}`;
  return { H, heads, L, I, gate, eps: epsilon(c, 'layer_norm_epsilon', 1e-5), qkvBias: flag(c, 'qkv_proj_bias', true), fc1Bias: flag(c, 'mlp_fc1_bias', true), fc2Bias: flag(c, 'mlp_fc2_bias', true), why };
}

export function buildNomic(b: RotaryParts, config: Config): void {
  const d = nomicDims(config);
  const types = count(config, 'type_vocab_size', 2, 0);
  const multiple = count(config, 'pad_vocab_size_multiple', 1);
  // NomicBertModel pads vocab_size up to a multiple of pad_vocab_size_multiple, and so are the weights.
  const vocab = Math.ceil(count(config, 'vocab_size') / multiple) * multiple;
  b.findPrefix('embeddings.word_embeddings.weight');
  b.declareIO(types > 0, d.H);
  let x = b.embed('/embeddings/word_embeddings', 'embeddings.word_embeddings.weight', [vocab, d.H], `vocab_size ${vocab} (padded to a multiple of ${multiple}), ${d.why}`, 'input_ids');
  if (types > 0) x = b.g.op('/embeddings', 'Add', [x, b.embed('/embeddings/token_type_embeddings', 'embeddings.token_type_embeddings.weight', [types, d.H], `type_vocab_size ${types}, ${d.why}`, 'token_type_ids')]);
  x = b.layerNorm('/emb_ln', x, 'emb_ln', d.H, d.eps, d.why);
  const mask = b.maskBias('/encoder');
  const rope = b.rotaryTables(d.H / d.heads, () => num(config, 'rotary_emb_base', 10_000))('rotary');
  for (let i = 0; i < d.L; i++) x = layer(b, i, x, d, rope, mask);
  b.refuseExtraBlocks(d.L, 'n_layer');
  b.g.op('', 'Identity', [x], undefined, 'last_hidden_state');
}

/** Layer i: norm1(out_proj(attention) + x), then norm2(mlp + x); Wqkv split by rows into q, k, v. */
function layer(b: RotaryParts, i: number, x: string, d: NomicDims, rope: { cos: string; sin: string }, mask: string): string {
  const { H, I, why } = d;
  const g = b.g;
  const s = `/encoder/layers.${i}`;
  const n = `encoder.layers.${i}`;
  (['q', 'k', 'v'] as const).forEach((part, j) => {
    b.rowsOf(`${n}.attn.Wqkv.weight`, [3 * H, H], why, `${n}.attn.Wqkv.${part}.weight`, j * H, (j + 1) * H);
    if (d.qkvBias) b.rowsOf(`${n}.attn.Wqkv.bias`, [3 * H], why, `${n}.attn.Wqkv.${part}.bias`, j * H, (j + 1) * H);
  });
  const [q, k, v] = (['q', 'k', 'v'] as const).map((p) => b.linear(`${s}/attn/Wqkv/${p}`, x, `${n}.attn.Wqkv.${p}`, H, H, why, d.qkvBias));
  const ctx = b.rotaryAttention(`${s}/attn`, q, k, v, d.heads, H / d.heads, rope, mask);
  x = b.layerNorm(`${s}/norm1`, g.op(s, 'Add', [b.linear(`${s}/attn/out_proj`, ctx, `${n}.attn.out_proj`, H, H, why, d.qkvBias), x]), `${n}.norm1`, H, d.eps, why);
  let hidden: string;
  if (d.gate) {
    const up = b.linear(`${s}/mlp/fc11`, x, `${n}.mlp.fc11`, I, H, why, d.fc1Bias);
    const gate = b.linear(`${s}/mlp/fc12`, x, `${n}.mlp.fc12`, I, H, why, d.fc1Bias);
    hidden = g.op(`${s}/mlp`, 'Mul', [up, d.gate === 'sigmoid' ? g.op(`${s}/mlp`, 'Sigmoid', [gate]) : b.activation(`${s}/mlp/act`, gate, d.gate)]);
  } else {
    hidden = b.activation(`${s}/mlp/act`, b.linear(`${s}/mlp/fc1`, x, `${n}.mlp.fc1`, I, H, why, d.fc1Bias), 'gelu');
  }
  return b.layerNorm(`${s}/norm2`, g.op(s, 'Add', [b.linear(`${s}/mlp/fc2`, hidden, `${n}.mlp.fc2`, H, I, why, d.fc2Bias), x]), `${n}.norm2`, H, d.eps, why);
}
