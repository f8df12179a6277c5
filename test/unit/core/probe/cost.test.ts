/*
 * Ninth session: a task of many labels with few rows each (10,000 × 2) ran for minutes of
 * extraction and C search at 3 GB before anyone learnt its cost; it is now refused, or warned
 * about, when the task is loaded (docs/RESULTS.md §6).
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withPrepared } from '../../../../src/core/pipeline/prepare';
import { fitLogReg } from '../../../../src/core/probe/logreg';
import { maxLabelsAt, MAX_PROBE_FIT_BYTES, probeFitBytes, probeSecondsFloor } from '../../../../src/core/probe/cost';
import { DatasetError } from '../../../../src/core/errors';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { fixture, tasksDir, tempDir } from '../../../helpers';

const tmp = tempDir('probescale-cost-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A task folder of `labels` labels with `rows` training rows each (and one test row for the first two). */
function manyLabels(labels: number, rows: number): string {
  const dir = fs.mkdtempSync(path.join(tmp, 't'));
  const lines: string[] = [];
  for (let i = 0; i < labels; i++) for (let r = 0; r < rows; r++) lines.push(JSON.stringify({ text: `word number ${i} here ${r}`, label: `c${i}` }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n'));
  fs.writeFileSync(path.join(dir, 'test.jsonl'), [0, 1].map((i) => JSON.stringify({ text: `word ${i}`, label: `c${i}` })).join('\n'));
  return dir;
}

async function prepareLog(taskDir: string, settings = DEFAULT_SETTINGS): Promise<string[]> {
  const warnings: string[] = [];
  await withPrepared(fixture('tiny-bert'), [{ name: 'k', path: taskDir, weight: 1 }], { ...settings }, { log: (l, m) => l === 'warn' && warnings.push(m) }, async () => 0);
  return warnings;
}

test('10,000 labels of 2 rows are refused when the task is loaded, naming the memory and how many labels fit', async () => {
  // Before: extraction, then a C search of a 10,000-way softmax, still running after 240 s at 3.0 GB.
  const t0 = Date.now();
  await assert.rejects(prepareLog(manyLabels(10_000, 2)), (e: Error) => {
    assert.ok(e instanceof DatasetError, `${e.name}: ${e.message}`);
    assert.match(e.message, /^task "k" \(.*\): a 10,000-way probe over 20,000 training rows \(2 per label\) and 32 features needs 3\.3 GB in each of its fits \(20,000 × 10,000 logits and as many residuals\), more than the 1\.1 GB ProbeScale allows one fit.* at most 5,682 labels fit: merge rare labels/);
    return true;
  });
  assert.ok(Date.now() - t0 < 10_000, 'refused without extracting or fitting anything');
});

test('a task of many labels that fits is warned about with its least probing time; a usual task is not', async () => {
  const slow = await prepareLog(manyLabels(2_000, 4));
  assert.equal(slow.length, 1);
  assert.match(slow[0], /^task "k": a 2,000-way probe over 8,000 training rows \(4 per label\) and 32 features makes 65 fits \(the C search and 5 layers\); expect at least about \d+ min of probing, likely several times that\. Fixing \{\{c\}\} skips the C search \(30 of the fits\)/);
  const fixedC = await prepareLog(manyLabels(2_000, 4), { ...DEFAULT_SETTINGS, c: 1 });
  assert.match(fixedC[0], /makes 35 fits \(5 layers\); expect at least .* fewer labels, or a training-row limit, shrink every fit\.$/);
  assert.deepEqual(await prepareLog(path.join(tasksDir, 'sentlen')), []);
});

for (const kernel of ['js', 'wasm']) {
  test(`the estimate of a fit's memory is what a fit allocates (PROBESCALE_GEMM=${kernel}), and the label count given fits and one more does not`, () => {
    // Count the typed arrays and WebAssembly memories fitLogReg allocates (a few iterations: its buffers are made up front).
    const n = 600;
    const K = 150;
    const dim = 16;
    const X = Float32Array.from({ length: n * dim }, (_, i) => Math.sin(i));
    const y = Int32Array.from({ length: n }, (_, i) => i % K);
    const F64 = globalThis.Float64Array;
    const F32 = globalThis.Float32Array;
    let bytes = 0;
    // Subclasses that count what is allocated by length; views on existing buffers cost nothing.
    const counting = (Base: Float64ArrayConstructor | Float32ArrayConstructor) =>
      class extends (Base as Float64ArrayConstructor) {
        constructor(...a: unknown[]) {
          super(...(a as [number]));
          if (typeof a[0] === 'number') bytes += a[0] * Base.BYTES_PER_ELEMENT;
        }
      } as unknown as Float64ArrayConstructor & Float32ArrayConstructor;
    const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly;
    const Memory = wasm.Memory;
    wasm.Memory = class extends Memory {
      constructor(d: { initial: number }) {
        super(d);
        bytes += this.buffer.byteLength;
      }
    };
    globalThis.Float64Array = counting(F64);
    globalThis.Float32Array = counting(F32);
    const gemm = process.env.PROBESCALE_GEMM;
    process.env.PROBESCALE_GEMM = kernel;
    try {
      fitLogReg(X, y, dim, K, { c: 1, maxIter: 2 });
    } finally {
      globalThis.Float64Array = F64;
      globalThis.Float32Array = F32;
      wasm.Memory = Memory;
      if (gemm === undefined) delete process.env.PROBESCALE_GEMM;
      else process.env.PROBESCALE_GEMM = gemm;
    }
    const est = probeFitBytes(n, K, dim);
    assert.ok(Math.abs(bytes - est) / est < 0.1, `allocated ${bytes}, estimated ${est}`);
    const k = maxLabelsAt(2, 768);
    assert.ok(probeFitBytes(2 * k, k, 768) <= MAX_PROBE_FIT_BYTES && probeFitBytes(2 * (k + 1), k + 1, 768) > MAX_PROBE_FIT_BYTES);
  });
}

test('the probing-time floor counts the kernel that will fit: WebAssembly multiply-adds cost less than JavaScript ones', () => {
  const floor = (kernel: string) => {
    const before = process.env.PROBESCALE_GEMM;
    process.env.PROBESCALE_GEMM = kernel;
    try {
      return probeSecondsFloor(2000, 150, 256, 13, false);
    } finally {
      if (before === undefined) delete process.env.PROBESCALE_GEMM;
      else process.env.PROBESCALE_GEMM = before;
    }
  };
  // 2000 rows × 150 labels × 256 features: per pass 2·256 multiply-adds and one logit per row and label.
  const perPass = (nsPerMac: number) => 2000 * 150 * (2 * 256 * nsPerMac + 15) * 1e-9;
  const fits = 30 + 13 * 7;
  assert.ok(Math.abs(floor('js') - fits * 10 * perPass(1.8)) < 1e-9, `js ${floor('js')}`);
  assert.ok(Math.abs(floor('wasm') - fits * 10 * perPass(0.5)) < 1e-9, `wasm ${floor('wasm')}`);
});
