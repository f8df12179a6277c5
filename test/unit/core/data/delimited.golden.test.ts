import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTask } from '../../../../src/core/data/dataset';
import { tempDir } from '../../../helpers';

// The CSV/TSV reader (parseDelimited) pinned when it was split into stages (twelfth session). Each
// file below is loaded twice through loadTask: as the train file (beside a plain test file, with a pair column when it has one) and as
// the test file (beside a train file with labels a and b only, so a row labelled z is refused by its
// line number). What comes back, the examples or the error's class and message word for word, is
// compared with what the reader gave before.

const tmp = tempDir('probescale-delimited-golden-');
let counter = 0;

const files: [string, string, string][] = [
  ['plain csv', 'csv', 'text,label\nhello,a\nworld,b\n'],
  ['spaced header, pair column', 'csv', ' text_pair , label ,text \np1,a,t1\np2,b,t2\n'],
  ['tsv with pair', 'tsv', 'text\tlabel\ttext_pair\nx, y\ta\tp\n"q\tr"\tb\t\n'],
  ['quoted commas, quotes, newlines', 'csv', 'text,label\n"one, two",a\n"say ""hi""",b\n"line1\nline2",a\n'],
  ['blank lines, then an unseen label', 'csv', 'text,label\n\nx,a\n\n\ny,b\n\nz row,z\n'],
  ['multi-line field, then an unseen label', 'csv', 'text,label\n"a\nb\nc",a\nnext,z\n'],
  ['relaxed quote inside a field', 'csv', 'text,label\nit"s,a\nok,b\n'],
  ['empty label', 'csv', 'text,label\nx,a\n\ny,\n'],
  ['blank label', 'csv', 'text,label\nx,a\ny,  \n'],
  ['empty text', 'tsv', 'text\tlabel\nx\ta\n\tb\n'],
  ['header names text twice', 'csv', 'text,label,text\nx,a,y\n'],
  ['header names text_pair twice', 'tsv', 'text\ttext_pair\tlabel\ttext_pair\nx\tp\ta\tq\n'],
  ['no label column (csv)', 'csv', 'text,tag\nx,a\n'],
  ['no text column (tsv)', 'tsv', 'words\tlabel\nx\ta\n'],
  ['unclosed quote (csv)', 'csv', 'text,label\n"x,a\ny,b\n'],
  ['unclosed quote (tsv)', 'tsv', 'text\tlabel\n"x\ta\n'],
  ['short row', 'csv', 'text,label\nx,a\ny\n'],
  ['header only', 'csv', 'text,label\n'],
  ['CRLF, CR and LF mixed, BOM', 'csv', '\ufefftext,label\r\nx,a\ry,b\n\r\nz,z\r\n'],
  ['extra columns', 'csv', 'id,text,label,note\n1,x,a,n1\n2,y,b,n2\n'],
  ['spaces in fields kept', 'csv', 'text,label\n  padded  ,a\nx, b\n'],
];

