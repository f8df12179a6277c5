import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

test('optimize --compensate all measures bridged and narrowed candidates and both compensated baselines under the budget, and verifies the commit', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-comp-')), 'model');
  const args = ['optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.95', '--candidates', '2', '--compensate', 'all', '--no-cache', '--out', out, '-q'];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /compensation of the pick: /);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')).selection;
  const rm = s.baselines.find((b: { name: string }) => b.name === 'replaceme-bridge');
  const flap = s.baselines.find((b: { name: string }) => b.name === 'flap-uniform');
  assert.ok(rm && rm.compensation.bridges && rm.params <= s.budget.params, 'ReplaceMe-style baseline measured in the budget');
  assert.ok(flap && flap.kept.length === 4 && flap.compensation.heads >= 1 && flap.params <= s.budget.params, 'FLAP-style uniform width of every block');
  const compensated = s.candidates.filter((c: { compensation?: unknown }) => c.compensation);
  assert.ok(compensated.some((c: { origin: string }) => c.origin === 'bridged'), 'bridged variants of the best plain subsets');
  const narrowed = compensated.filter((c: { origin: string }) => c.origin === 'narrowed');
  assert.ok(narrowed.length >= 1 && narrowed.every((c: { kept: number[] }) => c.kept.length >= 3), 'subsets over the budget (3 or 4 blocks here), narrowed to fit');
  assert.ok(narrowed.every((c: { compensation: { score?: string; description: string } }) => c.compensation.score === 'task' && /task-weighted/.test(c.compensation.description)), 'ranked by the default task-weighted score');
  for (const c of s.candidates) assert.ok(c.params <= s.budget.params || !c.compensation, `${c.kept} ${JSON.stringify(c.compensation)} within the budget`);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  assert.equal(rep.verify.allEqual, true);
  assert.equal(fs.existsSync(path.join(out, 'model.safetensors')), !s.compensation, 'safetensors only for whole-block winners');

  const bad = spawnSync(process.execPath, [cli, 'optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.95', '--compensate', 'some', '--out', out + '-x'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--compensate some: unknown; use one of none, bridge, width, all/);
});
