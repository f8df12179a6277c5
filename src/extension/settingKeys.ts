/**
 * Every setting ProbeScale reads, by key, and how they become the core's ProbeSettings.
 * package.json `contributes.configuration` declares the same keys; keep the two in step.
 */
import * as vscode from 'vscode';
import { DEFAULT_CANDIDATES, DEFAULT_SETTINGS, DEFAULT_TARGET_RETENTION, PROVIDERS, ProbeSettings } from '../core/settings';
import { SELECTION_RULES, SelectionRule } from '../core/optimize/select';
import { BaselineChoice, parseBaselines } from '../core/optimize/baselineNames';
import { COMPENSATIONS, Compensation } from '../core/compensate/mode';
import { DEFAULT_UNIT_SCORE, UNIT_SCORES, UnitScore } from '../core/compensate/scores';
import { EmbeddingRankChoice, parseEmbeddingRank } from '../core/compensate/embeddingRank';

export const SECTION = 'probescale';

export const SettingKeys = {
  provider: 'provider',
  maxLength: 'maxLength',
  batchSize: 'batchSize',
  pooling: 'pooling',
  limitTrain: 'limitTrain',
  limitTest: 'limitTest',
  targetRetention: 'targetRetention',
  candidates: 'candidates',
  selectionRule: 'selectionRule',
  vocabTrim: 'vocabTrim',
  baselines: 'baselines',
  compensate: 'compensate',
  widthScore: 'widthScore',
  embeddingRank: 'embeddingRank',
} as const;

const POOLINGS: readonly ProbeSettings['pooling'][] = ['mean', 'first'];

function positiveInt(v: unknown, fallback: number | undefined): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fallback;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], fallback: T): T {
  return typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
}

/**
 * The probe settings for a resource (workspace-folder settings win over user settings).
 * Out-of-range values fall back to the defaults rather than failing a job the user started.
 */
export function readProbeSettings(scope: vscode.Uri | undefined, cacheDir: string | null): ProbeSettings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  return {
    ...DEFAULT_SETTINGS,
    provider: oneOf(c.get(SettingKeys.provider), PROVIDERS, DEFAULT_SETTINGS.provider),
    pooling: oneOf(c.get(SettingKeys.pooling), POOLINGS, DEFAULT_SETTINGS.pooling),
    maxLength: positiveInt(c.get(SettingKeys.maxLength), DEFAULT_SETTINGS.maxLength) ?? DEFAULT_SETTINGS.maxLength,
    batchSize: positiveInt(c.get(SettingKeys.batchSize), DEFAULT_SETTINGS.batchSize) ?? DEFAULT_SETTINGS.batchSize,
    // 0 (the default) means "every row".
    limitTrain: positiveInt(c.get(SettingKeys.limitTrain), undefined),
    limitTest: positiveInt(c.get(SettingKeys.limitTest), undefined),
    cacheDir,
  };
}

/** What "Optimize for a Parameter Budget" reads besides the probe settings. */
export interface OptimizeSettings {
  /** Share of the unpruned final layer's accuracy the budget advice aims for, in (0, 1]. */
  targetRetention: number;
  /** Predicted-best subsets measured for real, and neighbours per local-search round. */
  candidates: number;
  /** How the winner is picked among measured subsets (CLI --select). */
  select: SelectionRule | 'auto';
  /** Trim the word embeddings to the training texts' tokens (CLI --vocab-trim). */
  vocabTrim: boolean;
  /** Baselines measured beside the pick (CLI --baselines). */
  baselines: BaselineChoice;
  /** Least-squares compensation the search may add (CLI --compensate). */
  compensate: Compensation;
  /** How narrowed candidates rank heads and neurons (CLI --width-score). */
  widthScore: UnitScore;
  /** Ranks of the factorised word table to try (CLI --embedding-rank); undefined: none. */
  embeddingRank?: EmbeddingRankChoice;
}

/** A setting's --baselines value; one the core cannot read counts as all, like other out-of-range settings. */
function baselineSetting(v: unknown): BaselineChoice {
  try {
    return typeof v === 'string' ? parseBaselines(v) : 'all';
  } catch {
    return 'all';
  }
}

/** A setting's --embedding-rank value: empty is off; one the core cannot read is off too (the range is the job's to check, against the model). */
function embeddingRankSetting(v: unknown): EmbeddingRankChoice | undefined {
  // A rank written as a JSON number (32, not "32") is that rank.
  const text = typeof v === 'number' ? String(v) : v;
  try {
    return typeof text === 'string' && text.trim() !== '' ? parseEmbeddingRank(text) : undefined;
  } catch {
    return undefined;
  }
}

export function readOptimizeSettings(scope: vscode.Uri | undefined): OptimizeSettings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const target = c.get<unknown>(SettingKeys.targetRetention);
  return {
    targetRetention: typeof target === 'number' && target > 0 && target <= 1 ? target : DEFAULT_TARGET_RETENTION,
    candidates: positiveInt(c.get(SettingKeys.candidates), DEFAULT_CANDIDATES) ?? DEFAULT_CANDIDATES,
    select: oneOf(c.get(SettingKeys.selectionRule), ['auto', ...SELECTION_RULES] as const, 'auto'),
    vocabTrim: c.get(SettingKeys.vocabTrim) === true,
    baselines: baselineSetting(c.get(SettingKeys.baselines)),
    compensate: oneOf(c.get(SettingKeys.compensate), COMPENSATIONS, 'none'),
    widthScore: oneOf(c.get(SettingKeys.widthScore), UNIT_SCORES, DEFAULT_UNIT_SCORE),
    embeddingRank: embeddingRankSetting(c.get(SettingKeys.embeddingRank)),
  };
}
