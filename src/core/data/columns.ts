// Which of a task file's columns (a CSV header, a Parquet schema, a JSON line's keys) hold the text,
// the second text of a pair and the label: the ones a user names (`--columns`, the extension's
// probescale.taskColumns), else text / text_pair / label, else the names GLUE-style datasets use,
// said in the task's warnings. One file is read with one map, decided from its columns.
import { BadInputError, DatasetError } from '../errors';

/** The columns rows are read from. */
export interface ColumnMap {
  text: string;
  label: string;
  textPair?: string;
}

/** The columns a user named for a task; each one left out is found as above. */
export type GivenColumns = Partial<ColumnMap>;

/** The names rows use when nothing else is said. */
export const STANDARD: Required<ColumnMap> = { text: 'text', label: 'label', textPair: 'text_pair' };

/**
 * Text columns under the names of the Hub's best-known datasets, pairs first: GLUE's RTE, MRPC,
 * STS-B and WNLI (sentence1, sentence2), MNLI and SNLI (premise, hypothesis), QQP (question1,
 * question2), QNLI (question, sentence), BoolQ (question, passage); CoLA and SST-2 (sentence).
 */
const PAIRS: [string, string][] = [
  ['sentence1', 'sentence2'],
  ['premise', 'hypothesis'],
  ['question1', 'question2'],
  ['question', 'sentence'],
  ['question', 'passage'],
];
const SINGLES = ['sentence'];

/** Other names texts are often kept under: only suggested, never read on a guess. */
const SUGGESTED = ['content', 'review', 'document', 'body', 'tweet', 'comment', 'input'];

/** How a file's rows were read, when not from the standard names and not as the user said: for the task's warnings. */
export interface FoundColumns {
  map: ColumnMap;
  /** `"sentence1" as text and "sentence2" as text_pair`, when a dataset's names were read without being given. */
  guessed?: string;
}

/**
 * The columns of a file with columns `names` that rows are read from. A column the user named must
 * be there; a text the user did not name is `text`, else a dataset's names (PAIRS, SINGLES); a
 * text_pair is read only beside the text it pairs with. When no text column is found the map
 * says `text`, and the reader's own check names what the file has.
 */
export function findColumns(file: string, names: readonly string[], given: GivenColumns = {}): FoundColumns {
  const found = resolveColumns(names, given, file);
  // `--columns text=label` leaves the label where it was: one column would be read as the text and as the label.
  const { text, label, textPair } = found.map;
  const twice = text === label || textPair === text || textPair === label ? (text === label ? text : textPair) : undefined;
  if (twice !== undefined) {
    const roles = [text === twice && 'text', textPair === twice && 'text_pair', label === twice && 'label'].filter(Boolean).join(' and ');
    throw new DatasetError(`${file}: the column "${twice}" would be read as ${roles}. Name another column for one of them with {{columns}} (e.g. label=COLUMN).`);
  }
  return found;
}

function resolveColumns(names: readonly string[], given: GivenColumns, file: string): FoundColumns {
  const has = (n: string) => names.includes(n);
  for (const [key, col] of Object.entries(given) as [keyof ColumnMap, string | undefined][]) {
    if (col !== undefined && !has(col)) {
      throw new DatasetError(
        `${file} has no column "${col}", which {{columns}} names as ${KEY_NAME[key]} (its columns: ${shown(names)}). Name one of its columns, or leave ${KEY_NAME[key]} out to read "${STANDARD[key]}".`,
      );
    }
  }
  const label = given.label ?? STANDARD.label;
  if (given.text !== undefined) return { map: { text: given.text, label, textPair: given.textPair ?? (has(STANDARD.textPair) ? STANDARD.textPair : undefined) } };
  if (has(STANDARD.text)) return { map: { text: STANDARD.text, label, textPair: given.textPair ?? (has(STANDARD.textPair) ? STANDARD.textPair : undefined) } };
  const pair = given.textPair === undefined ? PAIRS.find(([a, b]) => has(a) && has(b)) : undefined;
  if (pair) return { map: { text: pair[0], label, textPair: pair[1] }, guessed: `"${pair[0]}" as text and "${pair[1]}" as text_pair` };
  const single = SINGLES.find(has);
  if (single) return { map: { text: single, label, textPair: given.textPair }, guessed: `"${single}" as text` };
  return { map: { text: STANDARD.text, label, textPair: given.textPair } };
}

const KEY_NAME: Record<keyof ColumnMap, string> = { text: 'text', label: 'label', textPair: 'text_pair' };

function shown(names: readonly string[]): string {
  return names.length ? names.slice(0, 12).map((n) => `"${n}"`).join(', ') + (names.length > 12 ? ', …' : '') : 'none';
}

/** What to do about a file without a text or label column: name the column that looks like the text, and how to say which is meant. */
export function columnsHint(names: readonly string[], role: 'text' | 'label'): string {
  const single = role === 'text' ? SUGGESTED.find((n) => names.includes(n)) : undefined;
  return single ? `; to read "${single}" as the text, pass {{columns}} text=${single}` : `; or name the ${role} column with {{columns}} ${role}=COLUMN`;
}

/** The warning for a task whose files were read under a dataset's names. */
export function guessedWarning(task: string, guessed: Map<string, string>): string | undefined {
  const ways = [...new Set(guessed.values())];
  if (ways.length === 0) return undefined;
  return `task "${task}": no "text" column; read ${ways.join(' (in some files) and ')}, as GLUE-style datasets name them. If other columns are meant, name them with {{columns}}.`;
}

/**
 * Parses `text=COL,text_pair=COL,label=COL` (any of the three, each once) as the CLI's `--columns`
 * value and the extension's setting give it.
 * @throws BadInputError naming the bad entry.
 */
export function parseColumns(spec: string, where: string): GivenColumns {
  const out: GivenColumns = {};
  const keys: Record<string, keyof ColumnMap> = { text: 'text', text_pair: 'textPair', label: 'label' };
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const col = part.slice(eq + 1).trim();
    if (eq < 0 || !(key in keys) || col === '') {
      throw new BadInputError(`${where} "${spec}": "${part.trim()}" is not KEY=COLUMN with KEY text, text_pair or label, e.g. text=sentence,label=label.`);
    }
    if (out[keys[key]] !== undefined) throw new BadInputError(`${where} "${spec}": ${key} is given twice; give each once.`);
    out[keys[key]] = col;
  }
  const cols = Object.values(out);
  const twice = cols.find((c, i) => cols.indexOf(c) !== i);
  if (twice !== undefined) throw new BadInputError(`${where} "${spec}": the column "${twice}" is named for two roles; give text, text_pair and label their own columns.`);
  return out;
}

/** `text=COL,…` for a command line or a report: the inverse of parseColumns. */
export function formatColumns(c: GivenColumns): string {
  return [
    ['text', c.text],
    ['text_pair', c.textPair],
    ['label', c.label],
  ]
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** A task's columns as given, and the dataset names each of its files was read under (filled as the files are read). */
export interface ColumnReading {
  given: GivenColumns;
  guessed: Map<string, string>;
}

export function columnReading(given: GivenColumns = {}): ColumnReading {
  return { given, guessed: new Map() };
}

/** The map a file with columns `names` is read with (findColumns), noted in `reading` when it was a dataset's names. */
export function fileColumns(reading: ColumnReading, file: string, names: readonly string[]): ColumnMap {
  const found = findColumns(file, names, reading.given);
  if (found.guessed) reading.guessed.set(file, found.guessed);
  return found.map;
}
