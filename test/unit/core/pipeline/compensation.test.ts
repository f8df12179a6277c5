import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeQuantized } from '../../../../src/core/compensate/quantize';
import { openModel } from '../../../../src/core/model/modelInfo';
import { externalize, fixture, lastHiddenOn, maxAbsDiff, pipelineAccuracyOnSentlen, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

test('optimize --compensate all measures bridged and narrowed candidates and both compensated baselines under the budget, and verifies the commit', () => {
  const out = path.join(tempDir('ps-comp-'), 'model');
  const args = ['optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.95', '--candidates', '2', '--compensate', 'all', '--no-cache', '--out', out, '-q'];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /compensation of the pick: /);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8')).selection;
  const rm = s.baselines.find((b: { name: string }) => b.name === 'replaceme-bridge');
  const flap = s.baselines.find((b: { name: string }) => b.name === 'flap-uniform');
  assert.ok(rm && rm.compensation.bridges && rm.params <= s.budget.params, 'ReplaceMe-style baseline measured in the budget');
  assert.ok(flap && flap.kept.length === 4 && flap.compensation.heads >= 1 && flap.params <= s.budget.params, 'FLAP-style uniform width of every block');
  const compensated = s.candidates.filter((c: { compensation?: unknown }) => c.compensation);
  assert.ok(compensated.some((c: { origin: string }) => c.origin === 'bridged'), 'bridged variants of the best plain subsets');
  const narrowed = compensated.filter((c: { origin: string }) => c.origin === 'narrowed');
  assert.ok(narrowed.length >= 1 && narrowed.every((c: { kept: number[] }) => c.kept.length >= 3), 'subsets over the budget (3 or 4 blocks here), narrowed to fit');
  assert.ok(narrowed.every((c: { compensation: { score?: string; description: string } }) => c.compensation.score === 'task' && /task-weighted/.test(c.compensation.description)), 'ranked by the default task-weighted score');
  for (const c of s.candidates) assert.ok(c.params <= s.budget.params || !c.compensation, `${c.kept} ${JSON.stringify(c.compensation)} within the budget`);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  assert.equal(rep.verify.allEqual, true);
  // model.safetensors for whole-block winners and for winners whose every kept FFN is narrowed to one width alone; the card says which.
  const checkpoint = !s.compensation || /^model\.safetensors is the same model for PyTorch/.test(s.compensation.safetensors);
  assert.equal(fs.existsSync(path.join(out, 'model.safetensors')), checkpoint);
  if (s.compensation) assert.ok(fs.readFileSync(path.join(out, 'README.md'), 'utf8').includes(s.compensation.safetensors), 'the card says what the folder holds for PyTorch');

  const bad = spawnSync(process.execPath, [cli, 'optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--budget', '0.95', '--compensate', 'some', '--out', out + '-x'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--compensate some: unknown; use one of none, bridge, width, all/);
});

// Before: --compensate was refused for a graph built from model.safetensors ("needs the folder's
// ONNX export in one file") and for an export with external data; both now go through a
// standalone float32 copy of the graph, so every candidate measures as from the inline export.
test('optimize --compensate all from safetensors alone, and from an export with external data, measures every candidate as from the export', () => {
  const dir = tempDir('ps-comp-');
  const ext = path.join(dir, 'ext-roberta');
  fs.cpSync(fixture('tiny-roberta'), ext, { recursive: true, filter: (f) => path.basename(f) !== 'model.safetensors' });
  externalize(fixture('tiny-roberta', 'onnx', 'model.onnx'), path.join(ext, 'onnx'));
  const runs: [string, string[]][] = [
    ['export', [fixture('tiny-roberta')]],
    ['safetensors', [fixture('tiny-roberta'), '--from', 'safetensors']],
    ['external', [ext]],
  ];
  const reports = runs.map(([label, model]) => {
    const out = path.join(dir, label);
    const args = ['optimize', ...model, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.95', '--candidates', '2', '--compensate', 'all', '--no-cache', '--out', out, '-q'];
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') } });
    assert.equal(r.status, 0, `${label}: ${r.stderr}`);
    return JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  });
  const rows = (rep: { selection: { candidates: { kept: number[]; compensation?: { description: string }; params: number; validation: number; test?: number }[] } }) =>
    rep.selection.candidates.map((c) => [c.kept.join(','), c.compensation?.description ?? 'whole blocks', c.params, c.validation, c.test ?? null]);
  const [exported, built, external] = reports;
  assert.ok(rows(exported).filter((r) => r[1] !== 'whole blocks').length >= 3, 'bridged and narrowed candidates measured');
  assert.deepEqual(rows(built), rows(exported), 'from safetensors: the same candidates, parameters and accuracies');
  assert.deepEqual(rows(external), rows(exported), 'from external data: the same');
  assert.deepEqual([built.model.graphFrom, external.model.graphFrom], ['safetensors', 'onnx']);
  for (const rep of reports) {
    assert.deepEqual([rep.selection.kept, rep.selection.compensation?.description], [exported.selection.kept, exported.selection.compensation?.description]);
    assert.equal(rep.verify.allEqual, true, 'the committed folder re-measures to the claim');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

// Before: every --compensate on a T5 encoder was refused ("T5 (RMSNorm, no biases) is not
// supported"); later bridges only ("T5 blocks … are not narrowed"). Width pruning now narrows T5
// blocks too: no biases (each narrowed output projection gains its refit's), RMSNorm in front of
// each sub-layer, the position bias made in block 0 cut to each block's kept heads.
test('optimize --compensate all on a T5 encoder measures bridged and narrowed candidates and the flap-uniform baseline, from the export and from safetensors alike, and commits encoder_model.onnx', () => {
  const dir = tempDir('ps-comp-t5-');
  const reports = [[], ['--from', 'safetensors']].map((from, i) => {
    const out = path.join(dir, `out-${i}`);
    const args = ['optimize', fixture('tiny-t5-encoder'), ...from, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.95', '--candidates', '2', '--compensate', 'all', '--no-cache', '--out', out];
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') } });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /is left out/);
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
    assert.equal(rep.verify.allEqual, true);
    const flap = rep.selection.baselines.find((b: { name: string }) => b.name === 'flap-uniform');
    assert.ok(flap && /of 2 heads and \d+ of 64 FFN neurons per block \(refitted\)/.test(flap.compensation.description), JSON.stringify(flap));
    if (rep.selection.compensation) {
      assert.deepEqual(fs.readdirSync(path.join(out, 'onnx')), ['encoder_model.onnx'], 'the name T5 folders use');
      const info = openModel(out);
      assert.equal(info.architecture, openModel(fixture('tiny-t5-encoder')).architecture);
      assert.equal(info.params.total, rep.selection.params, 'the committed graph has the parameters the search counted');
      info.model.close();
    }
    return rep;
  });
  const rows = (rep: { selection: { candidates: { kept: number[]; compensation?: { description: string }; params: number; validation: number }[] } }) =>
    rep.selection.candidates.map((c) => [c.kept.join(','), c.compensation?.description ?? 'whole blocks', c.params, c.validation]);
  const bridged = rows(reports[0]).filter((r) => /^least-squares bridges? into blocks? [\d, ]+$/.test(String(r[1])));
  assert.ok(bridged.length >= 1, 'bridged candidates measured');
  for (const r of bridged) assert.equal(r[2], Number(rows(reports[0]).find((p) => p[0] === r[0] && p[1] === 'whole blocks')?.[2] ?? r[2]) + (32 * 32 + 32), `${r[0]}: a bridge adds d² + d parameters`);
  assert.ok(rows(reports[0]).some((r) => /FFN neurons per block \(refitted/.test(String(r[1]))), 'narrowed candidates measured');
  assert.deepEqual(rows(reports[1]), rows(reports[0]), 'from safetensors: the same candidates and accuracies');
  fs.rmSync(dir, { recursive: true, force: true });
});

// Before: a T5 folder with a quantized variant (as transformers.js' Hub folders have) whose winner was
// compensated failed at commit, "ONNX file not found: …/onnx/model.onnx": the int8 variants were
// written for model.onnx, which a T5 folder does not have. Nothing was left on disk.
test('a compensated T5 winner from a folder with a quantized variant commits encoder_model_quantized.onnx, and verify re-measures the int8 classifiers', () => {
  const dir = tempDir('ps-comp-t5q8-');
  const model = path.join(dir, 't5');
  fs.cpSync(fixture('tiny-t5-encoder'), model, { recursive: true });
  writeQuantized(path.join(model, 'onnx', 'encoder_model.onnx'), path.join(model, 'onnx', 'encoder_model_quantized.onnx'));
  const out = path.join(dir, 'out');
  const args = ['optimize', model, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.97', '--candidates', '2', '--compensate', 'width', '--select', 'heuristic', '--baselines', 'flap-uniform', '--no-cache', '-q', '--out', out];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  assert.match(rep.selection.compensation.description, /of 64 FFN neurons per block \(refitted\)/, 'the flap-uniform build won');
  assert.deepEqual(fs.readdirSync(path.join(out, 'onnx')).sort(), ['encoder_model.onnx', 'encoder_model_quantized.onnx']);
  assert.ok(fs.existsSync(path.join(out, 'classifiers', 'sentlen', 'onnx', 'model_quantized.onnx')));
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).probescale.quantized.file, 'onnx/encoder_model_quantized.onnx');
  assert.equal(rep.verify.allEqual, true);
  assert.ok(rep.verify.quantized?.perTask.sentlen, 'the int8 classifier re-measured');
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /The encoder also has `onnx\/encoder_model_quantized\.onnx` and each classifier folder `onnx\/model_quantized\.onnx`/);
  const q8 = openModel(out, { dtype: 'q8' });
  assert.deepEqual([path.basename(q8.onnxFile), q8.quantized, q8.numLayers], ['encoder_model_quantized.onnx', true, 4]);
  q8.model.close();
  // eval of the committed T5 folder scores its classifiers (model.onnx, model_quantized.onnx), as
  // committed; before, it looked for classifiers/…/onnx/encoder_model.onnx and refused the folder.
  const evalArgs = ['eval', out, '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--no-cache', '--out'];
  for (const [dtype, claimed] of [[[], rep.verify.perTask.sentlen.claimed.accuracy], [['--dtype', 'q8'], rep.verify.quantized.perTask.sentlen.measured.accuracy]] as const) {
    const e = spawnSync(process.execPath, [cli, ...evalArgs, path.join(dir, `eval${dtype.length}.json`), ...dtype], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(e.status, 0, e.stderr);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, `eval${dtype.length}.json`), 'utf8')).tasks.sentlen.final.accuracy, claimed, dtype.join(' ') || 'float');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

// Before: a compensated winner never had model.safetensors. One whose kept FFNs are all narrowed to
// one width (heads kept) is a plain model with a smaller intermediate_size: the commit writes it.
test('optimize: a winner narrowed in its FFNs alone commits model.safetensors that loads as the committed encoder, and the card says so', async () => {
  const dir = tempDir('ps-comp-ffn-');
  const out = path.join(dir, 'out');
  const args = ['optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.97', '--candidates', '2', '--compensate', 'width', '--select', 'heuristic', '--baselines', 'flap-uniform', '--no-cache', '-q', '--out', out];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  const width = rep.selection.compensation.ffnWidth;
  assert.match(rep.selection.compensation.description, new RegExp(`^2 of 2 heads and ${width} of 64 FFN neurons per block \\(refitted\\)$`), 'the flap-uniform build won, its heads all kept');
  assert.match(rep.selection.compensation.safetensors, new RegExp(`^model\\.safetensors is the same model for PyTorch: config\\.json's intermediate_size is ${width} \\(was 64\\)`));
  assert.ok(fs.readFileSync(path.join(out, 'README.md'), 'utf8').includes(rep.selection.compensation.safetensors));
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).intermediate_size, width);
  const fromWeights = openModel(out, { from: 'safetensors' });
  try {
    const refs = JSON.parse(fs.readFileSync(fixture('refs', 'tiny-roberta.refs.json'), 'utf8'));
    const d = maxAbsDiff(await lastHiddenOn(path.join(out, 'onnx', 'model.onnx'), refs), await lastHiddenOn(fromWeights.onnxFile, refs));
    assert.ok(d < 1e-4, `${d}`);
  } finally {
    fromWeights.model.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('optimize --embedding-rank: factorised candidates fit more blocks under the budget, a factorised winner is committed, verified from disk and runs in transformers.js; bad ranks are refused before any work', async () => {
  const out = path.join(tempDir('ps-comp-'), 'model');
  // tiny-roberta: an 8192 × 32 word table dwarfs its 4 blocks; at 92 % only one block fits beside it whole.
  const base = ['optimize', fixture('tiny-roberta'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.92', '--candidates', '2', '--no-cache', '-q'];
  const r = spawnSync(process.execPath, [cli, ...base, '--compensate', 'bridge', '--embedding-rank', '4', '--out', out], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  const s = rep.selection;
  const fac = s.candidates.filter((c: { origin: string }) => c.origin === 'factorised');
  assert.ok(fac.length >= 1, 'factorised candidates measured');
  for (const c of fac) {
    assert.equal(c.compensation.embeddingRank, 4);
    assert.match(c.compensation.description, /word embeddings factorised to rank 4 of 32/);
    assert.ok(c.params <= s.budget.params, `${c.kept} within the budget`);
  }
  const plainMax = Math.max(...s.candidates.filter((c: { compensation?: unknown }) => !c.compensation).map((c: { kept: number[] }) => c.kept.length));
  assert.ok(Math.max(...fac.map((c: { kept: number[] }) => c.kept.length)) > plainMax, 'the factorisation frees parameters for more blocks');
  const dtf = s.baselines.find((b: { name: string }) => b.name === 'drop-top-factorised');
  assert.ok(dtf && dtf.compensation.embeddingRank === 4 && dtf.kept.join() === '0,1,2,3' && dtf.params <= s.budget.params, 'the longest prefix that fits with the same factorised table is a baseline');
  assert.equal(rep.verify.allEqual, true);
  if (s.compensation?.embeddingRank) {
    const info = openModel(out);
    assert.equal(info.hiddenSize, 32);
    assert.equal(info.params.total, s.params, 'the committed graph has the parameters the search counted');
    info.model.close();
    const acc = await pipelineAccuracyOnSentlen(path.join(out, 'classifiers', 'sentlen'), { limitTrain: 150, limitTest: 60 });
    assert.ok(Math.abs(acc - rep.verify.perTask.sentlen.measured.accuracy) < 1e-9, `transformers.js ${acc} vs verify ${rep.verify.perTask.sentlen.measured.accuracy}`);
  } else assert.fail(`expected the factorised pick here (4 blocks vs 1); got ${s.kept} ${JSON.stringify(s.compensation)}`);
  // Several ranks (auto = hidden / 16, / 8, / 4 = 2, 4, 8 here): factorised candidates and a prefix baseline at each.
  const outAuto = out + '-auto';
  const ra = spawnSync(process.execPath, [cli, ...base, '--compensate', 'bridge', '--embedding-rank', 'auto', '--out', outAuto], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(ra.status, 0, ra.stderr);
  const repAuto = JSON.parse(fs.readFileSync(path.join(outAuto, 'probescale-report.json'), 'utf8'));
  const ranks = new Set(repAuto.selection.candidates.filter((c: { origin: string }) => c.origin === 'factorised').map((c: { compensation: { embeddingRank: number } }) => c.compensation.embeddingRank));
  assert.deepEqual([...ranks].sort(), [2, 4, 8], 'factorised candidates at every rank auto tries');
  assert.deepEqual(repAuto.selection.baselines.filter((b: { name: string }) => b.name.startsWith('drop-top-factorised')).map((b: { name: string; compensation: { embeddingRank: number } }) => `${b.name}:${b.compensation.embeddingRank}`), ['drop-top-factorised-r2:2', 'drop-top-factorised-r4:4', 'drop-top-factorised-r8:8']);
  assert.match(repAuto.command, /--embedding-rank auto/);
  assert.equal(repAuto.verify.allEqual, true);
  for (const [rank, extra, why] of [
    ['8', [], /--embedding-rank 8: .*set --compensate to all/],
    ['32', ['--compensate', 'all'], /--embedding-rank 32: give a whole number from 1 to 31 \(the hidden size is 32\)/],
    ['4,0', ['--compensate', 'all'], /--embedding-rank 4,0: give a whole number ≥ 1, a comma-separated list of them \(e.g. 16,32,64\), or auto/],
  ] as const) {
    const bad = spawnSync(process.execPath, [cli, ...base, ...extra, '--embedding-rank', rank, '--out', out + '-x'], { encoding: 'utf8' });
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, why);
    assert.equal(fs.existsSync(out + '-x'), false);
  }
});

test('optimize --embedding-rank below the whole-table floor: only factorised candidates, a pick within the budget counted from the written graph, and the plain baselines said not to fit', () => {
  const out = path.join(tempDir('ps-comp-'), 'model');
  // tiny-bert: the block-less model with its 4096 × 32 word table is 79.8 % of the parameters; at rank 4 it is 12.2 %.
  const base = ['optimize', fixture('tiny-bert'), '--task', `sentlen=${path.join(tasksDir, 'sentlen')}`, '--limit-train', '150', '--limit-test', '60', '--c', '1', '--budget', '0.2', '--candidates', '2', '--compensate', 'all', '--embedding-rank', '4', '--no-cache', '-q'];
  const r = spawnSync(process.execPath, [cli, ...base, '--out', out], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'probescale-report.json'), 'utf8'));
  const s = rep.selection;
  assert.equal(s.compensation?.embeddingRank, 4, 'only a factorised model fits');
  const info = openModel(out);
  assert.equal(info.params.total, s.params, 'the committed graph has the parameters the search counted');
  assert.ok(info.params.total <= s.budget.params, `${info.params.total} within the budget ${s.budget.params}`);
  info.model.close();
  assert.equal(rep.verify.allEqual, true);
  for (const c of s.candidates) assert.ok(c.compensation?.embeddingRank === 4 && c.params <= s.budget.params, `${c.kept} ${JSON.stringify(c.compensation)}: factorised, within the budget`);
  const empty = s.candidates.find((c: { kept: number[] }) => c.kept.length === 0);
  assert.ok(empty && empty.origin === 'embeddings-only' && empty.params === 20736, 'the factorised embeddings-only model (the floor) is a candidate');
  assert.ok(s.candidates.some((c: { kept: number[] }) => c.kept.length >= 2), 'subsets with blocks fit beside the factorised table');
  assert.match(s.embeddingOnly.message, /factorised to rank 4 /);
  assert.equal(s.budgetAdvice.perTask.sentlen.band.n[0], 20736, 'the budget advice starts at the smallest model measured, not at the whole-table floor');
  assert.deepEqual(s.baselines.map((b: { name: string }) => b.name), ['drop-top-factorised']);
  assert.deepEqual(s.unfitBaselines.map((u: { name: string }) => u.name), ['drop-top', 'drop-bottom', 'alternate', 'symmetric', 'dalvi-prefix', 'shortgpt', 'gromov', 'random', 'replaceme-bridge', 'flap-uniform']);
  assert.equal(s.rule.simulation.heuristics, 1, 'drop-top-factorised alone sets the bar');
  assert.match(r.stdout, /\n drop-top +does not fit the budget\n/);
  assert.match(r.stdout, /10 more baselines do not fit the budget\. .* each keeps the whole word table, with which the model without blocks already has 135,296 parameters \(79\.8 %\)/);
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /\n\| gromov \| does not fit the budget \|/);
  // No baseline that fits: the verdict says so instead of "baselines: none".
  const r2 = spawnSync(process.execPath, [cli, ...base, '--baselines', 'drop-top', '--out', out + '-2'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /! No baseline fits the budget \(drop-top: not measured\)/);
});
