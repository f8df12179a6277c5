/**
 * Options a model cannot honour are refused before the full model's pass: the user waits
 * seconds, not the length of an extraction, to learn that --compensate or --embedding-rank does
 * not apply, and the message names the option and the model, not an internal file.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runOptimizeJob } from '../../../../src/core/pipeline/optimizeJob';
import { OptimizeJob, ProgressEvent } from '../../../../src/core/jobs';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { messageIn } from '../../../../src/core/errors';
import { cliFlag } from '../../../../src/cli/main';
import { findWordEmbedding, trimVocabFile, unknownTokenMap } from '../../../../src/core/onnx/vocab';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { openModel } from '../../../../src/core/model/modelInfo';
import { emptyPlan } from '../../../../src/core/compensate/graph';
import { encoderOf, writeCompensatedOnnx } from '../../../../src/core/compensate/build';
import { fixture, repoRoot, robertaMini, tasksDir, tempDir } from '../../../helpers';

const settings = { ...DEFAULT_SETTINGS, limitTrain: 40, limitTest: 10, c: 1, cacheDir: null };

/** Runs optimize until it fails; returns the message (CLI words) and the stages it reached. */
async function refusal(modelDir: string, out: string, extra: Partial<OptimizeJob>): Promise<{ message: string; stages: string[] }> {
  const stages: string[] = [];
  const job: OptimizeJob = { type: 'optimize', modelDir, tasks: [{ name: 's', path: path.join(tasksDir, 'sentlen'), weight: 1 }], budget: '0.95', out, targetRetention: 0.95, candidates: 2, baselines: [], settings, ...extra };
  try {
    await runOptimizeJob(job, { onProgress: (e: ProgressEvent) => e.kind === 'stage' && stages.push(e.stage) });
  } catch (e) {
    assert.ok(!fs.existsSync(out), 'nothing written');
    return { message: messageIn(e, cliFlag), stages };
  }
  throw new Error(`optimize ${modelDir} ${JSON.stringify(extra)} succeeded; expected a refusal`);
}

