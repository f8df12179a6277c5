import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runJob } from '../../../../src/core/pipeline/dispatch';
import { DEFAULT_SETTINGS, ProbeSettings } from '../../../../src/core/settings';
import { ProgressEvent } from '../../../../src/core/jobs';
import { describeProgress } from '../../../../src/core/progress';
import { fixture, tasksDir, tempDir } from '../../../helpers';

const tasks = [
  { name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 },
  { name: 'bshift', path: path.join(tasksDir, 'bshift'), weight: 1 },
];

test('probe and optimize share one probe protocol: every layer has the same accuracies, C and best layer in both reports', async () => {
  // C is chosen by cross-validation (no --c): the case where the two jobs used to differ.
  const settings: ProbeSettings = { ...DEFAULT_SETTINGS, limitTrain: 120, limitTest: 40, provider: 'cpu' };
  const probe = await runJob({ type: 'probe', modelDir: fixture('tiny-roberta'), tasks, settings: { ...settings } }, {});
  const out = path.join(tempDir('ps-protocol-'), 'model');
  const opt = await runJob({ type: 'optimize', modelDir: fixture('tiny-roberta'), tasks, budget: '0.95', out, targetRetention: 0.95, candidates: 2, settings: { ...settings } }, {});
  for (const t of tasks) {
    const a = probe.tasks[t.name];
    const b = opt.report.tasks[t.name];
    assert.equal(a.layers.length, 5);
    assert.deepEqual(b.layers, a.layers, `${t.name}: the same per-layer rows (accuracy, macro-F1, control, C, CV accuracy)`);
    assert.equal(b.bestLayer, a.bestLayer);
    assert.equal(new Set(a.layers.map((l) => l.c)).size, 1, `${t.name}: one C for every layer`);
    assert.equal(opt.report.selection.cPerTask[t.name], a.layers[0].c, `${t.name}: the C the candidates were measured with`);
    // The unpruned model's final layer, as optimize's retention reads it, is the table's last row.
    assert.equal(opt.report.selection.perTask[t.name].reference.final.accuracy, a.layers[a.layers.length - 1].accuracy);
  }
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
});

test('the C search reports its fits per task as it goes (minutes for a task with many labels), and a fixed C reports none', async () => {
  const settings: ProbeSettings = { ...DEFAULT_SETTINGS, limitTrain: 60, limitTest: 20, provider: 'cpu' };
  const seen: { task: string; done: number; total: number }[] = [];
  const onProgress = (e: ProgressEvent) => e.kind === 'cSearch' && seen.push({ task: e.task, done: e.done, total: e.total });
  await runJob({ type: 'probe', modelDir: fixture('tiny-bert'), tasks, settings: { ...settings } }, { onProgress });
  for (const t of tasks) {
    const mine = seen.filter((s) => s.task === t.name);
    assert.ok(mine.length > 1, `${t.name}: fits reported`);
    assert.deepEqual(mine.map((s) => s.done), Array.from({ length: mine.length }, (_, i) => i + 1), `${t.name}: one event per fit, in order`);
    assert.equal(mine[mine.length - 1].done, mine[0].total, `${t.name}: the last fit completes the count`);
    assert.match(describeProgress({ kind: 'cSearch', ...mine[0] }).message, new RegExp(`^choosing C for ${t.name}: fit 1 of ${mine[0].total}`));
  }
  seen.length = 0;
  await runJob({ type: 'probe', modelDir: fixture('tiny-bert'), tasks, settings: { ...settings, c: 1 } }, { onProgress });
  assert.deepEqual(seen, []);
});
