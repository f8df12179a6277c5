import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { splitBefore } from '../../../../src/core/data/metaspaceSplit';
import { fixture } from '../../../helpers';

test('splitBefore cuts before every mark but a leading one, the mark kept with what follows', () => {
  assert.deepEqual(splitBefore('▁a▁bc▁▁d', '▁'), ['▁a', '▁bc', '▁', '▁d']);
  assert.deepEqual(splitBefore('a▁b', '▁'), ['a', '▁b']);
  assert.deepEqual(splitBefore('▁', '▁'), ['▁']);
  assert.deepEqual(splitBefore('', '▁'), []);
  assert.deepEqual(splitBefore('abc', '▁'), ['abc']);
});

interface PythonRefs {
  cases: { folder: string; maxLength: number; text: string; ids: number[] }[];
}

// Before: transformers.js ignored Metaspace's split and ran one Unigram lattice over the whole text, so a
// run of 59 dashes in a spam e-mail came out as 16+5+16+5+16 where Python's tokenizers (word by word)
// gives 5+5+16+16+16: the same score, broken otherwise by rounding that depended on the words before it.
test('a Metaspace tokenizer gives the ids Python tokenizers 0.23 gives (each word its own lattice)', async () => {
  const refs = JSON.parse(fs.readFileSync(fixture('refs', 'tokenizers-python.json'), 'utf8')) as PythonRefs;
  for (const c of refs.cases) {
    const tok = await loadTokenizer(fixture(c.folder), { maxLength: c.maxLength });
    assert.deepEqual(tok.encode(c.text), c.ids, c.text.slice(0, 60));
  }
});

test('a word tokenises the same whatever comes before it', async () => {
  const tok = await loadTokenizer(fixture('tiny-umt5'), { maxLength: 128 });
  const dashes = '-'.repeat(59);
  const alone = tok.encode(dashes).slice(0, -1);
  for (const before of ['Friend, Get Help With Your Debt Now!!', 'x', 'a much longer sentence with many words in it, and then']) {
    const ids = tok.encode(`${before} ${dashes}`).slice(0, -1);
    assert.deepEqual(ids.slice(-alone.length), alone, before);
  }
});
