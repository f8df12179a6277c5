/**
 * Workspace trust: the manifest declares restricted-mode support, every command is classified,
 * and the JobManager (the one door every job passes) starts no worker in an untrusted workspace.
 * The JobManager runs here against a minimal stand-in for the `vscode` module.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Job, JobRunner } from '../../../src/core/jobs';
import { COMMANDS_NEEDING_TRUST, COMMANDS_WITHOUT_TRUST, UntrustedWorkspaceError } from '../../../src/extension/trust';
import { repoRoot } from '../../helpers';
import { installVscodeStub, silentLog } from '../../vscodeStub';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));

function loadJobManager(): Promise<typeof import('../../../src/extension/jobs/jobManager')> {
  installVscodeStub();
  return import('../../../src/extension/jobs/jobManager');
}

const log = silentLog;
const job: Job = { type: 'prune', modelDir: '/ws/model', layers: [0], out: '/ws/out', settings: {} } as Job;

test('the manifest supports untrusted workspaces in a limited way and says why', () => {
  const u = pkg.capabilities?.untrustedWorkspaces;
  assert.equal(u?.supported, 'limited');
  assert.match(u.description, /runs no model.*ONNX Runtime/);
  const declared = (pkg.contributes.commands as { command: string }[]).map((c) => c.command).sort();
  assert.deepEqual([...COMMANDS_NEEDING_TRUST, ...COMMANDS_WITHOUT_TRUST].sort(), declared, 'every command is classified as needing trust or not');
  const ext = fs.readFileSync(path.join(repoRoot, 'src', 'extension', 'extension.ts'), 'utf8');
  for (const c of COMMANDS_NEEDING_TRUST) assert.match(ext, new RegExp(`registerCommand\\('${c.replace('.', '\\.')}', gated\\(`), `${c} is registered behind the trust gate`);
});

test('in an untrusted workspace no job runs and no worker starts; trusted, the same job runs', async () => {
  const { JobManager } = await loadJobManager();
  let trusted = false;
  let runners = 0;
  const ran: Job[] = [];
  const runner: JobRunner = { run: async <T>(j: Job) => (ran.push(j), 'ok' as T), dispose: async () => {} };
  const jobs = new JobManager(() => (runners++, runner), log, () => trusted);
  for (const type of ['probe', 'prune', 'eval', 'optimize'] as const) {
    await assert.rejects(jobs.run({ ...job, type } as Job, 't'), (e: Error) => e instanceof UntrustedWorkspaceError && /not trusted/.test(e.message));
  }
  assert.equal(runners, 0, 'no worker was created');
  assert.deepEqual(ran, []);
  trusted = true;
  assert.deepEqual(await jobs.run(job, 't'), { status: 'done', result: 'ok' });
  assert.equal(runners, 1);
  // The default follows VS Code's own flag.
  const byDefault = new JobManager(() => runner, log);
  await assert.rejects(byDefault.run(job, 't'), UntrustedWorkspaceError);
});
