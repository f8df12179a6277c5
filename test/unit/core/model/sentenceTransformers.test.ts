/**
 * Sentence-transformers folders (modules.json, 1_Pooling, a Dense and a Normalize module beside
 * the transformer, as sentence-transformers saves them): probes pool as the model embeds unless
 * told otherwise, and pruned and compensated folders carry the modules, so they load as the source.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copySentenceTransformerFiles, modelPooling, readSentenceTransformers } from '../../../../src/core/model/sentenceTransformers';
import { openModel } from '../../../../src/core/model/modelInfo';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { loadTask } from '../../../../src/core/data/dataset';
import { buildVariant, variantCalibration } from '../../../../src/core/compensate/variant';
import { writeCompensatedFolder } from '../../../../src/core/compensate/commit';
import { modelCard } from '../../../../src/core/commit/modelCard';
import type { OptimizeReport } from '../../../../src/core/report';
import { fixture, pipelineAccuracyOnSentlen, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const LIMITS = ['--task', `s=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '60', '--limit-test', '20', '--c', '1', '--no-cache'];

const MODULES = [
  { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
  { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' },
  { idx: 3, name: '3', path: '3_Normalize', type: 'sentence_transformers.models.Normalize' },
];

/** Pooling config as Pooling.save writes it, with `on` the modes set. */
function poolingConfig(...on: string[]): Record<string, unknown> {
  const modes = ['cls_token', 'mean_tokens', 'max_tokens', 'mean_sqrt_len_tokens', 'weightedmean_tokens', 'lasttoken'];
  return { word_embedding_dimension: 32, ...Object.fromEntries(modes.map((m) => [`pooling_mode_${m}`, on.includes(m)])), include_prompt: true };
}

/** `source` (tiny-bert) as a sentence-transformers folder whose Pooling has `modes` on. */
function stFolder(dir: string, name: string, modes: string[], modules: unknown = MODULES, source = 'tiny-bert'): string {
  const folder = path.join(dir, name);
  fs.cpSync(fixture(source), folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'modules.json'), JSON.stringify(modules, null, 2));
  fs.writeFileSync(path.join(folder, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 128, do_lower_case: false }));
  fs.writeFileSync(path.join(folder, 'config_sentence_transformers.json'), JSON.stringify({ __version__: { sentence_transformers: '3.3.1' }, prompts: {}, similarity_fn_name: 'cosine' }));
  fs.mkdirSync(path.join(folder, '1_Pooling'));
  fs.writeFileSync(path.join(folder, '1_Pooling', 'config.json'), JSON.stringify(poolingConfig(...modes), null, 2));
  fs.mkdirSync(path.join(folder, '2_Dense'));
  fs.writeFileSync(path.join(folder, '2_Dense', 'config.json'), JSON.stringify({ in_features: 32, out_features: 16, bias: true, activation_function: 'torch.nn.modules.activation.Tanh' }));
  fs.writeFileSync(path.join(folder, '2_Dense', 'model.safetensors'), Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251)));
  fs.mkdirSync(path.join(folder, '3_Normalize'));
  return folder;
}

