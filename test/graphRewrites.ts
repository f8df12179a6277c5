/**
 * Rewrites of an exported graph that keep what it computes but not how it is written, as another
 * exporter or a graph tool (onnx-simplifier, onnxruntime's offline optimizer, a hand edit) writes
 * it: no node names, opaque tensor names, the operands of Add and Mul swapped, Identity nodes on
 * the weights (how shared parameters export) or after every node, and another topological order.
 * ProbeScale must not depend on any of these. `task-head` is the graph a fine-tuned classifier
 * exports with its head (optimum-cli export onnx --task text-classification): the same encoder,
 * its last hidden state renamed as an inner tensor, then pooler and classifier to `logits`;
 * `masked-lm-head` a fill-mask export's head, whose decoder reads the word-embedding table (tied).
 * `hidden-states-first` an export with output_hidden_states and output_attentions: every layer's
 * state (hidden_states.0 the embeddings … hidden_states.L) and every block's attention
 * probabilities (attentions.0 …), listed before last_hidden_state. `pooled-first` a graph that
 * returns a pooled sentence_embedding (the first token's state) before its per-token state, named
 * token_embeddings as sentence-transformers names it.
 */
import { DataType, NodeRef, OnnxModel, encodeValueInfo, floatInitializer, int64Initializer } from '../src/core/onnx/model';
import { MessageWriter, chunksToBuffer, parseFields } from '../src/core/onnx/wire';
import * as fs from 'node:fs';
import { findWordEmbedding, wordEmbeddingWidth } from '../src/core/onnx/vocab';
import { findBlocks } from '../src/core/onnx/blocks';

export const REWRITES = ['no-node-names', 'opaque-tensor-names', 'operands-swapped', 'weight-identities', 'identities-everywhere', 'another-order', 'task-head', 'masked-lm-head', 'hidden-states-first', 'pooled-first'] as const;
export type Rewrite = (typeof REWRITES)[number];

