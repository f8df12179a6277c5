/**
 * The thirteenth session's hostile runs: a tokenizer that does not fit the model's embedding
 * table, the process's resource limits (ulimit -n, -v, -f), file names Node cannot decode, a task
 * path with a trailing space, and --candidates at extreme magnitudes. Each runs the real CLI and
 * failed on the code before its fix (an internal error with a stack trace, Node's own text, a
 * misleading message, or the wrong folder read).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tasksDir, tempDir } from '../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const sentlen = path.join(tasksDir, 'sentlen');
const LIMITS = ['--limit-train', '40', '--limit-test', '10', '--c', '1', '--no-cache', '-q'];

function run(args: string[]): { status: number | null; stderr: string; stdout: string } {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
}

function assertNoStack(r: { stderr: string }): void {
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at .*:\d+:\d+/, r.stderr);
}

/** A copy of tiny-bert whose tokenizer.json is edited by `edit`. */
function withTokenizer(dir: string, edit: (t: { model: { vocab: Record<string, number> }; added_tokens: { id: number; content: string }[]; post_processor: { special_tokens: Record<string, { ids: number[] }> } }) => void): string {
  const m = path.join(dir, 'model');
  fs.cpSync(fixture('tiny-bert'), m, { recursive: true });
  const file = path.join(m, 'tokenizer.json');
  const t = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(t);
  fs.writeFileSync(file, JSON.stringify(t));
  return m;
}

test('a tokenizer with ids past the embedding table is refused naming the token, not an internal error at Gather', () => {
  // The vocabulary of a larger model: every ordinary token's id is 10,000 higher (the table has 4,096 rows).
  const m = withTokenizer(tempDir('ps-lim-'), (t) => {
    for (const k of Object.keys(t.model.vocab)) if (t.model.vocab[k] >= 5) t.model.vocab[k] += 10_000;
  });
  const r = run(['probe', m, '--task', `s=${sentlen}`, ...LIMITS]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /tokenizer\.json gives the text "[^"]+" the token "[^"]+" with id 1\d{4}, but the model's word-embedding table has 4096 rows \(ids 0 to 4095\): the tokenizer files and the model do not belong together/);
  assertNoStack(r);
});

test('a special token with an id past the embedding table is refused when the tokenizer loads', () => {
  const m = withTokenizer(tempDir('ps-lim-'), (t) => {
    t.model.vocab['[CLS]'] = 9000;
    for (const a of t.added_tokens) if (a.content === '[CLS]') a.id = 9000;
    t.post_processor.special_tokens['[CLS]'].ids = [9000];
  });
  const r = run(['probe', m, '--task', `s=${sentlen}`, ...LIMITS]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /gives its special tokens the token "\[CLS\]" with id 9000, but the model's word-embedding table has 4096 rows/);
  assert.doesNotMatch(r.stderr, /tokenising/, 'refused before any text is read');
  assertNoStack(r);
});
