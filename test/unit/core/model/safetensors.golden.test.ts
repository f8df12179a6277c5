import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensorsHeader, writePrunedSafetensors } from '../../../../src/core/model/safetensors';
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
  'tiny-mpnet [0,1,2,3]': '71 tensors 3490431d40bb9537',
  'tiny-mpnet [1,2]': '39 tensors 9967f3c7f8ab871b',
  'tiny-mpnet [3]': '23 tensors 887d0bc4b638822b',
  'tiny-mpnet [0,2]': '39 tensors 3f00bc03deb534bb',
  'tiny-mpnet []': '7 tensors a89ed3fd05079e85',
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

// readSafetensorsHeader pinned when it was split into stages (twelfth session): the parsed headers of
// the tiny models and of hand-made files, and every error message word for word (`<file>` stands
// for the path, which differs from run to run).

/** A file with this header text and `data` zero bytes after it; the declared length is the text's unless given. */
function rawFile(name: string, header: string, data: number, declared?: bigint): string {
  const file = path.join(tmp, name);
  const h = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declared ?? BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, h, Buffer.alloc(data)]));
  return file;
}

const headerGolden: Record<string, string> = {
  "tiny-bert":
    "7528 chars bf7bd0396425e355",
  "tiny-roberta":
    "7657 chars 6595c556e290d551",
  "tiny-distilbert":
    "7326 chars 30f918e4a4dbef75",
  "tiny-t5-encoder":
    "3984 chars 33dd69c46ade9dbc",
  "tiny-mpnet":
    "7491 chars 9fc5c14d6a7edc75",
  "metadata and a sub-byte dtype":
    "{\"tensors\":[{\"name\":\"a\",\"dtype\":\"F16\",\"shape\":[2,3],\"begin\":0,\"end\":12},{\"name\":\"b\",\"dtype\":\"F4\",\"shape\":[6],\"begin\":12,\"end\":15}],\"dataOffset\":150,\"metadata\":{\"format\":\"pt\"}}",
  "empty tensor, padded header":
    "{\"tensors\":[{\"name\":\"e\",\"dtype\":\"F32\",\"shape\":[0,4],\"begin\":0,\"end\":0},{\"name\":\"s\",\"dtype\":\"I64\",\"shape\":[],\"begin\":0,\"end\":8}],\"dataOffset\":120}",
  "no tensors":
    "{\"tensors\":[],\"dataOffset\":10}",
  "spare data after the tensors":
    "{\"tensors\":[{\"name\":\"x\",\"dtype\":\"U8\",\"shape\":[3],\"begin\":0,\"end\":3}],\"dataOffset\":61}",
};

test('readSafetensorsHeader reads headers exactly as before', () => {
  const got: Record<string, string> = {};
  for (const m of tinyModels) {
    const json = JSON.stringify(readSafetensorsHeader(fixture(m, 'model.safetensors')));
    got[m] = `${json.length} chars ${createHash('sha256').update(json).digest('hex').slice(0, 16)}`;
  }
  const made: [string, string, number][] = [
    ['metadata and a sub-byte dtype', '{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"F4","shape":[6],"data_offsets":[12,15]}}', 15],
    ['empty tensor, padded header', '{"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}    ', 8],
    ['no tensors', '{}', 0],
    ['spare data after the tensors', '{"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}', 10],
  ];
  for (const [name, header, data] of made) got[name] = JSON.stringify(readSafetensorsHeader(rawFile('made.safetensors', header, data)));
  if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, headerGolden);
});

