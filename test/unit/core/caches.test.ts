/**
 * The feature cache's size and clearing (`probescale cache`, "ProbeScale: Clear Feature Cache"):
 * only the cache's own files count and go; a folder holding other files keeps them; a run still
 * writing keeps its temporary.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clearFeatureCache, clearGraphCache, featureCacheUsage, graphCacheUsage } from '../../../src/core/caches';
import { BadInputError } from '../../../src/core/errors';
import { tempDir } from '../../helpers';

const key = (i: number) => i.toString(16).padStart(32, '0');

test('counts and clears entries and dead runs’ temporaries, and nothing else in the folder', async () => {
  const dir = tempDir('ps-cachefiles-');
  fs.writeFileSync(path.join(dir, `${key(1)}.feat`), Buffer.alloc(1000));
  fs.writeFileSync(path.join(dir, `${key(2)}.feat`), Buffer.alloc(500));
  // A killed run's temporary (pid 2^22 + 7 is above Linux's pid_max default, so never alive).
  const dead = `.${key(3)}.feat.probescale-tmp-4194311-ab12`;
  fs.writeFileSync(path.join(dir, dead), Buffer.alloc(200));
  // A run still writing: a live process's pid.
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  const live = `.${key(4)}.feat.probescale-tmp-${sleeper.pid}-cd34`;
  fs.writeFileSync(path.join(dir, live), Buffer.alloc(300));
  // The user's own files, and a folder named like an entry.
  fs.writeFileSync(path.join(dir, 'notes.feat'), 'mine');
  fs.writeFileSync(path.join(dir, `${key(0xabcdef).toUpperCase()}.feat`), 'not ours: upper case');
  fs.mkdirSync(path.join(dir, `${key(6)}.feat`));
  try {
    assert.deepEqual(featureCacheUsage(dir), { dir, entries: 2, bytes: 2000 });
    assert.deepEqual(clearFeatureCache(dir), { dir, entries: 2, bytes: 1700 }, 'the live run keeps its temporary');
    assert.deepEqual(fs.readdirSync(dir).sort(), [live, `${key(0xabcdef).toUpperCase()}.feat`, `${key(6)}.feat`, 'notes.feat'].sort());
    assert.deepEqual(featureCacheUsage(dir), { dir, entries: 0, bytes: 300 });
  } finally {
    sleeper.kill();
  }
});

test('an absent cache holds nothing; a file where the cache should be is refused naming it', () => {
  const dir = tempDir('ps-cachefiles-');
  assert.deepEqual(featureCacheUsage(path.join(dir, 'never-made')), { dir: path.join(dir, 'never-made'), entries: 0, bytes: 0 });
  assert.deepEqual(clearFeatureCache(path.join(dir, 'never-made')).entries, 0);
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');
  assert.throws(() => featureCacheUsage(file), (e: unknown) => e instanceof BadInputError && e.template === `the feature cache ${file} is a file, not a folder; point {{cacheDir}} at a folder.`);
});

test('an entry that cannot be removed is refused naming it and what was removed before it', { skip: process.getuid?.() === 0 ? 'root removes files in a read-only folder' : false }, () => {
  const dir = tempDir('ps-cachefiles-');
  fs.writeFileSync(path.join(dir, `${key(1)}.feat`), 'x');
  fs.chmodSync(dir, 0o500);
  try {
    assert.throws(() => clearFeatureCache(dir), /cannot remove .*0001\.feat from the feature cache \(EACCES\) after removing 0 entries/);
  } finally {
    fs.chmodSync(dir, 0o700);
  }
});

test('graph cache: graphs and day-old build temporaries go; a fresh build, files and other folders stay; linked bytes are not "held only here"', () => {
  const home = tempDir('ps-graphcache-');
  const dir = path.join(home, 'graphs');
  const weights = path.join(home, 'model.safetensors');
  fs.writeFileSync(weights, Buffer.alloc(4000));
  const graph = (name: string, linked: boolean) => {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'model.onnx'), Buffer.alloc(100));
    if (linked) fs.linkSync(weights, path.join(dir, name, 'model.safetensors'));
    else fs.writeFileSync(path.join(dir, name, 'model.safetensors'), Buffer.alloc(4000));
  };
  graph('a'.repeat(24), true);
  graph('b'.repeat(24), false);
  const old = path.join(dir, '.building-old123');
  fs.mkdirSync(old);
  fs.writeFileSync(path.join(old, 'model.onnx'), Buffer.alloc(50));
  fs.mkdirSync(path.join(dir, '.building-now456'));
  fs.mkdirSync(path.join(dir, 'my-folder'));
  fs.writeFileSync(path.join(dir, 'c'.repeat(24)), 'a file named like a graph');
  const now = Date.now();
  const dayAgo = (now - 25 * 3600_000) / 1000;
  fs.utimesSync(old, dayAgo, dayAgo);
  assert.deepEqual(graphCacheUsage(dir, now), { dir, graphs: 2, bytes: 100 + 4000 + 100 + 4000 + 50, heldOnly: 100 + 100 + 4000 + 50 });
  assert.deepEqual(clearGraphCache(dir, now), { dir, graphs: 2, bytes: 8250, heldOnly: 4250 });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['.building-now456', 'c'.repeat(24), 'my-folder']);
  assert.equal(fs.statSync(weights).size, 4000, "the model's own weights stay");
  assert.deepEqual(graphCacheUsage(path.join(home, 'none')), { dir: path.join(home, 'none'), graphs: 0, bytes: 0, heldOnly: 0 });
});
