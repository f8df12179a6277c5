/** Prints an ONNX graph's nodes (name, op, inputs → outputs); a debugging aid. Usage: node out/scripts/dumpOnnx.js FILE [filter] */
import { OnnxModel } from '../src/core/onnx/model';

const m = OnnxModel.open(process.argv[2]);
const filter = process.argv[3] ?? '';
console.log(`ir ${m.irVersion} opsets ${JSON.stringify(m.opsets)} nodes ${m.nodes.length} inits ${m.initializers.size}`);
console.log('inputs', m.inputs.map((i) => `${i.name}:${i.elemType}${JSON.stringify(i.shape)}`).join(' '));
console.log('outputs', m.outputs.map((i) => `${i.name}:${i.elemType}${JSON.stringify(i.shape)}`).join(' '));
for (const n of m.nodes) if (n.name.includes(filter)) console.log(`${n.name} [${n.opType}${n.domain ? '@' + n.domain : ''}] ${n.inputs.join(',')} -> ${n.outputs.join(',')}`);