/** Writes `model` to `file` with `kind` applied to every node it applies to. */
export function writeRewritten(model: OnnxModel, kind: Rewrite, file: string): void {
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const copy = (n: (typeof model.nodes)[number], change: Partial<Pick<NodeRef, 'name' | 'inputs' | 'outputs'>>): NodeRef => ({ copyOf: n, name: n.name, opType: n.opType, inputs: n.inputs, outputs: n.outputs, ...change });
  const renamed = new Map<string, string>();
  const r = (t: string) => renamed.get(t) ?? t;
  const nodes: NodeRef[] = [];
  switch (kind) {
    case 'no-node-names':
      nodes.push(...model.nodes.map((n) => copy(n, { name: '' })));
      break;
    case 'opaque-tensor-names':
      model.nodes.flatMap((n) => n.outputs).forEach((o, k) => o && !graphOutputs.has(o) && renamed.set(o, `t${k}`));
      nodes.push(...model.nodes.map((n) => copy(n, { inputs: n.inputs.map(r), outputs: n.outputs.map(r) })));
      break;
    case 'operands-swapped':
      nodes.push(...model.nodes.map((n) => ((n.opType === 'Add' || n.opType === 'Mul') && n.inputs.length === 2 ? copy(n, { inputs: [n.inputs[1], n.inputs[0]] }) : n)));
      break;
    case 'weight-identities':
      for (const n of model.nodes) {
        const w = n.inputs.find((t) => model.initializers.get(t)?.dims.length === 2);
        if (!w || n.opType === 'Gather') {
          nodes.push(n);
          continue;
        }
        nodes.push({ name: `${n.name}/weight`, opType: 'Identity', inputs: [w], outputs: [`${w}/shared-${nodes.length}`] });
        nodes.push(copy(n, { inputs: n.inputs.map((t) => (t === w ? `${w}/shared-${nodes.length - 1}` : t)) }));
      }
      break;
    case 'identities-everywhere':
      for (const n of model.nodes) {
        nodes.push(copy(n, { inputs: n.inputs.map(r) }));
        for (const o of n.outputs) {
          if (!o || graphOutputs.has(o) || n.opType === 'Constant') continue;
          renamed.set(o, `${o}/identity`);
          nodes.push({ name: `${n.name}/identity`, opType: 'Identity', inputs: [o], outputs: [`${o}/identity`] });
        }
      }
      break;
    case 'task-head':
    case 'masked-lm-head':
      return writeWithTaskHead(model, file, kind === 'masked-lm-head');
    case 'pooled-first': {
      // As sentence-transformers' ONNX export names them: token_embeddings, and the pooled sentence_embedding (listed first here).
      const last = model.outputs[0];
      const tokens = 'token_embeddings';
      model.write(file, {
        nodes: [
          ...model.nodes.map((n): NodeRef => (n.outputs.includes(last.name) ? copy(n, { outputs: n.outputs.map((o) => (o === last.name ? tokens : o)) }) : n)),
          { name: '/pooler/Gather', opType: 'Gather', inputs: [tokens, 'pooler/first'], outputs: ['sentence_embedding'], attributes: { axis: 1 } },
        ],
        renameInputs: (_n, t) => (t === last.name ? tokens : t),
        keepValueInfo: (name) => name !== last.name,
        newInitializers: [int64Initializer('pooler/first', [0], [])],
        outputs: [{ name: 'sentence_embedding', elemType: DataType.FLOAT, shape: ['batch_size', wordEmbeddingWidth(model, findWordEmbedding(model))] }, { name: tokens, elemType: last.elemType ?? DataType.FLOAT, shape: ['batch_size', 'sequence_length', wordEmbeddingWidth(model, findWordEmbedding(model))] }],
      });
      return;
    }
    case 'hidden-states-first': {
      const b = findBlocks(model);
      const states = [b.hiddenIn[0], ...b.hiddenOut];
      const attentions = b.hiddenOut.map((_, j) => model.nodes.find((n, i) => b.blockOf[i] === j && n.opType === 'Softmax')!.outputs[0]);
      const width = wordEmbeddingWidth(model, findWordEmbedding(model));
      const copies = (tensors: string[], name: string) => tensors.map((t, i): NodeRef => ({ name: `/${name}/${i}`, opType: 'Identity', inputs: [t], outputs: [`${name}.${i}`] }));
      model.write(file, {
        nodes: [...model.nodes, ...copies(states, 'hidden_states'), ...copies(attentions, 'attentions')],
        outputs: [
          ...states.map((_, i) => ({ name: `hidden_states.${i}`, elemType: DataType.FLOAT, shape: ['batch_size', 'sequence_length', width] })),
          ...attentions.map((_, i) => ({ name: `attentions.${i}`, elemType: DataType.FLOAT, shape: ['batch_size', 'heads', 'sequence_length', 'sequence_length'] })),
          ...model.outputs,
        ],
      });
      return;
    }
    case 'another-order': {
      // Of the nodes whose inputs are ready, always the last one in the file's order.
      const ready = new Set(['', ...model.initializers.keys(), ...model.inputs.map((v) => v.name)]);
      const left = [...model.nodes];
      while (left.length) {
        let i = left.length - 1;
        while (i >= 0 && !left[i].inputs.every((t) => ready.has(t))) i--;
        if (i < 0) throw new Error('the graph has a cycle');
        const [n] = left.splice(i, 1);
        nodes.push(n);
        n.outputs.forEach((o) => ready.add(o));
      }
      break;
    }
  }
  // Shapes recorded for intermediate tensors name the old tensors; a tool that renames drops them.
  model.write(file, { nodes, keepValueInfo: (name) => !renamed.has(name) });
}

/** Labels of the classifier head `task-head` adds. */
export const HEAD_LABELS = 3;

/**
 * `model` (an encoder export) as a sequence classifier's export (CLS → pooler Dense + Tanh →
 * classifier Dense → logits), or with `maskedLm` a fill-mask export's (every token → Dense + Tanh →
 * the transposed word-embedding table + bias → logits over the vocabulary).
 */
