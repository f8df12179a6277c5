import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { folderFiles } from '../../../../src/core/pipeline/commit';
import { tempDir } from '../../../helpers';

test('the model card lists every file of the folder with its size; the card and the report, rewritten after verification, without one', () => {
  const dir = tempDir('ps-files-');
  fs.mkdirSync(path.join(dir, 'classifiers', 'spam', 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  fs.writeFileSync(path.join(dir, 'classifiers', 'spam', 'onnx', 'model.onnx'), Buffer.alloc(1234));
  fs.writeFileSync(path.join(dir, 'probescale-report.json'), '{"a":1}');
  fs.writeFileSync(path.join(dir, 'config.json.99.tmp'), 'half');
  assert.deepEqual(folderFiles(dir), [
    { path: 'classifiers/spam/onnx/model.onnx', bytes: 1234 },
    { path: 'config.json', bytes: 2 },
    { path: 'probescale-report.json', bytes: null },
    { path: 'README.md', bytes: null },
  ]);
  fs.rmSync(dir, { recursive: true, force: true });
});
