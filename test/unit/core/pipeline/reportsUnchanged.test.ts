/**
 * The pipeline restructure changes no number: probe, optimize (with and without --vocab-trim) and
 * eval (committed and plain) on the tiny fixtures write the same reports, model cards, config.json
 * and terminal output as commit e8d4edd did (test/fixtures/reports-before), apart from times,
 * latencies and paths. The trimmed runs ask for `--vocab-unseen unknown`, e8d4edd's only map.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const before = (f: string) => fixture('reports-before', f);
const limits = ['--limit-train', '120', '--limit-test', '40', '--no-cache', '-q'];
const sentlen = `sentlen=${path.join(tasksDir, 'sentlen')}`;
const bshift = `bshift=${path.join(tasksDir, 'bshift')}:0.5`;

/** Fields that name a place or a time: they differ between machines and runs by design. */
const VARYING = new Set(['createdAt', 'timings', 'timing', 'dir', 'onnxFile', 'source', 'loadedFrom', 'command', 'paths']);
/** Fields reports gained after e8d4edd (the report contract only ever adds fields). */
const ADDED = new Set(['graphFrom', 'search', 'heuristics', 'checksums', 'integrity', 'unseen']);
/** The selection rule added after e8d4edd: its simulation entry and sentence (the picks must not change). */
const isAddedRule = (x: unknown) => (x as { rule?: unknown } | null)?.rule === 'heuristic';
const ADDED_RULE_TEXT = /; heuristic \d+\.\d %, ≥ best heuristic in \d+ % of repeats/g;

/** Wording changed after e8d4edd (the thirteenth session: the advice names the side view too, not the CLI alone). */
const reworded = (s: string) => s.replace('Consider `probescale prune --layers ""`.', 'Consider keeping no block: `probescale prune --layers ""`, or None in the side view\'s prune form.');

/** A simulation's best rule among the rules e8d4edd had (the first with the highest held-out accuracy). */
function bestOfOldRules(sim: { rules: { rule: string; heldOutAccuracy: number }[] }): string {
  return sim.rules.filter((r) => !isAddedRule(r)).reduce((b, x) => (x.heldOutAccuracy > b.heldOutAccuracy + 1e-12 ? x : b)).rule;
}

/**
 * Changed in the twenty-fourth session: chance-normalised retention is null where a task's
 * unpruned final layer is not above its majority class (e8d4edd wrote a ratio of either sign,
 * 111 % and the like), and so is a task-weighted mix with such a task. The reports before are
 * read as the rule says they would be now; every other chance-normalised number is compared.
 */
function withUndefinedChance(report: unknown): unknown {
  const sel = (report as { selection?: { perTask: Record<string, { majority: number; reference: { final: { accuracy: number } }; retention: Ratio }>; retention: Ratio; baselines: { retention: Record<string, Ratio>; meanRetention: Ratio }[]; embeddingOnly?: { retention: Ratio } } }).selection;
  if (!sel) return report;
  const unlearned = Object.keys(sel.perTask).filter((t) => sel.perTask[t].reference.final.accuracy <= sel.perTask[t].majority);
  if (unlearned.length === 0) return report;
  const out = structuredClone(sel);
  for (const t of unlearned) out.perTask[t].retention.chanceNormalized = null;
  out.retention.chanceNormalized = null;
  if (out.embeddingOnly) out.embeddingOnly.retention.chanceNormalized = null;
  for (const b of out.baselines) {
    for (const t of unlearned) b.retention[t].chanceNormalized = null;
    b.meanRetention.chanceNormalized = null;
  }
  return { ...(report as object), selection: out };
}
type Ratio = { chanceNormalized: number | null };

