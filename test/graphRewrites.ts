/**
 * Rewrites of an exported graph that keep what it computes but not how it is written, as another
 * exporter or a graph tool (onnx-simplifier, onnxruntime's offline optimizer, a hand edit) writes
 * it: no node names, opaque tensor names, the operands of Add and Mul swapped, Identity nodes on
 * the weights (how shared parameters export) or after every node, and another topological order.
 * ProbeScale must not depend on any of these.
 */
import { NodeRef, OnnxModel } from '../src/core/onnx/model';

export const REWRITES = ['no-node-names', 'opaque-tensor-names', 'operands-swapped', 'weight-identities', 'identities-everywhere', 'another-order'] as const;
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
