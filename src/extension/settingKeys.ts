/**
 * Every setting ProbeScale reads, by key, and how they become the core's ProbeSettings.
 * package.json `contributes.configuration` declares the same keys; keep the two in step.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { expandHome } from '../core/util/homePath';
import { POOLINGS } from '../core/onnx/edit';
import { DEFAULT_CANDIDATES, DEFAULT_SETTINGS, DEFAULT_TARGET_RETENTION, PROVIDERS, ProbeSettings, SETTING_RANGES } from '../core/settings';
import { SELECTION_RULES, SelectionRule } from '../core/optimize/select';
import { BaselineChoice, parseBaselines } from '../core/optimize/baselineNames';
import { COMPENSATIONS, Compensation } from '../core/compensate/mode';
import { DEFAULT_UNIT_SCORE, UNIT_SCORES, UnitScore } from '../core/compensate/scores';
import { EmbeddingRankChoice, parseEmbeddingRank } from '../core/compensate/embeddingRank';
import { UNSEEN_TOKENS, UnseenTokens } from '../core/optimize/unseenTokens';
import { GivenColumns, parseColumns } from '../core/data/columns';
import { GRAPH_SOURCES } from '../core/model/graphSource';
import type { TaskSpec } from '../core/jobs';

export const SECTION = 'probescale';

export const SettingKeys = {
  provider: 'provider',
  graphSource: 'graphSource',
  maxLength: 'maxLength',
  batchSize: 'batchSize',
  pooling: 'pooling',
  prompt: 'prompt',
  promptName: 'promptName',
  limitTrain: 'limitTrain',
  limitTest: 'limitTest',
  targetRetention: 'targetRetention',
  candidates: 'candidates',
  selectionRule: 'selectionRule',
  vocabTrim: 'vocabTrim',
  vocabUnseen: 'vocabUnseen',
  baselines: 'baselines',
  compensate: 'compensate',
  widthScore: 'widthScore',
  embeddingRank: 'embeddingRank',
  cacheDir: 'cacheDir',
  noCache: 'noCache',
  taskColumns: 'taskColumns',
  taskTestSplits: 'taskTestSplits',
} as const;


/** A setting whose value the core cannot read: the run used `used` instead (shown once per run, see settingNotices.ts). */
export interface UnreadableSetting {
  key: string;
  value: unknown;
  /** What the setting accepts. */
  expected: string;
  /** What the run used instead, in words. */
  used: string;
}

/** Settings as a run reads them, and the values it could not read. */
export interface SettingsRead<T> {
  settings: T;
  unreadable: UnreadableSetting[];
}

/** A parser's answer for a value it cannot read (undefined is a value: "off", "every row"). */
const UNREADABLE = Symbol('unreadable');
type Parse<T> = (v: unknown) => T | typeof UNREADABLE;

/** Reads keys of one configuration; a set value that `parse` cannot read becomes the fallback and is noted. */
function settingReader(c: vscode.WorkspaceConfiguration) {
  const unreadable: UnreadableSetting[] = [];
  const read = <T>(key: string, parse: Parse<T>, fallback: T, expected: string, used: string): T => {
    const v = c.get<unknown>(key);
    // Unset: VS Code answers with package.json's default, so undefined only where there is none.
    if (v === undefined) return fallback;
    const r = parse(v);
    if (r !== UNREADABLE) return r;
    unreadable.push({ key, value: v, expected, used });
    return fallback;
  };
  return { read, unreadable };
}

const positiveInt: Parse<number> = (v) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : UNREADABLE);

/** A whole number in package.json's declared range, and how to say it. */
const intIn = (r: { min: number; max: number }): Parse<number> => (v) => (typeof v === 'number' && Number.isInteger(v) && v >= r.min && v <= r.max ? v : UNREADABLE);
const intWords = (r: { min: number; max: number }) => `a whole number from ${r.min} to ${r.max}`;

/** Whether the user set `key` anywhere (VS Code answers package.json's default for a key nobody set). */
function isSet(c: vscode.WorkspaceConfiguration, key: string): boolean {
  const i = c.inspect(key);
  return [i?.globalValue, i?.workspaceValue, i?.workspaceFolderValue, i?.globalLanguageValue, i?.workspaceLanguageValue, i?.workspaceFolderLanguageValue].some((v) => v !== undefined);
}

function leftToModel(c: vscode.WorkspaceConfiguration): Pick<ProbeSettings, 'followModel'> {
  // Always a list, empty when the user set all three: the command line then knows what was set.
  // A prompt named by probescale.promptName is the user's choice as much as one written out.
  const set = (k: 'pooling' | 'maxLength' | 'prompt') => isSet(c, SettingKeys[k]) || (k === 'prompt' && isSet(c, SettingKeys.promptName));
  return { followModel: (['pooling', 'maxLength', 'prompt'] as const).filter((k) => !set(k)) };
}

/** The settings read, with a run's own overrides: a value the run gives is the user's choice, not the model's. */
export function withOverrides(read: ProbeSettings, overrides: Partial<ProbeSettings> | undefined): ProbeSettings {
  const s = { ...read, ...overrides };
  if (read.followModel) s.followModel = read.followModel.filter((k) => overrides?.[k] === undefined);
  return s;
}

