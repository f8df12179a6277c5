/**
 * Shared by the graph-rewrite diagnostics (timeFusions, timeLean): fixed encoder inputs, sessions
 * checked against the first graph's output, and alternating timed runs with parked threads.
 */
import * as ort from 'onnxruntime-node';
import { readFloat32 } from '../src/core/compensate/structure';
import { DataType, NewInitializer, NodeRef, OnnxInitializer, OnnxModel } from '../src/core/onnx/model';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Token ids (a first token of 0), and masks: all attended, or odd rows padded after half their length. */
export function encoderInputs(batch: number, length: number) {
  const ids = BigInt64Array.from({ length: batch * length }, (_, i) => BigInt(i % length === 0 ? 0 : 5 + ((i * 7919) % 5000)));
  const padded = BigInt64Array.from({ length: batch * length }, (_, i) => (Math.floor(i / length) % 2 === 1 && i % length >= length / 2 ? 0n : 1n));
  const full = new BigInt64Array(batch * length).fill(1n);
  const feeds = (s: ort.InferenceSession, mask: BigInt64Array) => Object.fromEntries(s.inputNames.map((n) => [n, new ort.Tensor('int64', n.includes('mask') ? mask : n.includes('type') ? new BigInt64Array(batch * length) : ids, [batch, length])]));
  return { padded, full, feeds };
}

export interface Timed {
  label: string;
  session: ort.InferenceSession;
}

/**
 * Opens each variant as verify does (CPU, 2 threads or THREADS from the environment, parked after each run) and labels it with its
 * largest difference from the first variant's output on `mask`, over the elements `counted` keeps.
 */
export async function checkedSessions(variants: { label: string; file: string }[], inputs: ReturnType<typeof encoderInputs>, counted: (j: number) => boolean = () => true): Promise<Timed[]> {
  const so: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: Number(process.env.THREADS ?? 2), interOpNumThreads: 1, graphOptimizationLevel: 'all', enableMemPattern: false, logSeverityLevel: 3, extra: { session: { force_spinning_stop: '1' } } };
  const out: Timed[] = [];
  let reference: Float32Array | null = null;
  for (const v of variants) {
    const session = await ort.InferenceSession.create(v.file, so);
    const y = (await session.run(inputs.feeds(session, inputs.padded)))[session.outputNames[0]].data as Float32Array;
    let diff = 0;
    if (reference) for (let j = 0; j < y.length; j++) if (counted(j)) diff = Math.max(diff, Math.abs(y[j] - reference[j]));
    reference ??= y;
    out.push({ label: `${v.label}${reference === y ? '' : `, max |diff| ${diff.toExponential(1)}`}`, session });
  }
  return out;
}

/** Runs every session in turn `runs` + 3 times (3 warm-up rounds) and prints each one's median. */
export async function timeAlternately(title: string, sessions: Timed[], inputs: ReturnType<typeof encoderInputs>, runs: number): Promise<void> {
  const times = sessions.map(() => [] as number[]);
  for (let r = 0; r < runs + 3; r++) {
    for (const [j, { session }] of sessions.entries()) {
      const x = inputs.feeds(session, inputs.full);
      const t0 = performance.now();
      await session.run(x);
      if (r >= 3) times[j].push(performance.now() - t0);
    }
  }
  console.log(`${title}, median of ${runs} alternating runs (ms):`);
  for (const [j, s] of sessions.entries()) console.log(`${median(times[j]).toFixed(2).padStart(8)}  ${s.label}`);
}

/** Q, K and V weights [d, w_k] and biases side by side: one [d, Σw] weight and one [Σw] bias. */
export function concatQkv(m: OnnxModel, lin: { w: OnnxInitializer; bias: OnnxInitializer }[], prefix: string): { widths: number[]; inits: NewInitializer[] } {
  const d = lin[0].w.dims[0];
  const widths = lin.map((l) => l.w.dims[1]);
  const total = widths.reduce((a, b) => a + b, 0);
  const w = new Float32Array(d * total);
  const bias = new Float32Array(total);
  let col = 0;
  for (const [k, l] of lin.entries()) {
    const wk = readFloat32(m, l.w);
    for (let i = 0; i < d; i++) w.set(wk.subarray(i * widths[k], (i + 1) * widths[k]), i * total + col);
    bias.set(readFloat32(m, l.bias), col);
    col += widths[k];
  }
  return { widths, inits: [{ name: `${prefix}_w`, dataType: DataType.FLOAT, dims: [d, total], data: Buffer.from(w.buffer) }, { name: `${prefix}_b`, dataType: DataType.FLOAT, dims: [total], data: Buffer.from(bias.buffer) }] };
}

/** Keeps only the nodes the graph outputs depend on (in any node order: compensated graphs list bridges last). */
export function live(nodes: NodeRef[], outputs: string[]): NodeRef[] {
  const need = new Set(outputs);
  const keep = new Set<NodeRef>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const n of nodes) {
      if (keep.has(n) || !n.outputs.some((o) => need.has(o))) continue;
      keep.add(n);
      for (const t of n.inputs) need.add(t);
      grew = true;
    }
  }
  return nodes.filter((n) => keep.has(n));
}
