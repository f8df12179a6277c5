import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { runJob } from '../../../../src/core/pipeline/dispatch';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
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
