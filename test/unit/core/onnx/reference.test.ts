import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { Extractor } from '../../../../src/core/extract/extractor';
import { openModel } from '../../../../src/core/model/modelInfo';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { referencingGraph } from '../../../../src/core/onnx/reference';
import { openSession } from '../../../../src/core/runtime/session';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';
import { externalDataFolder } from '../../../modelVariants';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const sentlen = `sentlen=${path.join(tasksDir, 'sentlen')}`;
const limits = ['--limit-train', '120', '--limit-test', '40', '--c', '1', '--no-cache', '-q'];

/** Every file under `dir` with its size and mtime, to show a run left the folder as it was. */
function snapshot(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => {
    const st = fs.statSync(path.join(dir, f));
    return `${f}:${st.size}:${st.mtimeMs}`;
  });
}

async function firstOutput(s: ort.InferenceSession): Promise<Float32Array> {
  const t = (v: bigint[]) => new ort.Tensor('int64', BigInt64Array.from(v), [1, v.length]);
  const feeds: Record<string, ort.Tensor> = { input_ids: t([2n, 100n, 200n, 300n, 3n]), attention_mask: t([1n, 1n, 1n, 1n, 1n]) };
  if (s.inputNames.includes('token_type_ids')) feeds.token_type_ids = t([0n, 0n, 0n, 0n, 0n]);
  return (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
}

test('a model file is handed to ORT as a small graph that references its weights in place', async () => {
  for (const name of ['tiny-bert', 'tiny-roberta']) {
    const file = fixture(name, 'onnx', 'model.onnx');
    const m = OnnxModel.open(file);
    const ref = referencingGraph(m);
    m.close();
    assert.equal(ref.weightsDir, path.dirname(file));
    assert.ok(ref.graph.length < 0.25 * fs.statSync(file).size, `${name}: graph ${ref.graph.length} bytes of ${fs.statSync(file).size}`);
    const referenced = await openSession(file, { provider: 'cpu' });
    const plain = await ort.InferenceSession.create(file);
    assert.deepEqual(await firstOutput(referenced.session), await firstOutput(plain), name);
    await referenced.session.release();
    await plain.release();
  }
});

test('features of an external-data model equal the inline model’s, and nothing is written beside either', async () => {
  const dir = externalDataFolder(fixture('tiny-bert'));
  const before = snapshot(dir);
  const tmpBefore = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('probescale-graph-')).length;
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 40, limitTest: 10 });
  const feats = async (folder: string, kept?: number[]) => {
    const info = openModel(folder);
    const ex = await Extractor.create(info, await loadTokenizer(info.dir, { maxLength: 32 }), { poolings: ['mean'], kept, cosine: !kept });
    const f = await ex.extract(task.train, folder);
    await ex.release();
    info.model.close();
    return f;
  };
  for (const kept of [undefined, [0, 2]]) {
    const a = await feats(fixture('tiny-bert'), kept);
    const b = await feats(dir, kept);
    assert.deepEqual(b.layers, a.layers);
    assert.deepEqual(b.pooled.mean, a.pooled.mean, `kept ${kept}`);
  }
  assert.deepEqual(snapshot(dir), before, 'source folder untouched');
  assert.equal(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('probescale-graph-')).length, tmpBefore, 'no graph copies in the temp folder');
});

test('probe, optimize, eval and prune run end to end on an external-data model', () => {
  const dir = externalDataFolder(fixture('tiny-bert'));
  const before = snapshot(dir);
  const out = tempDir('ps-extdata-out-');
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${args.slice(0, 2).join(' ')}: ${r.stderr}`);
    return r;
  };
  run('probe', dir, '--task', sentlen, ...limits, '--out', path.join(out, 'probe.json'));
  run('optimize', dir, '--task', sentlen, '--budget', '0.9', '--candidates', '2', ...limits, '--out', path.join(out, 'opt'));
  assert.ok(fs.existsSync(path.join(out, 'opt', 'onnx', 'model.onnx_data')), 'the committed encoder keeps the external-data layout');
  run('eval', path.join(out, 'opt'), '--task', sentlen, ...limits, '--out', path.join(out, 'eval.json'));
  run('prune', dir, '--layers', '0,2', '--out', path.join(out, 'pruned'));
  assert.ok(JSON.parse(fs.readFileSync(path.join(out, 'probe.json'), 'utf8')));
  assert.deepEqual(snapshot(dir), before, 'source folder untouched');
});
