import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor } from '../../../../src/core/extract/extractor';
import { openModel } from '../../../../src/core/model/modelInfo';
import { GraphBuilder } from '../../../../src/core/onnx/build';
import { DataType, OnnxModel, floatInitializer } from '../../../../src/core/onnx/model';
import { writeClassifiers } from '../../../../src/core/commit/classifier';
import { writeCompensatedFolder } from '../../../../src/core/compensate/commit';
import { Q8_FILE, hasQuantizedVariant, quantizeSymmetric, writeQ8Variants, writeQuantized } from '../../../../src/core/compensate/quantize';
import { buildVariant, variantCalibration } from '../../../../src/core/compensate/variant';
import { classify, verifyQuantized } from '../../../../src/core/pipeline/verify';
import { runEvalJob } from '../../../../src/core/pipeline/evalJob';
import { DEFAULT_SETTINGS } from '../../../../src/core/settings';
import { scoreOf } from '../../../../src/core/pipeline/measure';
import { trainProbe } from '../../../../src/core/probe/probe';
import { writeRewritten } from '../../../graphRewrites';
import { fixture, pipelineAccuracyOnSentlen, repoRoot, tasksDir, tempDir } from '../../../helpers';

const tmpDir = (tag: string) => tempDir(`ps-q8-${tag}-`);

/** ONNX DynamicQuantizeLinear: uint8, range widened to include 0, round half to even, saturate. */
function dynamicQuantize(x: Float32Array): { q: Uint8Array; scale: number; zp: number } {
  const lo = Math.min(0, ...x);
  const hi = Math.max(0, ...x);
  const scale = Math.fround((hi - lo) / 255);
  const rint = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
  const zp = Math.max(0, Math.min(255, rint(-lo / scale)));
  return { q: Uint8Array.from(x, (v) => Math.max(0, Math.min(255, rint(v / scale) + zp))), scale, zp };
}

