/**
 * Sentence-transformers folders (`modules.json` at the model's root, as all-MiniLM-L6-v2, bge or
 * e5 ship): the modules SentenceTransformer(path) loads beside the transformer (Pooling,
 * Normalize, Dense …) and the pooling they embed with. A pruned folder carries them unchanged
 * (pruning keeps the hidden width every module reads), so it loads as its source did; a probe
 * pools as the model embeds unless the user says otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { POOLINGS, type Pooling } from '../onnx/edit';
import { notAFile } from '../util/fileKind';
import { readUtf8 } from '../util/textFile';
import { badValue } from '../errors';

export const MODULES_FILE = 'modules.json';
export const CONFIG_FILE = 'sentence_bert_config.json';
/** Files at the root that sentence-transformers reads besides the transformer's own. */
export const ST_CONFIG_FILE = 'config_sentence_transformers.json';
const ROOT_FILES = [MODULES_FILE, CONFIG_FILE, ST_CONFIG_FILE];
const TRANSFORMER = 'sentence_transformers.models.Transformer';
const POOLING = 'sentence_transformers.models.Pooling';
/** Folders a module directory cannot be: they are the pruned folder's own. */
const OURS = new Set(['onnx', 'classifiers']);

interface ModuleEntry {
  path: string;
  type: string;
}

export interface SentenceTransformersFolder {
  /** The module folders beside the transformer, relative to the model folder ('1_Pooling', '2_Normalize'). */
  moduleDirs: string[];
  /** Where modules.json puts the transformer ('' for the root). */
  transformerPath: string | null;
  /** The Pooling module's modes that are on (`cls_token`, `mean_tokens` …), and its config file. */
  pooling: { file: string; modes: string[]; includePrompt: boolean } | null;
  /** Entries or files that could not be read, in words. */
  problems: string[];
  /** modules.json itself cannot be read: nothing of it is carried. */
  unreadable: boolean;
}

/** The folder's sentence-transformers layout, or null when it has no modules.json. */
export function readSentenceTransformers(dir: string): SentenceTransformersFolder | null {
  const file = path.join(dir, MODULES_FILE);
  if (!fs.existsSync(file)) return null;
  const folder: SentenceTransformersFolder = { moduleDirs: [], transformerPath: null, pooling: null, problems: [], unreadable: true };
  const entries = readJson(file, folder.problems);
  if (entries === undefined) return folder;
  if (!Array.isArray(entries)) {
    folder.problems.push(`${file} is not a list of modules`);
    return folder;
  }
  folder.unreadable = false;
  for (const [i, e] of entries.entries()) {
    const m = e as Partial<ModuleEntry> | null;
    if (typeof m?.path !== 'string' || typeof m.type !== 'string') {
      folder.problems.push(`${file}: entry ${i} has no "path" and "type" strings`);
      continue;
    }
    if (m.type === TRANSFORMER) folder.transformerPath = m.path;
    if (m.path === '') continue;
    const rel = path.normalize(m.path);
    if (path.isAbsolute(m.path) || rel.startsWith('..') || rel.includes(path.sep) || OURS.has(rel)) {
      folder.problems.push(`${file}: module path ${JSON.stringify(m.path)} is not a folder beside the model's files`);
      continue;
    }
    if (m.type === TRANSFORMER) continue;
    if (fs.existsSync(path.join(dir, rel))) folder.moduleDirs.push(rel);
    if (m.type === POOLING) folder.pooling = poolingModes(path.join(dir, rel, 'config.json'), folder.problems);
  }
  return folder;
}

/** A JSON file's value, or undefined with the reason in `problems` (a pipe or a folder is not read: it could block). */
function readJson(file: string, problems: string[]): unknown {
  const bad = notAFile(file);
  if (bad) {
    problems.push(`${file} ${bad}`);
    return undefined;
  }
  try {
    return JSON.parse(readUtf8(file));
  } catch (e) {
    problems.push(`${file} cannot be read as JSON (${(e as Error).message})`);
    return undefined;
  }
}

