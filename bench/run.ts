/**
 * `npm run bench`: speed and memory of the engine on the embedded roberta-mini, each ratio
 * measured side by side in one run (alternating runs, medians), because machines are noisy.
 *
 * 1. probe-graph overhead: plain inference (last_hidden_state) vs the probe graph (13 pooled
 *    outputs + per-layer cosine), same batches → ratio (target: a few percent).
 * 2. pruned encoders: latency of 2/4/7/12-block prefixes at batch 1 and 32 vs the full model,
 *    next to the ideal FLOP ratio.
 * 3. probe training: logistic-regression fits on real pooled features.
 * Writes bench/results.json beside the printed table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer, TextTokenizer } from '../src/core/data/tokenize';
import { Extractor } from '../src/core/extract/extractor';
import { openModel } from '../src/core/model/modelInfo';
import { probeEdit } from '../src/core/onnx/edit';
import { chunksToBuffer } from '../src/core/onnx/wire';
import { writePrunedOnnx } from '../src/core/prune/surgery';
import { fitLogReg } from '../src/core/probe/logreg';
import { applyStandardizer, fitStandardizer } from '../src/core/probe/standardize';
import { idealSpeedup, timeEncoders } from '../src/core/pipeline/verify';

const root = path.resolve(__dirname, '..', '..');
const model = path.join(root, 'models', 'probescale-roberta-mini');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function probeGraphOverhead(tok: TextTokenizer, texts: string[]) {
  const info = openModel(model);
  const plain = await ort.InferenceSession.create(info.onnxFile, { intraOpNumThreads: os.cpus().length });
  const { edit, outputs } = probeEdit(info.model, info.blocks, { poolings: ['mean'], cosine: true });
  const probe = await ort.InferenceSession.create(chunksToBuffer(info.model.serialize(edit)), { intraOpNumThreads: os.cpus().length });
  const enc = texts.map((t) => tok.encodeWithTypes(t));
  const batches: ort.InferenceSession.FeedsType[] = [];
  for (let s = 0; s + 32 <= enc.length; s += 32) {
    const b = tok.batch(enc.slice(s, s + 32).map((e) => e.ids));
    const dims = [b.batchSize, b.seqLen];
    batches.push({ input_ids: new ort.Tensor('int64', b.inputIds, dims), attention_mask: new ort.Tensor('int64', b.attentionMask, dims) });
  }
  const tp: number[] = [];
  const tq: number[] = [];
  const wanted = [...outputs.pooled.mean, ...outputs.cosine];
  for (let r = 0; r < 3; r++) {
    for (const f of batches) {
      let t0 = performance.now();
      await plain.run(f);
      tp.push(performance.now() - t0);
      t0 = performance.now();
      await probe.run(f, wanted);
      tq.push(performance.now() - t0);
    }
  }
  await plain.release();
  await probe.release();
  info.model.close();
  return { batches: batches.length, plainMs: median(tp), probeGraphMs: median(tq), overhead: median(tq) / median(tp) - 1 };
}

async function prunedLatency(tok: TextTokenizer, texts: string[]) {
  const info = openModel(model);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-'));
  const rows = [];
  for (const k of [2, 4, 7, 12]) {
    const kept = Array.from({ length: k }, (_, i) => i);
    const file = path.join(dir, `m${k}.onnx`);
    writePrunedOnnx(info.onnxFile, file, kept);
    const t = await timeEncoders(info.onnxFile, file, texts, tok, { provider: 'cpu', runs1: 40, runs32: 8 });
    rows.push({ blocks: k, params: info.params.embeddings + kept.reduce((a, b) => a + info.params.perBlock[b], 0), batch1: t.batch1, batch32: t.batch32, idealSpeedup: idealSpeedup(info, kept, t.seqLen), seqLen: t.seqLen });
  }
  info.model.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return rows;
}

async function probeTraining(tok: TextTokenizer) {
  const info = openModel(model);
  const task = await loadTask('sentlen', path.join(root, 'data', 'tasks', 'sentlen'), { limitTrain: 2000, limitTest: 10 });
  const ex = await Extractor.create(info, tok, { poolings: ['mean'], kept: Array.from({ length: 12 }, (_, i) => i) });
  const f = await ex.extract(task.train, 'bench');
  await ex.release();
  info.model.close();
  const X = f.pooled.mean![0];
  const st = fitStandardizer(X, f.n, f.dim);
  const Z = applyStandardizer(st, X, f.n, f.dim);
  const binY = Int32Array.from(task.trainY, (y) => (y >= 3 ? 1 : 0));
  let t0 = performance.now();
  const b = fitLogReg(Z, binY, f.dim, 2, { c: 1 });
  const binaryMs = performance.now() - t0;
  t0 = performance.now();
  const m = fitLogReg(Z, task.trainY, f.dim, 6, { c: 1 });
  const multiMs = performance.now() - t0;
  return { n: f.n, dim: f.dim, binary: { ms: binaryMs, iterations: b.iterations }, sixClass: { ms: multiMs, iterations: m.iterations } };
}

async function main() {
  const tok = await loadTokenizer(model, { maxLength: 128 });
  const spam = await loadTask('spam', path.join(root, 'data', 'tasks', 'spam'), { limitTrain: 10, limitTest: 256 });
  const texts = spam.test.map((e) => e.text);
  const rssBefore = process.memoryUsage().rss;
  const overhead = await probeGraphOverhead(tok, texts);
  const pruned = await prunedLatency(tok, texts);
  const training = await probeTraining(tok);
  const result = { machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, overhead, pruned, training, peakRssMB: Math.round(Math.max(rssBefore, process.memoryUsage().rss) / 2 ** 20) };
  const lines = [
    `machine: ${result.machine.cpus} × ${result.machine.model}, node ${result.machine.node}`,
    `probe graph vs plain inference (batch 32, spam test texts, ${overhead.batches} batches × 3, medians): ${overhead.plainMs.toFixed(1)} ms vs ${overhead.probeGraphMs.toFixed(1)} ms → overhead ${(100 * overhead.overhead).toFixed(1)} %`,
    'pruned prefixes vs full model (medians, alternating runs):',
    ' blocks  params      batch1 ms (full→pruned, ×)     batch32 ms (full→pruned, ×)    ideal ×',
    ...pruned.map((r) => ` ${String(r.blocks).padStart(6)}  ${r.params.toLocaleString('en-US').padStart(10)}  ${r.batch1.originalMs.toFixed(2)} → ${r.batch1.prunedMs.toFixed(2)} (×${r.batch1.speedup.toFixed(2)})        ${r.batch32.originalMs.toFixed(1)} → ${r.batch32.prunedMs.toFixed(1)} (×${r.batch32.speedup.toFixed(2)})     ×${r.idealSpeedup.toFixed(2)}`),
    `probe training (${training.n}×${training.dim} sentlen features, C=1): binary ${training.binary.ms.toFixed(0)} ms (${training.binary.iterations} it), 6 classes ${training.sixClass.ms.toFixed(0)} ms (${training.sixClass.iterations} it)`,
    `peak RSS ${result.peakRssMB} MB`,
  ];
  console.log(lines.join('\n'));
  fs.writeFileSync(path.join(root, 'bench', 'results.json'), JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
