import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePrunedSafetensors } from '../../../../src/core/model/safetensors';
import { fixture, tinyModels, tempDir } from '../../../helpers';

const tmp = tempDir('probescale-st-golden-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// SHA-256 (first 16 hex digits) of each pruned file, pinned when writePrunedSafetensors was split into
// stages (eleventh session): the header text, its padding, tensor order and bytes must stay byte for byte.
const expected: Record<string, string> = {
  'tiny-bert [0,1,2,3]': '69 tensors b60269687348fecc',
  'tiny-bert [1,2]': '37 tensors 09bdf2f7ed297d2a',
  'tiny-bert [3]': '21 tensors b749161c9498614c',
  'tiny-bert [0,2]': '37 tensors 8529575c996f69ad',
  'tiny-bert []': '5 tensors 89e42fed663a956d',
  'tiny-roberta [0,1,2,3]': '69 tensors 28fc640a3d861e35',
  'tiny-roberta [1,2]': '37 tensors 08d75fd616154d21',
  'tiny-roberta [3]': '21 tensors 51fb57afb4e2a9fa',
  'tiny-roberta [0,2]': '37 tensors 6f74489dc2cd540d',
  'tiny-roberta []': '5 tensors cb10daa6c813efe3',
  'tiny-distilbert [0,1,2,3]': '68 tensors 56842bb1dbacaf5d',
  'tiny-distilbert [1,2]': '36 tensors 6ab9471dc3b95c2d',
  'tiny-distilbert [3]': '20 tensors 649a8c3a13534a6f',
  'tiny-distilbert [0,2]': '36 tensors f7355887602279cf',
  'tiny-distilbert []': '4 tensors 762a7586e82242d7',
  'tiny-t5-encoder [0,1,2,3]': '35 tensors 0b2beaa4b344fdc2',
  'tiny-t5-encoder [1,2]': '19 tensors 8311bd5ab176a77e',
  'tiny-t5-encoder [3]': '11 tensors 51a60bd446db328f',
  'tiny-t5-encoder [0,2]': '19 tensors 9aea7c8414b46977',
  'tiny-t5-encoder []': '2 tensors 9d01fdcefdfe68f2',
};

test('pruned safetensors of the tiny models are byte-identical to before', async () => {
  const got: Record<string, string> = {};
  for (const m of tinyModels) {
    for (const kept of [[0, 1, 2, 3], [1, 2], [3], [0, 2], []]) {
      const dst = path.join(tmp, `${m}-${kept.join('_')}.safetensors`);
      const r = await writePrunedSafetensors(fixture(m, 'model.safetensors'), dst, kept);
      const bytes = fs.readFileSync(dst);
      assert.equal(r.bytes, bytes.length);
      got[`${m} [${kept.join(',')}]`] = `${r.tensors} tensors ${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
    }
  }
  assert.deepEqual(got, expected);
});
