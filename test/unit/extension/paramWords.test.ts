/**
 * The same core errors in the CLI's words (flags) and the extension's (settings, form fields).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliFlag, OPTIONS } from '../../../src/cli/main';
import { writeFolderAtomically } from '../../../src/core/commit/atomicDir';
import { loadTokenizer } from '../../../src/core/data/tokenize';
import { messageIn, Param, PARAM_WORDS } from '../../../src/core/errors';
import { validateKept } from '../../../src/core/onnx/edit';
import { parseProvider } from '../../../src/core/runtime/session';
import { extensionWords } from '../../../src/extension/paramWords';
import { fixture, tasksDir, tempDir } from '../../helpers';
import { runOptimizeJob } from '../../../src/core/pipeline/optimizeJob';
import { OptimizeJob } from '../../../src/core/jobs';
import { DEFAULT_SETTINGS } from '../../../src/core/settings';
import { ranksFor } from '../../../src/core/compensate/embeddingRank';
import { parseCompensation } from '../../../src/core/compensate/mode';
import { parseUnitScore } from '../../../src/core/compensate/scores';
import { parseBaselines } from '../../../src/core/optimize/baselineNames';
import { parseGraphSource } from '../../../src/core/model/graphSource';

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}

test('a bad setting is named as a flag on the command line and as a setting in VS Code', async () => {
  const provider = caught(() => parseProvider('tpu'));
  assert.equal(messageIn(provider, cliFlag), '--provider tpu: unknown execution provider; use one of auto, cpu, webgpu, cuda.');
  assert.equal(messageIn(provider, extensionWords), 'setting probescale.provider tpu: unknown execution provider; use one of auto, cpu, webgpu, cuda.');
  const maxLength = await loadTokenizer(fixture('tiny-bert'), { maxLength: 2 }).catch((e: unknown) => e);
  assert.equal(messageIn(maxLength, cliFlag), '--max-length 2 leaves no room for text: the model adds 2 special tokens; raise it.');
  assert.equal(messageIn(maxLength, extensionWords), 'setting probescale.maxLength 2 leaves no room for text: the model adds 2 special tokens; raise it.');
});

test('a bad form value is named as a flag on the command line and as the field in VS Code', async () => {
  const layers = caught(() => validateKept([0, 9], 4));
  assert.equal(messageIn(layers, cliFlag), '--layers 0,9: block 9 does not exist; this model has blocks 0..3.');
  assert.equal(messageIn(layers, extensionWords), 'blocks to keep 0,9: block 9 does not exist; this model has blocks 0..3.');
  const dir = tempDir('ps-words-');
  const exists = await writeFolderAtomically(dir, false, async () => undefined).catch((e: unknown) => e);
  assert.equal(messageIn(exists, cliFlag), `--out ${dir}: the folder already exists; choose another path or allow replacing it (--force).`);
  assert.equal(messageIn(exists, extensionWords), `output folder ${dir}: the folder already exists; choose another path or allow replacing it (Replace when asked).`);
});

test('every parameter has a flag the CLI accepts', () => {
  for (const p of Object.keys(PARAM_WORDS) as Param[]) assert.ok(Object.hasOwn(OPTIONS, cliFlag(p).slice(2)), `${cliFlag(p)} is a CLI option`);
});

test('the optimize settings are named as settings in VS Code: embedding rank, compensation, width score, baselines', () => {
  const rank = caught(() => ranksFor([300], 256));
  assert.match(messageIn(rank, cliFlag), /^--embedding-rank 300: give a whole number from 1 to 255/);
  assert.match(messageIn(rank, extensionWords), /^setting probescale\.embeddingRank 300: give a whole number from 1 to 255/);
  assert.match(messageIn(caught(() => parseCompensation('some')), extensionWords), /^setting probescale\.compensate some: unknown/);
  assert.match(messageIn(caught(() => parseUnitScore('x')), extensionWords), /^setting probescale\.widthScore x: unknown/);
  assert.match(messageIn(caught(() => parseBaselines('drop')), extensionWords), /^setting probescale\.baselines drop: /);
});

test('a width refusal on an export whose projections are fused sends VS Code users to setting probescale.graphSource, CLI users to --from', async () => {
  const settings = { ...DEFAULT_SETTINGS, limitTrain: 20, limitTest: 10, c: 1, cacheDir: null };
  // The export asked for by name: left to auto, width pruning builds the graph from the weights instead (nomic.test.ts).
  const job: OptimizeJob = { type: 'optimize', modelDir: fixture('tiny-nomic-bert'), tasks: [{ name: 's', path: path.join(tasksDir, 'sentlen'), weight: 1 }], budget: '0.9', out: path.join(tempDir('ps-words-from-'), 'out'), targetRetention: 0.95, candidates: 2, settings: { ...settings, from: 'onnx' }, compensate: 'width' };
  const e = await runOptimizeJob(job, {}).then(() => assert.fail('width on the export succeeded'), (err: unknown) => err);
  assert.match(messageIn(e, extensionWords), /The folder has the model's weights: setting probescale\.graphSource safetensors builds the graph from them/);
  assert.match(messageIn(e, cliFlag), /The folder has the model's weights: --from safetensors builds the graph from them/);
  assert.match(messageIn(caught(() => parseGraphSource('weights')), extensionWords), /^setting probescale\.graphSource weights: use onnx or safetensors/);
});

/** tiny-roberta without its safetensors, with config.json saying 4 heads where its graph has 2. */
function headsCopy(dir: string): string {
  const copy = path.join(dir, 'heads4');
  fs.cpSync(fixture('tiny-roberta'), copy, { recursive: true, filter: (f) => path.basename(f) !== 'model.safetensors' });
  const cfg = JSON.parse(fs.readFileSync(path.join(copy, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify({ ...cfg, num_attention_heads: 4 }));
  return copy;
}

test('optimize refusals about compensation name the settings in VS Code, not the CLI flags', async () => {
  const dir = tempDir('ps-words-');
  const settings = { ...DEFAULT_SETTINGS, limitTrain: 20, limitTest: 10, c: 1, cacheDir: null };
  const refused = (extra: Partial<OptimizeJob>) =>
    runOptimizeJob({ type: 'optimize', modelDir: fixture('tiny-bert'), tasks: [{ name: 's', path: path.join(tasksDir, 'sentlen'), weight: 1 }], budget: '0.95', out: path.join(dir, 'out'), targetRetention: 0.95, candidates: 2, settings, ...extra }, {}).then(
      () => assert.fail(`optimize ${JSON.stringify(extra)} succeeded`),
      (e: unknown) => e,
    );
  try {
    const errors = [
      await refused({ embeddingRank: [4] }),
      await refused({ baselines: ['flap-uniform'] }),
      await refused({ compensate: 'all', baselines: ['drop-top-factorised'] }),
      await refused({ baselines: [], select: 'heuristic' }),
      // Width pruning where config.json's head count disagrees with the graph's head splits.
      await refused({ compensate: 'width', modelDir: headsCopy(dir) }),
    ];
    for (const e of errors) {
      const words = messageIn(e, extensionWords);
      assert.doesNotMatch(words, /--[a-z]/, `VS Code: ${words}`);
      assert.match(words, /setting probescale\.(compensate|embeddingRank|baselines)/, words);
      assert.match(messageIn(e, cliFlag), /--(compensate|embedding-rank|baselines)/);
    }
    assert.match(messageIn(errors[0], extensionWords), /^setting probescale\.embeddingRank 4: .* set setting probescale\.compensate to all/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
