/**
 * Settings every host fills in (CLI flags, VS Code settings, tests) and their defaults, defined
 * once: the CLI, the extension's settings reader and package.json's defaults all read these.
 */
import type { Dtype } from './model/modelInfo';
import type { GraphSource } from './model/graphSource';
import type { Pooling } from './onnx/edit';

export const PROVIDERS = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Settings a sentence-transformers model can decide (core/model/sentenceTransformers.ts). */
export type ModelSetting = 'pooling' | 'maxLength' | 'prompt';

/** Options shared by every job that runs the encoder and trains probes (CLI probe options). */
export interface ProbeSettings {
  pooling: Pooling;
  /**
   * Settings the user left unset: a sentence-transformers model decides them where it says
   * (pooling: its 1_Pooling/config.json; maxLength: max_seq_length in sentence_bert_config.json;
   * prompt: default_prompt_name in config_sentence_transformers.json). prepare.ts records the
   * values used in `pooling`, `maxLength` and `prompt` and drops this.
   */
  followModel?: ModelSetting[];
  maxLength: number;
  /** Text put before every input text (sentence-transformers' prompts, e5's "query: "); absent or '': none. */
  prompt?: string;
  /** A prompt of the model's config_sentence_transformers.json, by name; prepare.ts turns it into `prompt` and drops this. */
  promptName?: string;
  /** Texts lowercased before tokenising: set by prepare.ts where a sentence-transformers model says do_lower_case (no option sets it). */
  lowercase?: boolean;
  limitTrain?: number;
  limitTest?: number;
  /** Fixed inverse regularisation; otherwise chosen by stratified 5-fold CV on train. */
  c?: number;
  provider: Provider;
  strictProvider?: boolean;
  onnx?: string;
  quantized?: boolean;
  /** transformers.js dtype of the variant file to load (fp32 → model.onnx, q8 → model_quantized.onnx, …). */
  dtype?: Dtype;
  /** Graph source: the folder's ONNX export or its safetensors weights (default: ONNX when present). */
  from?: GraphSource;
  batchSize: number;
  seed: number;
  /** Feature cache folder; null disables the cache. */
  cacheDir: string | null;
  threads?: number;
}

export const DEFAULT_SETTINGS: ProbeSettings = {
  pooling: 'mean',
  maxLength: 128,
  provider: 'auto',
  batchSize: 32,
  seed: 0,
  cacheDir: null,
};

/** Share of the unpruned final layer's accuracy the budget advice aims to keep. */
export const DEFAULT_TARGET_RETENTION = 0.95;
/** Subsets measured per round of the optimize search. */
export const DEFAULT_CANDIDATES = 8;

/**
 * The ranges package.json declares for the numeric settings. VS Code flags a value outside them in
 * the Settings editor but hands it to the extension anyway, which would then run with it
 * (`probescale.batchSize: 100000` puts every row in one pass); the extension's reader holds to them.
 */
export const SETTING_RANGES = {
  maxLength: { min: 8, max: 4096 },
  batchSize: { min: 1, max: 1024 },
  candidates: { min: 1, max: 256 },
} as const;
