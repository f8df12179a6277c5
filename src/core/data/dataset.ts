import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, badValue, DatasetError } from '../errors';
import { notAFile, orAdvice, somethingAt, unreadableFolder } from '../util/fileKind';
import { isDecimal } from '../util/decimal';
import { Example, Row, rowPlace } from './rows';
import { columnReading, ColumnReading, GivenColumns, guessedWarning } from './columns';
import { Pairing, readFolderSplits, refuseContinuousLabels, requireTwoClasses, sortLabels, splitOneFile, Splits } from './splits';

export type { Example } from './rows';
export { sortLabels } from './splits';

/** A task ready for probing: examples, the label set and the label ids. */
export interface TaskData {
  name: string;
  /** Distinct labels of the training split, sorted numerically when all are integers, else lexicographically (by code unit). */
  labels: string[];
  train: Example[];
  test: Example[];
  /** `trainY[i]` is the index in `labels` of `train[i].label`. */
  trainY: Int32Array;
  testY: Int32Array;
  /** Absolute path of the folder or file the task came from. */
  source: string;
  /** 'folder' when train and test files were given, 'file' when one file was split. */
  splitFrom?: 'folder' | 'file';
  /** What looks wrong in the data but does not stop a run (test rows that repeat training rows, one text with two labels); for the log. */
  warnings?: string[];
}

/** Options for {@link loadTask}. */
export interface LoadTaskOptions {
  /** Seed of the stratified split of a single file (default 0). */
  seed?: number;
  /** Share of each label held out for testing when a single file is given (default 0.2). */
  testFraction?: number;
  /** Keep only the first N training rows, in file order (after the split when a single file is given). */
  limitTrain?: number;
  /** Keep only the first N test rows, in file order (after the split when a single file is given). */
  limitTest?: number;
  /** The columns the text, text_pair and label are read from, where they are not so named (data/columns.ts). */
  columns?: GivenColumns;
  /** The split of a task folder tested on (e.g. validation_matched); default test, else the folder's one validation split. */
  testSplit?: string;
}

const SPEC_HELP = 'Write tasks as NAME=PATH or NAME=PATH:WEIGHT, e.g. sentlen=data/tasks/sentlen:2.';

/**
 * Parses a `--task` argument: `NAME=PATH` or `NAME=PATH:WEIGHT` (weight defaults to 1 and must be > 0).
 * Only a trailing `:<number>` is a weight, so Windows paths such as `C:\data\sst2` stay whole.
 * @throws BadInputError on a malformed spec or a weight that is not a positive number.
 */
/** Device names Windows reserves in every folder; a task named so could not be written there. */
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/**
 * A task name becomes a folder name (classifiers/<name>/), so it must be one safe on every
 * system: no separators, not '.' or '..', no leading dot, no reserved device name.
 */
export function checkTaskName(name: string, spec = name): void {
  if (!/^[A-Za-z0-9_][\w.-]*$/.test(name) || name.length > 100 || RESERVED.test(name)) {
    throw new BadInputError(`task name "${name}" in "${spec}" is not a safe folder name: use up to 100 letters, digits, "_", "-" or "." (not first), not a reserved name like CON or NUL. ${SPEC_HELP}`);
  }
}

export function parseTaskSpec(spec: string): { name: string; path: string; weight: number } {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new BadInputError(`task "${spec}" has no "=". ${SPEC_HELP}`);
  const name = spec.slice(0, eq).trim();
  let rest = asGiven(spec.slice(eq + 1));
  checkTaskName(name, spec);
  let weight = 1;
  // A suffix after the last ':' is a weight unless the whole text names an existing path (a
  // colon in a file name) or it holds a path separator (C:\data on Windows).
  const m = /:([^:/\\]*)$/.exec(rest);
  if (m && !fs.existsSync(rest)) {
    weight = isDecimal(m[1]) ? Number(m[1]) : NaN;
    rest = asGiven(rest.slice(0, m.index));
    if (!Number.isFinite(weight) || weight <= 0) {
      throw new BadInputError(`task "${name}" has weight "${m[1]}"; a weight must be a number > 0, as in ${name}=${rest}:0.5. ${SPEC_HELP}`);
    }
  }
  if (rest === '') throw new BadInputError(`task "${name}" has no path. ${SPEC_HELP}`);
  return { name, path: rest, weight };
}

