/**
 * What a ModernBERT config.json says about each layer (transformers' configuration_modernbert.py):
 * whether it attends globally or within a sliding window, and the rotary base it uses. Configs on
 * the Hub give `global_attn_every_n_layers` (layer i is global when i % n == 0) with
 * `global_rope_theta` / `local_rope_theta`; newer transformers save the same as `layer_types`
 * ("full_attention" / "sliding_attention") and `rope_parameters` keyed by those types. A pruned
 * folder writes `layer_types`, so each kept layer keeps its own kind.
 */
import { BadInputError, UnsupportedModelError } from '../errors';

type Config = Record<string, unknown>;

export type ModernBertLayerType = 'full_attention' | 'sliding_attention';

const DEFAULT_THETA: Record<ModernBertLayerType, number> = { full_attention: 160_000, sliding_attention: 10_000 };
const OLD_THETA_KEY: Record<ModernBertLayerType, string> = { full_attention: 'global_rope_theta', sliding_attention: 'local_rope_theta' };

/**
 * Each layer's attention kind, from `layer_types` or else `global_attn_every_n_layers` (default 3),
 * as a function of the layer index: a config may claim any number of layers, and the weights say
 * how many there are.
 */
export function modernBertLayerTypes(config: Config, layers: number): (layer: number) => ModernBertLayerType {
  const given = config.layer_types;
  if (given !== undefined && given !== null) {
    if (!Array.isArray(given) || given.length !== layers || !given.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      throw new BadInputError(`config.json: layer_types is ${JSON.stringify(given).slice(0, 200)}; ModernBERT needs one "full_attention" or "sliding_attention" per layer (${layers} layers). Fix config.json or re-download it.`);
    }
    return (i) => given[i] as ModernBertLayerType;
  }
  const every = config.global_attn_every_n_layers ?? 3;
  if (typeof every !== 'number' || !Number.isInteger(every) || every < 1) {
    throw new BadInputError(`config.json: global_attn_every_n_layers is ${JSON.stringify(every)}; it must be an integer ≥ 1 (ModernBERT uses 3). Fix config.json or re-download it.`);
  }
  return (i) => (i % every === 0 ? 'full_attention' : 'sliding_attention');
}

/** The rotary base of a layer kind; only transformers' "default" rotary embedding is built. */
export function modernBertRopeTheta(config: Config, type: ModernBertLayerType): number {
  if (config.rope_scaling != null) throw new UnsupportedModelError(`config.json: rope_scaling ${JSON.stringify(config.rope_scaling)} is not supported when building ModernBERT from safetensors (the default rotary embedding is); export the model to ONNX instead.`);
  const params = (config.rope_parameters as Record<string, Record<string, unknown> | undefined> | undefined)?.[type];
  if (params && params.rope_type !== undefined && params.rope_type !== 'default') {
    throw new UnsupportedModelError(`config.json: rope_parameters.${type}.rope_type '${String(params.rope_type)}' is not supported when building ModernBERT from safetensors ('default' is); export the model to ONNX instead.`);
  }
  // transformers 4.48–4.5x: a local_rope_theta given as null makes local layers use the global base.
  const old = type === 'sliding_attention' && config.local_rope_theta === null ? OLD_THETA_KEY.full_attention : OLD_THETA_KEY[type];
  const theta = params?.rope_theta ?? config[old] ?? DEFAULT_THETA[old === OLD_THETA_KEY.full_attention ? 'full_attention' : type];
  if (typeof theta !== 'number' || !(theta > 1)) throw new BadInputError(`config.json: the rotary base of ${type} layers is ${JSON.stringify(theta)}; it must be a number > 1 (ModernBERT uses ${DEFAULT_THETA[type]}). Fix config.json or re-download it.`);
  return theta;
}

/** Half the sliding window: a local layer's query i sees keys j with |i − j| ≤ this (local_attention // 2). */
export function modernBertHalfWindow(config: Config): number {
  const w = config.local_attention ?? 128;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 0) throw new BadInputError(`config.json: local_attention is ${JSON.stringify(w)}; it must be an integer ≥ 0 (ModernBERT uses 128). Fix config.json or re-download it.`);
  return Math.floor(w / 2);
}

/** config.json of a pruned ModernBERT keeping layers `kept`: each keeps its kind, written as `layer_types`. */
export function prunedModernBertConfig(config: Config, kept: number[], layers: number): Config {
  const types = modernBertLayerTypes(config, layers);
  return { layer_types: kept.map(types) };
}

/**
 * What the card and config.json say about a pruned ModernBERT's model.safetensors where
 * transformers would run it otherwise than measured (modernBertTransformersGap); null where it
 * would run it the same, or the model is not a ModernBERT.
 */
export function modernBertPytorchNote(config: Config, kept: number[]): string | null {
  if (config.model_type !== 'modernbert') return null;
  const gap = modernBertTransformersGap(config, kept, Number(config.num_hidden_layers));
  return gap && `transformers' ModernBertModel would not run model.safetensors as measured: ${gap}. ProbeScale and ONNX runtimes run it as measured (config.json lists each kept layer's attention kind in layer_types, and each layer keeps its own norms); for PyTorch, keep layers that start at layer 0 (and, for transformers 4.x, the source's pattern of global layers), or run onnx/model.onnx`;
}

/**
 * Why transformers' ModernBertModel would not run the pruned layers as they ran in the source; null
 * when it would. Every version gives layer 0 no attention norm (transformers 5.17 was seen to drop a
 * kept layer's as unexpected, scripts/ref/hf_check.py). transformers 4.x chooses local or global
 * attention by `layer index % global_attn_every_n_layers`; 5.x reads config.json's layer_types,
 * which the pruned folder lists, and ran a moved global layer as measured (5.17, same check).
 */
export function modernBertTransformersGap(config: Config, kept: number[], layers: number): string | null {
  const types = modernBertLayerTypes(config, layers);
  const every = typeof config.global_attn_every_n_layers === 'number' ? config.global_attn_every_n_layers : 3;
  if (kept.length && kept[0] !== 0) return `layer ${kept[0]}, now layer 0, has an attention norm that transformers' ModernBertModel leaves out of layer 0`;
  const moved = kept.findIndex((k, i) => (types(k) === 'full_attention') !== (i % every === 0));
  return moved < 0 ? null : `layer ${kept[moved]} (${types(kept[moved]) === 'full_attention' ? 'global' : 'local'} attention), now layer ${moved}, would attend ${moved % every === 0 ? 'globally' : 'within the sliding window'} in transformers 4.x's ModernBertModel, which picks that by layer index % ${every} (transformers 5 reads config.json's layer_types and runs it as measured)`;
}