test('--compensate on a model it cannot rewrite is refused before any pass, naming the model folder', async () => {
  const dir = tempDir('ps-optjob-');
  try {
    // Graphs built from safetensors and exports with external data are compensated through a
    // standalone copy (test/unit/core/compensate/source.test.ts), no longer refused.
    // A config.json whose head count disagrees with the graph's head split (an ONNX-only folder, so
    // no weights to cross-check): before, width pruning cut "heads" of 8 columns across the graph's
    // heads of 16 and shipped another function, unsaid.
    const heads4 = path.join(dir, 'heads4');
    fs.cpSync(fixture('tiny-roberta'), heads4, { recursive: true, filter: (f) => path.basename(f) !== 'model.safetensors' });
    const cfg = JSON.parse(fs.readFileSync(path.join(heads4, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(heads4, 'config.json'), JSON.stringify({ ...cfg, num_attention_heads: 4 }));
    const cases: [string, Partial<OptimizeJob>, RegExp][] = [
      [robertaMini, { compensate: 'all', settings: { ...settings, dtype: 'q8' } }, /this graph is quantized\. Compensate the float model/],
      [heads4, { compensate: 'width' }, /block 0: the graph's head split .* makes heads of 16 columns, but config\.json says 4 heads \(of 8 columns\).*Fix config\.json's head count .* or use --compensate bridge/],
    ];
    for (const [model, extra, message] of cases) {
      const r = await refusal(model, path.join(dir, 'out'), extra);
      assert.match(r.message, message);
      assert.doesNotMatch(r.message, /\.cache\/probescale\/graphs/, 'the user never saw that file');
      assert.deepEqual(r.stages, ['load'], `${path.basename(model)}: refused before the extraction (stages: ${r.stages.join(', ')})`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A private copy of tiny-bert whose graph is rewritten by `edit` (the folder as a user would have it). */
function editedCopy(dir: string, name: string, edit: (file: string) => void): string {
  const model = path.join(dir, name);
  fs.cpSync(fixture('tiny-bert'), model, { recursive: true });
  edit(path.join(model, 'onnx', 'model.onnx'));
  return model;
}

test('--embedding-rank on a word table that is trimmed or already factorised is refused before any pass, naming the option', async () => {
  const dir = tempDir('ps-optjob-');
  try {
    const trimmed = editedCopy(dir, 'trimmed', (f) => {
      const keep = Array.from({ length: 300 }, (_, i) => i);
      const m = OnnxModel.open(f);
      const vocab = findWordEmbedding(m).vocab;
      m.close();
      trimVocabFile(f, keep, unknownTokenMap(vocab, keep, 1), { unkId: 1, unseen: 'unknown' });
    });
    const factorised = editedCopy(dir, 'factorised', (f) => {
      const info = openModel(fixture('tiny-bert'));
      const plan = emptyPlan([0, 1, 2, 3]);
      plan.embedding = { rank: 4, a: new Float32Array(4096 * 4).fill(0.01), b: new Float32Array(4 * 32).fill(0.01), energy: 1 };
      writeCompensatedOnnx(encoderOf(info), plan, f);
      info.model.close();
    });
    for (const [model, rank, message] of [
      [trimmed, 4, /^--embedding-rank 4: .*trimmed\/onnx\/model\.onnx reads its word table through an id map \(a --vocab-trim output\)/],
      [factorised, 2, /^--embedding-rank 2: .*factorised\/onnx\/model\.onnx has its word table factorised already \(rank 4 of 32\); start from the model it was made from, or leave --embedding-rank out\./],
      [factorised, 8, /^--embedding-rank 8: .*factorised already/],
    ] as [string, number, RegExp][]) {
      const r = await refusal(model, path.join(dir, 'out'), { compensate: 'all', embeddingRank: [rank] });
      assert.match(r.message, message);
      assert.doesNotMatch(r.message, /hidden size \(4\)/, 'the hidden size is 32');
      assert.deepEqual(r.stages, ['load'], `${path.basename(model)} rank ${rank}: refused before the extraction (stages: ${r.stages.join(', ')})`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the budget floor: with --embedding-rank the smallest factorised model, named when refused; without it the whole-table floor stands', async () => {
  const dir = tempDir('ps-optjob-');
  try {
    // tiny-bert: 169,472 parameters, embeddings 135,296 of them (a 4096 × 32 word table); at rank 4 the table is 4096·4 + 4·32.
    const below = await refusal(fixture('tiny-bert'), path.join(dir, 'out'), { budget: '0.1', compensate: 'all', embeddingRank: [4, 8] });
    assert.match(below.message, /^--budget '0\.1' \(16947 parameters\) is below the smallest possible model: 20736 parameters \(embeddings 20736 with the word table factorised to rank 4 \+ final norm\/head 0, no blocks; 12\.2 % of 169472\); --embedding-rank 4,8 cannot make a smaller model; give --budget 20736 or more, or a smaller rank\.$/);
    assert.deepEqual(below.stages, ['load']);
    const plain = await refusal(fixture('tiny-bert'), path.join(dir, 'out'), { budget: '0.2', compensate: 'all' });
    assert.match(plain.message, /^--budget '0\.2' \(33894 parameters\) is below the smallest possible model: 135296 parameters \(embeddings 135296 \+ final norm\/head 0, no blocks; 79\.8 % of 169472\); give --budget 135296 or more, or make the word table smaller: --vocab-trim keeps the tokens the training texts use, and --embedding-rank \(with --compensate\) factorises it\.$/);
    assert.deepEqual(plain.stages, ['load']);
    // Below the whole-table floor only drop-top-factorised can be the heuristic --select heuristic ships.
    const heuristic = await refusal(fixture('tiny-bert'), path.join(dir, 'out'), { budget: '0.2', compensate: 'all', embeddingRank: [4], select: 'heuristic', baselines: ['drop-top', 'gromov'] });
    assert.match(heuristic.message, /^--select heuristic: at --budget 0\.2 no published heuristic with the whole word table fits \(the model without blocks has 135296 parameters\), and --baselines drop-top,gromov leaves out drop-top-factorised; add it or give another rule\.$/);
    assert.deepEqual(heuristic.stages, ['load']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an --embedding-rank whose factorisation is no smaller than the word table is refused before any pass', async () => {
  const dir = tempDir('ps-optjob-');
  try {
    // tiny-bert: 4096 × 32; trimmed to the 40 training texts' tokens it has a few hundred rows, and rank 31 costs more than 32 columns.
    const r = await refusal(fixture('tiny-bert'), path.join(dir, 'out'), { compensate: 'all', vocabTrim: true, embeddingRank: [8, 31] });
    assert.match(r.message, /^--embedding-rank 31: the word table is \d+ × 32 \(after --vocab-trim\); at rank 31 it would have \d+ parameters, not fewer than \d+\. Give a rank of at most \d+\.$/);
    assert.deepEqual(r.stages, ['load']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the output never replaces the task data, whichever host asked (the extension calls the job directly)', async () => {
  const dir = tempDir('ps-optjob-');
  try {
    const data = path.join(dir, 'sentlen');
    fs.cpSync(path.join(tasksDir, 'sentlen'), data, { recursive: true });
    const job: OptimizeJob = { type: 'optimize', modelDir: fixture('tiny-bert'), tasks: [{ name: 's', path: data, weight: 1 }], budget: '0.95', out: data, overwrite: true, targetRetention: 0.95, candidates: 2, settings };
    await assert.rejects(runOptimizeJob(job, {}), (e: unknown) => /^--out .*sentlen: that path is the task data .*sentlen; writing there would replace it/.test(messageIn(e, cliFlag)));
    await assert.rejects(runOptimizeJob({ ...job, out: dir }, {}), (e: unknown) => /that path contains the task data/.test(messageIn(e, cliFlag)));
    assert.deepEqual(fs.readdirSync(data).sort(), ['test.jsonl', 'train.jsonl']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--compensate width on blocks narrowed already: refused before any pass where config.json does not describe them (the search sized them from it and shipped over budget), narrowed again where it does', async () => {
  const dir = tempDir('ps-optjob-');
  try {
    const narrowed = path.join(dir, 'narrowed');
    const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
    const made = spawnSync(process.execPath, [cli, 'optimize', fixture('tiny-bert'), '--task', `s=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.95', '--compensate', 'width', '--select', 'heuristic', '--baselines', 'flap-uniform', '--limit-train', '40', '--limit-test', '10', '--c', '1', '--no-cache', '-q', '--out', narrowed], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    // Every FFN narrowed to 16, heads kept: config.json says intermediate_size 16, and the folder narrows again.
    const config = path.join(narrowed, 'config.json');
    assert.equal(JSON.parse(fs.readFileSync(config, 'utf8')).intermediate_size, 16);
    const again = path.join(dir, 'again');
    const r2 = spawnSync(process.execPath, [cli, 'optimize', narrowed, '--task', `s=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.97', '--compensate', 'width', '--limit-train', '40', '--limit-test', '10', '--c', '1', '--no-cache', '-q', '--out', again], { encoding: 'utf8' });
    assert.equal(r2.status, 0, r2.stderr);
    const s = JSON.parse(fs.readFileSync(path.join(again, 'probescale-report.json'), 'utf8')).selection;
    assert.ok(s.params <= s.budget.params, `${s.params} within ${s.budget.params}`);
    const narrower = s.candidates.filter((c: { compensation?: { description: string } }) => /of 16 FFN neurons per block/.test(c.compensation?.description ?? ''));
    assert.ok(narrower.length > 0, 'candidates narrowed from the 16 neurons config.json gives');
    for (const c of narrower) assert.ok(c.params <= s.budget.params, `${c.params}`);
    // A config.json that gives the source's width is refused: a folder committed before it was set
    // (without model.safetensors then), or T5's. With the weights beside it, their check refuses first.
    fs.writeFileSync(config, JSON.stringify({ ...JSON.parse(fs.readFileSync(config, 'utf8')), intermediate_size: 64 }));
    assert.match((await refusal(narrowed, path.join(dir, 'out'), { compensate: 'width', budget: '0.9' })).message, /tensor 'encoder\.layer\.0\.intermediate\.dense\.weight' has shape \[16, 32\] but config\.json \(hidden_size 32, intermediate_size 64\) implies \[64, 32\]/);
    fs.rmSync(path.join(narrowed, 'model.safetensors'));
    for (const compensate of ['width', 'all'] as const) {
      const r = await refusal(narrowed, path.join(dir, 'out'), { compensate, budget: '0.9' });
      assert.match(r.message, new RegExp(`^--compensate ${compensate}: .*narrowed/onnx/model\\.onnx has narrowed blocks already \\(ffn:0 16, ffn:1 16, …\\) that its config\\.json does not describe \\(2 heads, 64 FFN neurons\\), so width pruning would size its candidates wrong\\. Start from the model it was made from, or use --compensate bridge\\.$`));
      assert.deepEqual(r.stages, ['load']);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
