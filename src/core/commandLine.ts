/**
 * The `probescale optimize` command line that reproduces a job: recorded in the report and the
 * model card by the CLI and the extension alike.
 */
import { OptimizeJob } from './jobs';
import { DEFAULT_SETTINGS, ModelSetting } from './settings';
import { DEFAULT_UNIT_SCORE } from './compensate/scores';
import { formatEmbeddingRank } from './compensate/embeddingRank';
import { formatColumns } from './data/columns';

/** Quotes one argument for a POSIX shell (left as is when it needs no quoting). */
export function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line of `job`: every option that changes the result (runtime choices such as the
 * provider, batch size or cache are left out); `rel` writes each path (default: as given).
 */
export function optimizeCommandLine(job: Omit<OptimizeJob, 'type' | 'command'>, rel: (p: string) => string = (p) => p): string {
  const s = job.settings;
  const args = ['probescale', 'optimize', rel(job.modelDir)];
  for (const t of job.tasks) args.push('--task', `${t.name}=${rel(t.path)}${t.weight !== 1 ? `:${t.weight}` : ''}`);
  for (const t of job.tasks) if (t.columns && formatColumns(t.columns)) args.push('--columns', `${t.name}:${formatColumns(t.columns)}`);
  for (const t of job.tasks) if (t.testSplit) args.push('--test-split', `${t.name}:${t.testSplit}`);
  args.push('--budget', job.budget, '--out', rel(job.out), '--target-retention', String(job.targetRetention), '--candidates', String(job.candidates));
  if (job.select && job.select !== 'auto') args.push('--select', job.select);
  if (job.vocabTrim) args.push('--vocab-trim');
  if (job.vocabTrim && job.vocabUnseen && job.vocabUnseen !== 'nearest') args.push('--vocab-unseen', job.vocabUnseen);
  if (job.compensate && job.compensate !== 'none') args.push('--compensate', job.compensate);
  if (job.exhaustive) args.push('--exhaustive');
  // Only narrowed blocks read the score (the CLI refuses it elsewhere).
  if (job.widthScore && job.widthScore !== DEFAULT_UNIT_SCORE && (job.compensate === 'width' || job.compensate === 'all')) args.push('--width-score', job.widthScore);
  if (job.embeddingRank !== undefined) args.push('--embedding-rank', formatEmbeddingRank(job.embeddingRank));
  if (job.baselines && job.baselines !== 'all') args.push('--baselines', job.baselines.length ? job.baselines.join(',') : 'none');
  if (s.limitTrain) args.push('--limit-train', String(s.limitTrain));
  if (s.limitTest) args.push('--limit-test', String(s.limitTest));
  if (s.c !== undefined) args.push('--c', String(s.c));
  // A value the user gave is written even at its default: left out, a sentence-transformers model would decide it.
  const given = (k: ModelSetting) => s.followModel !== undefined && !s.followModel.includes(k);
  if (s.pooling !== DEFAULT_SETTINGS.pooling || given('pooling')) args.push('--pooling', s.pooling);
  if (s.maxLength !== DEFAULT_SETTINGS.maxLength || given('maxLength')) args.push('--max-length', String(s.maxLength));
  if (s.promptName !== undefined) args.push('--prompt-name', s.promptName);
  else if (s.prompt || given('prompt')) args.push('--prompt', s.prompt ?? '');
  if (s.seed !== DEFAULT_SETTINGS.seed) args.push('--seed', String(s.seed));
  if (s.onnx) args.push('--onnx', s.onnx); // relative to the model folder, as given
  if (s.quantized) args.push('--quantized');
  // Which graph ran: a rerun without these would read the export instead of the weights, or another variant.
  if (s.dtype) args.push('--dtype', s.dtype);
  if (s.from && s.from !== 'auto') args.push('--from', s.from);
  return args.map(shellQuote).join(' ');
}
