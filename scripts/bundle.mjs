// Bundles the entry points with esbuild. Types are checked separately (npm run check-types),
// because esbuild does not type-check. Native packages stay external and ship in node_modules.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const external = ['vscode', 'onnxruntime-node', 'onnxruntime-web', '@huggingface/transformers', 'sharp'];
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };

await Promise.all([
  esbuild.build({ ...common, platform: 'node', format: 'cjs', target: 'node20', external, entryPoints: { extension: 'src/extension/extension.ts', worker: 'src/worker/main.ts', fitWorker: 'src/worker/fit.ts', cli: 'src/cli/main.ts' }, outdir: 'dist' }),
  esbuild.build({ ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: { webview: 'webview/main.ts', reportEditor: 'webview/report/main.ts', figures: 'webview/report/figures.ts' }, outdir: 'dist' }),
]);
