/**
 * Writes the folders that scripts/ref/hf_check.py loads with Python transformers, each with what
 * ProbeScale computes for it: the token ids of its own tokenizer (single texts, pairs, truncated
 * rows) and the last_hidden_state of the graph it committed. Python transformers cannot be
 * installed on the development machines (no PyPI), so this is run here and the check on a machine
 * that has it (the lent GPU machine's image holds transformers 5.x and onnxruntime).
 *
 *   node out/scripts/hfPrep.js OUT_DIR [--roberta-mini DIR] [--keep-onnx]
 *
 * OUT_DIR/<case>/ is a folder as ProbeScale writes it (pruned, FFN-narrowed, vocabulary-trimmed)
 * plus probescale-check/{input.json,hidden.bin}; the ONNX graphs are removed unless --keep-onnx
 * (they are not needed there and would not fit the transfer).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { openModel } from '../src/core/model/modelInfo';
import { writeCompensatedFolder } from '../src/core/compensate/commit';
import { buildVariant, variantCalibration } from '../src/core/compensate/variant';
import { compensationSource } from '../src/core/compensate/source';

const repo = path.join(__dirname, '..', '..');
const fixtures = path.join(repo, 'test', 'fixtures');
const tasks = path.join(repo, 'data', 'tasks');
const cli = path.join(repo, 'out', 'src', 'cli', 'main.js');
const MAX_LENGTH = 48;

function run(args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args, '-q'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`probescale ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

const prune = (src: string, layers: string, from = 'safetensors') => (out: string) => run(['prune', src, '--layers', layers, '--out', out, '--from', from]);

/** Every kept FFN narrowed to `width` and refitted: the one compensation a config.json can express. */
const narrowFfn = (src: string, kept: number[], width: number, from?: 'safetensors') => async (out: string) => {
  const info = openModel(src, from ? { from } : {});
  const source = compensationSource(info);
  const tok = await loadTokenizer(src, { maxLength: 128 });
  const task = await loadTask('sentlen', path.join(tasks, 'sentlen'), { limitTrain: 120, limitTest: 10 });
  const spec = { bridges: false, ffnWidth: width };
  try {
    const v = await buildVariant(source.info, variantCalibration(tok, [task], { batchSize: 16 }), kept, spec, { batchSize: 16 }, {});
    try {
      fs.mkdirSync(out);
      await writeCompensatedFolder(info, v, spec, out, {}, {});
    } finally {
      v.dispose();
    }
  } finally {
    source.dispose();
    info.model.close();
  }
};

const optimize = (src: string, extra: string[]) => (out: string) =>
  run(['optimize', src, '--task', `sentlen=${path.join(tasks, 'sentlen')}`, '--limit-train', '300', '--limit-test', '100', '--baselines', 'none', '--out', out, ...extra]);

/** A folder holding only a sentencepiece model (and a config naming the type): a tokenizer check alone. */
const spmOnly = (model: string, type: string) => (out: string) => {
  fs.mkdirSync(out);
  fs.copyFileSync(model, path.join(out, path.basename(model)));
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify({ model_type: type }) + '\n');
};

/** tiny-mpnet as sentence-transformers saves a model (Transformer, mean Pooling, Normalize), then `layers` of it pruned. */
const sentenceTransformers = (layers: string) => (out: string) => {
  const src = `${out}-source`;
  fs.cpSync(path.join(fixtures, 'tiny-mpnet'), src, { recursive: true });
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ];
  fs.writeFileSync(path.join(src, 'modules.json'), JSON.stringify(modules, null, 2));
  fs.writeFileSync(path.join(src, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: MAX_LENGTH, do_lower_case: false }));
  fs.mkdirSync(path.join(src, '1_Pooling'));
  const modes = ['cls_token', 'mean_tokens', 'max_tokens', 'mean_sqrt_len_tokens', 'weightedmean_tokens', 'lasttoken'];
  fs.writeFileSync(path.join(src, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 32, ...Object.fromEntries(modes.map((m) => [`pooling_mode_${m}`, m === 'mean_tokens'])), include_prompt: true }));
  fs.mkdirSync(path.join(src, '2_Normalize'));
  try {
    prune(src, layers)(out);
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
};

function cases(robertaMini: string | undefined): Record<string, (out: string) => void | Promise<void>> {
  const f = (n: string) => path.join(fixtures, n);
  const c: Record<string, (out: string) => void | Promise<void>> = {};
  for (const [name, subsets] of Object.entries({ 'tiny-bert': ['0,1,2,3', '1,3'], 'tiny-roberta': ['0,1,2,3', '0,2'], 'tiny-distilbert': ['0,1,2,3', '2,3'], 'tiny-mpnet': ['0,1,2,3', '1,2'], 'tiny-t5-encoder': ['0,1,2,3', '1,3'], 'tiny-t5-gated': ['0,1,2', '1,2'], 'tiny-umt5': ['0,1,2', '0,2'], 'tiny-modernbert': ['0,1,2,3', '0,1,2', '0,3', '1,2,3'] })) {
    for (const s of subsets) c[`${name}_${s.replace(/,/g, '')}`] = prune(f(name), s);
  }
  // DeBERTa: from its export and from the graph built from its weights; model.safetensors keeps the kept layers.
  for (const s of ['0,1,2,3', '1,3']) c[`tiny-deberta-v3_${s.replace(/,/g, '')}`] = prune(f('tiny-deberta-v3'), s, 'onnx');
  c['tiny-deberta-v3_built_023'] = prune(f('tiny-deberta-v3'), '0,2,3');
  c['tiny-deberta-v3_ffn24'] = narrowFfn(f('tiny-deberta-v3'), [1, 3], 24, 'safetensors');
  c['spm-deberta-v2'] = spmOnly(f('spm/deberta-v3/spm.model'), 'deberta-v2');
  for (const name of ['tiny-bert', 'tiny-roberta', 'tiny-distilbert', 'tiny-mpnet']) c[`${name}_ffn24`] = narrowFfn(f(name), [0, 2], 24);
  c['tiny-roberta_vocab-trim'] = optimize(f('tiny-roberta'), ['--budget', '0.8', '--vocab-trim', '--from', 'safetensors']);
  c['st-tiny-mpnet_12'] = sentenceTransformers('1,2');
  c['spm-t5'] = spmOnly(f('spm/t5/spiece.model'), 't5');
  c['spm-xlm-roberta'] = spmOnly(f('spm/xlm-roberta/sentencepiece.bpe.model'), 'xlm-roberta');
  if (robertaMini) {
    c['roberta-mini_0123'] = prune(robertaMini, '0,1,2,3');
    c['roberta-mini_vocab-trim'] = optimize(robertaMini, ['--budget', '0.35', '--vocab-trim', '--from', 'safetensors']);
  }
  return c;
}