const probe = (folder: string, out: string, ...extra: string[]) => {
  const r = spawnSync(process.execPath, [cli, 'probe', folder, '--out', out, ...LIMITS, ...extra], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(fs.readFileSync(out, 'utf8')) as { settings: Record<string, unknown>; tasks: { s: { pooling: string; layers: { accuracy: number; cvAccuracy: number }[] } } };
  return { stderr: r.stderr, pooling: report.tasks.s.pooling, settings: report.settings, layers: report.tasks.s.layers.map((l) => [l.accuracy, l.cvAccuracy]) };
};

test('the pooling a sentence-transformers folder embeds with: each single mode as sentence-transformers computes it, several at once probed as mean with a warning; not such a folder → null', () => {
  const dir = tempDir('ps-st-pool-');
  const cases: [string[], string | null, 'info' | 'warn', RegExp][] = [
    [['cls_token'], 'first', 'info', /pooling first: the model's sentence-transformers Pooling \(1_Pooling\/config\.json\) embeds the first token/],
    [['mean_tokens'], 'mean', 'info', /pooling mean, as the model's sentence-transformers Pooling/],
    [['max_tokens'], 'max', 'info', /pooling max: the model's sentence-transformers Pooling \(1_Pooling\/config\.json\) embeds each dimension's maximum/],
    [['weightedmean_tokens'], 'weighted-mean', 'info', /pooling weighted-mean: the model's sentence-transformers Pooling \(1_Pooling\/config\.json\) embeds the mean over tokens weighted by position/],
    [['mean_sqrt_len_tokens'], 'mean-sqrt-len', 'info', /pooling mean-sqrt-len: .* embeds the sum over tokens divided by √\(tokens\)/],
    [['lasttoken'], 'last', 'info', /pooling last: .* embeds the last token, so probes read it too/],
    [['cls_token', 'mean_tokens'], 'mean', 'warn', /Pooling \(1_Pooling\/config\.json\) is cls_token \+ mean_tokens; ProbeScale probes one pooling at a time \(mean, first, max, mean-sqrt-len, weighted-mean, last\), so it probes mean: .*Set \{\{pooling\}\} to choose/],
    [[], 'mean', 'warn', /is none;/],
  ];
  for (const [modes, pooling, level, message] of cases) {
    const p = modelPooling(stFolder(dir, modes.join('-') || 'none', modes));
    assert.equal(p?.pooling, pooling, modes.join('+'));
    assert.equal(p?.level, level, modes.join('+'));
    assert.match(p!.message, message);
  }
  assert.equal(modelPooling(fixture('tiny-bert')), null);
  // An older config naming the mode in one string.
  const old = stFolder(dir, 'old', []);
  fs.writeFileSync(path.join(old, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 32, pooling_mode: 'cls' }));
  assert.equal(modelPooling(old)?.pooling, 'first');
});

test('broken and hostile modules.json: what cannot be read is said, paths outside the folder or onto its own are not modules, nothing is copied from an unreadable list', () => {
  const dir = tempDir('ps-st-hostile-');
  const broken = stFolder(dir, 'broken', ['cls_token']);
  fs.writeFileSync(path.join(broken, 'modules.json'), '[{"idx": 0,');
  const p = modelPooling(broken)!;
  assert.deepEqual([p.pooling, p.level], ['mean', 'warn']);
  assert.match(p.message, /modules\.json cannot be read as JSON .*probing with mean pooling\. Set \{\{pooling\}\} to choose\./);
  const out = path.join(dir, 'out-broken');
  fs.mkdirSync(out);
  assert.deepEqual(copySentenceTransformerFiles(broken, out), []);
  assert.deepEqual(fs.readdirSync(out), []);

  const hostile = stFolder(dir, 'hostile', ['cls_token'], [
    ...MODULES,
    { idx: 4, name: '4', path: '../outside', type: 'sentence_transformers.models.Dense' },
    { idx: 5, name: '5', path: '/etc', type: 'sentence_transformers.models.Dense' },
    { idx: 6, name: '6', path: 'onnx', type: 'sentence_transformers.models.Dense' },
    { idx: 7, name: '7', type: 'sentence_transformers.models.Dense' },
  ]);
  fs.mkdirSync(path.join(dir, 'outside'));
  fs.writeFileSync(path.join(dir, 'outside', 'secret'), 'x');
  const st = readSentenceTransformers(hostile)!;
  assert.deepEqual(st.moduleDirs, ['1_Pooling', '2_Dense', '3_Normalize']);
  assert.equal(st.problems.length, 4, st.problems.join('\n'));
  assert.match(st.problems.join('\n'), /module path "\.\.\/outside" is not a folder beside the model's files/);
  assert.match(st.problems.join('\n'), /entry 7 has no "path" and "type" strings/);
  assert.equal(modelPooling(hostile)?.pooling, 'first', 'the readable entries still count');
});

test('a modules.json saved with a byte-order mark is read; a pipe in place of a config is said, not read (it would wait for ever), and not copied', () => {
  const dir = tempDir('ps-st-kinds-');
  const bom = stFolder(dir, 'bom', ['cls_token']);
  fs.writeFileSync(path.join(bom, 'modules.json'), '\uFEFF' + JSON.stringify(MODULES));
  assert.equal(modelPooling(bom)?.pooling, 'first');
  const piped = stFolder(dir, 'piped', ['cls_token']);
  fs.rmSync(path.join(piped, '1_Pooling', 'config.json'));
  execFileSync('mkfifo', [path.join(piped, '1_Pooling', 'config.json')]);
  fs.rmSync(path.join(piped, 'sentence_bert_config.json'));
  execFileSync('mkfifo', [path.join(piped, 'sentence_bert_config.json')]);
  const p = modelPooling(piped)!;
  assert.deepEqual([p.pooling, p.level], ['mean', 'warn']);
  assert.match(p.message, /1_Pooling\/config\.json is a named pipe, not a file/);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  assert.deepEqual(copySentenceTransformerFiles(piped, out), ['modules.json', 'config_sentence_transformers.json', '2_Dense/config.json', '2_Dense/model.safetensors']);
});

test('copying the modules: root files and module folders as the source has them, files behind links (the Hugging Face cache) copied, a module folder linked out of the model not followed', () => {
  const dir = tempDir('ps-st-copy-');
  const src = stFolder(dir, 'src', ['cls_token']);
  // The Hub cache's layout: the file is a link into blobs/.
  fs.mkdirSync(path.join(dir, 'blobs'));
  fs.renameSync(path.join(src, '2_Dense', 'model.safetensors'), path.join(dir, 'blobs', 'abc123'));
  fs.symlinkSync(path.join(dir, 'blobs', 'abc123'), path.join(src, '2_Dense', 'model.safetensors'));
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const copied = copySentenceTransformerFiles(src, out);
  assert.deepEqual(copied, ['modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', '1_Pooling/config.json', '2_Dense/config.json', '2_Dense/model.safetensors']);
  for (const f of copied) {
    assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(src, f))), f);
    assert.ok(!fs.lstatSync(path.join(out, f)).isSymbolicLink(), `${f} is a file, not a link`);
  }
  assert.ok(fs.statSync(path.join(out, '3_Normalize')).isDirectory(), 'the empty Normalize folder is kept');
  assert.ok(!fs.existsSync(path.join(out, 'onnx')) && !fs.existsSync(path.join(out, 'config.json')), 'the transformer is not the modules’ to copy');

  // A module folder that is a link to the root of the disk (or to the model itself) is not copied.
  for (const [name, target] of [['root', '/'], ['self', src]] as const) {
    const linked = stFolder(dir, `linked-${name}`, ['cls_token']);
    fs.rmSync(path.join(linked, '2_Dense'), { recursive: true });
    fs.symlinkSync(target === src ? linked : target, path.join(linked, '2_Dense'));
    const o = path.join(dir, `out-${name}`);
    fs.mkdirSync(o);
    assert.ok(!copySentenceTransformerFiles(linked, o).some((f) => f.startsWith('2_Dense')), name);
  }
});

test('probe of a sentence-transformers folder with CLS pooling: without --pooling it probes the first token and says so; --pooling mean is obeyed', () => {
  const dir = tempDir('ps-st-probe-');
  const folder = stFolder(dir, 'cls', ['cls_token']);
  const followed = probe(folder, path.join(dir, 'followed.json'));
  assert.equal(followed.pooling, 'first');
  assert.equal(followed.settings.pooling, 'first');
  assert.equal(followed.settings.followModel, undefined, 'the report records the choice, not the flag');
  assert.match(followed.stderr, /pooling first: the model's sentence-transformers Pooling \(1_Pooling\/config\.json\) embeds the first token \(\[CLS\]\), so probes read it too\. Set --pooling to mean/);
  assert.deepEqual(followed.layers, probe(fixture('tiny-bert'), path.join(dir, 'first.json'), '--pooling', 'first').layers, 'the same as --pooling first on the plain folder');
  const told = probe(folder, path.join(dir, 'told.json'), '--pooling', 'mean');
  assert.equal(told.pooling, 'mean');
  assert.doesNotMatch(told.stderr, /sentence-transformers Pooling/);
  assert.deepEqual(told.layers, probe(fixture('tiny-bert'), path.join(dir, 'mean.json')).layers);
});

test('prune, optimize and a compensated commit of a sentence-transformers folder carry its modules; the classifiers pool as the model', async () => {
  const dir = tempDir('ps-st-commit-');
  const folder = stFolder(dir, 'cls', ['cls_token']);
  const modules = ['modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', '1_Pooling/config.json', '2_Dense/config.json', '2_Dense/model.safetensors'];
  const same = (out: string) => {
    for (const f of modules) assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(folder, f))), `${out}: ${f}`);
    assert.ok(fs.statSync(path.join(out, '3_Normalize')).isDirectory());
  };
  const pruned = path.join(dir, 'pruned');
  const p = spawnSync(process.execPath, [cli, 'prune', folder, '--layers', '0,2', '--out', pruned], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  same(pruned);
  const checksums = fs.readFileSync(path.join(pruned, 'probescale-checksums.json'), 'utf8');
  for (const f of modules) assert.ok(checksums.includes(JSON.stringify(f)), `checksums list ${f}`);

  const out = path.join(dir, 'optimized');
  const r = spawnSync(process.execPath, [cli, 'optimize', folder, '--budget', '0.9', '--out', out, ...LIMITS, '-q', '--candidates', '1', '--baselines', 'none'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /verify: re-measured from the written folder equals the report/);
  same(out);
  const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { probescale: { pooling: string } };
  assert.equal(config.probescale.pooling, 'first', 'the classifiers pool as the model embeds');
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /A sentence-transformers folder: `modules\.json` and its modules \(`1_Pooling\/`, `2_Dense\/`\) are the source's/);
  const e = spawnSync(process.execPath, [cli, 'eval', out, ...LIMITS], { encoding: 'utf8' });
  assert.equal(e.status, 0, e.stderr);

  // A compensated winner is written by its own writer (no safetensors): the modules go with it too.
  const info = openModel(folder);
  const tok = await loadTokenizer(folder, { maxLength: 128 });
  const task = await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 40, limitTest: 10 });
  const spec = { bridges: true };
  const v = await buildVariant(info, variantCalibration(tok, [task], { batchSize: 16 }), [0, 2], spec, { batchSize: 16 }, {});
  try {
    const comp = path.join(dir, 'compensated');
    fs.mkdirSync(comp);
    const { files } = await writeCompensatedFolder(info, v, spec, comp, {}, {});
    assert.deepEqual(files.filter((f) => modules.includes(f)), modules);
    same(comp);
  } finally {
    v.dispose();
    info.model.close();
  }
});

