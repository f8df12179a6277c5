import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { claimedAccuracy, committedTasksOf } from '../../../../src/core/commit/committed';
import { fixture, tempDir } from '../../../helpers';

test('committed tasks are read from probescale.tasks; anything malformed means "not a committed folder"', () => {
  const tasks = [{ name: 'spam', classifier: 'classifiers/spam', labels: ['ham', 'spam'], weight: 1 }];
  assert.deepEqual(committedTasksOf({ probescale: { tasks } }), [{ name: 'spam', classifier: 'classifiers/spam', labels: ['ham', 'spam'] }]);
  assert.deepEqual(committedTasksOf({ probescale: { tasks: [{ name: 'x', classifier: 'c' }] } }), [{ name: 'x', classifier: 'c', labels: [] }]);
  for (const config of [{}, { probescale: {} }, { probescale: { tasks: [] } }, { probescale: { tasks: [{ name: 'x' }] } }, { probescale: { tasks: [null] } }, { probescale: 'x' }]) {
    assert.equal(committedTasksOf(config), undefined, JSON.stringify(config));
  }
});

test('claimed accuracy: what the folder\'s report claims, for tasks measured on as many test rows', () => {
  const dir = tempDir('ps-claimed-');
  fs.copyFileSync(fixture('reports-before', 'optimize-tiny-roberta.json'), path.join(dir, 'probescale-report.json'));
  const evalReport = JSON.parse(fs.readFileSync(fixture('reports-before', 'eval-committed.json'), 'utf8'));
  const opt = JSON.parse(fs.readFileSync(path.join(dir, 'probescale-report.json'), 'utf8'));
  assert.deepEqual(claimedAccuracy(dir, evalReport), { sentlen: opt.selection.perTask.sentlen.test.accuracy, bshift: opt.selection.perTask.bshift.test.accuracy });
  evalReport.tasks.sentlen.nTest = 7;
  assert.deepEqual(Object.keys(claimedAccuracy(dir, evalReport) ?? {}), ['bshift'], 'other row counts are not comparable');
  assert.equal(claimedAccuracy(tempDir('ps-none-'), evalReport), undefined);
});

test('claimed accuracy of a quantized variant: what the report measured for that file, or no claim where it measured none', () => {
  const dir = tempDir('ps-claimed-');
  const opt = JSON.parse(fs.readFileSync(fixture('reports-before', 'optimize-tiny-roberta.json'), 'utf8'));
  const evalReport = JSON.parse(fs.readFileSync(fixture('reports-before', 'eval-committed.json'), 'utf8'));
  const q8 = { ...evalReport, model: { ...evalReport.model, quantized: true, onnxFile: '<out>/opt-roberta/onnx/model_quantized.onnx' } };
  const write = (report: object) => fs.writeFileSync(path.join(dir, 'probescale-report.json'), JSON.stringify(report));
  write(opt);
  assert.equal(claimedAccuracy(dir, q8), undefined, 'the float scores are no claim about the int8 graph');
  const score = (accuracy: number) => ({ accuracy, macroF1: accuracy });
  write({ ...opt, verify: { ...opt.verify, quantized: { file: 'onnx/model_quantized.onnx', method: 'q8', perTask: { sentlen: { float: score(0.5), measured: score(0.625), difference: 0.125 } } } } });
  assert.deepEqual(claimedAccuracy(dir, q8), { sentlen: 0.625 });
  assert.deepEqual(claimedAccuracy(dir, evalReport), { sentlen: opt.selection.perTask.sentlen.test.accuracy, bshift: opt.selection.perTask.bshift.test.accuracy }, 'the float graph: the float claim');
  fs.rmSync(dir, { recursive: true, force: true });
});
