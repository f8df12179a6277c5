import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GENERATED_FILE, WAT_FILE, generatedGemmModule } from '../../../scripts/buildWasm';
import { repoRoot } from '../../helpers';

test('the committed WebAssembly kernel (gemmWasm.ts) is gemm.wat compiled: npm run wasm regenerates it', async () => {
  const wat = fs.readFileSync(path.join(repoRoot, WAT_FILE), 'utf8');
  const committed = fs.readFileSync(path.join(repoRoot, GENERATED_FILE), 'utf8');
  assert.equal(await generatedGemmModule(wat), committed, `${GENERATED_FILE} differs from ${WAT_FILE} compiled; run npm run wasm`);
  // And a changed kernel would show: one instruction less is other bytes.
  assert.notEqual(await generatedGemmModule(wat.replace('(i32.const 16)))', '(i32.const 32)))')), committed);
});
