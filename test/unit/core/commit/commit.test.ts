import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline, env } from '@huggingface/transformers';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor } from '../../../../src/core/extract/extractor';
import { openModel } from '../../../../src/core/model/modelInfo';
import { assertSharesEncoder, fixture, pipelineAccuracyOnSentlen, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

test('optimize commits a verified folder whose classifiers run with transformers.js alone', async () => {
  const out = path.join(tempDir('ps-opt-'), 'model');
  const args = ['optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--task', `bshift=${path.join(tasksDir, 'bshift')}:0.5`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.95', '--candidates', '3', '--no-cache', '--out', out, '-q'];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ProbeScale/);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  const s = rep.selection;
  assert.ok(s.params <= s.budget.params);
  for (const name of ['drop-top', 'drop-bottom', 'alternate', 'symmetric', 'dalvi-prefix', 'shortgpt', 'gromov', 'random-1']) {
    assert.ok(s.baselines.some((b: { name: string }) => b.name === name), `baseline ${name} measured`);
  }
  for (const k of ['vsFinal', 'vsBestLayer']) assert.equal(typeof s.retention[k], 'number');
  // Chance-normalised only where the unpruned model is above chance (random weights may not be), and for the mix only where every task is.
  type TaskScores = { reference: { final: { accuracy: number } }; majority: number; retention: { chanceNormalized: number | null } };
  const aboveChance = (t: TaskScores) => t.reference.final.accuracy > t.majority;
  const tasks = Object.values(s.perTask) as TaskScores[];
  for (const t of tasks) assert.equal(typeof t.retention.chanceNormalized, aboveChance(t) ? 'number' : 'object');
  assert.equal(typeof s.retention.chanceNormalized, tasks.every(aboveChance) ? 'number' : 'object');
  // The rule that chose, its simulation on training rows, and paired test gaps to every baseline.
  assert.equal(s.rule.requested, 'auto');
  assert.deepEqual(s.rule.simulation.rules.map((x: { rule: string }) => x.rule), ['max-accuracy', 'one-se', 'max-loglik', 'heuristic']);
  assert.equal(s.rule.name, s.rule.simulation.best);
  for (const x of s.rule.simulation.rules) assert.ok(x.heldOutAccuracy > 0 && x.heldOutAccuracy <= 1 && x.atLeastBestHeuristic >= 0 && x.atLeastBestHeuristic <= 1);
  for (const b of s.baselines) {
    assert.ok(b.vsSelected.objective.se >= 0);
    const same = b.kept.join() === s.kept.join();
    if (same) assert.deepEqual(b.vsSelected.objective, { diff: 0, se: 0 });
    for (const t of ['sentlen', 'bshift']) {
      const d = b.vsSelected.perTask[t].diff;
      assert.ok(Math.abs(d - (s.perTask[t].test.accuracy - b.test[t].accuracy)) < 1e-12, `${b.name}/${t}: paired diff ${d}`);
    }
  }
  assert.equal(rep.verify.allEqual, true, JSON.stringify(rep.verify.perTask));
  assert.ok(rep.verify.timing.batch32.speedup > 0 && rep.verify.timing.idealSpeedup >= 1);
  const card = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /Kept blocks/);
  assert.match(card, new RegExp(`probescale ${args[0]}`));
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.num_hidden_layers, s.kept.length);

  // A user's code: transformers.js pipeline on the committed classifier, nothing of ours.
  env.allowRemoteModels = false;
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 150, limitTest: 60 });
  assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), { limitTrain: 150, limitTest: 60 }), s.perTask.sentlen.test.accuracy);
  assertSharesEncoder(out, 'sentlen');
  assertSharesEncoder(out, 'bshift');

  // The pruned encoder at the folder's root is a feature extractor for transformers.js too, and
  // agrees with the engine's own pooling of the committed graph.
  const embed = await pipeline('feature-extraction', out);
  const text = task.test[0].text;
  const v = await embed(text, { pooling: 'mean' });
  assert.deepEqual(v.dims, [1, 32]);
  const info = openModel(out);
  assert.equal(info.numLayers, s.kept.length);
  const ex = await Extractor.create(info, await loadTokenizer(out, { maxLength: 128 }), { poolings: ['mean'], kept: info.blocks.scopeIndex.map((_, i) => i) });
  const ours = (await ex.extract([{ text }], 'one')).pooled.mean![0];
  await ex.release();
  info.model.close();
  const theirs = v.data as Float32Array;
  for (let d = 0; d < 32; d++) assert.ok(Math.abs(ours[d] - theirs[d]) < 1e-4, `dim ${d}: ${ours[d]} vs ${theirs[d]}`);

  // eval on the committed folder measures it as shipped and agrees with the report.
  const ev = spawnSync(process.execPath, [cli, 'eval', out, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--out', path.join(out, '..', 'eval.json'), '-q'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(ev.status, 0, ev.stderr);
  const er = JSON.parse(fs.readFileSync(path.join(out, '..', 'eval.json'), 'utf8'));
  assert.equal(er.tasks.sentlen.final.accuracy, s.perTask.sentlen.test.accuracy);
});

