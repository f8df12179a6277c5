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
import { clearFeatureCache, featureCacheUsage } from '../../../../src/core/extract/cacheFiles';
import { BadInputError } from '../../../../src/core/errors';
import { tempDir } from '../../../helpers';

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