function poolingModes(file: string, problems: string[]): { file: string; modes: string[]; includePrompt: boolean } | null {
  const c = readJson(file, problems);
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    if (c !== undefined) problems.push(`${file} is not a JSON object of pooling modes`);
    return null;
  }
  // Pooling.save writes one boolean per mode; older configs may name it in "pooling_mode".
  const modes = Object.entries(c).flatMap(([k, v]) => (k.startsWith('pooling_mode_') && v === true ? [k.slice('pooling_mode_'.length)] : []));
  const named = (c as Record<string, unknown>).pooling_mode;
  if (!modes.length && typeof named === 'string') modes.push(named === 'cls' ? 'cls_token' : named === 'mean' ? 'mean_tokens' : named);
  // include_prompt false: sentence-transformers leaves the prompt's tokens out of the pooling.
  return { file, modes, includePrompt: (c as Record<string, unknown>).include_prompt !== false };
}

/** What a probe should pool by for a model folder, and what to tell the user; null: not a sentence-transformers folder. */
export function modelPooling(dir: string): { pooling: Pooling; level: 'info' | 'warn'; message: string } | null {
  const st = readSentenceTransformers(dir);
  if (!st) return null;
  const where = st.pooling ? path.relative(dir, st.pooling.file) : MODULES_FILE;
  if (!st.pooling) {
    const why = st.problems.length ? st.problems.join('; ') : 'it names no Pooling module';
    return { pooling: 'mean', level: 'warn', message: `${dir} has ${MODULES_FILE} but its pooling cannot be told (${why}); probing with mean pooling. Set {{pooling}} to choose.` };
  }
  const modes = st.pooling.modes;
  if (modes.length === 1 && modes[0] === 'cls_token') {
    return { pooling: 'first', level: 'info', message: `pooling first: the model's sentence-transformers Pooling (${where}) embeds the first token ([CLS]), so probes read it too. Set {{pooling}} to mean to probe mean-pooled states instead.` };
  }
  if (modes.length === 1 && modes[0] === 'mean_tokens') {
    return { pooling: 'mean', level: 'info', message: `pooling mean, as the model's sentence-transformers Pooling (${where}) embeds.` };
  }
  if (modes.length === 1 && modes[0] === 'max_tokens') {
    return { pooling: 'max', level: 'info', message: `pooling max: the model's sentence-transformers Pooling (${where}) embeds each dimension's maximum over the tokens, so probes read it too. Set {{pooling}} to choose another.` };
  }
  const same = modes.length === 1 ? SAME_POOLING[modes[0]] : undefined;
  if (same) return { pooling: same.pooling, level: 'info', message: `pooling ${same.pooling}: the model's sentence-transformers Pooling (${where}) embeds ${same.what}, so probes read it too. Set {{pooling}} to choose another.` };
  const said = modes.length ? modes.join(' + ') : 'none';
  return { pooling: 'mean', level: 'warn', message: `the model's sentence-transformers Pooling (${where}) is ${said}; ProbeScale probes one pooling at a time (${POOLINGS.join(', ')}), so it probes mean: the accuracies describe mean-pooled states, not the embeddings the model serves. Set {{pooling}} to choose.` };
}

/** Pooling modes besides CLS, mean and max that ProbeScale computes as sentence-transformers does. */
const SAME_POOLING: Record<string, { pooling: Pooling; what: string }> = {
  mean_sqrt_len_tokens: { pooling: 'mean-sqrt-len', what: 'the sum over tokens divided by √(tokens)' },
  weightedmean_tokens: { pooling: 'weighted-mean', what: 'the mean over tokens weighted by position (1, 2, …)' },
  lasttoken: { pooling: 'last', what: 'the last token' },
};

/**
 * The length a sentence-transformers model cuts its inputs at (max_seq_length in
 * sentence_bert_config.json), for probes to cut where it does; null: not such a folder, or the
 * config sets no length. `fallback` is the length used when the value cannot be read.
 */
