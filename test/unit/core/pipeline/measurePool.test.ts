/**
 * Optimize's candidate measurement fits on the job's fit pool: each task's five cross-validation
 * folds and its probe on every training row (and the folds of a halving stage) are units of the
 * pool, with the same numbers as one thread, cancellation that stops the pooled fits, and an
 * error in a worker that is the error the same fit throws inline.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { BadInputError, abortWhen, isCancelled } from '../../../../src/core/errors';
import { JobContext, OptimizeJob } from '../../../../src/core/jobs';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { openModel } from '../../../../src/core/model/modelInfo';
import { subsetParams } from '../../../../src/core/optimize/subsets';
import { runJob } from '../../../../src/core/pipeline/dispatch';
import { Halving, screeningStages } from '../../../../src/core/pipeline/halving';
import { foldsForValidation, SubsetEvaluator, TaskSplit } from '../../../../src/core/pipeline/measure';
import { weightedTasks } from '../../../../src/core/pipeline/select';
import { FitKind, FitPool, FitUnit, liveFitWorkers, MapOptions } from '../../../../src/core/probe/fitPool';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { OptimizeReport } from '../../../../src/core/report';
import { fixture, tasksDir, tempDir } from '../../../helpers';

const settings = { ...DEFAULT_SETTINGS, provider: 'cpu' as const, maxLength: 64 };

/** A pool that records each round (its kind, its number of units, the workers running it) and can cancel a round after some units. */
class CountingPool extends FitPool {
  readonly rounds: { kind: FitKind; n: number; workers: number }[] = [];
  /** Aborts this controller once this many units of a round are done. */
  cancelAfter?: { units: number; controller: AbortController };

  override map<I, O>(kind: FitKind, n: number, unitAt: (i: number) => I, inline: FitUnit<I, O>, opts: MapOptions = {}): O[] {
    const round = { kind, n, workers: 0 };
    this.rounds.push(round);
    const onDone = (done: number) => {
      round.workers = Math.max(round.workers, liveFitWorkers());
      opts.onDone?.(done);
      if (this.cancelAfter && done === this.cancelAfter.units) this.cancelAfter.controller.abort();
    };
    return super.map(kind, n, unitAt, inline, { ...opts, onDone });
  }
}

async function setup() {
  const info = openModel(fixture('tiny-bert'));
  const tok = await loadTokenizer(info.dir, { maxLength: 64 });
  const sentlen = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 160, limitTest: 40 });
  const spam = await loadTask('spam', path.join(tasksDir, 'spam'), { limitTrain: 120, limitTest: 40 });
  const splits: TaskSplit[] = [sentlen, spam].map((task, i) => ({ task, weight: i + 1, folds: foldsForValidation(task, 0), c: 1 }));
  const evaluator = () => new SubsetEvaluator(info, tok, splits, settings, (k) => subsetParams(info.params, k));
  return { info, splits, evaluator };
}

test("a candidate's fits are units of the job's pool: 5 folds and the probe on every row per task, and 5 folds per task at a halving stage", async () => {
  const { info, splits, evaluator } = await setup();
  const pool = new CountingPool(2);
  try {
    const ev = evaluator();
    await ev.measure([0, 2], true, { fits: pool });
    assert.deepEqual(pool.rounds, [{ kind: 'measureFit', n: 2 * 6, workers: 2 }], 'one round of 12 units on two fit workers');
    const stages = screeningStages(splits, 0);
    assert.ok(stages.length > 0, 'at least one screening stage');
    const halving = new Halving(ev, stages, weightedTasks(splits));
    pool.rounds.length = 0;
    await halving.measure([1], 'predicted', ev.measured[0], { fits: pool });
    const stageRounds = pool.rounds.slice(0, 2 * stages.length).map((r) => `${r.kind} ${r.n}`);
    assert.ok(stageRounds.every((r) => r === 'measureFit 10'), `each stage (the candidate's and the incumbent's rows) fits 2 tasks × 5 folds on the pool: ${stageRounds.join('; ')}`);
    ev.dispose();
  } finally {
    await pool.close();
    info.model.close();
  }
  assert.equal(liveFitWorkers(), 0);
});