/** Masks the chance-normalised figures in text (the JSON comparison checks their values) and the sentence added for a task the unpruned model does not learn. */
function maskChance(text: string): string {
  let inTable = false;
  return text
    .split('\n')
    .map((l) => {
      // The terminal's method table and the card's task table end in the chance-normalised column.
      if (/chance-norm(alised \|)?\s*$/.test(l)) inTable = true;
      else if (l.trim() === '') inTable = false;
      // Under the terminal's table, the notes of baselines marked † (no chance column).
      else if (inTable && !l.startsWith(' † ')) return l.startsWith('|') ? l.replace(/\| [^|]*\|$/, '| <cn> |') : `${l.slice(0, -6)}<cn>`;
      return l
        .replace(/; the unpruned model is not above chance on [^:]+: [^)]*\)/, '')
        .replace(/of its best layer, (?:[\d.]+ % chance-normalised|no chance-normalised figure \([^)]*\))\./, 'of its best layer, <cn>.');
    })
    .join('\n');
}

function comparable(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !isAddedRule(x)).map(comparable);
  if (typeof v === 'string') return reworded(v);
  if (v === null || typeof v !== 'object') return v;
  const o = 'best' in v && 'rules' in v && Array.isArray(v.rules) ? { ...v, best: bestOfOldRules(v as Parameters<typeof bestOfOldRules>[0]) } : v;
  return Object.fromEntries(Object.entries(o).filter(([k]) => !VARYING.has(k) && !ADDED.has(k)).map(([k, x]) => [k, comparable(x)]));
}

