/**
 * Where a Hugging Face `config.json` keeps the encoder's block count: the one list every reader
 * and writer of that count uses.
 */

/** The keys, in the order they are looked up. */
export const LAYER_COUNT_KEYS = ['num_hidden_layers', 'n_layers', 'num_layers', 'n_layer'] as const;
export type LayerCountKey = (typeof LAYER_COUNT_KEYS)[number];

/** The key by `model_type` (bert/roberta/electra/xlm-roberta/mpnet: num_hidden_layers; distilbert: n_layers; t5: num_layers). */
const KEY_BY_TYPE: Record<string, LayerCountKey> = {
  bert: 'num_hidden_layers',
  roberta: 'num_hidden_layers',
  electra: 'num_hidden_layers',
  'xlm-roberta': 'num_hidden_layers',
  camembert: 'num_hidden_layers',
  mpnet: 'num_hidden_layers',
  modernbert: 'num_hidden_layers',
  'deberta-v2': 'num_hidden_layers',
  distilbert: 'n_layers',
  t5: 'num_layers',
  mt5: 'num_layers',
  umt5: 'num_layers',
  nomic_bert: 'n_layer',
};

/** The key holding this config's block count: by model_type, else the only one present; null when that is ambiguous. */
export function layerCountKey(config: Record<string, unknown>): LayerCountKey | null {
  const byType = KEY_BY_TYPE[String(config.model_type ?? '')];
  if (byType) return byType;
  const present = LAYER_COUNT_KEYS.filter((k) => typeof config[k] === 'number');
  return present.length === 1 ? present[0] : null;
}

/** The block count config.json declares (the first key present), or undefined when it declares none. */
export function declaredLayerCount(config: Record<string, unknown>): number | undefined {
  const key = LAYER_COUNT_KEYS.find((k) => config[k] != null);
  const n = key === undefined ? NaN : Number(config[key]);
  return Number.isFinite(n) ? n : undefined;
}
