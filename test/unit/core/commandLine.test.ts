import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { optimizeCommandLine, shellQuote } from '../../../src/core/commandLine';
import { DEFAULT_SETTINGS, ModelSetting, ProbeSettings } from '../../../src/core/settings';
import { DEFAULT_UNIT_SCORE } from '../../../src/core/compensate/scores';
import { jobFromArgs } from '../../../src/cli/main';

test('shellQuote leaves plain words alone and quotes the rest for a POSIX shell', () => {
  assert.equal(shellQuote('models/roberta-mini'), 'models/roberta-mini');
  assert.equal(shellQuote('my tasks'), "'my tasks'");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote(''), "''");
});

test('the optimize command line names every option that changes the result, and only those', () => {
  const job = {
    modelDir: '/w/models/m',
    tasks: [
      { name: 'spam', path: '/w/data/spam', weight: 1 },
      { name: 'sent len', path: '/w/data/sl', weight: 0.5 },
    ],
    budget: '0.5',
    out: '/w/out',
    targetRetention: 0.95,
    candidates: 8,
    select: 'one-se' as const,
    vocabTrim: true,
    settings: { ...DEFAULT_SETTINGS, limitTrain: 100, c: 2, seed: 3, batchSize: 7, provider: 'cpu' as const },
  };
  const rel = (p: string) => p.replace(/^\/w\//, '');
  assert.equal(
    optimizeCommandLine(job, rel),
    "probescale optimize models/m --task spam=data/spam --task 'sent len=data/sl:0.5' --budget 0.5 --out out --target-retention 0.95 --candidates 8 --select one-se --vocab-trim --limit-train 100 --c 2 --seed 3",
  );
  assert.match(optimizeCommandLine({ ...job, select: 'auto', vocabTrim: false, settings: DEFAULT_SETTINGS }), /--candidates 8$/);
  assert.match(optimizeCommandLine({ ...job, compensate: 'all' }), /--vocab-trim --compensate all --limit-train/);
  assert.match(optimizeCommandLine({ ...job, compensate: 'width', widthScore: 'flap' }), /--compensate width --width-score flap --limit-train/);
  assert.match(optimizeCommandLine({ ...job, compensate: 'width', widthScore: DEFAULT_UNIT_SCORE }), /--compensate width --limit-train/);
  assert.match(optimizeCommandLine({ ...job, compensate: 'all', embeddingRank: [16, 64] }), /--compensate all --embedding-rank 16,64 --limit-train/);
  assert.match(optimizeCommandLine({ ...job, compensate: 'all', embeddingRank: 'auto' }), /--compensate all --embedding-rank auto --limit-train/);
  assert.match(optimizeCommandLine({ ...job, compensate: 'none', select: 'auto', vocabTrim: false, settings: DEFAULT_SETTINGS }), /--candidates 8$/);
  // Which graph ran (before, both were left out: the card's command then read the export instead of the weights).
  assert.match(optimizeCommandLine({ ...job, settings: { ...job.settings, from: 'safetensors' } }), /--seed 3 --from safetensors$/);
  assert.match(optimizeCommandLine({ ...job, settings: { ...job.settings, dtype: 'q8' } }), /--seed 3 --dtype q8$/);
  assert.match(optimizeCommandLine({ ...job, settings: { ...job.settings, from: 'auto' } }), /--seed 3$/);
  const reread = (settings: Partial<typeof job.settings>) => (jobFromArgs(optimizeCommandLine({ ...job, tasks: [job.tasks[0]], settings: { ...job.settings, ...settings } }).split(' ').slice(1)) as unknown as { job: { settings: { from?: string; dtype?: string } } }).job;
  assert.equal(reread({ from: 'safetensors' }).settings.from, 'safetensors');
  assert.equal(reread({ dtype: 'q8' }).settings.dtype, 'q8');
  // The extension always has a width score (its setting); without narrowed blocks it changes nothing, and the CLI refuses it there.
  for (const compensate of ['none', 'bridge'] as const) {
    const line = optimizeCommandLine({ ...job, tasks: [job.tasks[0]], compensate, widthScore: 'flap' });
    assert.doesNotMatch(line, /--width-score/, compensate);
    assert.doesNotThrow(() => jobFromArgs(line.split(' ').slice(1)), line);
  }
});

test('pooling, length and prompt the user gave are written even at their defaults (left out, a sentence-transformers model would decide them); those left to the model are not', () => {
  const job = { modelDir: 'st', tasks: [{ name: 's', path: 'd', weight: 1 }], budget: '0.5', out: 'o', targetRetention: 0.95, candidates: 8 };
  const line = (followModel: ModelSetting[] | undefined, more: Partial<ProbeSettings> = {}) => optimizeCommandLine({ ...job, settings: { ...DEFAULT_SETTINGS, followModel, ...more } });
  assert.match(line([]), /--pooling mean --max-length 128 --prompt ''$/);
  assert.match(line(['maxLength', 'prompt']), /--candidates 8 --pooling mean$/);
  assert.match(line(['pooling', 'maxLength', 'prompt']), /--candidates 8$/);
  assert.match(line(undefined), /--candidates 8$/, 'a host that says nothing: only changed values, as before');
  assert.match(line(['pooling', 'maxLength', 'prompt'], { pooling: 'first', maxLength: 64 }), /--pooling first --max-length 64$/);
  assert.match(line(['pooling', 'maxLength'], { prompt: 'query: ' }), /--candidates 8 --prompt 'query: '$/);
  assert.match(line(undefined, { prompt: "it's: " }), /--candidates 8 --prompt 'it'\\''s: '$/);
  assert.match(line(['pooling', 'maxLength'], { promptName: 'query' }), /--candidates 8 --prompt-name query$/, 'a name is written as given: the model decides its text');
});

test('the command line names the columns a task was given, so that it reads the same rows', () => {
  const job = {
    modelDir: 'm',
    tasks: [
      { name: 'reviews', path: 'data/r', weight: 1, columns: { text: 'body', textPair: 'title', label: 'star rating' } },
      { name: 'sst2', path: 'data/s', weight: 1, testSplit: 'validation' },
    ],
    budget: '0.5',
    out: 'o',
    targetRetention: 0.95,
    candidates: 8,
    settings: DEFAULT_SETTINGS,
  };
  const line = optimizeCommandLine(job);
  assert.match(line, /--task reviews=data\/r --task sst2=data\/s --columns 'reviews:text=body,text_pair=title,label=star rating' --test-split sst2:validation --budget/);
  const again = jobFromArgs(['optimize', 'm', '--task', 'reviews=data/r', '--task', 'sst2=data/s', '--columns', 'reviews:text=body,text_pair=title,label=star rating', '--test-split', 'sst2:validation', '--budget', '0.5', '--out', 'o']);
  assert.ok(again !== 'help' && again.job.type === 'optimize');
  assert.deepEqual(
    again.job.tasks.map((t) => [t.columns, t.testSplit]),
    job.tasks.map((t) => [t.columns, t.testSplit]),
  );
});
