import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SelectionReport } from '../../../../src/core/report';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

function run(out: string, extra: string[]) {
  const args = ['optimize', fixture('tiny-bert'), '--task', `spam=${path.join(tasksDir, 'spam')}`, '--limit-train', '120', '--limit-test', '40', '--budget', '0.9', '--candidates', '2', '--no-cache', '-q', '--out', out, ...extra];
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
}

test('optimize --baselines: only the named baselines are measured and reported; none leaves the heuristic rule out; bad choices are refused before any work', () => {
  const dir = tempDir('ps-baselines-');
  try {
    const stdout: Record<string, string> = {};
    const report = (name: string, extra: string[]): { selection: SelectionReport; command: string } => {
      const r = run(path.join(dir, name), extra);
      assert.equal(r.status, 0, r.stderr);
      stdout[name] = r.stdout;
      return JSON.parse(fs.readFileSync(path.join(dir, name, 'probescale-report.json'), 'utf8'));
    };
    const all = report('all', []);
    const some = report('some', ['--baselines', 'drop-bottom,random']);
    const none = report('none', ['--baselines', 'none']);
    const names = (s: SelectionReport) => s.baselines.map((b) => b.name).sort();
    assert.ok(names(all.selection).length > 5);
    assert.deepEqual(names(some.selection), names(all.selection).filter((n) => n === 'drop-bottom' || n.startsWith('random-')));
    assert.deepEqual(names(none.selection), []);
    // Fewer baselines, fewer subsets measured (those baselines only, the search is the same).
    assert.ok(none.selection.candidates.length < all.selection.candidates.length, `${none.selection.candidates.length} vs ${all.selection.candidates.length}`);
    assert.ok(!none.selection.rule.simulation.rules.some((r) => r.rule === 'heuristic'), 'no heuristic to ship');
    assert.ok(all.selection.rule.simulation.rules.some((r) => r.rule === 'heuristic'));
    // The recorded command reproduces the choice; the card says no comparison was made.
    assert.match(none.command, /--baselines none/);
    assert.match(some.command, /--baselines drop-bottom,random/);
    assert.doesNotMatch(all.command, /--baselines/);
    assert.match(fs.readFileSync(path.join(dir, 'none', 'README.md'), 'utf8'), /No baselines were measured/);
    assert.match(stdout.none, /No baselines were measured/);
    assert.doesNotMatch(stdout.none, /best heuristic|ProbeScale − baseline|0 ahead/, 'no comparison is claimed where none was made');
    assert.match(stdout.all, /≥ best heuristic in \d+ % of repeats/);
    assert.equal(none.selection.rule.simulation.heuristics, 0);
    for (const [extra, message] of [
      [['--baselines', 'drop_top'], /^probescale: (BadInputError: )?--baselines drop_top: give all, none, or a comma-separated list of drop-top, /],
      [['--baselines', 'flap-uniform'], /^probescale: (BadInputError: )?--baselines flap-uniform: compensated baselines are measured only with --compensate/],
      [['--baselines', 'none', '--select', 'heuristic'], /^probescale: (BadInputError: )?--select heuristic: it ships the best published heuristic, and --baselines none measures none/],
    ] as [string[], RegExp][]) {
      const bad = run(path.join(dir, 'bad'), extra);
      assert.equal(bad.status, 1, bad.stderr);
      assert.match(bad.stderr.trim(), message);
      assert.ok(!fs.existsSync(path.join(dir, 'bad')), 'nothing written');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
