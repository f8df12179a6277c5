/**
 * Checks the encoder graph ProbeScale builds from a folder's config.json + safetensors against the
 * folder's own ONNX export and, for RoBERTa, against PyTorch through the independent reference in
 * scripts/ref (python3 + torch + numpy). Prints max |difference| of last_hidden_state over real
 * tokens; exits 1 when one exceeds the tolerance (default 1e-4).
 *
 *   node out/scripts/compareBuiltGraph.js MODEL_DIR [--texts 24] [--tol 1e-4] [--python /usr/bin/python3]
 *
 * MODEL_DIR needs config.json, tokenizer files, model.safetensors (any of F32/F16/BF16) and onnx/.
 * The texts are the first rows of data/tasks/spam and data/tasks/sentlen (test splits), so the batch
 * has long, truncated and short, padded rows.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer, EncodedBatch } from '../src/core/data/tokenize';
import { readConfig, resolveEncoderGraph } from '../src/core/model/modelInfo';
import { openWeights } from '../src/core/model/weights';

const repo = path.join(__dirname, '..', '..');

async function lastHidden(file: string, b: EncodedBatch): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const shape = [b.batchSize, b.seqLen];
  const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', b.inputIds, shape), attention_mask: new ort.Tensor('int64', b.attentionMask, shape) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', b.tokenTypeIds, shape);
  const out = (await session.run(feeds)).last_hidden_state.data as Float32Array;
  await session.release();
  return out;
}

/** Max |a − b| over positions where the attention mask is 1. */
function maxDiffOnTokens(a: Float32Array, b: Float32Array, mask: BigInt64Array): number {
  const hidden = a.length / mask.length;
  let m = 0;
  for (let i = 0; i < a.length; i++) if (mask[Math.floor(i / hidden)] === 1n) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** last_hidden_state from scripts/ref (PyTorch), or null with the reason when it cannot run. */
function torchLastHidden(dir: string, b: EncodedBatch, python: string, work: string): Float32Array | string {
  const rows = (t: BigInt64Array) => Array.from({ length: b.batchSize }, (_, r) => Array.from(t.subarray(r * b.seqLen, (r + 1) * b.seqLen), Number));
  const ids = path.join(work, 'ids.json');
  const out = path.join(work, 'torch.f32');
  fs.writeFileSync(ids, JSON.stringify({ input_ids: rows(b.inputIds), attention_mask: rows(b.attentionMask) }));
  const r = spawnSync(python, [path.join(repo, 'scripts', 'ref', 'last_hidden.py'), dir, ids, out], { encoding: 'utf8' });
  if (r.status !== 0) return `${python} scripts/ref/last_hidden.py failed: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}`;
  const buf = fs.readFileSync(out);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { texts: { type: 'string' }, tol: { type: 'string' }, python: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) {
    console.error('usage: node out/scripts/compareBuiltGraph.js MODEL_DIR [--texts 24] [--tol 1e-4] [--python /usr/bin/python3]');
    return 2;
  }
  const dir = path.resolve(positionals[0]);
  const n = Number(values.texts ?? 24);
  const tol = Number(values.tol ?? 1e-4);
  const config = readConfig(dir);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-compare-'));
  try {
    const tokenizer = await loadTokenizer(dir, { maxLength: 128 });
    const texts: string[] = [];
    for (const t of ['spam', 'sentlen']) texts.push(...(await loadTask(t, path.join(repo, 'data', 'tasks', t), { limitTest: n / 2 })).test.map((e) => e.text));
    const b = tokenizer.batch(texts.map((t) => tokenizer.encode(t)));
    const built = resolveEncoderGraph(dir, config, { from: 'safetensors', graphCacheDir: path.join(work, 'graphs') }).file;
    const exported = resolveEncoderGraph(dir, config, { from: 'onnx' }).file;
    const y = await lastHidden(built, b);
    const rows: [string, number | string][] = [[`ONNX export ${path.relative(dir, exported)}`, maxDiffOnTokens(y, await lastHidden(exported, b), b.attentionMask)]];
    if (config.model_type === 'roberta') {
      const t = torchLastHidden(dir, b, values.python ?? '/usr/bin/python3', work);
      rows.push(['PyTorch (scripts/ref/roberta.py)', typeof t === 'string' ? t : maxDiffOnTokens(y, t, b.attentionMask)]);
    } else rows.push(['PyTorch (scripts/ref/roberta.py)', `not run: the reference implements RoBERTa only, this is ${String(config.model_type)}`]);
    const dtypes = [...new Set([...openWeights(dir).tensors.values()].map((t) => t.dtype))];
    console.log(`${dir}: ${b.batchSize} texts × ${b.seqLen} positions, ${b.attentionMask.reduce((a, v) => a + Number(v), 0)} real tokens; safetensors dtype ${dtypes.join('/')}`);
    let ok = true;
    for (const [what, d] of rows) {
      if (typeof d === 'number') ok &&= d <= tol;
      console.log(`  built graph vs ${what}: ${typeof d === 'number' ? `max |diff| ${d.toExponential(2)} ${d <= tol ? '≤' : '>'} ${tol}` : d}`);
    }
    return ok ? 0 : 1;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
