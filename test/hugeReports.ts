/**
 * Hand-made reports far larger than any run makes, built from the tiny-roberta optimize report
 * (test/fixtures/reports): 10,000 blocks, 500 tasks, thousands of baselines and candidates. Read
 * through the report reader, as the extension reads a file.
 */
import * as fs from 'node:fs';
import { normalizeReport } from '../src/core/reportData';
import type { ReportData } from '../src/shared/protocol';
import { fixture } from './helpers';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The fixture as it is on disk (a fresh copy each call). */
export function optimizeJson(): Json {
  return JSON.parse(fs.readFileSync(fixture('reports', 'tiny-roberta-optimize.json'), 'utf8'));
}

export const read = (json: Json): ReportData => normalizeReport(json, fixture('reports', 'hand-made.json'));

/** `blocks` blocks: every task scored on every hidden state, signals for every block, a scattered selection. */
export function manyBlocks(blocks: number): Json {
  const r = optimizeJson();
  r.model.numLayers = blocks;
  r.model.params.perBlock = Array(blocks).fill(10);
  r.model.params.embeddings = 1000;
  r.model.params.total = 1000 + 10 * blocks;
  r.model.params.other = 0;
  for (const t of Object.values<Json>(r.tasks)) {
    const row = t.layers[0];
    t.layers = Array.from({ length: blocks + 1 }, (_, l) => ({ ...row, layer: l, accuracy: 0.3 + ((l * 7919) % 1000) / 2000, cvAccuracy: 0.3 + ((l * 104729) % 1000) / 2000 }));
  }
  r.signals = { blockInfluence: Array.from({ length: blocks }, (_, b) => ((b * 31) % 100) / 100), angularDistance: Array.from({ length: blocks }, (_, b) => [0, ((b * 17) % 100) / 100]) };
  const kept = Array.from({ length: blocks }, (_, b) => b).filter((b) => b % 3 !== 1);
  r.selection.kept = kept;
  for (const c of r.selection.candidates) c.kept = kept.filter((b) => b % 7 !== (c.params % 7));
  for (const b of r.selection.baselines) b.kept = kept.slice(0, Math.floor(kept.length / 2));
  return r;
}

/** `n` tasks, each a copy of the fixture's first, in every per-task part of the report. */
export function manyTasks(n: number, name: (i: number) => string = (i) => `task${i}`): Json {
  const r = optimizeJson();
  const [first] = Object.keys(r.tasks);
  const names = Array.from({ length: n }, (_, i) => name(i));
  const each = <T>(v: T) => Object.fromEntries(names.map((k) => [k, structuredClone(v)]));
  r.tasks = each(r.tasks[first]);
  const s = r.selection;
  s.perTask = each(s.perTask[first]);
  s.budgetAdvice.perTask = each(s.budgetAdvice.perTask[first]);
  s.validationReference = each(s.validationReference[first]);
  for (const c of s.candidates) c.perTask = each(c.perTask[first]);
  for (const b of s.baselines) for (const k of ['test', 'retention']) if (b[k]) b[k] = each(b[k][first]);
  if (r.verify) r.verify.perTask = each(r.verify.perTask[first]);
  return r;
}

/** `n` baselines and `n` candidates (copies of the fixture's, renamed). */
export function manyBaselines(n: number): Json {
  const r = optimizeJson();
  const s = r.selection;
  s.baselines = Array.from({ length: n }, (_, i) => ({ ...structuredClone(s.baselines[i % s.baselines.length]), name: `heuristic-${i}` }));
  s.candidates = Array.from({ length: n }, (_, i) => ({ ...structuredClone(s.candidates[i % s.candidates.length]), params: 200_000 + i }));
  return r;
}