test('the model card of a sentence-transformers folder says how to load it, with the ONNX backend where there are no PyTorch weights', () => {
  const r = JSON.parse(fs.readFileSync(fixture('reports', 'tiny-roberta-optimize.json'), 'utf8')) as OptimizeReport;
  const files = (...names: string[]) => names.map((p) => ({ path: p, bytes: 1 }));
  const st = ['config.json', 'modules.json', '1_Pooling/config.json', '2_Normalize/x', 'onnx/model.onnx', 'classifiers/s/onnx/model.onnx'];
  assert.match(modelCard(r, files(...st, 'model.safetensors')), /`modules\.json` and its modules \(`1_Pooling\/`, `2_Normalize\/`\) are the source's, unchanged \(pruning keeps the hidden width they read\), so `SentenceTransformer\('<this folder>'\)` embeds with the pruned encoder and the source's pooling \(`backend='onnx'` reads `onnx\/model\.onnx`\)\./);
  assert.match(modelCard(r, files(...st)), /so `SentenceTransformer\('<this folder>', backend='onnx'\)` embeds with the pruned encoder and the source's pooling; the folder has no PyTorch weights, so the ONNX backend is the one that loads it\./);
  assert.doesNotMatch(modelCard(r, files('config.json', 'onnx/model.onnx')), /sentence-transformers/);
});

test('a sentence-transformers folder with max pooling probes, commits and verifies max-pooled classifiers (transformers.js runs them), as --pooling max on the plain folder', async () => {
  const dir = tempDir('ps-st-max-');
  const folder = stFolder(dir, 'max', ['max_tokens']);
  const followed = probe(folder, path.join(dir, 'followed.json'));
  assert.equal(followed.pooling, 'max');
  const plainMax = probe(fixture('tiny-bert'), path.join(dir, 'plain-max.json'), '--pooling', 'max');
  assert.deepEqual(followed.layers, plainMax.layers);
  assert.notDeepEqual(plainMax.layers, probe(fixture('tiny-bert'), path.join(dir, 'plain-mean.json')).layers, 'max pooling is not mean pooling');
  const out = path.join(dir, 'out');
  const r = spawnSync(process.execPath, [cli, 'optimize', folder, '--budget', '0.9', '--out', out, ...LIMITS, '-q', '--candidates', '1', '--baselines', 'none'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /verify: re-measured from the written folder equals the report/);
  assert.equal((JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { probescale: { pooling: string } }).probescale.pooling, 'max');
  const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { selection: { perTask: { s: { test: { accuracy: number } } } } };
  assert.equal(await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 's'), { limitTrain: 60, limitTest: 20 }), report.selection.perTask.s.test.accuracy);
  const e = spawnSync(process.execPath, [cli, 'eval', out, ...LIMITS], { encoding: 'utf8' });
  assert.equal(e.status, 0, e.stderr);
});

