/**
 * XᵀX and XᵀY of a batch of token rows computed by ONNX Runtime in float64 (Cast + MatMul,
 * multithreaded) and added into a GramAccumulator. The same sums as GramAccumulator.add, in
 * another summation order; GramAccumulator.add stays the plain reference the tests compare with.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/build';
import { DataType } from '../onnx/model';
import { openSession } from '../runtime/session';
import { Provider } from '../settings';
import { GramAccumulator } from './ridge';

const OPSET = 17;

/** A graph x [n, p], y [n, q] (float32) → G = xᵀx [p, p], C = xᵀy [p, q], Σx [p], Σy, Σy² [q] (float64). */
function gramGraph(): Uint8Array {
  const g = new GraphBuilder();
  g.inputs.push({ name: 'x', elemType: DataType.FLOAT, shape: ['n', 'p'] }, { name: 'y', elemType: DataType.FLOAT, shape: ['n', 'q'] });
  const xd = g.op('gram', 'Cast', ['x'], { to: DataType.DOUBLE });
  const yd = g.op('gram', 'Cast', ['y'], { to: DataType.DOUBLE });
  const xt = g.op('gram', 'Transpose', [xd], { perm: [1, 0] });
  const axis0 = g.ints([0]);
  g.op('gram', 'MatMul', [xt, xd], undefined, 'g');
  g.op('gram', 'MatMul', [xt, yd], undefined, 'c');
  g.op('gram', 'ReduceSum', [xd, axis0], { keepdims: 0 }, 'sx');
  g.op('gram', 'ReduceSum', [yd, axis0], { keepdims: 0 }, 'sy');
  const yy = g.op('gram', 'Mul', [yd, yd]);
  g.op('gram', 'ReduceSum', [yy, axis0], { keepdims: 0 }, 'syy');
  for (const [name, shape] of [
    ['g', ['p', 'p']],
    ['c', ['p', 'q']],
    ['sx', ['p']],
    ['sy', ['q']],
    ['syy', ['q']],
  ] as const) {
    g.outputs.push({ name, elemType: DataType.DOUBLE, shape: [...shape] });
  }
  return g.serialize(OPSET, 'gram');
}

export class GramSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async open(opts: { provider?: Provider; threads?: number } = {}): Promise<GramSession> {
    // Float64 sums: always on the CPU, whatever provider runs the encoder.
    const { session } = await openSession(gramGraph(), { provider: 'cpu', threads: opts.threads });
    return new GramSession(session);
  }

  /** Adds the n dense rows of x (n×p) and y (n×q) to `acc`, like acc.add(x, y, 0..n−1). */
  async add(acc: GramAccumulator, x: Float32Array, y: Float32Array, n: number): Promise<void> {
    const { p, q } = acc;
    if (n === 0) return;
    if (x.length !== n * p || y.length !== n * q) throw new Error(`gram: expected ${n}×${p} and ${n}×${q} rows, got ${x.length} and ${y.length} values.`);
    const r = await this.session.run({ x: new ort.Tensor('float32', x, [n, p]), y: new ort.Tensor('float32', y, [n, q]) });
    const [g, c, sx, sy, syy] = ['g', 'c', 'sx', 'sy', 'syy'].map((k) => r[k].data as Float64Array);
    const p1 = p + 1;
    for (let i = 0; i < p; i++) {
      for (let j = i; j < p; j++) acc.g[i * p1 + j] += g[i * p + j];
      acc.g[i * p1 + p] += sx[i];
      for (let k = 0; k < q; k++) acc.c[i * q + k] += c[i * q + k];
    }
    acc.g[p * p1 + p] += n;
    for (let k = 0; k < q; k++) {
      acc.c[p * q + k] += sy[k];
      acc.ySum[k] += sy[k];
      acc.ySq[k] += syy[k];
    }
    acc.rows += n;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
