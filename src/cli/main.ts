/**
 * The `probescale` command line: a thin host over the core, running jobs in the same worker
 * thread the extension uses. Exit codes: 0 ok, 1 bad input or a resource the machine ran out of, 2 internal error, 130 cancelled.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../core/commit/atomicDir';
import { optimizeCommandLine } from '../core/commandLine';
import { describeProgress } from '../core/progress';
import { reportFileText } from '../core/reportPaths';
import { BadInputError, badValue, isCancelled, isUserError, messageIn, Param, wordMessage } from '../core/errors';
import { Job, JobContext, ProgressEvent, TaskSpec } from '../core/jobs';
import { DEFAULT_CANDIDATES, DEFAULT_SETTINGS, DEFAULT_TARGET_RETENTION, ModelSetting, PROVIDERS, ProbeSettings, SETTING_RANGES } from '../core/settings';
import { POOLINGS, type Pooling } from '../core/onnx/edit';
import { cleanStaleTemporaries, preflightOutput } from '../core/commit/atomicDir';
import { parseTaskSpec } from '../core/data/dataset';
import { parseColumns } from '../core/data/columns';
import { parseProvider } from '../core/runtime/session';
import { Dtype, parseDtype, parseGraphSource } from '../core/model/modelInfo';
import { WorkerJobRunner, defaultWorkerPath } from '../worker/runner';
import { limitFailure, limitsTooLow } from '../core/util/processLimits';
import { relaunchUnderAddressLimit } from './relaunch';
import { formatOptimizeReport, formatProbeReport } from './format';
import { claimedAccuracy } from '../core/commit/committed';
import { parseCompensation } from '../core/compensate/mode';
import { DEFAULT_UNIT_SCORE, parseUnitScore } from '../core/compensate/scores';
import { parseSelectionRule, SELECTION_RULES } from '../core/optimize/select';
import { parseBaselines } from '../core/optimize/baselineNames';
import { parseEmbeddingRank } from '../core/compensate/embeddingRank';
import { parseUnseenTokens } from '../core/optimize/unseenTokens';
import { isDecimal, shownValue } from '../core/util/decimal';
import { expandHome, userCacheRoot } from '../core/util/homePath';
import { lostWorkingFolderError, workingFolderGone } from '../core/util/workingFolder';
import { clearFeatureCache, clearGraphCache, describeCaches, describeCleared, featureCacheUsage, graphCacheUsage, NO_CACHE_FOLDER } from '../core/caches';
import { defaultGraphCacheDir } from '../core/model/graphSource';

const USAGE = `usage:
  probescale probe    <modelDir> --task NAME=PATH [--task NAME=PATH ...] [--out report.json]
                      [--pooling ${POOLINGS.join('|')}] [--max-length ${DEFAULT_SETTINGS.maxLength}] [--prompt TEXT | --prompt-name NAME] [--limit-train N] [--limit-test N]
                      [--c C] [--provider ${PROVIDERS.join('|')}] [--strict-provider] [--onnx FILE]
                      [--dtype fp32|q8|int8|uint8] [--quantized] [--from onnx|safetensors] [--batch-size ${DEFAULT_SETTINGS.batchSize}] [--seed ${DEFAULT_SETTINGS.seed}] [--cache-dir DIR | --no-cache]
  probescale prune    <modelDir> --layers 0,2,5 --out DIR [--force] [--from onnx|safetensors] [--onnx FILE] [--dtype fp32|q8|int8|uint8] [--quantized]
  probescale optimize <modelDir> --task NAME=PATH[:WEIGHT] ... --budget FRACTION|PARAMS --out DIR
                      [--target-retention ${DEFAULT_TARGET_RETENTION}] [--candidates ${DEFAULT_CANDIDATES}] [--select auto|${SELECTION_RULES.join('|')}]
                      [--vocab-trim [--vocab-unseen nearest|unknown]] [--compensate none|bridge|width|all] [--width-score flap|task|mixed] [--embedding-rank R[,R…]|auto] [--baselines all|none|NAME,…] [--exhaustive] [--force] [...probe options]
  probescale eval     <modelDir> --task NAME=PATH ... [--out report.json] [...probe options]
  probescale cache    [--cache-dir DIR] [--clear]     (the feature cache's size; --clear removes its entries)

PATH is a folder with train/test files (.jsonl, .csv, .tsv, .parquet, datasets' .arrow; a dataset repository's data/ shards) or one file (split 80/20, stratified).
Rows are read from the columns text, text_pair and label (GLUE's sentence, sentence1/sentence2, premise/hypothesis … are found);
--columns [NAME:]text=COL[,text_pair=COL][,label=COL] names others, for task NAME or every task (probe, eval, optimize).
A folder is tested on its test split, else its one validation split; --test-split [NAME:]SPLIT names another (validation_matched).
Exit codes: 0 success, 1 bad input or out of a resource (memory, a limit), 2 internal error, 130 cancelled.`;

export const OPTIONS = {
  task: { type: 'string', multiple: true },
  columns: { type: 'string', multiple: true },
  'test-split': { type: 'string', multiple: true },
  out: { type: 'string' },
  pooling: { type: 'string' },
  'max-length': { type: 'string' },
  prompt: { type: 'string' },
  'prompt-name': { type: 'string' },
  'limit-train': { type: 'string' },
  'limit-test': { type: 'string' },
  c: { type: 'string' },
  provider: { type: 'string' },
  'strict-provider': { type: 'boolean' },
  onnx: { type: 'string' },
  quantized: { type: 'boolean' },
  dtype: { type: 'string' },
  from: { type: 'string' },
  'batch-size': { type: 'string' },
  seed: { type: 'string' },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
  threads: { type: 'string' },
  layers: { type: 'string' },
  budget: { type: 'string' },
  'target-retention': { type: 'string' },
  candidates: { type: 'string' },
  select: { type: 'string' },
  'vocab-trim': { type: 'boolean' },
  'vocab-unseen': { type: 'string' },
  compensate: { type: 'string' },
  'width-score': { type: 'string' },
  'embedding-rank': { type: 'string' },
  baselines: { type: 'string' },
  exhaustive: { type: 'boolean' },
  force: { type: 'boolean' },
  clear: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** A parameter as the command line names it: its flag (maxLength → --max-length). */