/**
 * A path with the spaces around it dropped (`s= data/x`), unless it names something as given:
 * a folder `t ` (trailing space) was read as `t`, another folder when both exist.
 */
function asGiven(p: string): string {
  return p !== p.trim() && fs.existsSync(p) ? p : p.trim();
}

/**
 * Loads a labelled task from a folder holding `train` and `test` files (`.jsonl`, `.csv` or `.tsv`), or
 * from one such file, which is then split stratified by label with a seeded shuffle.
 *
 * JSONL rows are objects with `text`, optional `text_pair` and `label` (string, number or boolean; stringified). CSV/TSV files
 * start with a header naming the same columns; quoted fields may hold delimiters, quotes ("") and newlines.
 * Label ids index into `labels`, which come from the whole training split (before `limitTrain`), so ids
 * do not depend on the limits.
 *
 * @throws DatasetError naming the file (and line) for unreadable, malformed or unusable data.
 * @throws BadInputError for invalid options.
 */
export async function loadTask(name: string, taskPath: string, opts: LoadTaskOptions = {}): Promise<TaskData> {
  const { seed, testFraction } = checkLoadOptions(opts);
  const source = path.resolve(taskPath);
  const stat = await fs.promises.stat(source).catch(() => null);
  if (stat === null) {
    const why = somethingAt(source) ? (notAFile(source) ?? 'cannot be read') : 'does not exist';
    throw new DatasetError(
      `task "${name}": ${source} ${orAdvice(why, '. Pass a folder with train and test files (.jsonl, .csv or .tsv) or a single such file')}.`,
    );
  }
  const locked = stat.isDirectory() ? unreadableFolder(source) : undefined;
  if (locked) throw new DatasetError(`task "${name}": ${source} ${locked}.`);
  const reading = columnReading(opts.columns);
  if (opts.testSplit !== undefined && !stat.isDirectory()) {
    throw badValue('testSplit', opts.testSplit, `task "${name}" is one file (${source}), split ${testFraction * 100}% by label for testing; {{testSplit}} names a split of a task folder. Leave it out, or pass the folder.`);
  }
  const split = stat.isDirectory() ? await readFolderSplits(source, opts, reading, opts.testSplit) : await splitOneFile(source, testFraction, seed, opts, reading);
  return taskData(name, source, split, opts, reading);
}

/** The task from its rows once what all its rows say is checked (labels, pairing, unseen test labels), then the limits. */
function taskData(name: string, source: string, split: Splits, opts: LoadTaskOptions, reading: ColumnReading): TaskData {
  const { trainFile, testFile, splitFrom } = split;
  requireTwoClasses(split.trainLabels, trainFile, '');
  refuseContinuousLabels(split.trainLabels, trainFile);
  requireOnePairing(name, split.pairing);
  const guessed = guessedWarning(name, reading.guessed);
  const fromValidation = split.testFromValidation ? [`task "${name}": ${split.testFromValidation}.`] : [];
  const labels = sortLabels(split.trainLabels);
  const warnings = [...fromValidation, ...(guessed ? [guessed] : []), ...caseWarnings(name, labels), ...duplicateWarnings(name, split)];
  const index = new Map(labels.map((l, i) => [l, i] as const));
  requireSeenLabels(split.unseen, testFile, trainFile, labels);

  const train = opts.limitTrain === undefined ? split.train : split.train.slice(0, opts.limitTrain);
  if (opts.limitTrain !== undefined) {
    requireTwoClasses(
      train.map((r) => r.label),
      trainFile,
      ` (after {{limitTrain}} ${opts.limitTrain}, which keeps the first rows in file order)`,
    );
  }
  const test = opts.limitTest === undefined ? split.test : split.test.slice(0, opts.limitTest);
  return {
    name,
    labels,
    train: train.map(toExample),
    test: test.map(toExample),
    trainY: Int32Array.from(train, (r) => index.get(r.label) as number),
    testY: Int32Array.from(test, (r) => index.get(r.label) as number),
    source,
    splitFrom,
    warnings,
  };
}

