/**
 * A job's warnings reach the user in the extension's words: the first as a notification at once,
 * the rest counted in one notification when the job ends; every one in the log. Before, they
 * went to the Output channel only, naming CLI flags (`--cache-dir`, `--budget`).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { installVscodeStub, silentLog, vscodeStub } from '../../vscodeStub';
import { CancelledError } from '../../../src/core/errors';

async function manager() {
  installVscodeStub();
  const toasts: string[] = [];
  const logged: string[] = [];
  const stub = vscodeStub as Record<string, unknown>;
  stub.window = { ...(stub.window as object), showWarningMessage: async (text: string) => (toasts.push(text), undefined) };
  const { JobManager } = await import('../../../src/extension/jobs/jobManager');
  const log = { ...(silentLog as object), warn: (m: string) => logged.push(`warn ${m}`), info: (m: string) => logged.push(`info ${m}`) } as never;
  const jobs = new JobManager(() => ({ run: async () => ({}) as never, dispose: async () => {} }), log, () => true);
  return { jobs, toasts, logged };
}

test('the first warning of a job is a notification in settings words; the others are counted when it ends', async () => {
  const { jobs, toasts, logged } = await manager();
  const outcome = await jobs.runHere('optimize', 'Optimizing', 'a test job', async (ctx) => {
    ctx.log?.('info', 'opened {{maxLength}}');
    ctx.log?.('warn', 'cannot write the feature cache in /c; point {{cacheDir}} elsewhere, or turn the cache off ({{noCache}}).');
    assert.deepEqual(toasts, ['ProbeScale: cannot write the feature cache in /c; point setting probescale.cacheDir elsewhere, or turn the cache off (setting probescale.noCache).'], 'shown while the job runs, in time to cancel');
    ctx.log?.('warn', '{{budget}} 2 is not below the model');
    ctx.onProgress?.({ kind: 'log', level: 'warn', message: 'a third' });
    return 1;
  });
  assert.equal(outcome.status, 'done');
  assert.equal(toasts.length, 2);
  assert.equal(toasts[1], 'ProbeScale: the optimize job gave 2 more warnings; they are in the log.');
  assert.ok(logged.includes('info opened setting probescale.maxLength'), logged.join('\n'));
  assert.ok(logged.includes('warn budget 2 is not below the model'), 'a form field keeps its plain words');
  assert.ok(logged.includes('warn a third'), 'warnings from the worker (progress events) count too');
});

test('one warning: one notification; none: none; a cancelled job still says what it warned', async () => {
  const { jobs, toasts } = await manager();
  await jobs.runHere('probe', 'Probing', 'quiet', async () => 1);
  assert.deepEqual(toasts, []);
  await jobs.runHere('probe', 'Probing', 'one', async (ctx) => ctx.log?.('warn', 'only this'));
  assert.deepEqual(toasts, ['ProbeScale: only this']);
  toasts.length = 0;
  const outcome = await jobs.runHere('probe', 'Probing', 'cancelled', async (ctx) => {
    ctx.log?.('warn', 'first');
    ctx.log?.('warn', 'second');
    throw new CancelledError();
  });
  assert.equal(outcome.status, 'cancelled');
  assert.deepEqual(toasts, ['ProbeScale: first', 'ProbeScale: the probe job gave 1 more warning; it is in the log.']);
});
