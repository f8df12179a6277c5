// Peak RSS of probe fits run one after another in one process (after `npm run compile`):
//   node scripts/fitMemory.mjs ROWS FITS [LABELS]     e.g. node scripts/fitMemory.mjs 40000 40
// Random float32 features (ROWS × 256), LABELS classes (default 6), 3 L-BFGS iterations per fit;
// PROBESCALE_GEMM=js|wasm chooses the kernel. Prints the peak RSS sampled after each fit.
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { fitLogReg } = require(path.join(root, 'out', 'src', 'core', 'probe', 'logreg.js'));
const { defaultGemmKernel } = require(path.join(root, 'out', 'src', 'core', 'probe', 'gemm.js'));

const [rows, fits, labels = 6] = process.argv.slice(2).map(Number);
if (!(rows >= 1 && fits >= 1 && labels >= 2)) throw new Error('usage: node scripts/fitMemory.mjs ROWS FITS [LABELS]');
const dim = 256;
const X = new Float32Array(rows * dim).map(() => Math.random());
const y = Int32Array.from({ length: rows }, (_, i) => i % labels);
let peak = 0;
const t0 = performance.now();
for (let i = 0; i < fits; i++) {
  fitLogReg(X, y, dim, labels, { c: 1, maxIter: 3 });
  peak = Math.max(peak, process.memoryUsage().rss);
}
console.log(`${defaultGemmKernel()} kernel, ${fits} fits of ${rows} × ${dim} × ${labels}: peak RSS ${(peak / 1e6).toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
