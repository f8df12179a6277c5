/**
 * What the exactness tests of an architecture's fixture share (DeBERTa, NomicBERT): pruned folders
 * against the reference's layer subsets, and for width pruning a plan that keeps given units with
 * their original output-projection rows, the edited graph's output, and the reference it must
 * equal: the source's weights with the removed units' output-projection columns zeroed, pruned to
 * the same blocks by the plain path.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unitColumns } from '../src/core/compensate/graph';
import { SublayerSite, readFloat32 } from '../src/core/compensate/structure';
import { GraphEdit, OnnxModel } from '../src/core/onnx/model';
import { chunksToBuffer } from '../src/core/onnx/wire';
import { tensorBytes, writeSafetensors } from './safetensorsFiles';
import { RefBatch, lastHiddenOn, runCli } from './helpers';

/** Max |a − b| over real tokens (a reference and ONNX may differ on padding, which nothing reads). */
export function maskedDiff(a: ArrayLike<number>, b: ArrayLike<number>, r: RefBatch): number {
  const mask = r.attention_mask.flat();
  const h = a.length / mask.length;
  let d = 0;
  for (let i = 0; i < a.length; i++) if (mask[Math.floor(i / h)]) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/**
 * Prunes `dir` to each of `refs`' subsets (prune with `extra` options, into `outPrefix`-KEY), checks
 * each folder's last_hidden_state against the subset's reference (1e-4), runs `each` on it, and
 * returns the largest difference.
 */
export async function worstPrunedDiff(dir: string, refs: RefBatch & { subsets: Record<string, { last_hidden_state: number[] }> }, outPrefix: string, extra: readonly string[], each?: (out: string, ref: number[], key: string) => Promise<void>): Promise<number> {
  let worst = 0;
  for (const [key, sub] of Object.entries(refs.subsets)) {
    const out = `${outPrefix}-${key.replace(/,/g, '_')}`;
    const p = runCli(['prune', dir, '--layers', key, '--out', out, '-q', ...extra]);
    assert.equal(p.status, 0, p.stderr);
    const d = maskedDiff(await lastHiddenOn(path.join(out, 'onnx', 'model.onnx'), refs), sub.last_hidden_state, refs);
    assert.ok(d < 1e-4, `{${key}}: ${d}`);
    worst = Math.max(worst, d);
    await each?.(out, sub.last_hidden_state, key);
  }
  return worst;
}

/** Units `kept` of a sub-layer with its original output-projection rows, no refit (a zero bias where the projection has none). */
export function keepUnits(model: OnnxModel, site: SublayerSite, kept: number[], hidden: number) {
  const out = readFloat32(model, site.output.weight);
  const rows = unitColumns(kept, site.group).flatMap((j) => Array.from(out.subarray(j * hidden, (j + 1) * hidden)));
  return { kept, out: Float32Array.from(rows), outBias: site.output.bias ? readFloat32(model, site.output.bias) : new Float32Array(hidden) };
}

/** last_hidden_state of `model` edited by `edit`, written to `file`. */
export async function editedHidden(model: OnnxModel, edit: GraphEdit, file: string, refs: RefBatch): Promise<Float32Array> {
  fs.writeFileSync(file, chunksToBuffer(model.serialize(edit)));
  return lastHiddenOn(file, refs);
}

/**
 * A weights-only copy of `dir` at `out` whose units outside each `keep` have their columns of the
 * output projection `weight` ([hidden, units × group], as nn.Linear stores it) zeroed.
 */
export function zeroedCopy(dir: string, out: string, hidden: number, cuts: { weight: string; keep: number[]; group: number }[]): string {
  fs.cpSync(dir, out, { recursive: true, filter: (f) => path.basename(f) !== 'onnx' });
  const { header, bytes } = tensorBytes(path.join(out, 'model.safetensors'));
  for (const { weight, keep, group } of cuts) {
    const w = new Float32Array(Uint8Array.from(bytes.get(weight)!).buffer);
    const cols = w.length / hidden;
    for (let row = 0; row < hidden; row++) for (let j = 0; j < cols; j++) if (!keep.includes(Math.floor(j / group))) w[row * cols + j] = 0;
    bytes.set(weight, Buffer.from(w.buffer));
  }
  writeSafetensors(path.join(out, 'model.safetensors'), [...bytes].map(([n, b]) => [n, header[n].dtype, header[n].shape, b]));
  return out;
}

/** last_hidden_state of `dir` pruned to `kept` by the plain path (prune, graph built from the weights) into `out` (reused when there). */
export async function prunedHidden(dir: string, kept: number[], out: string, refs: RefBatch): Promise<Float32Array> {
  if (!fs.existsSync(out)) {
    const p = runCli(['prune', dir, '--layers', kept.join(','), '--out', out, '--from', 'safetensors', '-q']);
    assert.equal(p.status, 0, p.stderr);
  }
  return lastHiddenOn(path.join(out, 'onnx', 'model.onnx'), refs);
}
