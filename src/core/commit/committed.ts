/**
 * What a committed folder says about itself: the classifiers its config.json lists
 * (`probescale.tasks`, written by optimize, read by eval and by the extension) and the scores
 * its probescale-report.json claims.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IntegrityReport, ProbeReport } from '../report';
import { POOLINGS, type Pooling } from '../onnx/edit';
import { preparationOf, type TextPreparation } from '../data/tokenize';

/** A task classifier a committed folder ships. */
export interface CommittedTask {
  name: string;
  /** Folder of the classifier, relative to the committed folder (`classifiers/<name>`). */
  classifier: string;
  labels: string[];
}

/** The task classifiers a config.json lists; undefined when it lists none (not a committed folder) or lists them malformed. */
export function committedTasksOf(config: Record<string, unknown>): CommittedTask[] | undefined {
  const section = config.probescale;
  const tasks: unknown = typeof section === 'object' && section !== null && 'tasks' in section ? section.tasks : undefined;
  if (!Array.isArray(tasks) || tasks.length === 0) return undefined;
  const out: CommittedTask[] = [];
  for (const t of tasks) {
    if (typeof t !== 'object' || t === null || !('name' in t) || !('classifier' in t) || typeof t.name !== 'string' || typeof t.classifier !== 'string') return undefined;
    out.push({ name: t.name, classifier: t.classifier, labels: 'labels' in t && Array.isArray(t.labels) ? t.labels.map(String) : [] });
  }
  return out;
}

/**
 * What a committed folder's classifiers do to a text before their graph: the pooling baked into
 * the graph, the length inputs are cut at, and the text's preparation (a prompt before it,
 * lowercasing). Written in each classifier's config.json (`probescale`) and the folder's.
 */
export interface Preprocessing extends TextPreparation {
  pooling: Pooling;
  maxLength: number;
}

/**
 * The preprocessing a committed config.json records (`probescale.pooling`, `.maxLength`,
 * `.prompt`, `.lowercase`), falling back to `given` for a field the config lacks.
 */
export function committedPreprocessing(config: Record<string, unknown>, given: Preprocessing): Preprocessing {
  const section = (typeof config.probescale === 'object' && config.probescale !== null ? config.probescale : {}) as { pooling?: unknown; maxLength?: unknown; prompt?: unknown; lowercase?: unknown };
  const pooling = (POOLINGS as readonly unknown[]).includes(section.pooling) ? (section.pooling as Pooling) : given.pooling;
  const maxLength = Number.isInteger(section.maxLength) ? (section.maxLength as number) : given.maxLength;
  const prompt = typeof section.prompt === 'string' ? section.prompt : given.prompt;
  const lowercase = typeof section.lowercase === 'boolean' ? section.lowercase : given.lowercase;
  return { pooling, maxLength, ...preparationOf({ prompt, lowercase }) };
}

/**
 * The test accuracy the folder's own probescale-report.json claims per task, for the tasks
 * this eval measured on as many test rows (other row counts are not comparable). For a quantized
 * variant, what the report measured for that file (verify.quantized), else no claim: the float
 * scores say nothing about an int8 graph.
 */
export function claimedAccuracy(dir: string, report: ProbeReport): Record<string, number> | undefined {
  type Scores = Record<string, { test?: { accuracy?: number }; measured?: { accuracy?: number } }>;
  let committed: { tasks?: Record<string, { nTest?: number }>; selection?: { perTask?: Scores }; verify?: { quantized?: { file?: string; perTask?: Scores } } };
  try {
    committed = JSON.parse(fs.readFileSync(path.join(dir, 'probescale-report.json'), 'utf8')) as typeof committed;
  } catch {
    return undefined;
  }
  const q = committed.verify?.quantized;
  const variant = report.model.quantized ? (q?.file && path.basename(q.file) === path.basename(report.model.onnxFile) ? q.perTask : undefined) : undefined;
  const out: Record<string, number> = {};
  for (const [name, t] of Object.entries(report.tasks)) {
    const acc = report.model.quantized ? variant?.[name]?.measured?.accuracy : committed.selection?.perTask?.[name]?.test?.accuracy;
    if (typeof acc === 'number' && committed.tasks?.[name]?.nTest === t.nTest) out[name] = acc;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * A shipped classifier's accuracy against its committed report's claim, as a parenthesis ('' with
 * no claim). When files differ from what was committed (see checksums.ts), the claim was made for
 * other files, and the note says so whether or not the accuracy moved.
 */
export function claimNote(accuracy: number, claim: number | undefined, integrity?: IntegrityReport): string {
  if (claim === undefined) return '';
  const changed = integrity?.differing.length ?? 0;
  const same = Math.abs(claim - accuracy) < 1e-9;
  if (changed === 0) return same ? ' (as committed)' : ` (the committed report claims ${(100 * claim).toFixed(1)} %)`;
  // The files are named in the warning eval gives first (checksums.ts describeIntegrity).
  return ` (the committed report claims ${(100 * claim).toFixed(1)} % for the files as committed; ${changed} of them ${changed === 1 ? 'differs' : 'differ'} now)`;
}