export function cliFlag(p: Param): string {
  return `--${p.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function int(v: string | undefined, flag: string, min: number, max?: number): number | undefined {
  if (v === undefined) return undefined;
  const n = isDecimal(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) throw new BadInputError(`--${flag} ${shownValue(v)}: expected an integer ${max === undefined ? `≥ ${min}` : `from ${min} to ${max}`}, written in decimal.`);
  return n;
}

/**
 * --candidates, in the range of the probescale.candidates setting. Each candidate is measured for
 * real and each local-search round measures as many again: on roberta-mini (12 blocks, budget 0.5,
 * 40 training rows) the default 8 took 30 s, and 100000 planned 794 and had measured 123 after
 * 6 minutes.
 */
function candidatesFrom(v: string | undefined): number {
  const n = int(v, 'candidates', 1);
  const { max } = SETTING_RANGES.candidates;
  if (n !== undefined && n > max) throw new BadInputError(`--candidates ${shownValue(v ?? '')}: give at most ${max} (the setting probescale.candidates has the same limit). Each candidate is measured for real and each round of the local search measures as many again, so a large count runs long (roberta-mini at --budget 0.5: 794 candidates planned, 123 measured in 6 minutes, where the default ${DEFAULT_CANDIDATES} takes 30 s); more rarely picks better.`);
  return n ?? DEFAULT_CANDIDATES;
}

/** The largest seed: the generators mix it as a 32-bit integer (core/util/rng.ts), so a larger one would alias a smaller one. */
const MAX_SEED = 2 ** 31 - 1;

function positiveNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = isDecimal(v) ? Number(v) : NaN;
  // 1e-400 reads as 0 and 1e400 as Infinity: say so rather than call a positive number not positive.
  const range = isDecimal(v) && (n === 0 || n === Infinity) && !/^\s*[+-]?[0.]*(?:[eE].*)?\s*$/.test(v) ? ` (${v} is ${n === 0 ? 'below' : 'above'} the range of a double)` : '';
  if (!Number.isFinite(n) || n <= 0) throw new BadInputError(`--${flag} ${shownValue(v)}: expected a positive number, written in decimal${range}.`);
  return n;
}

/** --dtype, with --quantized as the alias it always was (model_quantized.onnx, else _int8/_uint8). */
function variantFrom(v: Values): { quantized: boolean; dtype?: Dtype } {
  if (v.dtype === undefined) return { quantized: v.quantized ?? false };
  const dtype = parseDtype(v.dtype);
  if (v.quantized && !['q8', 'int8', 'uint8'].includes(dtype)) throw new BadInputError(`--quantized with --dtype ${dtype}: they disagree; pass one of them.`);
  return { quantized: false, dtype };
}

/** The feature cache's folder where --cache-dir names none; null where userCacheRoot() finds no folder. */
function defaultCacheDir(): string | null {
  const root = userCacheRoot();
  return root === null ? null : path.join(root, 'probescale', 'features');
}

/** Said once when the job runs without the feature cache only because there is no folder for it. */
const NO_FEATURE_CACHE = `the feature cache is off: ${NO_CACHE_FOLDER}. Features are extracted again on every run; to keep them, set XDG_CACHE_HOME to an absolute folder, or pass --cache-dir DIR.`;

/** At most the cores: ONNX Runtime starts one intra-op thread each, and --threads 10000 ran for minutes where 2 took half a second. */
function threadsFrom(v: string | undefined): number | undefined {
  const n = int(v, 'threads', 1);
  const cores = os.availableParallelism();
  if (n !== undefined && n > cores) throw new BadInputError(`--threads ${v}: this machine runs ${cores} threads at once; more only make ONNX Runtime's threads wait on each other. Give at most ${cores}, or leave it out (the default uses them all).`);
  return n;
}