function folder(entries: Record<string, string>): string {
  const dir = path.join(tmp, `d${counter++}`);
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(entries)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

async function outcome(dir: string): Promise<string> {
  try {
    const t = await loadTask('g', dir);
    return JSON.stringify({ labels: t.labels, train: t.train, test: t.test, warnings: t.warnings }).split(dir).join('<dir>');
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message.split(dir).join('<dir>')}`;
  }
}

const golden: Record<string, [string, string]> = {
  "plain csv": [
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"hello\",\"label\":\"a\"},{\"text\":\"world\",\"label\":\"b\"}],\"test\":[{\"text\":\"q\",\"label\":\"a\"}],\"warnings\":[]}",
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"}],\"test\":[{\"text\":\"hello\",\"label\":\"a\"},{\"text\":\"world\",\"label\":\"b\"}],\"warnings\":[]}"
  ],
  "spaced header, pair column": [
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"t1\",\"textPair\":\"p1\",\"label\":\"a\"},{\"text\":\"t2\",\"textPair\":\"p2\",\"label\":\"b\"}],\"test\":[{\"text\":\"q\",\"textPair\":\"pair\",\"label\":\"a\"}],\"warnings\":[]}",
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"x\",\"textPair\":\"pair\",\"label\":\"a\"},{\"text\":\"y\",\"textPair\":\"pair\",\"label\":\"b\"}],\"test\":[{\"text\":\"t1\",\"textPair\":\"p1\",\"label\":\"a\"},{\"text\":\"t2\",\"textPair\":\"p2\",\"label\":\"b\"}],\"warnings\":[]}"
  ],
  "tsv with pair": [
    "DatasetError: task \"g\": 1 of 3 rows have no \"text_pair\" (first: <dir>/train.tsv, line 3) while the others have one (first: <dir>/train.tsv, line 2); a pair task needs both texts in every row (an empty cell, \"\" or null counts as none). Fill in the missing text_pair, or drop it from every row for a single-text task.",
    "DatasetError: task \"g\": 1 of 4 rows have no \"text_pair\" (first: <dir>/test.tsv, line 3) while the others have one (first: <dir>/train.csv, line 2); a pair task needs both texts in every row (an empty cell, \"\" or null counts as none). Fill in the missing text_pair, or drop it from every row for a single-text task."
  ],
  "quoted commas, quotes, newlines": [
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"one, two\",\"label\":\"a\"},{\"text\":\"say \\\"hi\\\"\",\"label\":\"b\"},{\"text\":\"line1\\nline2\",\"label\":\"a\"}],\"test\":[{\"text\":\"q\",\"label\":\"a\"}],\"warnings\":[]}",
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"}],\"test\":[{\"text\":\"one, two\",\"label\":\"a\"},{\"text\":\"say \\\"hi\\\"\",\"label\":\"b\"},{\"text\":\"line1\\nline2\",\"label\":\"a\"}],\"warnings\":[]}"
  ],
  "blank lines, then an unseen label": [
    "{\"labels\":[\"a\",\"b\",\"z\"],\"train\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"},{\"text\":\"z row\",\"label\":\"z\"}],\"test\":[{\"text\":\"q\",\"label\":\"a\"}],\"warnings\":[]}",
    "DatasetError: <dir>/test.csv, line 8: label \"z\" does not occur in <dir>/train.csv. A probe cannot learn a label it never sees: add training examples for it or drop those test rows."
  ],
  "multi-line field, then an unseen label": [
    "{\"labels\":[\"a\",\"z\"],\"train\":[{\"text\":\"a\\nb\\nc\",\"label\":\"a\"},{\"text\":\"next\",\"label\":\"z\"}],\"test\":[{\"text\":\"q\",\"label\":\"a\"}],\"warnings\":[]}",
    "DatasetError: <dir>/test.csv, line 5: label \"z\" does not occur in <dir>/train.csv. A probe cannot learn a label it never sees: add training examples for it or drop those test rows."
  ],
  "relaxed quote inside a field": [
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"it\\\"s\",\"label\":\"a\"},{\"text\":\"ok\",\"label\":\"b\"}],\"test\":[{\"text\":\"q\",\"label\":\"a\"}],\"warnings\":[]}",
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"}],\"test\":[{\"text\":\"it\\\"s\",\"label\":\"a\"},{\"text\":\"ok\",\"label\":\"b\"}],\"warnings\":[]}"
  ],
  "empty label": [
    "DatasetError: <dir>/train.csv, line 4: missing \"label\". Every example needs a label (a string or a number).",
    "DatasetError: <dir>/test.csv, line 4: missing \"label\". Every example needs a label (a string or a number)."
  ],
  "blank label": [
    "DatasetError: <dir>/train.csv, line 3: missing \"label\". Every example needs a label (a string or a number).",
    "DatasetError: <dir>/test.csv, line 3: missing \"label\". Every example needs a label (a string or a number)."
  ],
  "empty text": [
    "DatasetError: <dir>/train.tsv, line 3: \"text\" is empty. Remove the row or fill in its text.",
    "DatasetError: <dir>/test.tsv, line 3: \"text\" is empty. Remove the row or fill in its text."
  ],
  "header names text twice": [
    "DatasetError: <dir>/train.csv, line 1: the header names \"text\" 2 times. Keep one.",
    "DatasetError: <dir>/test.csv, line 1: the header names \"text\" 2 times. Keep one."
  ],
  "header names text_pair twice": [
    "DatasetError: <dir>/train.tsv, line 1: the header names \"text_pair\" 2 times. Keep one.",
    "DatasetError: <dir>/test.tsv, line 1: the header names \"text_pair\" 2 times. Keep one."
  ],
  "no label column (csv)": [
    "DatasetError: <dir>/train.csv, line 1: the header has no \"label\" column (found: text, tag). The first row must name the columns: text,label (text_pair optional); or name the label column with task columns label=COLUMN.",
    "DatasetError: <dir>/test.csv, line 1: the header has no \"label\" column (found: text, tag). The first row must name the columns: text,label (text_pair optional); or name the label column with task columns label=COLUMN."
  ],
  "no text column (tsv)": [
    "DatasetError: <dir>/train.tsv, line 1: the header has no \"text\" column (found: words, label). The first row must name the columns: text\\tlabel (text_pair optional); or name the text column with task columns text=COLUMN.",
    "DatasetError: <dir>/test.tsv, line 1: the header has no \"text\" column (found: words, label). The first row must name the columns: text\\tlabel (text_pair optional); or name the text column with task columns text=COLUMN."
  ],
  "unclosed quote (csv)": [
    "DatasetError: <dir>/train.csv: Quote Not Closed: the parsing is finished with an opening quote at line 3. Wrap fields that hold commas, quotes or newlines in double quotes and double the quotes inside (\"\").",
    "DatasetError: <dir>/test.csv: Quote Not Closed: the parsing is finished with an opening quote at line 3. Wrap fields that hold commas, quotes or newlines in double quotes and double the quotes inside (\"\")."
  ],
  "unclosed quote (tsv)": [
    "DatasetError: <dir>/train.tsv: Quote Not Closed: the parsing is finished with an opening quote at line 2. Wrap fields that hold tabs, quotes or newlines in double quotes and double the quotes inside (\"\").",
    "DatasetError: <dir>/test.tsv: Quote Not Closed: the parsing is finished with an opening quote at line 2. Wrap fields that hold tabs, quotes or newlines in double quotes and double the quotes inside (\"\")."
  ],
  "short row": [
    "DatasetError: <dir>/train.csv: Invalid Record Length: expect 2, got 1 on line 3. Wrap fields that hold commas, quotes or newlines in double quotes and double the quotes inside (\"\").",
    "DatasetError: <dir>/test.csv: Invalid Record Length: expect 2, got 1 on line 3. Wrap fields that hold commas, quotes or newlines in double quotes and double the quotes inside (\"\")."
  ],
  "header only": [
    "DatasetError: <dir>/train.csv has a header but no examples. Add one row per example below the header.",
    "DatasetError: <dir>/test.csv has a header but no examples. Add one row per example below the header."
  ],
  "CRLF, CR and LF mixed, BOM": [
    "{\"labels\":[\"a\",\"b\",\"z\"],\"train\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"},{\"text\":\"z\",\"label\":\"z\"}],\"test\":[{\"text\":\"q\",\"label\":\"a\"}],\"warnings\":[]}",
    "DatasetError: <dir>/test.csv, line 5: label \"z\" does not occur in <dir>/train.csv. A probe cannot learn a label it never sees: add training examples for it or drop those test rows."
  ],
  "extra columns": [
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"}],\"test\":[{\"text\":\"q\",\"label\":\"a\"}],\"warnings\":[]}",
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"}],\"test\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"}],\"warnings\":[\"task \\\"g\\\": 2 of 2 test rows repeat a training text (<dir>/test.csv, line 2 = <dir>/train.csv, line 2); their scores reward memory as well as the layer. Remove them from one split for a clean test.\"]}"
  ],
  "spaces in fields kept": [
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"  padded  \",\"label\":\"a\"},{\"text\":\"x\",\"label\":\"b\"}],\"test\":[{\"text\":\"q\",\"label\":\"a\"}],\"warnings\":[]}",
    "{\"labels\":[\"a\",\"b\"],\"train\":[{\"text\":\"x\",\"label\":\"a\"},{\"text\":\"y\",\"label\":\"b\"}],\"test\":[{\"text\":\"  padded  \",\"label\":\"a\"},{\"text\":\"x\",\"label\":\"b\"}],\"warnings\":[\"task \\\"g\\\": 1 row repeats a text with another label (\\\"x\\\" is \\\"a\\\" at <dir>/train.csv, line 2 and \\\"b\\\" at <dir>/test.csv, line 3); no probe can get both right. Fix the labels or remove the duplicates.\",\"task \\\"g\\\": 1 of 2 test rows repeat a training text (<dir>/test.csv, line 3 = <dir>/train.csv, line 2); their scores reward memory as well as the layer. Remove them from one split for a clean test.\"]}"
  ]
};

test('CSV and TSV files read exactly as before, as train and as test files', async () => {
  const got: Record<string, [string, string]> = {};
  for (const [name, ext, content] of files) {
    // A file with a text_pair column is given partners with one too.
    const pair = content.split('\n')[0].includes('text_pair');
    const partner = (rows: string) => (pair ? `text,label,text_pair\n${rows.replace(/\n/g, ',pair\n')}` : `text,label\n${rows}`);
    const asTrain = await outcome(folder({ [`train.${ext}`]: content, 'test.csv': partner('q,a\n') }));
    const asTest = await outcome(folder({ 'train.csv': partner('x,a\ny,b\n'), [`test.${ext}`]: content }));
    got[name] = [asTrain, asTest];
  }
  if (process.env.GOLDEN_PRINT) fs.writeFileSync(process.env.GOLDEN_PRINT, JSON.stringify(got, null, 2));
  assert.deepEqual(got, golden);
});
