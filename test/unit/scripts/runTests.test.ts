import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../../helpers';

/** Runs scripts/runTests.mjs on one test file whose body is `body` (CommonJS, node:test). */
function runOne(body: string) {
  const dir = tempDir('ps-runtests-');
  const file = path.join(dir, 'one.test.js');
  fs.writeFileSync(file, `const { test } = require('node:test');\nconst fs = require('node:fs');\nconst os = require('node:os');\nconst path = require('node:path');\ntest('t', () => { ${body} });\n`);
  // Without NODE_TEST_CONTEXT, which would make the inner node --test skip its files.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'runTests.mjs'), file], { encoding: 'utf8', env: { ...env, TMPDIR: dir } });
  return { ...r, left: fs.readdirSync(dir) };
}

test('npm test fails, naming them, when tests leave files in the temp folder', () => {
  const r = runOne("fs.mkdtempSync(path.join(os.tmpdir(), 'ps-litter-')); fs.writeFileSync(path.join(os.tmpdir(), 'mat-debug-1.log'), '');");
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /The tests left 2 entries in the temp folder: mat-debug-1\.log, ps-litter-\w+\. Remove them in the test that makes them/);
  assert.deepEqual(r.left, ['one.test.js'], 'and removed them');
});

test('npm test passes when the tests clean up, and leaves no folder of its own', () => {
  const r = runOne("fs.rmSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-tidy-')), { recursive: true });");
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(r.left, ['one.test.js'], 'the run removed its own temp folder');
});

test('a failing test still fails the run when nothing is left behind', () => {
  const r = runOne('throw new Error("boom");');
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.stderr, /left \d+ entr/);
});