function cacheDirFrom(v: Values): string | null {
  if (v['no-cache'] && v['cache-dir'] !== undefined) throw new BadInputError(`--cache-dir ${v['cache-dir']} with --no-cache: they disagree; pass one of them.`);
  if (v['no-cache']) return null;
  const dir = v['cache-dir'] ?? defaultCacheDir();
  return dir === null ? null : path.resolve(dir);
}

/** --strict-provider refuses a fallback, and auto is a list of fallbacks: together they would mean nothing. */
function strictFrom(v: Values, provider: string): boolean {
  if (v['strict-provider'] && provider === 'auto') throw new BadInputError('--strict-provider with --provider auto: auto falls back by design, so there is nothing to be strict about. Name the provider that must start (--provider cpu, webgpu or cuda), or leave --strict-provider out.');
  return v['strict-provider'] ?? false;
}

/** The settings not given on the command line, for a sentence-transformers model to decide. */
function leftToModel(given: Record<ModelSetting, string | undefined>): Pick<ProbeSettings, 'followModel'> {
  // Always a list, empty when everything was given: the command line then knows what was given.
  return { followModel: (Object.keys(given) as ModelSetting[]).filter((k) => given[k] === undefined) };
}

/** --prompt TEXT (put before every text) or --prompt-name NAME (one of the model's prompts, found by prepare.ts). */
function promptFrom(v: Values): Pick<ProbeSettings, 'prompt' | 'promptName'> {
  if (v.prompt !== undefined && v['prompt-name'] !== undefined) throw new BadInputError(`--prompt ${shownValue(v.prompt)} and --prompt-name ${shownValue(v['prompt-name'])}: give one, the text to put before every text or the name of one of the model's prompts.`);
  if (v['prompt-name'] !== undefined && v['prompt-name'].trim() === '') throw new BadInputError(`--prompt-name ${shownValue(v['prompt-name'])}: give the name of one of the model's prompts (config_sentence_transformers.json), e.g. query; --prompt '' probes the texts alone.`);
  return { ...(v.prompt !== undefined ? { prompt: v.prompt } : {}), ...(v['prompt-name'] !== undefined ? { promptName: v['prompt-name'] } : {}) };
}

export function settingsFrom(v: Values): ProbeSettings {
  const pooling = (v.pooling ?? DEFAULT_SETTINGS.pooling) as Pooling;
  if (!POOLINGS.includes(pooling)) throw new BadInputError(`--pooling ${shownValue(pooling)}: use ${POOLINGS.join(', ')}.`);
  return {
    ...DEFAULT_SETTINGS,
    pooling,
    ...leftToModel({ pooling: v.pooling, maxLength: v['max-length'], prompt: v.prompt ?? v['prompt-name'] }),
    ...promptFrom(v),
    maxLength: int(v['max-length'], 'max-length', 2) ?? DEFAULT_SETTINGS.maxLength,
    limitTrain: int(v['limit-train'], 'limit-train', 1),
    limitTest: int(v['limit-test'], 'limit-test', 1),
    c: positiveNumber(v.c, 'c'),
    provider: parseProvider(v.provider ?? 'auto'),
    strictProvider: strictFrom(v, v.provider ?? 'auto'),
    onnx: v.onnx,
    ...variantFrom(v),
    from: v.from === undefined ? undefined : parseGraphSource(v.from),
    batchSize: int(v['batch-size'], 'batch-size', 1) ?? DEFAULT_SETTINGS.batchSize,
    seed: int(v.seed, 'seed', 0, MAX_SEED) ?? 0,
    cacheDir: cacheDirFrom(v),
    threads: threadsFrom(v.threads),
  };
}

function tasksFrom(v: Values): TaskSpec[] {
  const specs = (v.task ?? []).map((t) => {
    const spec = parseTaskSpec(t);
    return { ...spec, path: expandHome(spec.path) };
  });
  if (specs.length === 0) throw new BadInputError('no --task given; pass at least one --task NAME=PATH.');
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new BadInputError(`--task ${s.name}: the name is used twice; give each task its own name.`);
    names.add(s.name);
  }
  const columns = perTask('columns', v.columns ?? [], [...names], (value) => parseColumns(value, '--columns'));
  const splits = perTask('test-split', v['test-split'] ?? [], [...names], (value) => value.trim());
  return specs.map((s) => {
    const c = columns.get(s.name) ?? columns.get(undefined);
    const split = splits.get(s.name) ?? splits.get(undefined);
    return { ...s, ...(c ? { columns: c } : {}), ...(split ? { testSplit: split } : {}) };
  });
}

