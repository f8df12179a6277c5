import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, CancelledError, UnsupportedModelError } from '../../../../src/core/errors';
import {
  blockIndexOf,
  prunedConfig,
  readSafetensorsHeader,
  renameForKept,
  SafetensorsHeader,
  writePrunedSafetensors,
} from '../../../../src/core/model/safetensors';
import { fixture, tinyModels, tempDir } from '../../../helpers';
import { RawEntry, tensorBytes, writeSafetensors } from '../../../safetensorsFiles';

const tmp = tempDir('probescale-st-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const subsets = [[0, 2], [1, 3], [3], [0, 1, 2, 3], []];

for (const model of tinyModels) {
  test(`${model}: pruned safetensors hold exactly the renumbered kept blocks, byte for byte`, async () => {
    const src = fixture(model, 'model.safetensors');
    const source = tensorBytes(src);
    const blockOf = (name: string) => /(?:encoder\.layer|transformer\.layer|encoder\.block)\.(\d+)\./.exec(name);
    const inBlock = (b: number) => [...source.bytes.keys()].filter((n) => blockOf(n)?.[1] === String(b)).length;
    const outside = [...source.bytes.keys()].filter((n) => !blockOf(n)).length;
    assert.ok(inBlock(1) > 5 && outside >= 2);
    for (const kept of subsets) {
      const dst = path.join(tmp, `${model}-${kept.join('_') || 'none'}.safetensors`);
      const res = await writePrunedSafetensors(src, dst, kept);
      const out = tensorBytes(dst);
      assert.equal(res.bytes, fs.statSync(dst).size);
      assert.equal(res.tensors, out.bytes.size);
      assert.equal((8 + out.headerLen) % 8, 0, 'data buffer starts 8-byte aligned');
      assert.deepEqual(out.header.__metadata__, source.header.__metadata__);

      // Expected content, built by renumbering by hand rather than with renameForKept.
      const want = new Map<string, string>();
      for (const name of source.bytes.keys()) {
        const m = blockOf(name);
        if (!m) want.set(name, name);
        else if (kept.includes(Number(m[1]))) {
          const i = kept.indexOf(Number(m[1]));
          want.set(name.slice(0, m.index) + m[0].replace(/\d+/, String(i)) + name.slice(m.index + m[0].length), name);
        }
      }
      const t5Bias = 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight';
      if (model === 'tiny-t5-encoder' && kept.length > 0 && kept[0] !== 0) want.set(t5Bias, t5Bias);
      assert.deepEqual([...out.bytes.keys()].sort(), [...want.keys()].sort(), `kept ${kept}`);
      const copiedBias = model === 'tiny-t5-encoder' && kept.length > 0 && kept[0] !== 0 ? 1 : 0;
      assert.equal(want.size, outside + kept.reduce((a, b) => a + inBlock(b), 0) + copiedBias);

      let expectOffset = 0;
      const entries = Object.entries<RawEntry>(out.header)
        .filter(([n]) => n !== '__metadata__')
        .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
      for (const [name, t] of entries) {
        const from = want.get(name)!;
        assert.ok(out.bytes.get(name)!.equals(source.bytes.get(from)!), `${name} ← ${from}`);
        assert.equal(t.dtype, source.header[from].dtype);
        assert.deepEqual(t.shape, source.header[from].shape);
        assert.equal(t.data_offsets[0], expectOffset, 'contiguous data');
        expectOffset = t.data_offsets[1];
      }
      assert.equal(8 + out.headerLen + expectOffset, fs.statSync(dst).size);

      const parsed: SafetensorsHeader = readSafetensorsHeader(dst);
      assert.equal(parsed.tensors.length, want.size);
      assert.equal(parsed.dataOffset, 8 + out.headerLen);
    }
  });

  test(`${model}: prunedConfig sets the layer count the model type uses`, () => {
    const config = JSON.parse(fs.readFileSync(fixture(model, 'config.json'), 'utf8'));
    const before = structuredClone(config);
    const pruned = prunedConfig(config, [1, 3]);
    assert.deepEqual(config, before, 'input untouched');
    const keys: Record<string, string> = { 'tiny-bert': 'num_hidden_layers', 'tiny-roberta': 'num_hidden_layers', 'tiny-distilbert': 'n_layers', 'tiny-t5-encoder': 'num_layers', 'tiny-mpnet': 'num_hidden_layers' };
    const key = keys[model];
    assert.ok(key, `no expected layer key for ${model}`);
    assert.equal(pruned[key], 2);
    const changed = Object.keys(pruned).filter((k) => JSON.stringify(pruned[k]) !== JSON.stringify(config[k]));
    assert.deepEqual(changed, [key]);
  });
}

test('T5: dropping block 0 copies its relative_attention_bias into the new block 0', async () => {
  const src = fixture('tiny-t5-encoder', 'model.safetensors');
  const source = tensorBytes(src);
  const bias = (b: number) => `encoder.block.${b}.layer.0.SelfAttention.relative_attention_bias.weight`;
  assert.ok(source.bytes.has(bias(0)) && !source.bytes.has(bias(1)), 'fixture: only block 0 has the bias');
  for (const kept of [[1, 3], [2], [3]]) {
    const dst = path.join(tmp, `t5-bias-${kept.join('_')}.safetensors`);
    await writePrunedSafetensors(src, dst, kept);
    const out = tensorBytes(dst);
    assert.ok(out.bytes.get(bias(0))!.equals(source.bytes.get(bias(0))!), 'bias is block 0’s');
    assert.deepEqual(out.header[bias(0)].shape, source.header[bias(0)].shape);
    const q = (b: number) => `encoder.block.${b}.layer.0.SelfAttention.q.weight`;
    assert.ok(out.bytes.get(q(0))!.equals(source.bytes.get(q(kept[0]))!), 'the rest of new block 0 is the first kept block');
    assert.ok(!out.bytes.has(bias(1)));
    assert.equal([...out.bytes.keys()].filter((n) => n.includes('relative_attention_bias')).length, 1);
  }
});

test('T5 config: num_decoder_layers stays as it was', () => {
  const config = JSON.parse(fs.readFileSync(fixture('tiny-t5-encoder', 'config.json'), 'utf8'));
  assert.equal(prunedConfig(config, [3]).num_decoder_layers, 4);
  delete config.num_decoder_layers;
  const pruned = prunedConfig(config, [3]);
  assert.equal(pruned.num_layers, 1);
  assert.equal(pruned.num_decoder_layers, 4, 'pinned: T5Config would otherwise default it to num_layers');
  assert.equal(prunedConfig({ model_type: 'xlm-roberta', num_hidden_layers: 12 }, [0, 5]).num_hidden_layers, 2);
  assert.equal(prunedConfig({ model_type: 'electra', num_hidden_layers: 12 }, []).num_hidden_layers, 0);
  assert.throws(() => prunedConfig({ model_type: 'mystery' }, [0]), UnsupportedModelError);
});

test('blockIndexOf and renameForKept follow Hugging Face naming', () => {
  const cases: [string, number | null][] = [
    ['encoder.layer.3.attention.self.query.weight', 3],
    ['roberta.encoder.layer.11.output.dense.bias', 11],
    ['bert.encoder.layer.0.intermediate.dense.weight', 0],
    ['electra.encoder.layer.7.output.LayerNorm.weight', 7],
    ['distilbert.transformer.layer.2.ffn.lin1.weight', 2],
    ['transformer.layer.5.sa_layer_norm.bias', 5],
    ['encoder.block.3.layer.1.DenseReluDense.wi.weight', 3],
    ['model.layers.17.mlp.up_proj.weight', 17],
    ['embeddings.word_embeddings.weight', null],
    ['roberta.embeddings.LayerNorm.weight', null],
    ['encoder.final_layer_norm.weight', null],
    ['decoder.block.0.layer.0.SelfAttention.q.weight', null],
    ['lm_head.dense.weight', null],
    ['pooler.dense.weight', null],
    ['shared.weight', null],
  ];
  for (const [name, idx] of cases) assert.equal(blockIndexOf(name), idx, name);
  assert.equal(renameForKept('roberta.encoder.layer.5.output.dense.bias', [2, 5]), 'roberta.encoder.layer.1.output.dense.bias');
  assert.equal(renameForKept('encoder.block.3.layer.1.DenseReluDense.wi.weight', [3]), 'encoder.block.0.layer.1.DenseReluDense.wi.weight');
  assert.equal(renameForKept('encoder.layer.10.attention.self.key.bias', [1, 10]), 'encoder.layer.1.attention.self.key.bias');
  assert.equal(renameForKept('encoder.layer.1.attention.self.key.bias', [0, 10]), null);
  assert.equal(renameForKept('lm_head.bias', [0]), 'lm_head.bias');
});

test('prefixed names, heads, F16 and an unaligned source header', async () => {
  const src = path.join(tmp, 'prefixed.safetensors');
  const t = (n: number, fill: number) => Buffer.alloc(n, fill);
  writeSafetensors(
    src,
    [
      ['lm_head.bias', 'F16', [3], t(6, 1)],
      ['roberta.embeddings.word_embeddings.weight', 'F16', [2, 3], t(12, 2)],
      ['roberta.encoder.layer.0.attention.self.query.weight', 'F16', [3], t(6, 3)],
      ['roberta.encoder.layer.1.attention.self.query.weight', 'F16', [3], t(6, 4)],
      ['roberta.encoder.layer.2.attention.self.query.weight', 'F16', [3], t(6, 5)],
      ['roberta.encoder.layer.10.attention.self.query.weight', 'F16', [1], t(2, 6)],
    ],
    { format: 'pt', note: 'kept' },
  );
  const dst = path.join(tmp, 'prefixed-pruned.safetensors');
  await writePrunedSafetensors(src, dst, [1, 10]);
  const out = tensorBytes(dst);
  assert.deepEqual(out.header.__metadata__, { format: 'pt', note: 'kept' });
  assert.deepEqual([...out.bytes.keys()].sort(), [
    'lm_head.bias',
    'roberta.embeddings.word_embeddings.weight',
    'roberta.encoder.layer.0.attention.self.query.weight',
    'roberta.encoder.layer.1.attention.self.query.weight',
  ]);
  assert.ok(out.bytes.get('roberta.encoder.layer.0.attention.self.query.weight')!.equals(t(6, 4)));
  assert.ok(out.bytes.get('roberta.encoder.layer.1.attention.self.query.weight')!.equals(t(2, 6)));
  assert.ok(out.bytes.get('lm_head.bias')!.equals(t(6, 1)));
});

test('bad kept lists and corrupt files fail with BadInputError, writing nothing', async () => {
  const src = fixture('tiny-bert', 'model.safetensors');
  const dst = path.join(tmp, 'never.safetensors');
  await assert.rejects(writePrunedSafetensors(src, dst, [4]), BadInputError);
  await assert.rejects(writePrunedSafetensors(src, dst, [2, 1]), BadInputError);
  await assert.rejects(writePrunedSafetensors(src, dst, [1, 1]), BadInputError);
  assert.ok(!fs.existsSync(dst));

  const bad = path.join(tmp, 'bad.safetensors');
  fs.writeFileSync(bad, Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]));
  assert.throws(() => readSafetensorsHeader(bad), BadInputError);
  fs.writeFileSync(bad, Buffer.from([1, 0, 0, 0]));
  assert.throws(() => readSafetensorsHeader(bad), BadInputError);
  writeSafetensors(bad, [['x', 'F32', [4], Buffer.alloc(16)]]);
  fs.truncateSync(bad, fs.statSync(bad).size - 4);
  assert.throws(() => readSafetensorsHeader(bad), /'x'/);
  writeSafetensors(bad, [['x', 'F32', [5], Buffer.alloc(16)]]);
  assert.throws(() => readSafetensorsHeader(bad), /does not match its shape/);
});