test('max_seq_length in sentence_bert_config.json: probes cut there unless --max-length is given; a value that is not a length is said and the default used', () => {
  const dir = tempDir('ps-st-len-');
  const folder = stFolder(dir, 'len', ['mean_tokens']);
  fs.writeFileSync(path.join(folder, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 12, do_lower_case: false }));
  const followed = probe(folder, path.join(dir, 'followed.json'));
  assert.equal(followed.settings.maxLength, 12);
  assert.match(followed.stderr, /--max-length 12: the model's sentence-transformers config \(sentence_bert_config\.json\) cuts its inputs there, so probes do too\. Set --max-length to cut shorter/);
  assert.deepEqual(followed.layers, probe(fixture('tiny-bert'), path.join(dir, 'plain12.json'), '--max-length', '12').layers, 'the same as --max-length 12 on the plain folder');
  assert.notDeepEqual(followed.layers, probe(fixture('tiny-bert'), path.join(dir, 'plain.json')).layers, 'sentence lengths are cut: the length matters on this task');
  const told = probe(folder, path.join(dir, 'told.json'), '--max-length', '64');
  assert.equal(told.settings.maxLength, 64);
  assert.doesNotMatch(told.stderr, /max_seq_length|sentence_bert_config/);
  for (const [bad, said] of [[0, /its max_seq_length is 0, not a whole number ≥ 2; inputs are cut at 128 tokens\. Set --max-length to choose\./], ['long', /its max_seq_length is "long"/]] as const) {
    fs.writeFileSync(path.join(folder, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: bad }));
    const r = probe(folder, path.join(dir, `bad-${bad}.json`));
    assert.equal(r.settings.maxLength, 128);
    assert.match(r.stderr, said);
  }
  fs.writeFileSync(path.join(folder, 'sentence_bert_config.json'), JSON.stringify({ do_lower_case: false }));
  const none = probe(folder, path.join(dir, 'none.json'));
  assert.equal(none.settings.maxLength, 128);
  assert.doesNotMatch(none.stderr, /sentence_bert_config/);
});

