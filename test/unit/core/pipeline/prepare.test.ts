import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withPrepared } from '../../../../src/core/pipeline/prepare';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { fixture, tasksDir } from '../../../helpers';

/**
 * Open descriptors on the model's weights (other descriptors come and go with load: libuv's, and the
 * read streams transformers.js opens on tokenizer files and lets finish after the tokenizer is built,
 * which under load were still open when a test counted them).
 */
const weights = [path.join(fixture('tiny-bert'), 'onnx') + path.sep, path.join(fixture('tiny-bert'), 'model.safetensors')];
const openFiles = () =>
  fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      const target = fs.readlinkSync(path.join('/proc/self/fd', fd));
      return weights.some((w) => target.startsWith(w));
    } catch {
      return false; // closed between the listing and the read
    }
  }).length;
const spec = [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }];
const settings = { ...DEFAULT_SETTINGS, limitTrain: 20, limitTest: 10 };

test('a prepared run closes its model whether the stages succeed, fail or never start', { skip: !fs.existsSync('/proc/self/fd') && 'needs /proc/self/fd' }, async () => {
  const before = openFiles();
  const n = await withPrepared(fixture('tiny-bert'), spec, settings, {}, async (run) => {
    assert.ok(openFiles() > before, 'the model file is open while the stages run');
    return run.tasks[0].train.length;
  });
  assert.equal(n, 20);
  assert.equal(openFiles(), before, 'closed after success');
  await assert.rejects(withPrepared(fixture('tiny-bert'), spec, settings, {}, async () => Promise.reject(new Error('stage failed'))), /stage failed/);
  assert.equal(openFiles(), before, 'closed after a failing stage');
  await assert.rejects(withPrepared(fixture('tiny-bert'), [{ name: 'x', path: '/nonexistent/task', weight: 1 }], settings, {}, async () => 0), /does not exist/);
  assert.equal(openFiles(), before, 'closed when a task fails to load');
});