/**
 * A per-task option's values `[NAME:]VALUE` (`--columns`, `--test-split`), parsed, by task name
 * (undefined: every task not named in one of its own); a task given two is refused.
 */
function perTask<T>(flag: Option, values: string[], tasks: string[], parse: (value: string) => T): Map<string | undefined, T> {
  const out = new Map<string | undefined, T>();
  for (const value of values) {
    const colon = value.indexOf(':');
    const head = colon < 0 ? undefined : value.slice(0, colon).trim();
    const named = head !== undefined && !head.includes('=') ? head : undefined;
    if (named !== undefined && !tasks.includes(named)) {
      throw new BadInputError(`--${flag} ${shownValue(value)}: there is no task "${named}"; name one of ${tasks.join(', ')} before the colon, or leave NAME: out to set it for every task.`);
    }
    if (out.has(named)) throw new BadInputError(`--${flag} is given twice for ${named === undefined ? 'every task' : `task "${named}"`}; give it once per task.`);
    out.set(named, parse(named === undefined ? value : value.slice(colon + 1)));
  }
  return out;
}

export function parseLayers(spec: string | undefined): number[] {
  if (spec === undefined) throw new BadInputError('--layers is required, e.g. --layers 0,2,5 (0-based blocks to keep; empty string keeps none).');
  if (spec.trim() === '') return [];
  return spec.split(',').map((s, i) => {
    const t = s.trim();
    if (t === '') throw badValue('layers', spec, `entry ${i + 1} is empty; use comma-separated block indices like 0,2,5.`);
    if (!/^\d+$/.test(t)) throw badValue('layers', spec, `'${t}' is not a block index; blocks are numbered 0, 1, 2, … in plain decimal, e.g. 0,2,5.`);
    if (!Number.isSafeInteger(Number(t))) throw badValue('layers', spec, `block ${t} does not exist; list blocks of the model, numbered from 0.`);
    return Number(t);
  });
}

/**
 * `--layers -1` as `--layers=-1`, so that the value reaches its own check (which names it)
 * instead of parseArgs' "ambiguous" error. Only for numbers after an option that takes a value.
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const opt = /^--([\w-]+)$/.exec(argv[i])?.[1];
    const spec = opt === undefined ? undefined : (OPTIONS as Record<string, { type: string }>)[opt];
    if (spec?.type === 'string' && i + 1 < argv.length && /^-[\d.]/.test(argv[i + 1])) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

type Option = keyof typeof OPTIONS;
const PROBE_OPTIONS: Option[] = ['task', 'columns', 'test-split', 'out', 'pooling', 'max-length', 'prompt', 'prompt-name', 'limit-train', 'limit-test', 'c', 'provider', 'strict-provider', 'onnx', 'quantized', 'dtype', 'from', 'batch-size', 'seed', 'cache-dir', 'no-cache', 'threads'];
/** The options each command reads (besides --quiet and --help). */
const COMMAND_OPTIONS: Record<string, Option[]> = {
  probe: PROBE_OPTIONS,
  eval: PROBE_OPTIONS,
  prune: ['layers', 'out', 'force', 'from', 'onnx', 'dtype', 'quantized'],
  optimize: [...PROBE_OPTIONS, 'budget', 'target-retention', 'candidates', 'select', 'vocab-trim', 'vocab-unseen', 'compensate', 'width-score', 'embedding-rank', 'baselines', 'exhaustive', 'force'],
  cache: ['cache-dir', 'clear'],
};

/** Refuses an option the command does not read: parseArgs accepts every option for every command, and `probe --layers 0,2` would measure every block anyway. */
function refuseUnreadOptions(command: string, tokens: ReturnType<typeof parseArgs>['tokens'] = []): void {
  const reads = COMMAND_OPTIONS[command];
  if (!reads) return;
  const unread = [...new Set(tokens.flatMap((t) => (t.kind === 'option' && !reads.includes(t.name as Option) && t.name !== 'quiet' && t.name !== 'help' ? [`--${t.name}`] : [])))];
  if (unread.length) throw new BadInputError(`${command} does not read ${unread.join(', ')}; it reads ${reads.map((o) => `--${o}`).join(', ')}. Remove them.`);
}

/**
 * Refuses a single-value option given twice: parseArgs keeps the last silently, so `--budget 0.3
 * … --budget 0.5` (a flag appended by a script, a shell history edited) would run with one of them
 * unsaid. A flag given twice with one value says nothing wrong and is let through.
 */
function refuseRepeatedOptions(tokens: ReturnType<typeof parseArgs>['tokens'] = []): void {
  const seen = new Map<string, string | undefined>();
  for (const t of tokens) {
    if (t.kind !== 'option' || (OPTIONS as Record<string, { multiple?: boolean }>)[t.name]?.multiple) continue;
    if (seen.has(t.name) && seen.get(t.name) !== t.value) {
      throw new BadInputError(`--${t.name} is given twice (${shownValue(seen.get(t.name) ?? '')} and ${shownValue(t.value ?? '')}); give it once, with the value you mean.`);
    }
    seen.set(t.name, t.value);
  }
}

