/** `probescale cache`: the feature cache's size, and `--clear`, after a real probe filled it. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir, tempDir } from '../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

test('probescale cache says what a probe cached; --clear removes it and leaves the user’s files', () => {
  const cache = path.join(tempDir('ps-cli-cache-'), 'features');
  const probed = run('probe', fixture('tiny-bert'), '--task', `s=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '30', '--limit-test', '10', '--c', '1', '--cache-dir', cache, '-q');
  assert.equal(probed.status, 0, probed.stderr);
  fs.writeFileSync(path.join(cache, 'README.txt'), 'mine');
  const bytes = fs.readdirSync(cache).filter((n) => n.endsWith('.feat')).reduce((s, n) => s + fs.statSync(path.join(cache, n)).size, 0);
  const kB = `${(bytes / 1000).toFixed(1)} kB`;
  const said = run('cache', '--cache-dir', cache);
  assert.equal(said.status, 0, said.stderr);
  assert.equal(said.stdout, `feature cache ${cache}: 2 entries, ${kB}; probescale cache --clear removes them\n`, 'train and test features of one task');
  const cleared = run('cache', '--clear', '--cache-dir', cache);
  assert.equal(cleared.status, 0, cleared.stderr);
  assert.equal(cleared.stdout, `removed 2 entries (${kB}) from the feature cache ${cache}\n`);
  assert.deepEqual(fs.readdirSync(cache), ['README.txt']);
  assert.equal(run('cache', '--cache-dir', cache).stdout, `feature cache ${cache}: 0 entries, 0 B\n`);
});

test('probescale cache refuses a model folder, options it does not read, and a file for the cache', () => {
  const file = path.join(tempDir('ps-cli-cache-'), 'f');
  fs.writeFileSync(file, 'x');
  for (const [args, message] of [
    [['cache', fixture('tiny-bert')], /unexpected argument .*tiny-bert'; cache takes no model folder/],
    [['cache', '--no-cache'], /cache does not read --no-cache; it reads --cache-dir, --clear/],
    [['probe', fixture('tiny-bert'), '--clear'], /probe does not read --clear/],
    [['cache', '--cache-dir', file], /the feature cache .*f is a file, not a folder; point --cache-dir at a folder\./],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
