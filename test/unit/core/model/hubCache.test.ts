/**
 * A model folder in the Hugging Face hub cache's layout (`huggingface-cli download` without
 * --local-dir, `snapshot_download`): every file of `snapshots/<rev>/` is a relative symbolic link
 * into `blobs/`, named by its hash. Before: an ONNX export failed as an internal error (ONNX
 * Runtime resolved the weights' location through the link to `blobs/` and refused it as outside
 * the graph's folder), and a safetensors-only folder's graph got a hard link to the symbolic link
 * itself, which pointed nowhere from the graph cache.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';
import { externalDataFolder } from '../../../modelVariants';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const LIMITS = ['--limit-train', '60', '--limit-test', '20', '--c', '1', '--no-cache', '-q'];

/** `src` laid out as the hub cache lays out a download; returns the snapshot folder. */
function hubCacheCopy(src: string): string {
  const repo = path.join(tempDir('ps-hub-'), 'models--someone--tiny');
  const blobs = path.join(repo, 'blobs');
  const snapshot = path.join(repo, 'snapshots', '0123abcd');
  fs.mkdirSync(blobs, { recursive: true });
  for (const rel of fs.readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    const from = path.join(src, rel);
    if (!fs.statSync(from).isFile()) continue;
    const blob = crypto.createHash('sha256').update(fs.readFileSync(from)).digest('hex');
    fs.copyFileSync(from, path.join(blobs, blob));
    const link = path.join(snapshot, rel);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(blobs, blob)), link);
  }
  return snapshot;
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const probe = (model: string, ...extra: string[]) => ['probe', model, '--task', `s=${path.join(tasksDir, 'sentlen')}`, ...LIMITS, ...extra];

test('a hub-cache snapshot probes as its plain folder does: inline ONNX, external-data ONNX, and safetensors only', () => {
  const externalFolder = externalDataFolder(fixture('tiny-bert'));
  for (const plain of [fixture('tiny-bert'), fixture('tiny-roberta'), externalFolder]) {
    const snapshot = hubCacheCopy(plain);
    assert.ok(fs.lstatSync(path.join(snapshot, 'onnx', 'model.onnx')).isSymbolicLink());
    assert.equal(run(probe(snapshot)), run(probe(plain)), plain);
  }
  // Safetensors only: the graph is built into the graph cache beside a link to the real weights.
  const cache = tempDir('ps-hub-xdg-');
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  const snapshot = hubCacheCopy(fixture('tiny-bert'));
  fs.rmSync(path.join(snapshot, 'onnx'), { recursive: true });
  assert.equal(run(probe(snapshot), env), run(probe(fixture('tiny-bert'), '--from', 'safetensors'), env));
  const graphs = path.join(cache, 'probescale', 'graphs');
  for (const g of fs.readdirSync(graphs)) {
    const weights = path.join(graphs, g, 'model.safetensors');
    assert.ok(fs.lstatSync(weights).isFile(), 'a hard link to the blob, not a copy of the symbolic link');
  }
});

test('prune and optimize from a hub-cache snapshot write a folder of real files that runs on its own', () => {
  const snapshot = hubCacheCopy(fixture('tiny-bert'));
  const out = tempDir('ps-hub-out-');
  run(['prune', snapshot, '--layers', '0,2', '--out', path.join(out, 'p')]);
  run(['optimize', snapshot, '--task', `s=${path.join(tasksDir, 'sentlen')}`, ...LIMITS, '--budget', '0.9', '--out', path.join(out, 'o')]);
  for (const dir of ['p', 'o']) {
    for (const rel of fs.readdirSync(path.join(out, dir), { recursive: true, encoding: 'utf8' })) {
      assert.ok(!fs.lstatSync(path.join(out, dir, rel)).isSymbolicLink(), `${dir}/${rel} is a file, not a link into the cache`);
    }
  }
  // The snapshot's blobs are not needed by what was written.
  fs.rmSync(path.dirname(path.dirname(snapshot)), { recursive: true });
  assert.match(run(probe(path.join(out, 'p'))), /bert · 2 blocks/);
  assert.match(run(['eval', path.join(out, 'o'), '--task', `s=${path.join(tasksDir, 'sentlen')}`, ...LIMITS]), /layer/);
});