/**
 * An empty path is no path: path.resolve('') is the working directory, so `--cache-dir ''` wrote the
 * feature cache there and `--out ''` was taken for the model's parent; `--onnx ''` was dropped unsaid.
 */
function refuseEmptyPaths(v: Values): void {
  const what = { out: 'the path to write', 'cache-dir': 'a folder for the feature cache, or pass --no-cache', onnx: "the graph file, relative to the model folder, or leave it out to use the folder's own" } as const;
  for (const [flag, does] of Object.entries(what)) {
    const value = v[flag as keyof typeof what];
    if (value !== undefined && value.trim() === '') throw new BadInputError(`--${flag} ${shownValue(value)}: give ${does}.`);
  }
}

/**
 * A path that reached us with U+FFFD in it: Node decodes the command line as UTF-8 and turns each
 * byte that is not UTF-8 (a latin-1 file name) into U+FFFD, so the name given cannot be reached.
 * An input was "does not exist" while it did; --out was written under another name than the one
 * typed. A path that exists as decoded (a real U+FFFD in its name) is let through.
 */
function refuseUndecodablePaths(modelDir: string | undefined, v: Values): void {
  const paths: [string, string | undefined][] = [
    ['<modelDir>', modelDir],
    ['--out', v.out],
    ['--cache-dir', v['cache-dir']],
    ['--onnx', v.onnx],
    ...(v.task ?? []).map((t): [string, string] => ['--task', t.slice(t.indexOf('=') + 1)]),
  ];
  for (const [flag, p] of paths) {
    if (p === undefined || !p.includes('\uFFFD') || fs.existsSync(p)) continue;
    throw new BadInputError(`${flag} ${shownValue(p)}: the path holds bytes that are not UTF-8 (shown as \uFFFD); Node reads the command line as UTF-8, so no program run by it can name that file${flag === '--out' ? ', and the output would be written under another name' : ''}. Rename it to a UTF-8 name (convmv -f latin1 -t utf8), or pass a link with a UTF-8 name.`);
  }
}

/** Edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

/**
 * parseArgs with its errors said for this command line: its own advice fits other programs (an
 * unknown option is "a positional argument starting with a '-'"; the fix for a value that starts
 * with '-' is on a line the CLI did not print).
 */
function parseArgsSaid(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const message = (e as Error).message;
    const flag = /'(-{1,2}[\w-]+)/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = flag.replace(/^-+/, '');
      const near = name.length < 3 ? [] : Object.keys(OPTIONS).filter((o) => distance(o, name) <= Math.max(1, Math.floor(o.length / 4)));
      throw new BadInputError(`unknown option ${flag}${near.length ? `; did you mean ${near.map((o) => `--${o}`).join(' or ')}?` : '.'} probescale --help lists the options.`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/ambiguous/.test(message)) {
        const value = args[args.indexOf(flag) + 1] ?? '';
        throw new BadInputError(`${flag} ${value}: a value that starts with "-" reads as an option; write ${flag}=${value} if it is the value.`);
      }
      if (/does not take an argument/.test(message)) throw new BadInputError(`${flag} takes no value; write ${flag} alone, or leave it out.`);
      if (/argument missing/.test(message)) throw new BadInputError(`${flag.replace(/ <value>$/, '')} needs a value, as in the usage: probescale --help.`);
    }
    throw e;
  }
}

/** What `probescale cache` is asked: the cache folder, and whether to clear it. */
interface CacheRequest {
  /** The feature cache; null where --cache-dir names none and userCacheRoot() finds no folder. */
  dir: string | null;
  clear: boolean;
}

type JobRequest = { job: Job; out?: string; quiet: boolean; warnings?: string[] };

/** Builds the job a command line asks for; throws BadInputError for anything malformed (and for `cache`, which runs no job). */
export function jobFromArgs(argv: string[]): JobRequest | 'help' {
  const r = commandFromArgs(argv);
  if (r !== 'help' && 'cache' in r) throw new BadInputError('cache runs no job; run it as probescale cache.');
  return r;
}

