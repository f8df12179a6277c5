import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReport } from '../../../src/core/reportData';
import { portablePaths, resolvePaths } from '../../../src/core/reportPaths';
import { fixture, repoRoot, tasksDir, tempDir } from '../../helpers';

const tmp = () => fs.realpathSync(tempDir('ps-paths-'));

test('paths are written relative to the report, with the absolute ones as a fallback', () => {
  const r = { model: { dir: '/x/models/m', onnxFile: '/x/models/m/onnx/model.onnx' }, tasks: { spam: { source: '/x/data/spam' } }, verify: { loadedFrom: '/x/out' } };
  const p = portablePaths(r, '/x/out/probescale-report.json');
  assert.deepEqual(p.model, { dir: '../models/m', onnxFile: '../models/m/onnx/model.onnx' });
  assert.deepEqual(p.tasks, { spam: { source: '../data/spam' } });
  assert.deepEqual(p.verify, { loadedFrom: '.' });
  assert.deepEqual(p.paths, { relativeTo: 'report folder', absolute: { 'model.dir': '/x/models/m', 'model.onnxFile': '/x/models/m/onnx/model.onnx', 'tasks.spam.source': '/x/data/spam', 'verify.loadedFrom': '/x/out' } });
  assert.deepEqual(portablePaths(r, '/x/r.json', { keepAbsolute: false }).paths, { relativeTo: 'report folder' });
  assert.equal(r.model.dir, '/x/models/m', 'the report itself is left as it is');
});

test('reading resolves relative paths where they exist, else falls back to the recorded absolute path', () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'models', 'm'), { recursive: true });
  const file = path.join(dir, 'reports', 'r.json');
  const there = (rel: string) => path.join(dir, rel);
  const json = () => ({ model: { dir: '../models/m', onnxFile: '../models/gone.onnx' }, tasks: { t: { source: '../data/t' } }, paths: { relativeTo: 'report folder', absolute: { 'model.dir': '/nowhere/m', 'model.onnxFile': fixture('tiny-bert', 'onnx', 'model.onnx') } } });
  const r = json();
  resolvePaths(r, file);
  assert.equal(r.model.dir, there('models/m'), 'relative wins where it exists');
  assert.equal(r.model.onnxFile, fixture('tiny-bert', 'onnx', 'model.onnx'), 'the recorded absolute path where the relative one is missing');
  assert.equal(r.tasks.t.source, there('data/t'), 'neither exists: relative to the report');
  const old = { model: { dir: '/abs/m' } };
  resolvePaths(old, file);
  assert.equal(old.model.dir, path.resolve('/abs/m'), 'reports from before portable paths keep theirs');
});

test('a probe report moved with its model and task still finds them', () => {
  const a = tmp();
  fs.cpSync(fixture('tiny-bert'), path.join(a, 'models', 'tiny-bert'), { recursive: true });
  fs.cpSync(path.join(tasksDir, 'sentlen'), path.join(a, 'data', 'sentlen'), { recursive: true });
  fs.mkdirSync(path.join(a, 'reports'));
  const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [cli, 'probe', 'models/tiny-bert', '--task', 'sentlen=data/sentlen', '--limit-train', '60', '--limit-test', '20', '--c', '1', '--no-cache', '--out', 'reports/r.json', '-q'], { cwd: a, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const written = JSON.parse(fs.readFileSync(path.join(a, 'reports', 'r.json'), 'utf8'));
  assert.equal(written.model.dir, '../models/tiny-bert');
  assert.equal(written.tasks.sentlen.source, '../data/sentlen');
  const b = path.join(tmp(), 'elsewhere');
  fs.renameSync(a, b);
  const moved = readReport(path.join(b, 'reports', 'r.json'));
  assert.equal(moved.model.dir, path.join(b, 'models', 'tiny-bert'));
});