const errorGolden: Record<string, string> = {
  "missing":
    "BadInputError: <file> does not exist; put the model's safetensors weights there (download or copy them again).",
  "folder":
    "BadInputError: <file> is a folder, not a file; put the model's safetensors weights there (download or copy them again).",
  "short":
    "BadInputError: <file> is not a safetensors file: shorter than 8 bytes",
  "length beyond the file":
    "BadInputError: <file> is not a safetensors file: header length 3 exceeds the file (10 bytes)",
  "absurd length":
    "BadInputError: <file> is not a safetensors file: header length 1099511627776 exceeds the file (210 bytes)",
  "not JSON":
    "BadInputError: <file>: header is not valid JSON (<JSON error>)",
  "duplicate name":
    "BadInputError: <file>: its header names 'x' twice; a header holds one entry per name, and which one is meant cannot be told. Download the file again or re-save it (in Python, safetensors' save_file).",
  "duplicate field":
    "BadInputError: <file>: the header's entry 'x' gives \"dtype\" twice; a header holds one entry per name, and which one is meant cannot be told. Download the file again or re-save it (in Python, safetensors' save_file).",
  "array":
    "BadInputError: <file>: header is not a JSON object",
  "null":
    "BadInputError: <file>: header is not a JSON object",
  "number":
    "BadInputError: <file>: header is not a JSON object",
  "metadata array":
    "BadInputError: <file>: its __metadata__ is [\"pt\"], not an object of strings as the safetensors format requires; re-save the file (in Python, save_file(tensors, path, metadata={\"format\": \"pt\"})).",
  "metadata number value":
    "BadInputError: <file>: its __metadata__ is {\"format\":\"pt\",\"n\":1}, not an object of strings as the safetensors format requires; re-save the file (in Python, save_file(tensors, path, metadata={\"format\": \"pt\"})).",
  "metadata null":
    "BadInputError: <file>: its __metadata__ is null, not an object of strings as the safetensors format requires; re-save the file (in Python, save_file(tensors, path, metadata={\"format\": \"pt\"})).",
  "entry null":
    "BadInputError: <file>: tensor 'x' has a malformed entry null (data buffer is 4 bytes)",
  "no dtype":
    "BadInputError: <file>: tensor 'x' has a malformed entry {\"shape\":[1],\"data_offsets\":[0,4]} (data buffer is 4 bytes)",
  "shape not a list":
    "BadInputError: <file>: tensor 'x' has a malformed entry {\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]} (data buffer is 4 bytes)",
  "negative dimension":
    "BadInputError: <file>: tensor 'x' has a malformed entry {\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]} (data buffer is 4 bytes)",
  "three offsets":
    "BadInputError: <file>: tensor 'x' has a malformed entry {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]} (data buffer is 8 bytes)",
  "fractional offset":
    "BadInputError: <file>: tensor 'x' has a malformed entry {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.5]} (data buffer is 8 bytes)",
  "negative offset":
    "BadInputError: <file>: tensor 'x' has a malformed entry {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]} (data buffer is 8 bytes)",
  "offsets reversed":
    "BadInputError: <file>: tensor 'x' has a malformed entry {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]} (data buffer is 8 bytes)",
  "shape and span differ":
    "BadInputError: <file>: tensor 'x' (F32 [2, 2]) spans 12 bytes, which does not match its shape",
  "a dtype the format does not define":
    "BadInputError: <file>: tensor 'x' has dtype \"Q4_X\", which the safetensors format does not define (it defines F4, F6_E2M3, F6_E3M2, BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64); the file is damaged or was written by another tool: save the weights again with safetensors (in Python, save_file or save_pretrained).",
  "truncated":
    "BadInputError: <file> is truncated: its header describes 16 bytes of tensor data (tensor 'b' ends at byte 16), the file holds 12; download or copy the file again.",
  "beyond the data, not tiled":
    "BadInputError: <file>: tensor 'a' has a malformed entry (data_offsets [4, 12]; data buffer is 8 bytes)",
};

test('readSafetensorsHeader refuses bad files with the same messages as before', () => {
  const t = (entry: string): string => `{"x":${entry}}`;
  const files: [string, () => string][] = [
    ['missing', () => path.join(tmp, 'absent.safetensors')],
    ['folder', () => tmp],
    ['short', () => (fs.writeFileSync(path.join(tmp, 'short'), Buffer.from([1, 0, 0])), path.join(tmp, 'short'))],
    ['length beyond the file', () => rawFile('f', '{}', 0, 3n)],
    ['absurd length', () => rawFile('f', '{}', 200, 2n ** 40n)],
    ['not JSON', () => rawFile('f', '{"x":', 0)],
    ['duplicate name', () => rawFile('f', '{"x":{},"x":{}}', 0)],
    ['duplicate field', () => rawFile('f', t('{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}'), 4)],
    ['array', () => rawFile('f', '[1,2]', 0)],
    ['null', () => rawFile('f', 'null', 0)],
    ['number', () => rawFile('f', '7', 0)],
    ['metadata array', () => rawFile('f', '{"__metadata__":["pt"]}', 0)],
    ['metadata number value', () => rawFile('f', '{"__metadata__":{"format":"pt","n":1}}', 0)],
    ['metadata null', () => rawFile('f', '{"__metadata__":null}', 0)],
    ['entry null', () => rawFile('f', t('null'), 4)],
    ['no dtype', () => rawFile('f', t('{"shape":[1],"data_offsets":[0,4]}'), 4)],
    ['shape not a list', () => rawFile('f', t('{"dtype":"F32","shape":4,"data_offsets":[0,4]}'), 4)],
    ['negative dimension', () => rawFile('f', t('{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}'), 4)],
    ['three offsets', () => rawFile('f', t('{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}'), 8)],
    ['fractional offset', () => rawFile('f', t('{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}'), 8)],
    ['negative offset', () => rawFile('f', t('{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}'), 8)],
    ['offsets reversed', () => rawFile('f', t('{"dtype":"F32","shape":[1],"data_offsets":[4,0]}'), 8)],
    ['shape and span differ', () => rawFile('f', t('{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}'), 16)],
    ['a dtype the format does not define', () => rawFile('f', t('{"dtype":"Q4_X","shape":[5],"data_offsets":[0,3]}'), 3)],
    ['truncated', () => rawFile('f', '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', 12)],
    ['beyond the data, not tiled', () => rawFile('f', '{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 8)],
  ];
  // JSON.parse's own words come from V8 and may change with Node: they stand as <JSON error>.
  const jsonError = ((): string => {
    try {
      JSON.parse('{"x":');
    } catch (e) {
      return (e as Error).message;
    }
    return 'parsed';
  })();
  const got: Record<string, string> = {};
  for (const [name, make] of files) {
    const file = make();
    assert.throws(() => readSafetensorsHeader(file), (e: Error) => {
      got[name] = `${e.constructor.name}: ${e.message.split(file).join('<file>').split(jsonError).join('<JSON error>')}`;
      return true;
    });
  }
  if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, errorGolden);
});
