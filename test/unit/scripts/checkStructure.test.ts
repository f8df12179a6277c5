import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkStructure, findCycles } from '../../../scripts/checkStructure';
import { repoRoot, tempDir } from '../../helpers';

function tree(files: Record<string, string>): string {
  const root = tempDir('ps-structure-');
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
  return root;
}

test('findCycles reports every strongly connected group and self-imports, not chains', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
    ['e', ['e']],
  ]);
  assert.deepEqual(findCycles(g), [['a', 'b', 'c'], ['e']]);
  assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', []]])), []);
});

test('a type-only import cycle, a long pipeline function and a double cast each fail the check', () => {
  const long = `export function f(): number {\n${'  let x = 1;\n'.repeat(80)}  return 1;\n}\n`;
  const root = tree({
    'src/core/report.ts': "import type { Job } from './jobs';\nexport type R = Job;\n",
    'src/core/jobs.ts': "import type { R } from './report';\nexport type Job = { r?: R };\n",
    'src/core/pipeline/stage.ts': long,
    'src/core/other.ts': `${long}export const y = (1 as unknown as string);\n`,
  });
  const problems = checkStructure(root);
  assert.equal(problems.length, 3, problems.join('\n'));
  const has = (re: RegExp) => assert.ok(problems.some((p) => re.test(p)), `${re} in\n${problems.join('\n')}`);
  has(/^import cycle: src\/core\/jobs.ts → src\/core\/report.ts$/);
  // Only the pipeline is held to the length limit: other.ts has the same long function.
  has(/over 80 lines in the pipeline: src\/core\/pipeline\/stage.ts:1 f \(83 lines\)$/);
  has(/as unknown as.*src\/core\/other.ts:84$/);
});

test('this repository passes the structure check', () => {
  assert.deepEqual(checkStructure(repoRoot), []);
});
