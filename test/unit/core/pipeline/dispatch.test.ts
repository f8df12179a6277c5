import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runJob } from '../../../../src/core/pipeline/dispatch';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { BadInputError, CancelledError } from '../../../../src/core/errors';
import { ProgressEvent } from '../../../../src/core/jobs';
import { fixture, tasksDir, tempDir } from '../../../helpers';

test('in-process hosts run any job and get its own result type', async () => {
  const settings = { ...DEFAULT_SETTINGS, c: 1, limitTrain: 40, limitTest: 20, provider: 'cpu' as const };
  const report = await runJob({ type: 'probe', modelDir: fixture('tiny-distilbert'), tasks: [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }], settings }, {});
  assert.equal(report.kind, 'probe');
  assert.equal(report.tasks.sentlen.layers.length, 5);
  const out = path.join(tempDir('ps-dispatch-'), 'pruned');
  const pruned = await runJob({ type: 'prune', modelDir: fixture('tiny-distilbert'), layers: [0, 2], out, settings: {} }, {});
  assert.deepEqual(pruned.kept, [0, 2]);
  assert.ok(pruned.params.after < pruned.params.before);
  assert.ok(pruned.files.includes('config.json'));
});

test('a model folder deleted or rewritten while a job runs is named as the cause, not ONNX Runtime’s missing path', async () => {
  const settings = { ...DEFAULT_SETTINGS, c: 1, limitTrain: 40, limitTest: 20, provider: 'cpu' as const, noCache: true };
  const optimize = async (atStage: string, change: (model: string) => void) => {
    const dir = tempDir('ps-gone-');
    const model = path.join(dir, 'm');
    fs.cpSync(fixture('tiny-roberta'), model, { recursive: true });
    let changed = false;
    const onProgress = (e: ProgressEvent) => {
      if (e.kind !== 'stage' || e.stage !== atStage || changed) return;
      changed = true;
      change(model);
    };
    const job = { type: 'optimize' as const, modelDir: model, tasks: [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }], budget: '0.95', out: path.join(dir, 'out'), candidates: 2, targetRetention: 0.95, settings };
    const error = await runJob(job, { onProgress }).then(() => undefined, (e: unknown) => e);
    return { error, left: fs.readdirSync(dir).filter((n) => n !== 'm') };
  };
  const gone = await optimize('candidates', (m) => fs.rmSync(m, { recursive: true }));
  assert.ok(gone.error instanceof BadInputError, String(gone.error));
  assert.match((gone.error as Error).message, /^the model folder .*m was deleted or moved while the job ran, so the job stopped \(.*External data path does not exist.*\)\. Leave the folder as it is until a job on it ends, then run it again\.$/);
  assert.deepEqual(gone.left, [], 'no output and no temporary');
  const rewritten = await optimize('commit', (m) => fs.writeFileSync(path.join(m, 'onnx', 'model.onnx'), 'not a graph'));
  assert.match(String((rewritten.error as Error)?.message), /^the model folder .*m had onnx\/model\.onnx rewritten while the job ran, so the job stopped \(/);
  assert.deepEqual(rewritten.left, []);
  // Cancelling is not an error about the folder, even when the folder changed too.
  const ac = new AbortController();
  const dir = tempDir('ps-gone-');
  fs.cpSync(fixture('tiny-roberta'), path.join(dir, 'm'), { recursive: true });
  const onProgress = (e: ProgressEvent) => {
    if (e.kind !== 'stage' || e.stage !== 'probe') return;
    fs.rmSync(path.join(dir, 'm'), { recursive: true, force: true });
    ac.abort();
  };
  await assert.rejects(runJob({ type: 'probe', modelDir: path.join(dir, 'm'), tasks: [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }], settings }, { onProgress, signal: ac.signal }), CancelledError);
});
