/**
 * `probescale cache`: what the feature and graph caches hold, and `--clear`, after real probes
 * filled them (one of a safetensors-only folder, whose graph is built into the graph cache).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir, tempDir } from '../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const sizeOf = (dir: string, keep: (n: string) => boolean) => fs.readdirSync(dir).filter(keep).reduce((s, n) => s + fs.statSync(path.join(dir, n)).size, 0);

test('probescale cache says what probes cached; --clear removes it, frees what only the cache held, and leaves the user’s files', () => {
  const home = tempDir('ps-cli-cache-');
  const env = { ...process.env, XDG_CACHE_HOME: path.join(home, 'xdg') };
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env });
  const features = path.join(home, 'xdg', 'probescale', 'features');
  const graphs = path.join(home, 'xdg', 'probescale', 'graphs');
  // A safetensors-only copy of tiny-bert: its graph is built into the graph cache, beside a hard link to its weights.
  const model = path.join(home, 'tiny-bert');
  fs.cpSync(fixture('tiny-bert'), model, { recursive: true });
  fs.rmSync(path.join(model, 'onnx'), { recursive: true });
  const probed = run('probe', model, '--task', `s=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '30', '--limit-test', '10', '--c', '1', '-q');
  assert.equal(probed.status, 0, probed.stderr);
  fs.writeFileSync(path.join(features, 'README.txt'), 'mine');
  const featureBytes = sizeOf(features, (n) => n.endsWith('.feat'));
  const [graph] = fs.readdirSync(graphs);
  const graphBytes = sizeOf(path.join(graphs, graph), () => true);
  const weights = fs.statSync(path.join(model, 'model.safetensors')).size;
  const said = run('cache');
  assert.equal(said.status, 0, said.stderr);
  assert.equal(
    said.stdout,
    `feature cache ${features}: 2 entries, ${kB(featureBytes)}\n` +
      `graph cache ${graphs}: 1 graph, ${kB(graphBytes)} (${kB(graphBytes - weights)} held only by the cache; the rest are links to model files)\n` +
      'probescale cache --clear removes what they hold.\n',
  );
  // Deleting the model leaves its weights alive through the cache's link: now the cache alone holds them.
  fs.rmSync(model, { recursive: true });
  assert.match(run('cache').stdout, new RegExp(`1 graph, ${kB(graphBytes)} \\(${kB(graphBytes)} held only by the cache`));
  const cleared = run('cache', '--clear');
  assert.equal(cleared.status, 0, cleared.stderr);
  assert.equal(cleared.stdout, `removed 2 entries (${kB(featureBytes)}) from the feature cache ${features}\nremoved 1 graph from the graph cache ${graphs}: ${kB(graphBytes)} freed (the rest were links to model files, which stay)\n`);
  assert.deepEqual(fs.readdirSync(features), ['README.txt']);
  assert.deepEqual(fs.readdirSync(graphs), []);
  assert.match(run('cache', '--cache-dir', path.join(home, 'elsewhere')).stdout, /^feature cache .*elsewhere: 0 entries, 0 B\ngraph cache .*: 0 graphs, 0 B/);
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
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