test('dtypes: every one the format defines is read at its width (sub-byte included); any other is refused by name', () => {
  const f = path.join(tmp, 'dtypes.safetensors');
  for (const [dtype, shape, bytes] of [['F4', [6], 3], ['F6_E2M3', [4], 3], ['F8_E8M0', [3], 3], ['C64', [2], 16], ['F8_E4M3FNUZ', [5], 5]] as const) {
    writeSafetensors(f, [['x', dtype, [...shape], Buffer.alloc(bytes)]]);
    assert.deepEqual(readSafetensorsHeader(f).tensors[0].dtype, dtype);
  }
  writeSafetensors(f, [['x', 'F4', [5], Buffer.alloc(3)]]);
  assert.throws(() => readSafetensorsHeader(f), /'x' \(F4 \[5\]\) spans 3 bytes, which does not match its shape/);
  // Before, a dtype no reader knows was taken at its word and its bytes copied into pruned folders.
  for (const dtype of ['Q4', 'f32', 'constructor', '']) {
    writeSafetensors(f, [['x', dtype, [4], Buffer.alloc(16)]]);
    assert.throws(
      () => readSafetensorsHeader(f),
      (e: Error) => e instanceof BadInputError && e.message.includes(`has dtype ${JSON.stringify(dtype)}, which the safetensors format does not define`) && /save the weights again/.test(e.message),
    );
  }
});

