import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeOverall, describeProgress, describeTimeLeft, JobProgress, STAGES, statusBarText } from '../../../src/core/progress';

test('progress in words, with the share of the stage done', () => {
  assert.deepEqual(describeProgress({ kind: 'stage', stage: 'load', message: 'loading model m' }), { message: 'loading model m', fraction: null });
  assert.deepEqual(describeProgress({ kind: 'extract', label: 'spam/train', done: 3, total: 4 }), { message: 'extracting features of spam/train: 3/4', fraction: 0.75 });
  assert.deepEqual(describeProgress({ kind: 'probe', task: 'spam', done: 2, total: 5 }), { message: 'training probes for spam: layer 2/5', fraction: 0.4 });
  // `done` counts the candidates measured before this one: the first is "1 of n".
  assert.deepEqual(describeProgress({ kind: 'candidate', done: 0, total: 9, subset: '0,1' }), { message: 'measuring candidate 1 of 9: blocks 0,1', fraction: 0 });
  // The embeddings alone, plain or with a factorised table (was "blocks +e8").
  assert.equal(describeProgress({ kind: 'candidate', done: 1, total: 9, subset: '' }).message, 'measuring candidate 2 of 9: blocks (none)');
  assert.equal(describeProgress({ kind: 'candidate', done: 1, total: 9, subset: '+e8' }).message, 'measuring candidate 2 of 9: blocks (none)+e8');
  assert.equal(describeProgress({ kind: 'extract', label: 'x', done: 0, total: 0 }).fraction, null);
});

test('status-bar text: kind, stage message cut to 60 characters, percentage when known', () => {
  assert.equal(statusBarText('optimize', 'measuring candidate 3 of 19: blocks 0,1', 0.1), '$(sync~spin) ProbeScale optimize: measuring candidate 3 of 19: blocks 0,1 · 10 %');
  assert.equal(statusBarText('probe', 'loading model', null), '$(sync~spin) ProbeScale probe: loading model');
  const long = statusBarText('probe', 'x'.repeat(80), 0.5);
  assert.ok(long.includes(`${'x'.repeat(59)}… · 50 %`));
});

test('overall progress: stages only move forward, the share grows across stages, time left appears once it can be estimated', () => {
  const t0 = 1_000_000;
  const p = new JobProgress('optimize', 2, t0);
  const seen: { f: number; step: number; eta: number | null }[] = [];
  const at = (e: Parameters<JobProgress['update']>[0], s: number) => {
    const o = p.update(e, t0 + s * 1000);
    seen.push({ f: o.fraction, step: o.step, eta: o.etaSeconds });
    return o;
  };
  assert.equal(at({ kind: 'stage', stage: 'load', message: 'loading' }, 0).etaSeconds, null);
  at({ kind: 'stage', stage: 'extract', message: 'extracting' }, 1);
  for (const label of ['spam/train', 'spam/test', 'sentlen/train', 'sentlen/test']) {
    at({ kind: 'stage', stage: 'tokenise', message: `tokenising ${label}` }, 2);
    at({ kind: 'extract', label, done: 1, total: 2 }, 3);
    at({ kind: 'extract', label, done: 2, total: 2 }, 4);
  }
  const extracted = seen[seen.length - 1];
  assert.equal(extracted.step, 2, 'tokenising inside extract stays in extract');
  const share = (s: string) => STAGES.optimize.find((x) => x.stage === s)!.share;
  const total = STAGES.optimize.filter((x) => x.stage !== 'compensate').reduce((a, x) => a + x.share, 0);
  assert.ok(Math.abs(extracted.f - (share('load') + share('extract')) / total) < 1e-9, `after extract: ${extracted.f}`);
  at({ kind: 'stage', stage: 'probe', message: 'probing' }, 10);
  at({ kind: 'probe', task: 'spam', done: 13, total: 13 }, 12);
  at({ kind: 'stage', stage: 'candidates', message: 'candidates' }, 14);
  at({ kind: 'candidate', done: 3, total: 10, subset: '0,1' }, 20);
  // A later total (local search grows it) may lower the stage's share: the bar never goes back.
  at({ kind: 'candidate', done: 3, total: 20, subset: '0,2' }, 21);
  const o = at({ kind: 'stage', stage: 'tokenise', message: 'tokenising a candidate' }, 22);
  assert.equal(o.step, 4, 'an earlier stage name does not move the job back');
  assert.equal(o.steps, 6, 'no compensate stage without --compensate');
  at({ kind: 'stage', stage: 'commit', message: 'writing' }, 40);
  at({ kind: 'stage', stage: 'prune', message: 'pruning model.onnx' }, 41);
  const v = at({ kind: 'stage', stage: 'verify', message: 'verifying' }, 45);
  assert.equal(v.stage, 'verifying the written folder');
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].f >= seen[i - 1].f, `fraction fell at event ${i}: ${seen[i - 1].f} → ${seen[i].f}`);
  const f = 1 - share('verify') / total;
  assert.ok(Math.abs(v.fraction - f) < 1e-9, `${v.fraction}`);
  assert.ok(Math.abs(v.etaSeconds! - (45 * (1 - f)) / f) < 1e-9, 'time left = elapsed × (1 − f) / f');
  assert.equal(describeOverall(v), `stage 6 of 6, verifying the written folder · ${Math.round(100 * f)} % overall · about 5 s left (estimated)`);
  assert.equal(describeOverall({ ...v, etaSeconds: 200 }), `stage 6 of 6, verifying the written folder · ${Math.round(100 * f)} % overall · about 3 min left (estimated)`);
  assert.equal(new JobProgress('optimize', 1, t0, { compensate: true }).update({ kind: 'stage', stage: 'load', message: '' }, t0).steps, 7);
});

test('eval counts tasks whether it scores committed classifiers (eval) or a plain final layer (probe)', () => {
  for (const stage of ['eval', 'probe']) {
    const p = new JobProgress('eval', 2, 0);
    p.update({ kind: 'stage', stage: 'load', message: '' }, 0);
    const a = p.update({ kind: 'stage', stage, message: 'task 1' }, 1000);
    const b = p.update({ kind: 'extract', label: 'x', done: 1, total: 1 }, 2000);
    p.update({ kind: 'stage', stage, message: 'task 2' }, 3000);
    const c = p.update({ kind: 'extract', label: 'y', done: 1, total: 1 }, 4000);
    assert.equal(a.step, 2);
    assert.ok(a.fraction < b.fraction && b.fraction < c.fraction && Math.abs(c.fraction - 1) < 1e-9, `${stage}: ${a.fraction} ${b.fraction} ${c.fraction}`);
  }
});

test('time left in words', () => {
  assert.equal(describeTimeLeft(12), 'about 10 s left');
  assert.equal(describeTimeLeft(2), 'about 5 s left');
  assert.equal(describeTimeLeft(170), 'about 3 min left');
  assert.equal(describeTimeLeft(3900), 'about 1 h 5 min left');
});