/** Test rows of two tasks: long ones (cut at MAX_LENGTH), short ones, and pairs. */
async function texts(): Promise<{ singles: string[]; pairs: [string, string][] }> {
  const spam = await loadTask('spam', path.join(tasks, 'spam'), { limitTrain: 400, limitTest: 6 });
  const sentlen = await loadTask('sentlen', path.join(tasks, 'sentlen'), { limitTrain: 400, limitTest: 6 });
  const rows = [...spam.test, ...sentlen.test].map((r) => r.text);
  const extra = ['Ünïcödé café — naïve façade, 3.14 × 10⁹ “quotes”.', '  spaces   and\ttabs\nnewline  ', 'URL https://example.com/a?b=c&d=e #tag @user'];
  return { singles: [...rows, ...extra], pairs: [[rows[0], rows[6]], [extra[0], rows[7]], [rows[1], rows[2]]] };
}

async function lastHidden(dir: string, batch: { ids: number[][]; typeIds: number[][] }, padId: number) {
  const graph = ['model.onnx', 'encoder_model.onnx'].map((g) => path.join(dir, 'onnx', g)).find((g) => fs.existsSync(g));
  if (!graph) return null;
  const s = Math.max(...batch.ids.map((r) => r.length));
  const pad = (rows: number[][], v: number) => rows.flatMap((r) => [...r, ...new Array<number>(s - r.length).fill(v)]);
  const t = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [batch.ids.length, s]);
  const mask = batch.ids.map((r) => r.map(() => 1));
  const session = await ort.InferenceSession.create(graph);
  const feeds: Record<string, ort.Tensor> = { input_ids: t(pad(batch.ids, padId)), attention_mask: t(pad(mask, 0)) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = t(pad(batch.typeIds, 0));
  const out = (await session.run(feeds)).last_hidden_state;
  await session.release();
  return { data: out.data as Float32Array, shape: out.dims as number[], input_ids: pad(batch.ids, padId), attention_mask: pad(mask, 0), token_type_ids: pad(batch.typeIds, 0) };
}

async function record(dir: string, input: { singles: string[]; pairs: [string, string][] }): Promise<void> {
  const tok = await loadTokenizer(dir, { maxLength: MAX_LENGTH });
  const singles = input.singles.map((t) => tok.encodeWithTypes(t));
  const pairs = input.pairs.map(([a, b]) => tok.encodeWithTypes(a, b));
  const check = path.join(dir, 'probescale-check');
  fs.mkdirSync(check);
  const hidden = await lastHidden(dir, { ids: singles.map((e) => e.ids), typeIds: singles.map((e) => e.typeIds) }, tok.padId);
  if (hidden) fs.writeFileSync(path.join(check, 'hidden.bin'), Buffer.from(hidden.data.buffer, hidden.data.byteOffset, hidden.data.byteLength));
  const { data: _data, ...batch } = hidden ?? { data: null };
  const json = { maxLength: MAX_LENGTH, texts: input.singles, pairs: input.pairs, ids: singles.map((e) => e.ids), pairIds: pairs.map((e) => e.ids), pairTypeIds: pairs.map((e) => e.typeIds), ...batch };
  fs.writeFileSync(path.join(check, 'input.json'), JSON.stringify(json) + '\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'roberta-mini': { type: 'string' }, 'keep-onnx': { type: 'boolean' } } });
  const outDir = path.resolve(positionals[0] ?? '');
  if (!positionals[0] || fs.existsSync(outDir)) throw new Error(`usage: hfPrep.js OUT_DIR (a folder that does not exist yet) [--roberta-mini DIR] [--keep-onnx]; got ${positionals[0] ?? 'nothing'}`);
  fs.mkdirSync(outDir, { recursive: true });
  const input = await texts();
  // A vocabulary-trimmed folder maps tokens its training texts did not use to kept ones in its ONNX
  // graphs only (model.safetensors keeps the whole table, as its card says): it is checked on training rows.
  const train = (await loadTask('sentlen', path.join(tasks, 'sentlen'), { limitTrain: 300, limitTest: 1 })).train.slice(0, 12).map((r) => r.text);
  const trainInput = { singles: train, pairs: [[train[0], train[1]], [train[2], train[3]]] as [string, string][] };
  for (const [name, make] of Object.entries(cases(values['roberta-mini']))) {
    const dir = path.join(outDir, name);
    await make(dir);
    await record(dir, name.endsWith('vocab-trim') ? trainInput : input);
    if (!values['keep-onnx']) for (const sub of ['onnx', 'classifiers']) fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    console.log(`${name}: ${fs.readdirSync(dir).join(' ')}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