/** Builds what a command line asks for: a job, the cache command, or help; throws BadInputError for anything malformed. */
function commandFromArgs(argv: string[]): JobRequest | { cache: CacheRequest } | 'help' {
  const { values: v, positionals, tokens } = parseArgsSaid(joinNegativeValues(argv));
  if (v.help) return 'help';
  if (positionals.length === 0) throw new BadInputError(`no command given.\n${USAGE}`);
  refuseUnreadOptions(positionals[0], tokens);
  refuseRepeatedOptions(tokens);
  refuseEmptyPaths(v);
  if (v.out !== undefined) v.out = expandHome(v.out);
  if (v['cache-dir'] !== undefined) v['cache-dir'] = expandHome(v['cache-dir']);
  const [command, rawModelDir, ...rest] = positionals;
  if (command === 'cache') {
    if (rawModelDir !== undefined) throw new BadInputError(`unexpected argument '${rawModelDir}'; cache takes no model folder (--cache-dir DIR names the cache).`);
    const dir = v['cache-dir'] ?? defaultCacheDir();
    return { cache: { dir: dir === null ? null : path.resolve(dir), clear: v.clear ?? false } };
  }
  const modelDir = rawModelDir === undefined ? undefined : expandHome(rawModelDir);
  refuseUndecodablePaths(modelDir, v);
  if (rest.length) throw new BadInputError(`unexpected argument '${rest[0]}'; options start with --.`);
  if (!modelDir) throw new BadInputError(`${command}: missing <modelDir>.\n${USAGE}`);
  const quiet = v.quiet ?? false;
  const request = (r: JobRequest): JobRequest => ('settings' in r.job && 'cacheDir' in r.job.settings && r.job.settings.cacheDir === null && !v['no-cache'] ? { ...r, warnings: [NO_FEATURE_CACHE] } : r);
  switch (command) {
    case 'probe':
      return request({ job: { type: 'probe', modelDir, tasks: tasksFrom(v), settings: settingsFrom(v) }, out: v.out, quiet });
    case 'prune':
      if (!v.out) throw new BadInputError('prune: --out DIR is required (the pruned model folder to write).');
      return { job: { type: 'prune', modelDir, layers: parseLayers(v.layers), out: v.out, overwrite: v.force ?? false, settings: { onnx: v.onnx, ...variantFrom(v), from: v.from === undefined ? undefined : parseGraphSource(v.from) } }, quiet };
    case 'eval':
      return request({ job: { type: 'eval', modelDir, tasks: tasksFrom(v), settings: settingsFrom(v) }, out: v.out, quiet });
    case 'optimize': {
      if (!v.out) throw new BadInputError('optimize: --out DIR is required (the pruned model folder to write).');
      if (v.budget === undefined) throw new BadInputError('optimize: --budget is required: a fraction of the parameters (0.3) or a parameter count (4000000).');
      const target = v['target-retention'] === undefined ? DEFAULT_TARGET_RETENTION : isDecimal(v['target-retention']) ? Number(v['target-retention']) : NaN;
      if (!(target > 0 && target <= 1)) throw new BadInputError(`--target-retention ${shownValue(v['target-retention'] ?? '')}: give a fraction in (0, 1], e.g. 0.95.`);
      const compensate = parseCompensation(v.compensate ?? 'none');
      // Only narrowed blocks read the score: given without them it would silently change nothing.
      if (v['width-score'] !== undefined && compensate !== 'width' && compensate !== 'all') throw badValue('widthScore', v['width-score'], `it ranks the heads and FFN neurons of narrowed blocks, and {{compensate}} ${compensate} narrows none; add {{compensate}} width (or all), or leave it out.`);
      // Only a trimmed table has dropped ids to send anywhere.
      if (v['vocab-unseen'] !== undefined && !v['vocab-trim']) throw badValue('vocabUnseen', v['vocab-unseen'], 'it says where the ids {{vocabTrim}} drops are read, and there is no {{vocabTrim}}; add it, or leave this out.');
      const vocabUnseen = v['vocab-unseen'] === undefined ? undefined : parseUnseenTokens(v['vocab-unseen']);
      const job = { modelDir, tasks: tasksFrom(v), budget: v.budget, out: v.out, overwrite: v.force ?? false, targetRetention: target, candidates: candidatesFrom(v.candidates), select: parseSelectionRule(v.select ?? 'auto'), vocabTrim: v['vocab-trim'] ?? false, ...(vocabUnseen ? { vocabUnseen } : {}), compensate, exhaustive: v.exhaustive ?? false, widthScore: parseUnitScore(v['width-score'] ?? DEFAULT_UNIT_SCORE), embeddingRank: v['embedding-rank'] === undefined ? undefined : parseEmbeddingRank(v['embedding-rank']), baselines: parseBaselines(v.baselines ?? 'all'), settings: settingsFrom(v) };
      return request({ job: { type: 'optimize', ...job, command: optimizeCommandLine(job) }, quiet });
    }
    default:
      throw new BadInputError(`unknown command '${command}'; use probe, prune, optimize, eval or cache.\n${USAGE}`);
  }
}