test('optimize --select max-accuracy takes the best cross-validated candidate in the budget', () => {
  const out = path.join(tempDir('ps-sel-'), 'model');
  const args = ['optimize', fixture('tiny-bert'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '120', '--limit-test', '40', '--c', '1', '--budget', '0.93', '--candidates', '2', '--select', 'max-accuracy', '--no-cache', '--out', out, '-q'];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')).selection;
  assert.equal(s.rule.name, 'max-accuracy');
  assert.equal(s.rule.requested, 'max-accuracy');
  type C = { kept: number[]; params: number; validation: number };
  const inBudget = (s.candidates as C[]).filter((c) => c.params <= s.budget.params);
  const best = inBudget.reduce((a, c) => (c.validation > a.validation || (c.validation === a.validation && c.params < a.params) ? c : a));
  assert.equal(s.objective.validation, best.validation);
  assert.equal(s.params, best.params);
  const bad = spawnSync(process.execPath, [cli, ...args.slice(0, -3).map((a) => (a === 'max-accuracy' ? 'best' : a)), '--out', out + '2', '-q'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--select best: give auto, max-accuracy, one-se, max-loglik/);
});

test('a committed T5 classifier runs in transformers.js text-classification with the reported accuracy', async () => {
  const out = path.join(tempDir('ps-t5-'), 'model');
  const args = ['optimize', fixture('tiny-t5-encoder'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.95', '--candidates', '2', '--no-cache', '--out', out, '-q'];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')).selection;
  const cdir = path.join(out, 'classifiers', 'sentlen');
  const cfg = JSON.parse(fs.readFileSync(path.join(cdir, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'bert');
  assert.equal(cfg.probescale.sourceModelType, 't5');
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).model_type, 't5', 'the encoder folder stays T5');
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /model_type: "bert"[^\n]*sourceModelType/, 'the model card explains the stand-in');
  // A user's code: transformers.js pipeline on the committed classifier, nothing of ours.
  assert.equal(await pipelineAccuracyOnSentlen(cdir, { limitTrain: 150, limitTest: 60 }), s.perTask.sentlen.test.accuracy);
  assertSharesEncoder(out, 'sentlen');
});

test('MPNet: optimize --compensate all measures width-pruned candidates and commits a folder transformers.js runs with the reported accuracy', async () => {
  const out = path.join(tempDir('ps-mpnet-'), 'model');
  const args = ['optimize', fixture('tiny-mpnet'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.9', '--compensate', 'all', '--candidates', '3', '--no-cache', '--out', out, '-q'];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  const s = rep.selection;
  // Every block of flap-uniform's build keeps fewer heads than MPNet's shared position bias has columns.
  const flap = s.baselines.find((b: { name: string }) => b.name === 'flap-uniform');
  assert.ok(flap && flap.compensation.heads < 2 && flap.validation > 0, JSON.stringify(flap));
  assert.equal(rep.verify.allEqual, true, JSON.stringify(rep.verify.perTask));
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).model_type, 'mpnet');
  assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), { limitTrain: 150, limitTest: 60 }), s.perTask.sentlen.test.accuracy);
  assertSharesEncoder(out, 'sentlen');
});