/** The seed and test fraction of `opts` with their defaults, once every option is checked. */
function checkLoadOptions(opts: LoadTaskOptions): { seed: number; testFraction: number } {
  const seed = opts.seed ?? 0;
  const testFraction = opts.testFraction ?? 0.2;
  if (!Number.isInteger(seed)) throw new BadInputError(`seed must be an integer, got ${seed}.`);
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new BadInputError(`test fraction must be between 0 and 1 (exclusive), got ${testFraction}; 0.2 holds out a fifth.`);
  }
  if (opts.testSplit !== undefined && !/^[A-Za-z0-9_.-]+$/.test(opts.testSplit)) throw badValue('testSplit', opts.testSplit, 'a split is named by letters, digits, "_", "-" and ".", e.g. validation_matched.');
  if (opts.testSplit === 'train') throw badValue('testSplit', opts.testSplit, 'that is the training split; name a held-out split (test, validation, …).');
  checkLimit('limitTrain', opts.limitTrain);
  checkLimit('limitTest', opts.limitTest);
  return { seed, testFraction };
}

/** Refuses test rows whose label the training split (before any limit) never has. */
function requireSeenLabels(unseen: Splits['unseen'], testFile: string, trainFile: string, trainLabels: string[]): void {
  if (unseen === undefined) return;
  const isInt = (l: string) => /^[+-]?\d+$/.test(l);
  // A Parquet split read through its ClassLabel names beside one written as integers (or the reverse).
  const kinds = isInt(unseen.label) && !trainLabels.some(isInt) ? ['names', 'integers'] : !isInt(unseen.label) && trainLabels.every(isInt) ? ['integers', 'names'] : undefined;
  const shown = trainLabels.slice(0, 4).map((l) => JSON.stringify(l)).join(', ') + (trainLabels.length > 4 ? ', …' : '');
  throw new DatasetError(
    `${rowPlace(testFile, unseen)}: label "${unseen.label}" does not occur in ${trainFile}` +
      (unseen.count > 1 ? ` (${unseen.count} test rows have labels unseen in training)` : '') +
      (kinds
        ? `; the training labels are ${kinds[0]} (${shown}) and these test labels are ${kinds[1]}: give both splits the labels the same way (names in both, or integers in both).`
        : '. A probe cannot learn a label it never sees: add training examples for it or drop those test rows.'),
  );
}

/**
 * A task is a single-text task or a pair task, never both: a row without `text_pair` among rows with one
 * (a missing CSV/TSV cell, a JSONL key dropped, null, or empty in any format) would be encoded as one text
 * where the others are two, with other token types and no second segment, and the probe would score a
 * mix of two inputs. Python `transformers` refuses such a batch too, so it is refused, not warned about.
 */
function requireOnePairing(name: string, p: Pairing): void {
  if (p.firstWith === undefined || p.firstWithout === undefined) return;
  throw new DatasetError(
    `task "${name}": ${p.without} of ${p.rows} rows have no "text_pair" (first: ${rowPlace(p.firstWithout.file, p.firstWithout)}) while the others have one (first: ${rowPlace(p.firstWith.file, p.firstWith)}); ` +
      'a pair task needs both texts in every row (an empty cell, "" or null counts as none). Fill in the missing text_pair, or drop it from every row for a single-text task.',
  );
}

/**
 * Warnings about repeated texts: test rows that repeat a training row, and one text given two labels.
 * Among the rows held: all of them, or those the limits keep of a file read streamed (the warnings then say so).
 */
/**
 * Labels that differ only in letter case ("Positive" and "positive", often two sources merged) are
 * two classes to a probe, each with part of the rows; said, since the user most likely means one.
 */
