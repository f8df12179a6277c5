#!/usr/bin/env node
// The unit and worker tests, each file in its own process, with a temp folder of their own.
// Afterwards that folder must be empty: a test (or ProbeScale) that leaves files in the system
// temp folder fails the run, named, instead of filling the disk one run at a time.
// Usage: node scripts/runTests.mjs [test files or folders; default out/test/unit out/test/worker]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const targets = process.argv.length > 2 ? process.argv.slice(2) : ['out/test/unit', 'out/test/worker'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-tests-'));
// Tests that open ONNX Runtime sessions themselves would leave its telemetry's mat-debug logs;
// the tests of ProbeScale's own opt-out clear this variable for the processes they start.
// The feature and graph caches (XDG_CACHE_HOME) go in there too, not in the developer's own.
const CACHE = '.cache';
const env = { ...process.env, TMPDIR: tmp, XDG_CACHE_HOME: path.join(tmp, CACHE), ORT_DISABLE_TELEMETRY: '1' };
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...targets], { stdio: 'inherit', env });
const left = fs.readdirSync(tmp).filter((n) => n !== CACHE).sort();
fs.rmSync(tmp, { recursive: true, force: true });
if (left.length > 0) {
  const shown = left.slice(0, 10).join(', ') + (left.length > 10 ? `, … (${left.length} in all)` : '');
  console.error(`The tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temp folder: ${shown}. Remove them in the test that makes them (tempDir() in test/helpers.ts removes its folder at exit).`);
  process.exit(1);
}
process.exit(run.status ?? 1);
