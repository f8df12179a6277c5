/**
 * The unpruned model's reference fits (its final layer, its best layer, and with --vocab-trim the
 * trimmed final layer, per task) as units of the job's fit pool: the same reference as one thread.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadTask, TaskData } from '../../../../src/core/data/dataset';
import { LayerFeatures } from '../../../../src/core/extract/featureCache';
import { FeatureSet } from '../../../../src/core/pipeline/extract';
import { foldsForValidation, TaskSplit } from '../../../../src/core/pipeline/measure';
import { LayerProbes, unprunedReference } from '../../../../src/core/pipeline/probe';
import { FitKind, FitPool, FitUnit, liveFitWorkers, MapOptions } from '../../../../src/core/probe/fitPool';
import { TaskReport } from '../../../../src/core/report';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { Rng } from '../../../../src/core/util/rng';
import { tasksDir } from '../../../helpers';

class RecordingPool extends FitPool {
  readonly rounds: { kind: FitKind; n: number }[] = [];
  override map<I, O>(kind: FitKind, n: number, unitAt: (i: number) => I, inline: FitUnit<I, O>, opts: MapOptions = {}): O[] {
    this.rounds.push({ kind, n });
    return super.map(kind, n, unitAt, inline, opts);
  }
}

const DIM = 12;
const LAYERS = 4;

/** Features that carry a little of each row's label (more in later layers), so the probes differ by layer. */
function features(task: TaskData, part: 'train' | 'test', seed: number): LayerFeatures {
  const rows = part === 'train' ? task.trainY : task.testY;
  const rng = new Rng(seed);
  const mean = Array.from({ length: LAYERS }, (_, l) => Float32Array.from({ length: rows.length * DIM }, (_, i) => rng.next() - 0.5 + (i % DIM === rows[Math.floor(i / DIM)] ? 0.2 * l : 0)));
  return { n: rows.length, dim: DIM, layers: Array.from({ length: LAYERS }, (_, l) => l), pooled: { mean }, cosine: [] };
}

test("the unpruned model's reference fits on a pool of 2 are those of one thread, as one round of the pool", async () => {
  const tasks = await Promise.all(['sentlen', 'spam'].map((name) => loadTask(name, path.join(tasksDir, name), { limitTrain: 120, limitTest: 40 })));
  const splits: TaskSplit[] = tasks.map((task) => ({ task, weight: 1, folds: foldsForValidation(task, 0), c: 1 }));
  const set = (seed: number): FeatureSet => new Map(tasks.map((t, i) => [t.name, { train: features(t, 'train', seed + i), test: features(t, 'test', seed + 10 + i) }]));
  const probes: LayerProbes = {
    valScores: { sentlen: [0.3, 0.5, 0.4, 0.45], spam: [0.6, 0.7, 0.8, 0.75] },
    tasks: Object.fromEntries(tasks.map((t) => [t.name, { majority: { accuracy: 0.5, macroF1: 0.3 } } as unknown as TaskReport])),
  };
  const settings = { ...DEFAULT_SETTINGS, pooling: 'mean' as const };
  const full = { feats: set(1), plain: set(100), trimmed: true };
  const pool = new RecordingPool(2);
  try {
    const inline = unprunedReference(splits, full, probes, settings, { fits: new FitPool(1) });
    const pooled = unprunedReference(splits, full, probes, settings, { fits: pool });
    assert.deepEqual(pooled, inline);
    assert.deepEqual(pool.rounds, [{ kind: 'referenceFit', n: 2 * 3 }], 'trimmed final, final and best layer of 2 tasks in one round');
    assert.equal(inline.perTask.spam.bestLayer.layer, 2);
    assert.notDeepEqual(inline.trimmedFinal.spam, inline.perTask.spam.final, 'the trimmed final layer is fitted on its own features');
  } finally {
    await pool.close();
  }
  assert.equal(liveFitWorkers(), 0);
});
