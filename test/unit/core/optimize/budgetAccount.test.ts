/**
 * The budgets the extension's picker offers are exactly those the optimize job accepts: the
 * floor (smallest budget) is accepted by both, one parameter below it is refused by both, with
 * --vocab-trim (the word table cut to the training texts' tokens), with --embedding-rank on the
 * trimmed table, and without either. The job is run for real until its budget is settled.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runOptimizeJob } from '../../../../src/core/pipeline/optimizeJob';
import { trimmedBudgetAccount } from '../../../../src/core/pipeline/vocabTrim';
import { acceptBudget, BudgetAccount, smallestBudget, wholeTableAccount } from '../../../../src/core/optimize/budgetAccount';
import { minimumParams } from '../../../../src/core/optimize/subsets';
import { OptimizeJob } from '../../../../src/core/jobs';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { isCancelled, messageIn } from '../../../../src/core/errors';
import { cliFlag } from '../../../../src/cli/main';
import { openModel } from '../../../../src/core/model/modelInfo';
import { findWordEmbedding } from '../../../../src/core/onnx/vocab';
import { fixture, tasksDir, tempDir } from '../../../helpers';

const settings = { ...DEFAULT_SETTINGS, limitTrain: 40, limitTest: 10, c: 1, cacheDir: null };
const sentlen = [{ name: 's', path: path.join(tasksDir, 'sentlen'), weight: 1 }];

function jobOf(modelDir: string, budget: string, out: string, extra: Partial<OptimizeJob>): OptimizeJob {
  return { type: 'optimize', modelDir, tasks: sentlen, budget, out, targetRetention: 0.95, candidates: 2, baselines: [], settings, ...extra };
}

/** 'accepted' when the job gets past its budget to the full model's extraction (cancelled there); else its refusal in CLI words. */
async function jobVerdict(job: OptimizeJob): Promise<string> {
  const controller = new AbortController();
  let extracting = false;
  try {
    await runOptimizeJob(job, {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.kind !== 'stage' || e.stage !== 'extract') return;
        extracting = true;
        controller.abort();
      },
    });
  } catch (e) {
    assert.ok(!fs.existsSync(job.out), 'nothing written');
    if (extracting && isCancelled(e)) return 'accepted';
    return messageIn(e, cliFlag);
  }
  throw new Error(`optimize at ${job.budget} ran to the end; it should have been cancelled at the extraction`);
}

/** What the picker says of a typed budget: 'accepted' or the refusal in CLI words. */
function pickerVerdict(job: OptimizeJob, account: BudgetAccount, budget: string): string {
  try {
    assert.equal(acceptBudget({ ...job, budget }, account), Number(budget));
    return 'accepted';
  } catch (e) {
    return messageIn(e, cliFlag);
  }
}