class ProgressLine {
  private last = '';
  private lastAt = 0;
  constructor(private readonly quiet: boolean) {}
  event(e: ProgressEvent): void {
    if (this.quiet) return;
    if (e.kind === 'log') return this.log(e.level, e.message);
    const line = describeProgress(e).message;
    const now = Date.now();
    if (e.kind !== 'stage' && now - this.lastAt < 250 && !('done' in e && e.done === e.total)) return;
    this.lastAt = now;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
    else if (line !== this.last) process.stderr.write(`${line}\n`);
    this.last = line;
  }
  log(level: string, message: string): void {
    if (this.quiet && level === 'info') return;
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${level === 'info' ? '' : level + ': '}${wordMessage(message, cliFlag)}\n`);
  }
  done(): void {
    if (!this.quiet && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  }
}

/** The output a job writes, checked before any work (existing entry, source model and task data, writable parent). */
function preflight(job: Job, out: string | undefined): string | undefined {
  const data = job.type === 'prune' ? [] : job.tasks.map((t) => t.path);
  if (job.type === 'prune' || job.type === 'optimize') return preflightOutput(job.out, 'folder', job.overwrite ?? false, [job.modelDir], 'out', data);
  return out === undefined ? undefined : preflightOutput(out, 'file', true, [job.modelDir], 'out', data);
}

/** Writes a report to `file` (paths relative to it, see core/reportPaths.ts). */
function writeReportFile(file: string, report: object): void {
  // The folder exists: preflight made it before the job ran.
  writeFileAtomic(file, reportFileText(report, path.resolve(file)), 'out');
}

/** Runs the job, clears the progress line, and shows its result (writing --out where asked). */
async function runAndShow(runner: WorkerJobRunner, job: Job, out: string | undefined, ctx: JobContext, progress: ProgressLine): Promise<void> {
  const show = (text: string) => {
    progress.done();
    process.stdout.write(text);
  };
  switch (job.type) {
    case 'probe':
    case 'eval': {
      const report = await runner.run(job, ctx);
      show(formatProbeReport(report, job.type === 'eval' ? claimedAccuracy(job.modelDir, report) : undefined));
      if (out) {
        writeReportFile(out, report);
        process.stderr.write(`report written to ${path.resolve(out)}\n`);
      }
      return;
    }
    case 'optimize': {
      const r = await runner.run(job, ctx);
      return show(`${formatOptimizeReport(r.report)}wrote ${r.out}\n`);
    }
    case 'prune': {
      const r = await runner.run(job, ctx);
      const pct = ((100 * r.params.after) / r.params.before).toFixed(1);
      return show(`kept blocks ${r.kept.join(',') || '(none)'}: ${r.params.after.toLocaleString('en-US')} of ${r.params.before.toLocaleString('en-US')} parameters (${pct} %)\nwrote ${r.out}: ${r.files.join(', ')}\n`);
    }
    default: {
      const never: never = job;
      throw new Error(`unknown job ${JSON.stringify(never)}`);
    }
  }
}

/** Takes the command line's arguments; runs the job it names and returns the exit status (0 done, 1 refused, 2 internal error, 128 + n cancelled by signal n). */
/**
 * A terminal that closed (SIGHUP, a dropped SSH session) or a reader that quit (`| head`) makes
 * writes to stdout and stderr fail with EPIPE or EIO. Unhandled, that error would end the process
 * in the middle of a cancel, leaving an unverified folder; output nobody can read is dropped.
 */
function dropUnwritableOutput(): void {
  for (const s of [process.stdout, process.stderr]) if (s.listenerCount('error') === 0) s.on('error', () => undefined);
}

export async function main(argv: string[]): Promise<number> {
  dropUnwritableOutput();
  // Deleted under the shell: no relative path resolves, and the job's worker thread cannot start.
  if (workingFolderGone()) {
    process.stderr.write(`probescale: ${lostWorkingFolderError('').message}\n`);
    return 1;
  }
  const parsed = parseCommandLine(argv);
  if (typeof parsed === 'number') return parsed;
  if ('cache' in parsed) return cacheCommand(parsed.cache);
  const tooLow = limitsTooLow();
  if (tooLow) {
    process.stderr.write(`probescale: ${tooLow}\n`);
    return 1;
  }
  const relaunched = await relaunchUnderAddressLimit(argv);
  if (relaunched !== undefined) return relaunched;
  const { job, out, quiet, warnings = [] } = parsed;
  let target: string | undefined;
  try {
    target = preflight(job, out);
  } catch (e) {
    process.stderr.write(`probescale: ${messageIn(e, cliFlag)}\n`);
    return 1;
  }
  // No grace release: the worker's own answer (cancelled, or done because the cancel came after
  // the commit) decides what is reported. A second Ctrl-C is the hard stop.
  const runner = new WorkerJobRunner(defaultWorkerPath(__dirname), 24 * 3600_000);
  const progress = new ProgressLine(quiet);
  const stop = cancelOnSignals(target, progress);
  const ctx: JobContext = { signal: stop.signal, onProgress: (e) => progress.event(e), log: (l, m) => progress.log(l, m) };
  for (const w of warnings) progress.log('warn', w);
  try {
    await runAndShow(runner, job, out, ctx, progress).finally(() => stop.settle());
    if (stop.signal.aborted) progress.log('warn', 'the cancel came after the output was complete; it is kept.');
    return 0;
  } catch (e) {
    progress.done();
    return failureStatus(e, stop.received());
  } finally {
    await runner.dispose();
    stop.release();
  }
}

/** `probescale cache`: says how much the feature and graph caches hold, or (--clear) removes what they hold. */
function cacheCommand(o: CacheRequest): number {
  const graphs = defaultGraphCacheDir();
  const noFeatures = `feature cache: none (${NO_CACHE_FOLDER})`;
  const has = <T>(dir: string | null, read: (d: string) => T) => (dir === null ? undefined : read(dir));
  try {
    const lines = o.clear
      ? describeCleared(has(o.dir, clearFeatureCache), has(graphs, clearGraphCache), noFeatures)
      : describeCaches(has(o.dir, featureCacheUsage), has(graphs, graphCacheUsage), noFeatures);
    if (!o.clear && (o.dir !== null || graphs !== null)) lines.push('probescale cache --clear removes what they hold.');
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`probescale: ${messageIn(e, cliFlag)}\n`);
    return isUserError(e) ? 1 : 2;
  }
}

/** Takes the command line; returns the job to run, or the exit status when there is none (help shown, or a one-line refusal). */
function parseCommandLine(argv: string[]): Exclude<ReturnType<typeof commandFromArgs>, 'help'> | number {
  if (argv.length === 0) {
    process.stderr.write(`probescale: no command given.\n${USAGE}\n`);
    return 1;
  }
  let parsed: ReturnType<typeof commandFromArgs>;
  try {
    parsed = commandFromArgs(argv);
  } catch (e) {
    process.stderr.write(`probescale: ${messageIn(e, cliFlag).split('\n')[0]}\n`);
    return 1;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  return parsed;
}

/**
 * Takes the job's output target and its progress line; returns the signal a first Ctrl-C or
 * SIGTERM aborts (a second stops at once, see hardStop), which of them came, `settle` (call when
 * the job has answered: later signals change nothing) and `release` (removes the listeners).
 */
function cancelOnSignals(target: string | undefined, progress: ProgressLine): { signal: AbortSignal; received: () => StopSignal; settle: () => void; release: () => void } {
  const ac = new AbortController();
  let settled = false;
  // SIGTERM (a process manager, `kill`) and SIGHUP (a closed terminal) are a cancel like Ctrl-C.
  let stopSignal: StopSignal = 'SIGINT';
  const onStop = (sig: StopSignal) => {
    // Once the job has answered, only the worker's shutdown is left: a signal changes nothing.
    if (settled) return;
    if (ac.signal.aborted) return hardStop(target, sig);
    stopSignal = sig;
    progress.log('warn', `cancelling… (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to stop at once)`);
    ac.abort();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onStop);
  // Removed a turn later: the CLI exits in the continuation of this promise first, so a Ctrl-C
  // after the job settled is still ignored (without a listener it would kill the process by
  // SIGINT with the output complete); callers in the same process (tests) get them removed.
  const release = () =>
    setImmediate(() => {
      for (const sig of STOP_SIGNALS) process.off(sig, onStop);
    });
  return { signal: ac.signal, received: () => stopSignal, settle: () => (settled = true), release };
}

/** Takes what the job threw and the stop signal received; says why it failed on stderr and returns the exit status. */
function failureStatus(e: unknown, stopSignal: StopSignal): number {
  if (isCancelled(e)) {
    process.stderr.write('probescale: cancelled; nothing was written.\n');
    return 128 + os.constants.signals[stopSignal];
  }
  const err = e instanceof Error ? e : new Error(String(e));
  // A limit (ulimit -n, -v) shows up as whatever ran out first: the limit is what to name.
  const limit = limitFailure(err);
  if (limit) {
    process.stderr.write(`probescale: ${limit}\n`);
    return 1;
  }
  if (isUserError(err)) {
    process.stderr.write(`probescale: ${err.name}: ${messageIn(err, cliFlag)}\n`);
    return 1;
  }
  process.stderr.write(`probescale: internal error: ${err.stack ?? err.message}\n`);
  return 2;
}

// SIGHUP: the terminal closed or the SSH session dropped.
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Second Ctrl-C (or SIGTERM): remove this run's temporaries, then die by that signal itself
 * (exit status 128 + its number). process.exit() would tear down the worker thread inside ONNX
 * Runtime's native code, which aborts the process ("terminate called after throwing an
 * instance of 'Napi::Error'").
 */
function hardStop(target: string | undefined, sig: StopSignal): void {
  if (target) cleanStaleTemporaries(target, true);
  process.stderr.write('\nprobescale: stopped; nothing was written.\n');
  for (const s of STOP_SIGNALS) process.removeAllListeners(s);
  process.kill(process.pid, sig);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