const text: Parse<string> = (v) => (typeof v === 'string' ? v : UNREADABLE);
/**
 * `probescale.prompt`, or the model's prompt `probescale.promptName` names (e5's `query`). Both set
 * is ambiguous: the text wins and the name is noted as not read, so the run says which it used.
 */
function promptSettings(read: ReturnType<typeof settingReader>['read'], c: vscode.WorkspaceConfiguration): Pick<ProbeSettings, 'prompt' | 'promptName'> {
  const prompt = read(SettingKeys.prompt, text, '', 'a text (empty: none)', 'no prompt');
  const both = prompt !== '' && typeof c.get<unknown>(SettingKeys.promptName) === 'string' && c.get<string>(SettingKeys.promptName) !== '';
  const name = read(SettingKeys.promptName, both ? () => UNREADABLE : text, '', both ? `empty while ${SECTION}.${SettingKeys.prompt} is set (set one of the two)` : 'a prompt name of the model (empty: none)', both ? `the prompt ${JSON.stringify(prompt)}` : 'no named prompt');
  return { ...(prompt ? { prompt } : {}), ...(name ? { promptName: name } : {}) };
}

/** 0 means "every row". */
const rowLimit: Parse<number | undefined> = (v) => (v === 0 ? undefined : positiveInt(v));

function oneOf<T extends string>(allowed: readonly T[]): Parse<T> {
  return (v) => (typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : UNREADABLE);
}

const words = (allowed: readonly string[]) => `one of ${allowed.join(', ')}`;

/**
 * The probe settings for a resource (workspace-folder settings win over user settings).
 * Values the core cannot read fall back to the defaults rather than failing a job the user
 * started, and are returned in `unreadable` for the command to say so.
 */
export function readProbeSettings(scope: vscode.Uri | undefined, storage: string | null): SettingsRead<ProbeSettings> {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const { read, unreadable } = settingReader(c);
  const d = DEFAULT_SETTINGS;
  const settings: ProbeSettings = {
    ...d,
    provider: read(SettingKeys.provider, oneOf(PROVIDERS), d.provider, words(PROVIDERS), d.provider),
    // What --from says: the folder's ONNX export, or the graph built from its weights (width pruning of a ModernBERT, DeBERTa or NomicBERT needs it).
    from: read(SettingKeys.graphSource, oneOf(GRAPH_SOURCES), 'auto', words(GRAPH_SOURCES), 'auto'),
    pooling: read(SettingKeys.pooling, oneOf(POOLINGS), d.pooling, words(POOLINGS), d.pooling),
    // Left at their defaults, these follow a sentence-transformers model's own (core/model/sentenceTransformers.ts).
    ...leftToModel(c),
    maxLength: read(SettingKeys.maxLength, intIn(SETTING_RANGES.maxLength), d.maxLength, intWords(SETTING_RANGES.maxLength), String(d.maxLength)),
    ...promptSettings(read, c),
    batchSize: read(SettingKeys.batchSize, intIn(SETTING_RANGES.batchSize), d.batchSize, intWords(SETTING_RANGES.batchSize), String(d.batchSize)),
    limitTrain: read(SettingKeys.limitTrain, rowLimit, undefined, 'a whole number ≥ 0 (0: every row)', 'every row'),
    limitTest: read(SettingKeys.limitTest, rowLimit, undefined, 'a whole number ≥ 0 (0: every row)', 'every row'),
    cacheDir: featureCache(read, storage),
  };
  return { settings, unreadable };
}

/**
 * Where features are cached: nowhere with `noCache`; else the folder `cacheDir` names (absolute,
 * or from `~`), else `storage` (the extension's global storage, or null where it has none).
 */
function featureCache(read: ReturnType<typeof settingReader>['read'], storage: string | null): string | null {
  if (read(SettingKeys.noCache, bool, false, 'true or false', 'false')) return null;
  const folder: Parse<string | null> = (v) => {
    if (typeof v !== 'string') return UNREADABLE;
    if (v.trim() === '') return storage;
    const p = expandHome(v);
    return path.isAbsolute(p) ? path.resolve(p) : UNREADABLE;
  };
  return read(SettingKeys.cacheDir, folder, storage, "an absolute folder path (or one starting with ~/); empty for the extension's own storage", storage ?? 'no cache');
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
  /** Where the trimmed table's dropped ids read (CLI --vocab-unseen). */
  vocabUnseen: UnseenTokens;
  /** Baselines measured beside the pick (CLI --baselines). */
  baselines: BaselineChoice;
  /** Least-squares compensation the search may add (CLI --compensate). */
  compensate: Compensation;
  /** How narrowed candidates rank heads and neurons (CLI --width-score). */
  widthScore: UnitScore;
  /** Ranks of the factorised word table to try (CLI --embedding-rank); undefined: none. */
  embeddingRank?: EmbeddingRankChoice;
}

const baselineSetting: Parse<BaselineChoice> = (v) => {
  try {
    return typeof v === 'string' ? parseBaselines(v) : UNREADABLE;
  } catch {
    return UNREADABLE;
  }
};