export function modelMaxLength(dir: string, fallback: number): { maxLength: number; level: 'info' | 'warn'; message: string } | null {
  if (!readSentenceTransformers(dir) || !fs.existsSync(path.join(dir, CONFIG_FILE))) return null;
  const problems: string[] = [];
  const c = readJson(path.join(dir, CONFIG_FILE), problems);
  const v = typeof c === 'object' && c !== null ? (c as Record<string, unknown>).max_seq_length : undefined;
  if (problems.length || (v !== undefined && v !== null && !(Number.isInteger(v) && (v as number) >= 2))) {
    const why = problems.length ? problems.join('; ') : `its max_seq_length is ${JSON.stringify(v)}, not a whole number ≥ 2`;
    return { maxLength: fallback, level: 'warn', message: `${dir}: ${why}; inputs are cut at ${fallback} tokens. Set {{maxLength}} to choose.` };
  }
  if (typeof v !== 'number') return null;
  return { maxLength: v, level: 'info', message: `{{maxLength}} ${v}: the model's sentence-transformers config (${CONFIG_FILE}) cuts its inputs there, so probes do too. Set {{maxLength}} to cut shorter (faster on long texts).` };
}

/** The prompts of config_sentence_transformers.json (name → text) and its default prompt's name. */
interface ModelPrompts {
  prompts: Record<string, string>;
  defaultName: string | null;
  file: string;
  problems: string[];
}

function readPrompts(dir: string): ModelPrompts | null {
  const file = path.join(dir, ST_CONFIG_FILE);
  if (!readSentenceTransformers(dir) || !fs.existsSync(file)) return null;
  const problems: string[] = [];
  const c = readJson(file, problems);
  const o = (typeof c === 'object' && c !== null && !Array.isArray(c) ? c : {}) as { prompts?: unknown; default_prompt_name?: unknown };
  const prompts: Record<string, string> = {};
  if (typeof o.prompts === 'object' && o.prompts !== null && !Array.isArray(o.prompts)) {
    for (const [k, v] of Object.entries(o.prompts)) if (typeof v === 'string') prompts[k] = v;
  } else if (o.prompts !== undefined) problems.push(`${file}: "prompts" is not an object of names and texts`);
  const defaultName = typeof o.default_prompt_name === 'string' ? o.default_prompt_name : null;
  return { prompts, defaultName, file, problems };
}

/** The prompts a model names, for a message: `query ("query: "), passage ("passage: ")`. */
function listPrompts(p: ModelPrompts): string {
  return Object.entries(p.prompts)
    .map(([k, v]) => `${k} (${JSON.stringify(v)})`)
    .join(', ');
}

/**
 * The prompt a probe puts before every text where the user chose none: the model's default prompt
 * (default_prompt_name), which SentenceTransformer.encode applies to every call; null: none, and
 * nothing to say. A model with prompts but no default is probed without one, and told so.
 */
export function modelPrompt(dir: string): { prompt: string; level: 'info' | 'warn'; message: string } | null {
  const p = readPrompts(dir);
  if (!p) return null;
  const where = ST_CONFIG_FILE;
  if (p.problems.length) return { prompt: '', level: 'warn', message: `${p.problems.join('; ')}; probing the texts without a prompt. Set {{prompt}} to choose one.` };
  if (p.defaultName !== null) {
    const text = p.prompts[p.defaultName];
    if (text === undefined) return { prompt: '', level: 'warn', message: `${where} names the default prompt ${JSON.stringify(p.defaultName)}, which its prompts (${listPrompts(p) || 'none'}) lack; probing the texts without a prompt. Set {{prompt}} to choose one.` };
    return { prompt: text, level: 'info', message: `{{prompt}} ${JSON.stringify(text)}: the model's default prompt (${JSON.stringify(p.defaultName)} in ${where}), which sentence-transformers puts before every text, so probes do too. Set {{prompt}} to '' to probe the texts alone.` };
  }
  if (Object.keys(p.prompts).length === 0) return null;
  return { prompt: '', level: 'info', message: `the model has prompts (${listPrompts(p)}) and no default one (${where}); probing the texts as they are. Give one with --prompt-name NAME or {{prompt}} TEXT where the model's card asks for one (e5's "query: ", bge's query instruction).` };
}

