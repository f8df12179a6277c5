/**
 * What `probescale` answers, byte for byte, on each way out of main() that runs no long job:
 * help, no command, a bad command line, a refused --out, a finished prune and a job that fails
 * on the user's input. Pinned when main() was split into stages (eleventh session); the usage
 * digest changed once since, when `probescale cache` joined the usage (thirteenth session).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture, repoRoot, tempDir } from '../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const tmp = tempDir('ps-cli-answers-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Exit status, stdout and stderr of one run (the temporary folder as `<tmp>`; the usage text, long, as a digest). */
function answer(...args: string[]): [number | null, string, string] {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  const clean = (s: string) => s.split(tmp).join('<tmp>').replace(/usage:\n[^]*$/, (u) => `usage ${createHash('sha256').update(u).digest('hex').slice(0, 16)}`);
  return [r.status, clean(r.stdout), clean(r.stderr)];
}

test('help, no command, a bad command line, a refused --out, a finished prune and a failed job answer as before', () => {
  fs.mkdirSync(path.join(tmp, 'exists'));
  const bert = fixture('tiny-bert');
  assert.deepEqual(answer('--help'), [0, 'usage 482a8f43e8fff712', '']);
  assert.deepEqual(answer(), [1, '', 'probescale: no command given.\nusage 482a8f43e8fff712']);
  assert.deepEqual(answer('probe'), [1, '', 'probescale: probe: missing <modelDir>.\n']);
  assert.deepEqual(answer('prune', bert, '--layers', '0', '--out', path.join(tmp, 'exists')), [1, '', 'probescale: --out <tmp>/exists: the folder already exists; choose another path or allow replacing it (--force).\n']);
  assert.deepEqual(answer('prune', bert, '--layers', '0,2', '--out', path.join(tmp, 'p'), '-q'), [
    0,
    'kept blocks 0,2: 152,384 of 169,472 parameters (89.9 %)\nwrote <tmp>/p: config.json, special_tokens_map.json, tokenizer.json, tokenizer_config.json, vocab.txt, onnx/model.onnx, model.safetensors, probescale-checksums.json\n',
    '',
  ]);
  assert.deepEqual(answer('prune', bert, '--layers', '0,9', '--out', path.join(tmp, 'q'), '-q'), [1, '', 'probescale: BadInputError: --layers 0,9: block 9 does not exist; this model has blocks 0..3.\n']);
  assert.equal(fs.existsSync(path.join(tmp, 'q')), false);
});