function writeWithTaskHead(model: OnnxModel, file: string, maskedLm: boolean): void {
  const last = model.outputs[0].name;
  const inner = '/encoder/layer.last/output/LayerNorm/Add_1_output_0';
  const word = findWordEmbedding(model);
  const hidden = wordEmbeddingWidth(model, word);
  const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(1.3 * i + seed) * 0.2);
  const labels = maskedLm ? word.vocab : HEAD_LABELS;
  const op = (name: string, opType: string, inputs: string[], output = `${name}_output_0`, attributes?: Record<string, number | number[]>): NodeRef => ({ name, opType, inputs, outputs: [output], attributes });
  const head: NodeRef[] = maskedLm
    ? [
        op('/lm_head/dense/MatMul', 'MatMul', [inner, 'head/dense_weight']),
        op('/lm_head/dense/Add', 'Add', ['head/dense_bias', '/lm_head/dense/MatMul_output_0']),
        op('/lm_head/Tanh', 'Tanh', ['/lm_head/dense/Add_output_0']),
        op('/lm_head/decoder/Transpose', 'Transpose', [word.weight.name], undefined, { perm: [1, 0] }),
        op('/lm_head/decoder/MatMul', 'MatMul', ['/lm_head/Tanh_output_0', '/lm_head/decoder/Transpose_output_0']),
        op('/lm_head/decoder/Add', 'Add', ['head/out_bias', '/lm_head/decoder/MatMul_output_0'], 'logits'),
      ]
    : [
        op('/pooler/Gather', 'Gather', [inner, 'head/cls_index'], undefined, { axis: 1 }),
        op('/pooler/dense/MatMul', 'MatMul', ['/pooler/Gather_output_0', 'head/dense_weight']),
        op('/pooler/dense/Add', 'Add', ['head/dense_bias', '/pooler/dense/MatMul_output_0']),
        op('/pooler/activation/Tanh', 'Tanh', ['/pooler/dense/Add_output_0']),
        op('/classifier/MatMul', 'MatMul', ['/pooler/activation/Tanh_output_0', 'head/classifier_weight']),
        op('/classifier/Add', 'Add', ['head/out_bias', '/classifier/MatMul_output_0'], 'logits'),
      ];
  model.write(file, {
    nodes: [...model.nodes.map((n): NodeRef => (n.outputs.includes(last) ? { copyOf: n, name: n.name, opType: n.opType, inputs: n.inputs, outputs: n.outputs.map((o) => (o === last ? inner : o)) } : n)), ...head],
    renameInputs: (_n, t) => (t === last ? inner : t),
    keepValueInfo: (name) => name !== last,
    newInitializers: [
      ...(maskedLm ? [] : [int64Initializer('head/cls_index', [0], [])]),
      floatInitializer('head/dense_weight', values(hidden * hidden, 1), [hidden, hidden]),
      floatInitializer('head/dense_bias', values(hidden, 2), [hidden]),
      ...(maskedLm ? [] : [floatInitializer('head/classifier_weight', values(hidden * labels, 3), [hidden, labels])]),
      floatInitializer('head/out_bias', values(labels, 4), [labels]),
    ],
    outputs: [{ name: 'logits', elemType: DataType.FLOAT, shape: maskedLm ? ['batch_size', 'sequence_length', labels] : ['batch_size', labels] }],
  });
}

/**
 * `model` as exported without dynamic axes: every graph input takes the shape `dims` (numbers fixed,
 * strings symbolic). The editor keeps inputs as they are, so the graph's input fields are re-encoded here.
 */
export function writeFixedInputShapes(model: OnnxModel, file: string, dims: (number | string)[]): void {
  const byStart = new Map(model.inputs.map((i) => [i.field.start, i]));
  const out = new MessageWriter();
  for (const f of parseFields(model.src, 0, model.src.size)) {
    if (f.num !== MODEL_GRAPH) {
      out.raw(model.src, f);
      continue;
    }
    const graph = new MessageWriter();
    for (const g of parseFields(model.src, f.valStart, f.valEnd)) {
      const input = g.num === GRAPH_INPUT ? byStart.get(g.start) : undefined;
      if (input) graph.message(GRAPH_INPUT, encodeValueInfo({ name: input.name, elemType: input.elemType ?? DataType.INT64, shape: dims }));
      else graph.raw(model.src, g);
    }
    out.message(MODEL_GRAPH, graph);
  }
  fs.writeFileSync(file, chunksToBuffer(out.chunks));
}

/** ModelProto.graph and GraphProto.input (onnx.proto). */
const MODEL_GRAPH = 7;
const GRAPH_INPUT = 11;
