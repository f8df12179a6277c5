import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cudaLibrariesPresent } from '../../../../src/core/runtime/session';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

test('provider auto without the CUDA provider libraries skips CUDA and says why, with no error of ORT on stderr', { skip: cudaLibrariesPresent() && 'the CUDA provider libraries are installed here' }, () => {
  const dir = tempDir('ps-auto-');
  try {
    const out = path.join(dir, 'p.json');
    const r = spawnSync(process.execPath, [cli, 'probe', fixture('tiny-bert'), '--task', `spam=${path.join(tasksDir, 'spam')}`, '--limit-train', '40', '--limit-test', '20', '--no-cache', '--out', out], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /execution provider cuda skipped: its provider libraries are not installed\. CUDA needs .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.doesNotMatch(r.stderr, /onnxruntime:|Failed to load library|ONNXRuntimeError/, 'ORT did not try to load what is not there');
    assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).provider, 'cpu');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