function caseWarnings(name: string, labels: string[]): string[] {
  const byFolded = new Map<string, string[]>();
  for (const l of labels) {
    const k = l.toLowerCase();
    byFolded.set(k, [...(byFolded.get(k) ?? []), l]);
  }
  const groups = [...byFolded.values()].filter((g) => g.length > 1);
  if (groups.length === 0) return [];
  const shown = groups[0].map((l) => JSON.stringify(l)).join(' and ');
  const more = groups.length > 1 ? ` (and ${groups.length - 1} more such group${groups.length > 2 ? 's' : ''})` : '';
  return [`task "${name}": the labels ${shown} differ only in letter case${more}; they are ${groups[0].length} classes, each with part of the rows. If they mean one class, write them one way.`];
}

function duplicateWarnings(name: string, split: Splits): string[] {
  const train = { file: split.trainFile, rows: split.train };
  const test = { file: split.testFile, rows: split.test };
  const held = train.rows.length + test.rows.length;
  const task = held < split.rowCount ? `task "${name}" (among the ${held} rows read of its ${split.rowCount}; the rest of a file this large is not compared)` : `task "${name}"`;
  const key = (r: Row) => (r.textPair === undefined ? r.text : `${r.text}\u0000${r.textPair}`);
  const quote = (t: string) => JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
  const out: string[] = [];
  const seen = new Map<string, { r: Row; file: string }>();
  const conflicts: string[] = [];
  for (const part of [train, test]) {
    for (const r of part.rows) {
      const first = seen.get(key(r));
      if (!first) seen.set(key(r), { r, file: part.file });
      else if (first.r.label !== r.label) conflicts.push(`${quote(r.text)} is "${first.r.label}" at ${rowPlace(first.file, first.r)} and "${r.label}" at ${rowPlace(part.file, r)}`);
    }
  }
  if (conflicts.length > 0) {
    out.push(`${task}: ${conflicts.length} row${conflicts.length > 1 ? 's repeat a text' : ' repeats a text'} with another label (${conflicts[0]}); no probe can get both right. Fix the labels or remove the duplicates.`);
  }
  const inTrain = new Map<string, Row>();
  for (const r of train.rows) if (!inTrain.has(key(r))) inTrain.set(key(r), r);
  const repeated = test.rows.filter((r) => inTrain.has(key(r)));
  if (repeated.length > 0) {
    const r = repeated[0];
    out.push(
      `${task}: ${repeated.length} of ${test.rows.length} test rows repeat a training text (${rowPlace(test.file, r)} = ${rowPlace(train.file, inTrain.get(key(r))!)}); ` +
        'their scores reward memory as well as the layer. Remove them from one split for a clean test.',
    );
  }
  return out;
}

function toExample(r: Row): Example {
  return r.textPair === undefined ? { text: r.text, label: r.label } : { text: r.text, textPair: r.textPair, label: r.label };
}

/**
 * Every probe is scored by k-fold cross-validation on the training rows, stratified by label, which needs
 * k rows and 2 of each label. Checked when the task is loaded, before the features are extracted, and
 * naming the labels: the folds themselves only know label ids, and only after extraction.
 * @throws DatasetError naming the task, its source, the first short label and what to do.
 */
export function requireCrossValidation(task: TaskData, folds: number): void {
  const counts = new Array<number>(task.labels.length).fill(0);
  for (const y of task.trainY) counts[y]++;
  const single = task.labels.filter((_, i) => counts[i] === 1);
  const fix = 'Add training rows for it, or remove the label (and its test rows); {{limitTrain}}, when given, keeps only the first rows.';
  if (single.length > 0) {
    throw new DatasetError(
      `task "${task.name}" (${task.source}): label "${single[0]}" has only 1 training row${single.length > 1 ? ` (${single.length} of its ${task.labels.length} labels have 1)` : ''}; ` +
        `each probe is scored by ${folds}-fold cross-validation on the training rows, which needs at least 2 rows of every label. ${fix}`,
    );
  }
  if (task.train.length < folds) {
    throw new DatasetError(`task "${task.name}" (${task.source}) has ${task.train.length} training rows; ${folds}-fold cross-validation needs at least ${folds}. Add training rows.`);
  }
}

function checkLimit(param: 'limitTrain' | 'limitTest', n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw badValue(param, n, 'give a positive integer.');
}
