/**
 * The optimize settings as a careless user writes them in settings.json: wrong types, typos,
 * numbers where the declaration says string. What the core can read is read; the rest is off or
 * the default, as package.json says, and VS Code itself flags what the declaration refuses.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installVscodeStub, vscodeStub } from '../../vscodeStub';
import { parseEmbeddingRank } from '../../../src/core/compensate/embeddingRank';
import { repoRoot } from '../../helpers';

/** readOptimizeSettings with `values` as the user's settings. */
async function read(values: Record<string, unknown>) {
  installVscodeStub();
  (vscodeStub.workspace as Record<string, unknown>).getConfiguration = () => ({ get: (k: string) => values[k] });
  const { readOptimizeSettings } = await import('../../../src/extension/settingKeys');
  return readOptimizeSettings(undefined);
}

test('probescale.embeddingRank: a rank written as a JSON number is that rank; strings as the CLI reads them; the rest is off', async () => {
  assert.deepEqual((await read({ compensate: 'all', embeddingRank: 32 })).embeddingRank, [32]);
  assert.deepEqual((await read({ embeddingRank: '16, 32' })).embeddingRank, [16, 32]);
  assert.equal((await read({ embeddingRank: 'auto' })).embeddingRank, 'auto');
  for (const off of ['', '  ', 'abc', '0', '0x20', 0, -3, 2.5, true, null, [32], { r: 32 }]) {
    assert.equal((await read({ embeddingRank: off })).embeddingRank, undefined, JSON.stringify(off));
  }
});

test('wrong types in the other compensation settings fall back to their defaults', async () => {
  const s = await read({ compensate: 'bridges', widthScore: 7, vocabTrim: 'yes', candidates: '8', targetRetention: 'high' });
  assert.equal(s.compensate, 'none');
  assert.equal(s.widthScore, 'task');
  assert.equal(s.vocabTrim, false);
  assert.equal(s.candidates, 8);
  assert.equal(s.targetRetention, 0.95);
});

test("package.json's pattern for probescale.embeddingRank accepts exactly what the core reads, so VS Code flags the rest", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const decl = pkg.contributes.configuration.properties['probescale.embeddingRank'];
  assert.ok(decl.pattern, 'the setting declares a pattern');
  assert.ok(decl.patternErrorMessage, 'and says what to write');
  const pattern = new RegExp(decl.pattern);
  const reads = (v: string) => {
    try {
      parseEmbeddingRank(v);
      return true;
    } catch {
      return false;
    }
  };
  for (const v of ['', '32', '16,32,64', '16, 32', ' 8 ', 'auto', 'abc', '0', '0x20', '1e1', '32,', ',32', '16,,32', '-4', 'auto,16', 'AUTO', '4 8', '007']) {
    assert.equal(pattern.test(v), v === '' || reads(v), `${JSON.stringify(v)}: pattern ${pattern.test(v)}, core ${reads(v)}`);
  }
});