/** Text with the machine's folders named as the fixtures name them, and latency lines dropped. */
function maskText(text: string, out: string): string {
  return maskChance(text)
    // Added in the seventh session: the card says the folder lists a SHA-256 per file and eval checks them.
    .replace(/`probescale-report\.json` lists a SHA-256 per file of this folder[^\n]*\n\n/, '')
    // Added in the twenty-third session: the card says where the classifiers cut inputs, and their
    // config.json and tokenizer_config.json record that length (so their sizes grew).
    .replace(/Each classifier's tokenizer cuts inputs at [^\n]*\n\n/, '')
    .split(repoRoot)
    .join('<repo>')
    .split(out)
    .join('<out>')
    .split('\n')
    .filter((l) => !/latency|^Source: |^probescale optimize /.test(l))
    // Added in the twenty-fourth session: probe and eval say when no layer beats the majority class (random weights often do not).
    .filter((l) => !/^ {2}! no layer is above the majority class/.test(l))
    .map((l) => reworded(l).replace(ADDED_RULE_TEXT, '').replace(', and heuristic: the published heuristic best in cross-validation)', ')'))
    // Added after e8d4edd: eval of a committed folder says it scores as its report claims (a differing claim still shows).
    .map((l) => l.replace(/^( {2}final \(as shipped\): .*) \(as committed\)$/, '$1'))
    // config.json records the source folder's absolute path, so its size depends on where the repository lies.
    .map((l) => l.replace(/^(\| `config\.json` \| ).*$/, '$1<size> |'))
    .map((l) => l.replace(/^(\| `classifiers\/[^/]+\/(config|tokenizer_config)\.json` \| ).*$/, '$1<size> |'))
    .join('\n');
}

function run(out: string, args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args, ...limits], { cwd: out, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/**
 * The layer signals (block influence, distances between layers) are ONNX Runtime's float32 sums, whose
 * last bits depend on the CPU's kernels (AVX2 and AVX-512 hosts differ by ~1e-8): compared to 1e-6.
 */
function closeSignals(got: unknown, want: unknown, where: string): void {
  if (typeof want === 'number' && typeof got === 'number') {
    assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${where}: ${got} vs ${want}`);
    return;
  }
  if (want === null || typeof want !== 'object') return assert.deepStrictEqual(got, want, where);
  assert.deepStrictEqual(Object.keys(got as object), Object.keys(want), where);
  for (const k of Object.keys(want)) closeSignals((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${where}.${k}`);
}

function same(out: string, file: string, fixtureName: string): void {
  const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
  const [got, want] = [comparable(read(path.join(out, file))), comparable(withUndefinedChance(read(before(fixtureName))))] as Record<string, unknown>[];
  closeSignals(got.signals, want.signals, `${fixtureName}: signals`);
  assert.deepStrictEqual({ ...got, signals: undefined }, { ...want, signals: undefined }, fixtureName);
}

function sameText(out: string, text: string, fixtureName: string): void {
  assert.equal(maskText(text, out), maskText(fs.readFileSync(before(fixtureName), 'utf8'), '<out>'), fixtureName);
}

test('probe, optimize and eval reports equal those of the code before the restructure', () => {
  const out = fs.realpathSync(tempDir('ps-before-'));
  sameText(out, run(out, ['probe', fixture('tiny-bert'), '--task', sentlen, '--task', bshift, '--out', 'probe-tiny-bert.json']), 'probe-tiny-bert.stdout.txt');
  same(out, 'probe-tiny-bert.json', 'probe-tiny-bert.json');

  sameText(out, run(out, ['optimize', fixture('tiny-roberta'), '--task', sentlen, '--task', bshift, '--budget', '0.95', '--candidates', '3', '--out', 'opt-roberta']), 'optimize-tiny-roberta.stdout.txt');
  same(out, 'opt-roberta/probescale-report.json', 'optimize-tiny-roberta.json');
  same(out, 'opt-roberta/config.json', 'optimize-tiny-roberta.config.json');
  sameText(out, fs.readFileSync(path.join(out, 'opt-roberta', 'README.md'), 'utf8'), 'optimize-tiny-roberta.card.md');

  const vocabArgs = ['optimize', fixture('tiny-bert'), '--task', sentlen, '--c', '1', '--budget', '0.9', '--candidates', '2', '--vocab-trim', '--vocab-unseen', 'unknown', '--select', 'one-se', '--out', 'opt-bert-vocab'];
  sameText(out, run(out, vocabArgs), 'optimize-tiny-bert-vocab.stdout.txt');
  same(out, 'opt-bert-vocab/probescale-report.json', 'optimize-tiny-bert-vocab.json');
  sameText(out, fs.readFileSync(path.join(out, 'opt-bert-vocab', 'README.md'), 'utf8'), 'optimize-tiny-bert-vocab.card.md');

  const evalText = run(out, ['eval', 'opt-roberta', '--task', sentlen, '--task', bshift, '--out', 'eval-committed.json']);
  assert.equal(evalText.match(/\(as committed\)$/gm)?.length, 2, 'both tasks score as the folder claims');
  sameText(out, evalText, 'eval-committed.stdout.txt');
  same(out, 'eval-committed.json', 'eval-committed.json');
  sameText(out, run(out, ['eval', fixture('tiny-distilbert'), '--task', sentlen, '--out', 'eval-plain.json']), 'eval-plain.stdout.txt');
  same(out, 'eval-plain.json', 'eval-plain.json');
  fs.rmSync(out, { recursive: true, force: true });
});

test('the comparison sees a changed number (a layer signal beyond 1e-6)', () => {
  const report = JSON.parse(fs.readFileSync(before('optimize-tiny-roberta.json'), 'utf8'));
  const changed = structuredClone(report);
  changed.selection.perTask.sentlen.test.accuracy += 1e-9;
  assert.notDeepStrictEqual(comparable(changed), comparable(report));
  changed.selection.perTask.sentlen.test.accuracy = report.selection.perTask.sentlen.test.accuracy;
  changed.createdAt = 'another time';
  assert.deepStrictEqual(comparable(changed), comparable(report));
  const probe = JSON.parse(fs.readFileSync(before('probe-tiny-bert.json'), 'utf8'));
  const moved = structuredClone(probe);
  const first = Object.keys(moved.signals)[0];
  const bump = (v: unknown, by: number): unknown => (typeof v === 'number' ? v + by : Array.isArray(v) ? v.map((x) => bump(x, by)) : v);
  moved.signals[first] = bump(moved.signals[first], 1e-8);
  closeSignals(comparable(moved.signals), comparable(probe.signals), 'within 1e-6');
  moved.signals[first] = bump(moved.signals[first], 1e-5);
  assert.throws(() => closeSignals(comparable(moved.signals), comparable(probe.signals), 'beyond 1e-6'), /beyond 1e-6/);
});