/** A setting's --embedding-rank value: empty is off (the range is the job's to check, against the model). */
const embeddingRankSetting: Parse<EmbeddingRankChoice | undefined> = (v) => {
  // A rank written as a JSON number (32, not "32") is that rank.
  const text = typeof v === 'number' ? String(v) : v;
  if (typeof text !== 'string') return UNREADABLE;
  try {
    return text.trim() === '' ? undefined : parseEmbeddingRank(text);
  } catch {
    return UNREADABLE;
  }
};

const targetRetention: Parse<number> = (v) => (typeof v === 'number' && v > 0 && v <= 1 ? v : UNREADABLE);
const bool: Parse<boolean> = (v) => (typeof v === 'boolean' ? v : UNREADABLE);

export function readOptimizeSettings(scope: vscode.Uri | undefined): SettingsRead<OptimizeSettings> {
  const { read, unreadable } = settingReader(vscode.workspace.getConfiguration(SECTION, scope));
  const rules = ['auto', ...SELECTION_RULES] as const;
  const settings: OptimizeSettings = {
    targetRetention: read(SettingKeys.targetRetention, targetRetention, DEFAULT_TARGET_RETENTION, 'a number in (0, 1]', String(DEFAULT_TARGET_RETENTION)),
    candidates: read(SettingKeys.candidates, intIn(SETTING_RANGES.candidates), DEFAULT_CANDIDATES, intWords(SETTING_RANGES.candidates), String(DEFAULT_CANDIDATES)),
    select: read(SettingKeys.selectionRule, oneOf(rules), 'auto', words(rules), 'auto'),
    vocabTrim: read(SettingKeys.vocabTrim, bool, false, 'true or false', 'false'),
    vocabUnseen: read(SettingKeys.vocabUnseen, oneOf(UNSEEN_TOKENS), 'nearest', words(UNSEEN_TOKENS), 'nearest'),
    baselines: read(SettingKeys.baselines, baselineSetting, 'all', 'all, none or a comma-separated list of baseline names', 'all'),
    compensate: read(SettingKeys.compensate, oneOf(COMPENSATIONS), 'none', words(COMPENSATIONS), 'none'),
    widthScore: read(SettingKeys.widthScore, oneOf(UNIT_SCORES), DEFAULT_UNIT_SCORE, words(UNIT_SCORES), DEFAULT_UNIT_SCORE),
    embeddingRank: read(SettingKeys.embeddingRank, embeddingRankSetting, undefined, 'empty, a rank such as 32, a list such as 16,32 or auto', 'off (no factorised word table)'),
  };
  return { settings, unreadable };
}

/** `probescale.taskColumns`: task name → "text=COLUMN,label=COLUMN" (as the CLI's --columns). */
const columnsTable: Parse<Map<string, GivenColumns>> = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return UNREADABLE;
  try {
    return new Map(
      Object.entries(v).map(([name, spec]) => {
        if (typeof spec !== 'string') throw new TypeError(`${name}: not a string`);
        return [name, parseColumns(spec, `${SECTION}.${SettingKeys.taskColumns}.${name}`)];
      }),
    );
  } catch {
    return UNREADABLE;
  }
};

/** `probescale.taskTestSplits`: task name → the split tested on (as the CLI's --test-split). */
const splitTable: Parse<Map<string, string>> = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return UNREADABLE;
  const entries = Object.entries(v);
  return entries.every(([, s]) => typeof s === 'string' && /^[A-Za-z0-9_.-]+$/.test(s) && s !== 'train') ? new Map(entries as [string, string][]) : UNREADABLE;
};

/**
 * The tasks, each with the columns `probescale.taskColumns` and the test split
 * `probescale.taskTestSplits` name for it (by task name), where it has none of its own.
 */
export function readTaskSettings(scope: vscode.Uri | undefined, tasks: TaskSpec[]): SettingsRead<TaskSpec[]> {
  const { read, unreadable } = settingReader(vscode.workspace.getConfiguration(SECTION, scope));
  const columns = read(SettingKeys.taskColumns, columnsTable, new Map(), 'an object of task name → "text=COLUMN,text_pair=COLUMN,label=COLUMN"', 'the columns text, text_pair and label');
  const splits = read(SettingKeys.taskTestSplits, splitTable, new Map(), 'an object of task name → a split name such as "validation_matched" (not "train")', 'each folder\'s test split, else its one validation split');
  const settings = tasks.map((t) => {
    const c = columns.get(t.name);
    const split = splits.get(t.name);
    return { ...t, ...(!t.columns && c && Object.keys(c).length ? { columns: c } : {}), ...(!t.testSplit && split ? { testSplit: split } : {}) };
  });
  return { settings, unreadable };
}

/** One unreadable setting in a sentence: the setting, its value, what it accepts and what the run used. */
export function describeUnreadable(u: UnreadableSetting): string {
  return `${SECTION}.${u.key} is ${JSON.stringify(u.value)}, which ProbeScale cannot read (expected ${u.expected}); this run used ${u.used} instead.`;
}