/** A warning where the model's Pooling leaves a prompt's tokens out (include_prompt false), which probes do not; else null. */
export function promptPoolingWarning(dir: string): string | null {
  const pooling = readSentenceTransformers(dir)?.pooling;
  if (!pooling || pooling.includePrompt) return null;
  return `the model's sentence-transformers Pooling (${path.relative(dir, pooling.file)}) leaves the prompt's tokens out of its pooling (include_prompt false); ProbeScale pools over them too, so the accuracies describe states pooled with the prompt.`;
}

/** The text of the model's prompt `name` (config_sentence_transformers.json); a name it lacks is refused with the names it has. */
export function namedPrompt(dir: string, name: string): string {
  const p = readPrompts(dir);
  const text = p?.prompts[name];
  if (text !== undefined) return text;
  const has = p && Object.keys(p.prompts).length ? `its prompts are ${listPrompts(p)}` : `it names no prompts${p?.problems.length ? ` (${p.problems.join('; ')})` : ` (no "prompts" in ${path.join(dir, ST_CONFIG_FILE)})`}`;
  throw badValue('promptName', name, `${dir} has no prompt of that name: ${has}. Give one of them, or the text itself with --prompt.`);
}

/**
 * Whether a sentence-transformers model lowercases its texts before its tokenizer (do_lower_case
 * in sentence_bert_config.json), with what to tell the user; null: it does not (or is no such folder).
 */
export function modelLowercase(dir: string): { message: string } | null {
  if (!readSentenceTransformers(dir) || !fs.existsSync(path.join(dir, CONFIG_FILE))) return null;
  const c = readJson(path.join(dir, CONFIG_FILE), []);
  if (typeof c !== 'object' || c === null || (c as Record<string, unknown>).do_lower_case !== true) return null;
  return { message: `texts lowercased before tokenising: the model's sentence-transformers config (${CONFIG_FILE}) says do_lower_case, so probes read them as it does.` };
}

/**
 * Copies the sentence-transformers files of `srcDir` (the root files and every module folder but
 * the transformer's) into `dstDir`; returns their relative names. Links to files are followed (the
 * Hugging Face cache keeps files as links into its blobs); a folder must lie inside `srcDir` (a
 * module linked to `/` is not copied) and is copied once however often it is reached.
 */
export function copySentenceTransformerFiles(srcDir: string, dstDir: string): string[] {
  const st = readSentenceTransformers(srcDir);
  if (!st || st.unreadable) return [];
  const root = fs.realpathSync(srcDir);
  const copied: string[] = [];
  for (const f of ROOT_FILES) {
    if (!fs.existsSync(path.join(srcDir, f)) || notAFile(path.join(srcDir, f))) continue;
    fs.copyFileSync(path.join(srcDir, f), path.join(dstDir, f));
    copied.push(f);
  }
  const seen = new Set<string>();
  const copyTree = (rel: string) => {
    const src = path.join(srcDir, rel);
    const real = fs.realpathSync(src);
    if (seen.has(real)) return;
    seen.add(real);
    const stat = fs.statSync(src);
    if (stat.isFile()) {
      fs.copyFileSync(src, path.join(dstDir, rel));
      copied.push(rel.split(path.sep).join('/'));
    } else if (stat.isDirectory() && real.startsWith(root + path.sep)) {
      fs.mkdirSync(path.join(dstDir, rel), { recursive: true });
      for (const e of fs.readdirSync(src).sort()) copyTree(path.join(rel, e));
    }
  };
  for (const d of st.moduleDirs) copyTree(d);
  return copied;
}