test('candidates measured on a pool of 2 are those of one thread: scores, row outcomes, probes, halving verdicts', async () => {
  const { info, splits, evaluator } = await setup();
  const run = async (fits: FitPool) => {
    const ev = evaluator();
    const ctx: JobContext = { fits };
    const incumbent = await ev.measure([0, 3], true, ctx);
    const halving = new Halving(ev, screeningStages(splits, 0), weightedTasks(splits));
    const screened = [];
    for (const kept of [[1, 2], [2], []]) screened.push(await halving.measure(kept, 'predicted', incumbent, ctx));
    const withTest = await ev.measure([2], true, ctx);
    const out = { incumbent, screened, withTest, probes: Object.fromEntries(ev.probes), report: halving.report() };
    ev.dispose();
    return out;
  };
  const pool = new CountingPool(2);
  try {
    const inline = await run(new FitPool(1));
    const pooled = await run(pool);
    assert.ok(pool.rounds.some((r) => r.kind === 'measureFit' && r.workers > 0), 'the pooled run fitted on workers');
    assert.deepEqual(pooled, inline);
  } finally {
    await pool.close();
    info.model.close();
  }
});

test("cancelling in the middle of a candidate's pooled fits throws CancelledError; the pool's workers stop with it and it stays usable", async () => {
  const { info, evaluator } = await setup();
  const pool = new CountingPool(2);
  const controller = new AbortController();
  try {
    pool.cancelAfter = { units: 3, controller };
    await assert.rejects(evaluator().measure([0, 1], false, { fits: pool, signal: controller.signal }), (e) => isCancelled(e));
    assert.deepEqual(pool.rounds.map((r) => [r.kind, r.n]), [['measureFit', 12]]);
    pool.cancelAfter = undefined;
    assert.equal((await evaluator().measure([0, 1], false, { fits: pool })).key, '0,1', 'the next round runs');
  } finally {
    await pool.close();
    info.model.close();
  }
  assert.equal(liveFitWorkers(), 0);
});

test("a measurement fit that throws in a worker throws the error the same fit throws inline", async () => {
  const { info, splits } = await setup();
  const tok = await loadTokenizer(info.dir, { maxLength: 64 });
  const bad = splits.map((sp) => ({ ...sp, c: -1 }));
  const measure = async (fits: FitPool) => {
    try {
      await new SubsetEvaluator(info, tok, bad, settings, (k) => subsetParams(info.params, k)).measure([0], false, { fits });
    } catch (e) {
      return e as Error;
    }
    assert.fail('C = -1 is refused');
  };
  const pool = new CountingPool(2);
  try {
    const inline = await measure(new FitPool(1));
    const pooled = await measure(pool);
    assert.ok(inline instanceof BadInputError && pooled instanceof BadInputError);
    assert.equal(pooled.message, inline.message);
    assert.match(pooled.message, /C must be a positive finite number, got -1/);
    assert.ok(pool.rounds[0].n === 12);
  } finally {
    await pool.close();
    info.model.close();
  }
  assert.equal(liveFitWorkers(), 0);
});

test('an optimize job on a tiny model writes the same selection with PROBESCALE_FIT_THREADS 1 and 2, and stops its fit workers when cancelled among the candidates', async () => {
  const dir = tempDir('probescale-measurepool-');
  const job = (out: string): OptimizeJob => ({
    type: 'optimize',
    modelDir: fixture('tiny-bert'),
    tasks: [
      { name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 },
      { name: 'spam', path: path.join(tasksDir, 'spam'), weight: 1 },
    ],
    budget: '0.9',
    out: path.join(dir, out),
    targetRetention: 0.95,
    candidates: 3,
    settings: { ...settings, limitTrain: 120, limitTest: 40, cacheDir: null },
  });
  const old = process.env.PROBESCALE_FIT_THREADS;
  try {
    const reports: OptimizeReport[] = [];
    for (const threads of ['1', '2']) {
      process.env.PROBESCALE_FIT_THREADS = threads;
      reports.push((await runJob(job(`t${threads}`), {})).report as OptimizeReport);
    }
    assert.deepEqual(reports[1].selection, reports[0].selection);
    assert.deepEqual(reports[1].tasks, reports[0].tasks);
    // Cancelled as the second candidate starts.
    const ac = new AbortController();
    let candidates = 0;
    abortWhen(ac, () => candidates >= 2);
    const onProgress: JobContext['onProgress'] = (e) => {
      if (e.kind === 'candidate') candidates++;
    };
    await assert.rejects(runJob(job('cancelled'), { signal: ac.signal, onProgress }), (e) => isCancelled(e));
    assert.equal(liveFitWorkers(), 0, 'the job stopped its fit workers');
  } finally {
    if (old === undefined) delete process.env.PROBESCALE_FIT_THREADS;
    else process.env.PROBESCALE_FIT_THREADS = old;
  }
});
