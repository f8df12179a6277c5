import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clearLoser, LOSER_SES, screeningStages } from '../../../../src/core/pipeline/halving';
import { foldsForValidation, RowOutcomes, TaskSplit } from '../../../../src/core/pipeline/measure';
import { TaskData } from '../../../../src/core/data/dataset';
import { SearchReport, SelectionReport } from '../../../../src/core/report';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';

function split(name: string, labels: number[]): TaskSplit {
  const t: TaskData = { name, labels: ['a', 'b', 'c'], train: [], test: [], trainY: Int32Array.from(labels), testY: new Int32Array(0), source: name };
  return { task: t, weight: 1, folds: foldsForValidation(t, 0), c: 1 };
}

test('screening stages are nested, stratified by label, and skipped when a task would have too few rows', () => {
  const y = Array.from({ length: 400 }, (_, i) => (i % 10 < 7 ? 0 : i % 10 < 9 ? 1 : 2));
  const [s1, s2] = screeningStages([split('t', y)], 0);
  assert.deepEqual([s1.share, s2.share], [0.25, 0.5]);
  assert.deepEqual([s1.rows.t.length, s2.rows.t.length], [100, 200]);
  assert.ok([...s1.rows.t].every((r) => s2.rows.t.includes(r)), 'a later stage holds every row of an earlier one');
  const count = (rows: Int32Array, label: number) => [...rows].filter((r) => y[r] === label).length;
  assert.deepEqual([0, 1, 2].map((l) => count(s1.rows.t, l)), [70, 20, 10]);
  // 120 rows: a quarter is 30 < 40 rows, so only the half stage remains; 60 rows: none.
  assert.deepEqual(screeningStages([split('t', y.slice(0, 120))], 0).map((s) => s.share), [0.5]);
  assert.deepEqual(screeningStages([split('t', y.slice(0, 60))], 0), []);
  // Two tasks: a stage needs enough rows in every task.
  assert.deepEqual(screeningStages([split('t', y), split('u', y.slice(0, 120))], 0).map((s) => s.share), [0.5]);
});

function outcomes(correct: number[], logp: number[]): Record<string, RowOutcomes> {
  return { t: { correct: Uint8Array.from(correct), logp: Float64Array.from(logp) } };
}

test('a clear loser is behind the incumbent by more than LOSER_SES paired SEs in accuracy and in log-probability', () => {
  const n = 100;
  const stage = { share: 0.25, rows: { t: new Int32Array(n) } };
  const tasks = [{ name: 't', weight: 1 }];
  const inc = outcomes(Array(n).fill(1), Array(n).fill(-0.1));
  // 30 rows worse in both statistics: a gap of 0.3 with SE ≈ 0.046.
  const worse = outcomes([...Array(30).fill(0), ...Array(70).fill(1)], [...Array(30).fill(-2), ...Array(70).fill(-0.1)]);
  const v = clearLoser(worse, inc, tasks, stage, '0,1');
  assert.ok(v, 'dropped');
  assert.ok(v!.accuracy.diff < -LOSER_SES * v!.accuracy.se && v!.logLik.diff < 0);
  assert.deepEqual([v!.share, v!.rows, v!.incumbent], [0.25, n, '0,1']);
  // Behind in accuracy but better calibrated (max-loglik could still pick it): kept.
  const calibrated = outcomes([...Array(30).fill(0), ...Array(70).fill(1)], Array(n).fill(-0.05));
  assert.equal(clearLoser(calibrated, inc, tasks, stage, '0,1'), null);
  // Two rows behind: within two SEs, kept.
  const close = outcomes([0, 0, ...Array(98).fill(1)], [-2, -2, ...Array(98).fill(-0.1)]);
  assert.equal(clearLoser(close, inc, tasks, stage, '0,1'), null);
});

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

function optimize(task: string, extra: string[]): SelectionReport {
  const out = tempDir('ps-halving-');
  try {
    const args = ['optimize', fixture('tiny-t5-encoder'), '--task', `${task}=${path.join(tasksDir, task)}`, '--limit-train', '400', '--limit-test', '100', '--budget', '0.95', '--candidates', '8', '--no-cache', '-q', '--out', path.join(out, 'm'), ...extra];
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(fs.readFileSync(path.join(out, 'm', 'probescale-report.json'), 'utf8')).selection;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

test('successive halving picks what the exhaustive search picks, having dropped candidates on part of the rows', () => {
  let dropped = 0;
  for (const task of ['sentlen']) {
    const fast = optimize(task, []);
    const full = optimize(task, ['--exhaustive']);
    const search = fast.search as SearchReport;
    assert.equal(search.mode, 'halving');
    assert.equal(full.search!.mode, 'exhaustive');
    assert.deepEqual(full.search!.dropped, []);
    assert.deepEqual([fast.kept, fast.rule.name], [full.kept, full.rule.name], task);
    // Every dropped candidate was measured by the exhaustive search, and not better than its winner there.
    for (const d of search.dropped) {
      const there = full.candidates.find((c) => c.kept.join(',') === d.kept.join(','));
      assert.ok(there, `${d.kept} measured by the exhaustive search`);
      assert.ok(d.accuracy.diff < -LOSER_SES * d.accuracy.se, `${d.kept} dropped as a clear loser`);
      assert.ok(!fast.candidates.some((c) => c.kept.join(',') === d.kept.join(',')), 'a dropped candidate is not reported as measured');
    }
    assert.equal(fast.candidates.length + search.dropped.length, full.candidates.length, `${task}: the same candidates, measured or dropped`);
    dropped += search.dropped.length;
  }
  assert.ok(dropped > 0, 'the fixtures exercise dropping');
});