test('an embedding Gather and a MatMul with constant weights become int8 (DequantizeLinear; DynamicQuantizeLinear + MatMulInteger) that ORT computes as the int8 arithmetic says', async () => {
  const dir = tmpDir('matmul');
  try {
    const [V, M, K, N] = [7, 3, 5, 4];
    const e = Float32Array.from({ length: V * K }, (_, i) => Math.cos(0.9 * i) * 1.3 - 0.2);
    const w = Float32Array.from({ length: K * N }, (_, i) => Math.sin(1.7 * i) * (i % 3 === 0 ? 0.9 : 0.2));
    const g = new GraphBuilder();
    g.constants.push(floatInitializer('E', Array.from(e), [V, K]), floatInitializer('W', Array.from(w), [K, N]));
    g.inputs.push({ name: 'ids', elemType: DataType.INT64, shape: [M] });
    g.outputs.push({ name: 'y', elemType: DataType.FLOAT, shape: [M, N] });
    const x = g.op('/embed', 'Gather', ['E', 'ids']);
    g.op('/dense', 'MatMul', [x, 'W'], undefined, 'y');
    const src = path.join(dir, 'model.onnx');
    fs.writeFileSync(src, g.serialize(17, 'test'));
    const dst = path.join(dir, Q8_FILE);
    assert.equal(writeQuantized(src, dst), 2);

    const q = OnnxModel.open(dst);
    assert.deepEqual(q.nodes.map((n) => n.opType), ['Gather', 'DequantizeLinear', 'DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul']);
    assert.ok(!q.initializers.has('W') && !q.initializers.has('E'), 'the float weights are gone');
    assert.equal(q.initializers.get('W_quantized')!.dataType, DataType.INT8);
    q.close();

    const ids = [4, 0, 6];
    const s = await ort.InferenceSession.create(dst);
    const y = (await s.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [M]) })).y.data as Float32Array;
    await s.release();
    const eq = quantizeSymmetric(e);
    const xDeq = Float32Array.from({ length: M * K }, (_, i) => eq.q[ids[Math.floor(i / K)] * K + (i % K)] * eq.scale);
    const xq = dynamicQuantize(xDeq);
    const wq = quantizeSymmetric(w);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        let exact = 0;
        // ORT's AVX2 kernel without VNNI (VPMADDUBSW) sums raw uint8 × int8 products in pairs (k, k+1) into int16, saturating; others compute exactly.
        let pairs = 0;
        let weightSum = 0;
        for (let k = 0; k < K; k++) {
          acc += (xq.q[m * K + k] - xq.zp) * wq.q[k * N + n];
          exact += e[ids[m] * K + k] * w[k * N + n];
          weightSum += wq.q[k * N + n];
          if (k % 2 === 0) pairs += Math.max(-32768, Math.min(32767, xq.q[m * K + k] * wq.q[k * N + n] + (k + 1 < K ? xq.q[m * K + k + 1] * wq.q[(k + 1) * N + n] : 0)));
        }
        const scale = Math.fround(xq.scale * wq.scale);
        const [expected, saturated] = [acc * scale, (pairs - xq.zp * weightSum) * scale];
        const near = (v: number) => Math.abs(y[m * N + n] - v) <= 1e-5 * Math.max(1, Math.abs(v));
        assert.ok(near(expected) || near(saturated), `y[${m},${n}] ${y[m * N + n]} vs int8 arithmetic ${expected} (${saturated} with int16 pair saturation)`);
        assert.ok(Math.abs(y[m * N + n] - exact) < 0.05, `y[${m},${n}] ${y[m * N + n]} vs float ${exact}: within the quantization error`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a MatMul that reads its weight through Identity nodes (how shared weights export) is quantized as one that reads it directly, and its float weight goes', async () => {
  const dir = tmpDir('identity');
  try {
    const src = path.join(fixture('tiny-bert'), 'onnx', 'model.onnx');
    const rewritten = path.join(dir, 'identities.onnx');
    for (const kind of ['weight-identities', 'identities-everywhere'] as const) {
      const m = OnnxModel.open(src);
      try {
        writeRewritten(m, kind, rewritten);
      } finally {
        m.close();
      }
      const [direct, through] = [path.join(dir, 'direct.onnx'), path.join(dir, `${kind}.onnx`)];
      const count = writeQuantized(src, direct);
      assert.equal(writeQuantized(rewritten, through), count, `${kind}: as many MatMuls and Gathers quantized`);
      const q = OnnxModel.open(through);
      try {
        const floatMatrices = [...q.initializers.values()].filter((t) => t.dataType === DataType.FLOAT && t.dims.length === 2).map((t) => t.name);
        assert.deepEqual(floatMatrices, [], `${kind}: no float weight matrix is left`);
        assert.ok(!q.nodes.some((n) => n.opType === 'Identity' && n.inputs[0].endsWith('weight')), `${kind}: the Identity copies of quantized weights are gone`);
      } finally {
        q.close();
      }
      const run = async (file: string) => {
        const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
        try {
          const t = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs, BigInt), [1, xs.length]);
          const feeds: Record<string, ort.Tensor> = { input_ids: t([5, 17, 42, 8, 3]), attention_mask: t([1, 1, 1, 1, 0]), token_type_ids: t([0, 0, 0, 0, 0]) };
          return (await s.run(Object.fromEntries(s.inputNames.map((n) => [n, feeds[n]]))))[s.outputNames[0]].data as Float32Array;
        } finally {
          await s.release();
        }
      };
      assert.deepEqual(await run(through), await run(direct), `${kind}: the same int8 arithmetic`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a compensated winner of a source with a quantized variant commits a q8 encoder and q8 classifiers that ORT and transformers.js (dtype q8) run, with their accuracy beside the float one', async () => {
  const limits = { limitTrain: 150, limitTest: 60 };
  const root = tmpDir('commit');
  // The source: tiny-roberta with a quantized variant beside its float graph, as exported models ship.
  const srcDir = path.join(root, 'src');
  fs.cpSync(fixture('tiny-roberta'), srcDir, { recursive: true });
  assert.equal(hasQuantizedVariant(path.join(srcDir, 'onnx', 'model.onnx')), false);
  writeQuantized(path.join(srcDir, 'onnx', 'model.onnx'), path.join(srcDir, 'onnx', Q8_FILE));
  const info = openModel(srcDir);
  assert.equal(hasQuantizedVariant(info.onnxFile), true);
  const tok = await loadTokenizer(srcDir, { maxLength: 128 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), limits);
  const dir = path.join(root, 'model');
  fs.mkdirSync(dir);
  const spec = { bridges: true, heads: 1, ffnWidth: 32 };
  const v = await buildVariant(info, variantCalibration(tok, [task], { batchSize: 16 }), [0, 2], spec, { batchSize: 16 }, {});
  try {
    const ex = await Extractor.create(v.info, tok, { poolings: ['mean'], kept: [0, 1] });
    const train = await ex.extract(task.train, 'train');
    await ex.release();
    const probe = trainProbe(train.pooled.mean![0], task.trainY, train.dim, task.labels.length, { c: 1, seed: 0, control: false });
    await writeCompensatedFolder(info, v, spec, dir, { maxLength: 128, tasks: [{ name: 'sentlen', labels: task.labels, classifier: 'classifiers/sentlen' }] }, {});
    const classifiers = writeClassifiers(v.info, [0, 1], dir, [{ name: 'sentlen', labels: task.labels, probe }], { pooling: 'mean', maxLength: 128 });
    assert.deepEqual(writeQ8Variants(dir, classifiers), [`onnx/${Q8_FILE}`, `classifiers/sentlen/onnx/${Q8_FILE}`]);

    // The encoder's variant opens as a quantized model (dtype q8) with the compensated blocks.
    const q8 = openModel(dir, { dtype: 'q8' });
    assert.equal(q8.quantized, true);
    assert.equal(q8.numLayers, 2);
    const floatMatMuls = q8.model.nodes.filter((n) => n.opType === 'MatMul' && q8.model.initializers.has(n.inputs[1]));
    assert.deepEqual(floatMatMuls, [], 'every weight MatMul (bridge and narrowed projections too) is int8');
    const floatTables = q8.model.nodes.filter((n) => n.opType === 'Gather' && q8.model.initializers.get(n.inputs[0])?.dataType === DataType.FLOAT);
    assert.deepEqual(floatTables, [], 'the embedding tables are int8');
    q8.model.close();

    const cdir = path.join(dir, 'classifiers', 'sentlen');
    const settings = { provider: 'cpu' as const, batchSize: 16 };
    const floatPred = await classify(cdir, task, settings);
    const floatAcc = scoreOf(task.testY, floatPred, task.labels.length);
    // Dynamic quantization scales a batch by its own range, so texts are scored one at a time (as a pipeline call does).
    const q8Pred = await classify(cdir, task, { ...settings, batchSize: 1 }, undefined, {}, Q8_FILE);
    const q8Acc = scoreOf(task.testY, q8Pred, task.labels.length).accuracy;
    assert.notDeepEqual(q8Pred, floatPred, 'int8 weights change some predictions (so the next check tells the variants apart)');
    assert.equal(await pipelineAccuracyOnSentlen(cdir, limits, { dtype: 'q8' }), q8Acc, 'transformers.js dtype q8 loads the same graph and scores the same');
    const r = await verifyQuantized(dir, [{ task, weight: 1, folds: new Int32Array(0), c: 1 }], { sentlen: { claimed: floatAcc, measured: floatAcc, equal: true } }, settings, {});
    assert.ok(r, 'verify re-measures the q8 classifiers');
    assert.equal(r.file, `onnx/${Q8_FILE}`);
    assert.equal(r.perTask.sentlen.measured.accuracy, q8Acc);
    assert.equal(r.perTask.sentlen.difference, q8Acc - floatAcc.accuracy);
    // `probescale eval <folder> --dtype q8` measures the q8 classifiers the same way.
    const evalQ8 = await runEvalJob({ type: 'eval', modelDir: dir, tasks: [{ name: 'sentlen', path: path.join(tasksDir, 'sentlen'), weight: 1 }], settings: { ...DEFAULT_SETTINGS, ...limits, provider: 'cpu', dtype: 'q8' } }, {});
    assert.equal(evalQ8.tasks.sentlen.final!.accuracy, q8Acc);
    // int8 weights move the scores a little, not to chance: within 10 points of float on 60 rows.
    assert.ok(Math.abs(r.perTask.sentlen.difference) <= 0.1, `q8 ${q8Acc} vs float ${floatAcc.accuracy}`);
  } finally {
    v.dispose();
    info.model.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('optimize --compensate on a source with a quantized variant commits, verifies and reports the q8 variant of its compensated pick', async () => {
  const root = tmpDir('cli');
  try {
    const src = path.join(root, 'src');
    fs.cpSync(fixture('tiny-roberta'), src, { recursive: true });
    writeQuantized(path.join(src, 'onnx', 'model.onnx'), path.join(src, 'onnx', Q8_FILE));
    const out = path.join(root, 'out');
    const limits = { limitTrain: 150, limitTest: 60 };
    const args = ['optimize', src, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.97', '--candidates', '2', '--compensate', 'bridge', '--no-cache', '--out', out, '-q'];
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'out', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
    assert.ok(report.selection.compensation, 'at this budget the pick is a bridged subset (change the budget if the search changes)');
    for (const f of ['onnx', 'classifiers/sentlen/onnx']) assert.ok(fs.existsSync(path.join(out, f, Q8_FILE)), `${f}/${Q8_FILE}`);
    const q = report.verify.quantized.perTask.sentlen;
    assert.equal(q.float.accuracy, report.verify.perTask.sentlen.measured.accuracy);
    assert.match(r.stdout, new RegExp(`quantized \\(onnx/${Q8_FILE}\\): sentlen ${(100 * q.measured.accuracy).toFixed(1)} % test`));
    assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /sentlen, quantized \(`onnx\/model_quantized\.onnx`, one text per run\)/);
    assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), limits, { dtype: 'q8' }), q.measured.accuracy, 'transformers.js q8 on the committed classifier gives what verify reported');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