test('a sentence-transformers folder whose transformer is in 0_Transformer: refused naming that folder', () => {
  const dir = tempDir('ps-st-inner-');
  const root = path.join(dir, 'old-st');
  fs.mkdirSync(root);
  fs.cpSync(fixture('tiny-bert'), path.join(root, '0_Transformer'), { recursive: true });
  fs.writeFileSync(path.join(root, 'modules.json'), JSON.stringify([{ ...MODULES[0], path: '0_Transformer' }, MODULES[1]]));
  fs.mkdirSync(path.join(root, '1_Pooling'));
  fs.writeFileSync(path.join(root, '1_Pooling', 'config.json'), JSON.stringify(poolingConfig('mean_tokens')));
  const r = spawnSync(process.execPath, [cli, 'probe', root, '--out', path.join(dir, 'r.json'), ...LIMITS], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /old-st has no config\.json: it is a sentence-transformers folder whose transformer is in .*old-st\/0_Transformer; pass that folder \(with --pooling as its Pooling module embeds\)/);
});

// all-mpnet-base-v2 and the other sentence-transformers models on MPNet: mean pooling, modules beside the encoder.
test('an MPNet sentence-transformers folder probes with its mean pooling, and a width-pruned commit carries its modules and verifies', () => {
  const dir = tempDir('ps-st-mpnet-');
  const folder = stFolder(dir, 'mpnet', ['mean_tokens'], MODULES, 'tiny-mpnet');
  const p = probe(folder, path.join(dir, 'probe.json'));
  assert.equal(p.pooling, 'mean');
  const out = path.join(dir, 'optimized');
  const r = spawnSync(process.execPath, [cli, 'optimize', folder, '--budget', '0.9', '--compensate', 'width', '--out', out, ...LIMITS, '-q', '--candidates', '2', '--baselines', 'flap-uniform'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')) as { verify: { allEqual: boolean }; selection: { baselines: { name: string; compensation?: { heads?: number } }[] } };
  assert.equal(report.verify.allEqual, true);
  assert.ok((report.selection.baselines.find((b) => b.name === 'flap-uniform')?.compensation?.heads ?? 2) < 2, 'flap-uniform cut heads');
  for (const f of ['modules.json', 'sentence_bert_config.json', '1_Pooling/config.json']) assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(folder, f))), f);
  assert.equal((JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { probescale: { pooling: string } }).probescale.pooling, 'mean');
});
