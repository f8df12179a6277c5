import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rewriteReport } from '../../../scripts/portableReports';
import { readReport } from '../../../src/core/reportData';
import { repoRoot } from '../../helpers';

test('an old report is rewritten with every path relative to it and no absolute path', () => {
  const old = { model: { dir: '/old/repo/models/m', onnxFile: '/old/repo/models/m/onnx/model.onnx' }, tasks: { spam: { source: '/old/repo/data/tasks/spam' } }, verify: { loadedFrom: '/old/repo/results/m-0.5' } };
  const file = path.join('/new/repo', 'docs', 'results', 'm-0.5', 'probescale-report.json');
  const r = JSON.parse(rewriteReport(JSON.stringify(old), file, '/old/repo', '/new/repo')!);
  assert.deepEqual(r.model, { dir: '../../../models/m', onnxFile: '../../../models/m/onnx/model.onnx' });
  assert.equal(r.tasks.spam.source, '../../../data/tasks/spam');
  assert.equal(r.verify.loadedFrom, '.', 'the committed folder is the one the report was written into');
  assert.deepEqual(r.paths, { relativeTo: 'report folder' });
  assert.throws(() => rewriteReport(JSON.stringify({ model: { dir: '/elsewhere/m' } }), file, '/old/repo', '/new/repo'), /model.dir \/elsewhere\/m is not under --was \/old\/repo/);
  assert.equal(rewriteReport('{"spam": {"layers": []}}', file, '/old/repo', '/new/repo'), null, 'not a ProbeScale report: left alone');
});

test('every report checked in under docs/ names its model and tasks relative to itself, and they exist', () => {
  const files = spawnSync('git', ['ls-files', 'docs/*.json'], { cwd: repoRoot, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  let reports = 0;
  for (const f of files) {
    const file = path.join(repoRoot, f);
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!json.model) continue;
    reports++;
    assert.deepEqual(json.paths, { relativeTo: 'report folder' }, f);
    assert.ok(!path.isAbsolute(json.model.dir), `${f}: model.dir ${json.model.dir}`);
    const r = readReport(file);
    assert.ok(fs.existsSync(path.join(r.model.dir, 'config.json')), `${f}: ${r.model.dir}`);
    for (const t of Object.values(json.tasks) as { source: string }[]) assert.ok(fs.existsSync(path.resolve(path.dirname(file), t.source)), `${f}: ${t.source}`);
  }
  assert.ok(reports >= 40, `${reports} reports`);
});

test('no tracked file names a folder of the machine the project was developed on', () => {
  const r = spawnSync('git', ['grep', '-n', '-I', '-e', ['', 'work', ''].join('/')], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.stdout, '', r.stdout.split('\n').slice(0, 5).join('\n'));
});