test('cancellation stops the copy and leaves no file behind', async () => {
  const src = fixture('tiny-roberta', 'model.safetensors');
  const dst = path.join(tmp, 'cancelled.safetensors');
  const before = fs.readdirSync(tmp).length;
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(writePrunedSafetensors(src, dst, [0, 1], { signal: ac.signal }), CancelledError);
  let checks = 0;
  const lateSignal = { get aborted() { return ++checks > 5; } } as AbortSignal;
  await assert.rejects(writePrunedSafetensors(src, dst, [0, 1], { signal: lateSignal }), CancelledError);
  assert.ok(checks > 5, 'aborted mid-copy');
  assert.ok(!fs.existsSync(dst));
  assert.equal(fs.readdirSync(tmp).length, before, 'no partial file left');
});

test('a header that declares an absurd length is refused before anything is allocated', () => {
  const dir = tempDir('ps-st-absurd-');
  const file = path.join(dir, 'model.safetensors');
  for (const len of [2n ** 63n, 2n ** 40n, 100_000_001n]) {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(len);
    fs.writeFileSync(file, b);
    assert.throws(() => readSafetensorsHeader(file), (e: Error) => e instanceof BadInputError && /header length \d+ exceeds the file \(16 bytes\)/.test(e.message), String(len));
  }
});