async function withTmp(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir('ps-budget-');
  try {
    await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor agrees both ways: the floor is accepted by picker and job, one parameter less is refused by both with the same words. */
async function assertFloorAgrees(job: OptimizeJob, account: BudgetAccount): Promise<number> {
  const floor = smallestBudget(job, account);
  assert.equal(pickerVerdict(job, account, String(floor)), 'accepted');
  assert.equal(await jobVerdict({ ...job, budget: String(floor) }), 'accepted');
  const below = pickerVerdict(job, account, String(floor - 1));
  assert.match(below, new RegExp(`^--(budget|select) `));
  assert.equal(await jobVerdict({ ...job, budget: String(floor - 1) }), below);
  return floor;
}

/** The word table of a fixture: rows and hidden width. */
function wordTable(dir: string): { vocab: number; hidden: number; embeddings: number; other: number; total: number } {
  const info = openModel(dir);
  try {
    const e = findWordEmbedding(info.model);
    return { vocab: e.vocab, hidden: e.hidden, ...info.params };
  } finally {
    info.model.close();
  }
}

for (const name of ['tiny-roberta', 'tiny-bert']) {
  test(`${name} with --vocab-trim: the picker's floor is the trimmed block-less model, exactly what the job accepts`, async () => {
    await withTmp(async (dir) => {
      const job = jobOf(fixture(name), '0.5', path.join(dir, 'out'), { vocabTrim: true });
      const account = await trimmedBudgetAccount(job, {});
      const t = wordTable(fixture(name));
      assert.ok(account.keptTokens !== null && account.keptTokens > 2 && account.keptTokens < t.vocab / 2, `40 sentences keep a few hundred of ${t.vocab} tokens: ${account.keptTokens}`);
      const floor = await assertFloorAgrees(job, account);
      assert.equal(floor, t.embeddings - (t.vocab - account.keptTokens) * t.hidden + t.other);
      assert.ok(floor < minimumParams({ ...t, perBlock: [] }), 'below the whole-table floor');
      const refusal = pickerVerdict(job, account, String(floor - 1));
      assert.match(refusal, new RegExp(`is below the smallest possible model: ${floor} parameters \\(embeddings \\d+ with the word table trimmed to the ${account.keptTokens} tokens the training texts use \\+ final norm/head 0, no blocks; [\\d.]+ % of ${t.total}\\); give --budget ${floor} or more\\.$`));
    });
  });
}

test('--vocab-trim with --embedding-rank: the floor is the trimmed table factorised at the smallest rank, as the job computes it', async () => {
  await withTmp(async (dir) => {
    const job = jobOf(fixture('tiny-bert'), '0.5', path.join(dir, 'out'), { vocabTrim: true, compensate: 'all', embeddingRank: [4, 8] });
    const account = await trimmedBudgetAccount(job, {});
    const rows = account.keptTokens!;
    const t = wordTable(fixture('tiny-bert'));
    const floor = await assertFloorAgrees(job, account);
    // The trimmed rows × 32 table replaced by rows × 4 + 4 × 32.
    assert.equal(floor, t.embeddings - t.vocab * t.hidden + rows * 4 + 4 * t.hidden + t.other);
    assert.match(pickerVerdict(job, account, String(floor - 1)), new RegExp(`word table trimmed to ${rows} tokens and factorised to rank 4 .*; --embedding-rank 4,8 cannot make a smaller model; give --budget ${floor} or more, or a smaller rank\\.$`));
    // --select heuristic without drop-top-factorised: nothing below the trimmed whole table, in both.
    const heuristic = { ...job, select: 'heuristic' as const, baselines: ['drop-top' as const] };
    const whole = await assertFloorAgrees(heuristic, account);
    assert.equal(whole, minimumParams(account.acc));
    assert.ok(whole > floor);
  });
});

test('without --vocab-trim the floor is the block-less model with the whole table, in picker and job alike', async () => {
  await withTmp(async (dir) => {
    const job = jobOf(fixture('tiny-bert'), '0.5', path.join(dir, 'out'), {});
    const account = wholeTableAccount(job);
    assert.equal(account.keptTokens, null);
    const t = wordTable(fixture('tiny-bert'));
    assert.equal(await assertFloorAgrees(job, account), t.embeddings + t.other);
  });
});

test('a tokenizer without an unknown token, or a task without training texts: the picker refuses as the job does, naming the value and what to do', async () => {
  await withTmp(async (dir) => {
    const model = path.join(dir, 'no-unk');
    fs.cpSync(fixture('tiny-roberta'), model, { recursive: true });
    const config = path.join(model, 'tokenizer_config.json');
    const { unk_token: _dropped, ...rest } = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(config, JSON.stringify(rest));
    fs.rmSync(path.join(model, 'special_tokens_map.json'), { force: true });
    const noUnk = jobOf(model, '0.5', path.join(dir, 'out'), { vocabTrim: true });
    const picker = await trimmedBudgetAccount(noUnk, {}).then(
      () => 'accepted',
      (e: unknown) => messageIn(e, cliFlag),
    );
    assert.match(picker, /^--vocab-trim: the tokenizer in .*no-unk names no unknown token to send unseen ids to; turn --vocab-trim off\.$/);
    assert.equal(await jobVerdict(noUnk), picker);

    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'train.jsonl'), '');
    fs.copyFileSync(path.join(tasksDir, 'sentlen', 'test.jsonl'), path.join(empty, 'test.jsonl'));
    const noTexts = { ...jobOf(fixture('tiny-roberta'), '0.5', path.join(dir, 'out'), { vocabTrim: true }), tasks: [{ name: 'e', path: empty, weight: 1 }] };
    const refused = await trimmedBudgetAccount(noTexts, {}).then(
      () => 'accepted',
      (e: unknown) => messageIn(e, cliFlag),
    );
    assert.match(refused, /train\.jsonl/);
    assert.equal(await jobVerdict(noTexts), refused);
  });
});

test('counting the training texts reports its rows and stops when cancelled (no error: a cancellation)', async () => {
  const job = { ...jobOf(fixture('tiny-roberta'), '0.5', '/nonexistent', { vocabTrim: true }), settings: { ...settings, limitTrain: undefined } };
  const seen: [number, number][] = [];
  const account = await trimmedBudgetAccount(job, {}, (done, total) => seen.push([done, total]));
  assert.ok(account.keptTokens! > 0);
  const [lastDone, total] = seen[seen.length - 1];
  assert.equal(lastDone, total);
  assert.ok(total > 2000, `every sentlen training row: ${total}`);
  assert.ok(seen.every(([d], i) => i === 0 || d >= seen[i - 1][0]), 'rows only go up');
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(trimmedBudgetAccount(job, { signal: controller.signal }), (e: unknown) => isCancelled(e));
});
