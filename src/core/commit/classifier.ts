/**
 * Per-task classifiers a user can run without ProbeScale: the pruned encoder, in-graph pooling,
 * the probe's standardisation and linear head → `logits`, in a folder that transformers.js
 * `pipeline('text-classification', dir)` loads (config.json with id2label, tokenizer, onnx/model.onnx).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { probeEdit } from '../onnx/edit';
import type { Preprocessing } from './committed';
import { copyTokenizerFiles } from './files';
import { readUtf8 } from '../util/textFile';
import { preparationOf } from '../data/tokenize';
import { DataType, NewInitializer, NewNode, floatInitializer } from '../onnx/model';
import { ModelInfo } from '../model/modelInfo';
import { prunedConfig } from '../model/safetensors';
import { TrainedProbe } from '../probe/probe';
import { writeWithOwnData } from '../prune/surgery';
import { writeConfigJson } from '../model/configJson';

const CLASSIFIER_ARCH: Record<string, string> = {
  bert: 'BertForSequenceClassification',
  roberta: 'RobertaForSequenceClassification',
  'xlm-roberta': 'XLMRobertaForSequenceClassification',
  camembert: 'CamembertForSequenceClassification',
  mpnet: 'MPNetForSequenceClassification',
  electra: 'ElectraForSequenceClassification',
  distilbert: 'DistilBertForSequenceClassification',
  modernbert: 'ModernBertForSequenceClassification',
  'deberta-v2': 'DebertaV2ForSequenceClassification',
};

/**
 * transformers.js picks the class behind `pipeline('text-classification')` by config.model_type
 * and (4.3) has no sequence-classification class for T5 or NomicBERT. Its BERT class feeds the
 * graph the inputs the graph declares (input_ids, attention_mask, token_type_ids) and returns
 * `logits` unchanged, so such a classifier declares model_type 'bert' and keeps its real type in
 * `probescale.sourceModelType`. Only classifier folders do this; the pruned encoder's own
 * config.json keeps its type.
 */
export const PIPELINE_STAND_IN: Record<string, string> = { t5: 'bert', mt5: 'bert', umt5: 'bert', nomic_bert: 'bert' };

/** Node-name prefix of the probe head in a classifier graph. */
export const HEAD_PREFIX = 'probescale/head/';

/** A logit far below any real one; float32-safe where the probe marks a class as never seen (−1e300). */
const FLOOR = -1e30;

export interface ClassifierTask {
  name: string;
  labels: string[];
  probe: TrainedProbe;
}

/** The head as dense K×H weights and K biases (a binary probe becomes logits [0, z]). */
export function denseHead(p: TrainedProbe): { W: Float64Array; b: Float64Array; K: number; H: number } {
  const { model } = p;
  const H = model.dim;
  const K = model.numClasses;
  if (K === 2) {
    const W = new Float64Array(2 * H);
    W.set(model.weights.subarray(0, H), H);
    return { W, b: Float64Array.from([0, model.bias[0]]), K, H };
  }
  return { W: Float64Array.from(model.weights), b: Float64Array.from(model.bias, (v) => Math.max(v, FLOOR)), K, H };
}

export function classifierHead(p: TrainedProbe, prefix: string): (pooled: string) => { nodes: NewNode[]; initializers: NewInitializer[]; outputs: { name: string; elemType: number; shape: (number | string)[] }[] } {
  return (pooled) => {
    const { W, b, K, H } = denseHead(p);
    const Wt = new Array<number>(H * K);
    for (let k = 0; k < K; k++) for (let h = 0; h < H; h++) Wt[h * K + k] = W[k * H + h];
    const initializers = [
      floatInitializer(`${prefix}mean`, Array.from(p.standardizer.mean), [H]),
      floatInitializer(`${prefix}scale`, Array.from(p.standardizer.scale), [H]),
      floatInitializer(`${prefix}W`, Wt, [H, K]),
      floatInitializer(`${prefix}b`, Array.from(b), [K]),
    ];
    const nodes: NewNode[] = [
      { name: `${prefix}center`, opType: 'Sub', inputs: [pooled, `${prefix}mean`], outputs: [`${prefix}centered`] },
      { name: `${prefix}standardize`, opType: 'Div', inputs: [`${prefix}centered`, `${prefix}scale`], outputs: [`${prefix}z`] },
      { name: `${prefix}linear`, opType: 'MatMul', inputs: [`${prefix}z`, `${prefix}W`], outputs: [`${prefix}zw`] },
      { name: `${prefix}bias`, opType: 'Add', inputs: [`${prefix}zw`, `${prefix}b`], outputs: ['logits'] },
    ];
    return { nodes, initializers, outputs: [{ name: 'logits', elemType: DataType.FLOAT, shape: ['batch_size', K] }] };
  };
}

/** Writes classifiers/<task>/ for every task into `dir`; each pools and cuts its inputs as `pre` says. */
export function writeClassifiers(info: ModelInfo, kept: number[], dir: string, tasks: ClassifierTask[], pre: Preprocessing): string[] {
  const { pooling } = pre;
  const written: string[] = [];
  for (const t of tasks) {
    const cdir = path.join(dir, 'classifiers', t.name);
    fs.mkdirSync(path.join(cdir, 'onnx'), { recursive: true });
    const { edit } = probeEdit(info.model, info.blocks, { poolings: [pooling], kept, head: classifierHead(t.probe, HEAD_PREFIX) });
    writeWithOwnData(info.model, edit, path.join(cdir, 'onnx', 'model.onnx'));
    const config = prunedConfig(info.config, kept, info.blocks.headOutputs.length > 0);
    const standIn = PIPELINE_STAND_IN[info.architecture];
    if (standIn) config.model_type = standIn;
    const type = standIn ?? info.architecture;
    config.architectures = [CLASSIFIER_ARCH[type] ?? `${type}ForSequenceClassification`];
    config.id2label = Object.fromEntries(t.labels.map((l, i) => [String(i), l]));
    config.label2id = Object.fromEntries(t.labels.map((l, i) => [l, i]));
    config.problem_type = 'single_label_classification';
    config.probescale = {
      task: t.name,
      keptBlocks: kept,
      pooling,
      maxLength: pre.maxLength,
      ...preparationOf(pre),
      head: 'standardise → linear (logistic-regression probe)',
      c: t.probe.c,
      ...(standIn ? { sourceModelType: info.architecture, note: `model_type '${standIn}' so that transformers.js text-classification runs this ${info.architecture} graph (it has no ${info.architecture} classification class)` } : {}),
    };
    writeConfigJson(cdir, config, info.dir);
    copyTokenizerFiles(info.dir, cdir);
    cutAt(cdir, pre.maxLength);
    written.push(`classifiers/${t.name}`);
  }
  return written;
}

/**
 * Makes transformers.js cut a classifier's inputs where its probe was trained: its tokenizer
 * truncates at tokenizer_config.json's `model_max_length` (the source's may be 512 where the
 * probe saw 128 tokens). transformers.js drops the end of a long text, closing special token
 * included, where ProbeScale and Python keep that token: the card says so.
 */
function cutAt(cdir: string, maxLength: number): void {
  const file = path.join(cdir, 'tokenizer_config.json');
  let config: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    // The tokenizer loaded from this file before the commit, so it parses.
    const read: unknown = JSON.parse(readUtf8(file));
    if (typeof read === 'object' && read !== null && !Array.isArray(read)) config = read as Record<string, unknown>;
  }
  config.model_max_length = maxLength;
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
}
