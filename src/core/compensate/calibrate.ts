/**
 * Calibration passes: training texts (never test) tokenised once, split into fit and held-out
 * batches by a seeded shuffle, and run through one or more edited graphs at a time so that
 * the activations of the same tokens can be paired (pruned input, unpruned target).
 */
import * as ort from 'onnxruntime-node';
import { JobContext } from '../jobs';
import { throwIfAborted } from '../errors';
import { EncodedBatch, InputText, TextTokenizer, encodeInput } from '../data/tokenize';
import { GraphEdit, OnnxModel } from '../onnx/model';
import { chunksToBuffer } from '../onnx/wire';
import { openSession } from '../runtime/session';
import { Provider } from '../settings';
import { Rng } from '../util/rng';

export interface CalibrationSet {
  batches: EncodedBatch[];
  /** Per batch: true when it is held out (λ choice), false when it is fitted on. */
  held: boolean[];
  /** Non-padding token rows (b·S + s) of each batch. */
  tokens: Int32Array[];
  /** Per batch: the index in `texts` of each of its rows. */
  textOf: Int32Array[];
  texts: number;
  /** Per text (when known): its task and its label id in that task (task-weighted width scores). */
  labels?: { task: Int32Array; label: Int32Array };
}

export interface CalibrationOptions {
  /** Share of texts held out to choose λ (default 0.2). */
  heldFraction?: number;
  batchSize?: number;
  seed?: number;
  provider?: Provider;
  threads?: number;
}

/** Tokenises `texts` (training texts only) into length-bucketed batches, a seeded fifth held out. */
export function calibrationSet(tokenizer: TextTokenizer, texts: readonly InputText[], opts: CalibrationOptions = {}, labels?: CalibrationSet['labels']): CalibrationSet {
  const rng = new Rng(opts.seed ?? 0);
  const order = rng.shuffle(texts.map((_, i) => i));
  const nHeld = Math.max(1, Math.round(texts.length * (opts.heldFraction ?? 0.2)));
  const bs = opts.batchSize ?? 32;
  const set: CalibrationSet = { batches: [], held: [], tokens: [], textOf: [], texts: texts.length, labels };
  const groups: [number[], boolean][] = [
    [order.slice(nHeld), false],
    [order.slice(0, nHeld), true],
  ];
  for (const [idx, held] of groups) {
    const enc = idx.map((i) => ({ i, ...encodeInput(tokenizer, texts[i]) })).sort((a, b) => a.ids.length - b.ids.length);
    for (let s = 0; s < enc.length; s += bs) {
      const part = enc.slice(s, s + bs);
      const b = tokenizer.batch(
        part.map((e) => e.ids),
        part.map((e) => e.typeIds),
      );
      set.batches.push(b);
      set.held.push(held);
      set.textOf.push(Int32Array.from(part, (e) => e.i));
      const rows: number[] = [];
      b.attentionMask.forEach((m, r) => m !== 0n && rows.push(r));
      set.tokens.push(Int32Array.from(rows));
    }
  }
  return set;
}

/** An edited graph opened for calibration, reading the tensors named in `outputs`. */
export interface CalibrationGraph {
  session: ort.InferenceSession;
  outputs: string[];
  /** A segment graph: the inner tensor `name` is fed, per batch, from `states` (flat [B·S·hidden]). */
  cut?: { name: string; states: Float32Array[] };
}

export async function openCalibrationGraph(model: OnnxModel, edit: GraphEdit, outputs: string[], opts: CalibrationOptions = {}, cut?: CalibrationGraph['cut']): Promise<CalibrationGraph> {
  if ([...model.initializers.values()].some((t) => t.external)) {
    // optimize compensates such a model through its standalone copy (compensate/source.ts); a caller that did not is ProbeScale's bug.
    throw new Error(`${model.src.label} keeps its weights as external data; calibrate its standalone copy (compensationSource) instead.`);
  }
  const { session } = await openSession(chunksToBuffer(model.serialize(edit)), { provider: opts.provider ?? 'cpu', threads: opts.threads });
  return { session, outputs, cut };
}

/** Per batch: each graph's requested tensors (flat [B·S·width]), the batch's token rows, whether it is held out, the batch and its index. */
export type BatchVisitor = (outs: Float32Array[][], tokens: Int32Array, held: boolean, batch: EncodedBatch, index: number) => void | Promise<void>;

/** ONNX Runtime failed to run a calibration graph; `feeds` are the batch's token inputs, to try the model's own graph on. */
export class CalibrationRunFailure extends Error {
  constructor(
    readonly cause: unknown,
    readonly feeds: Record<string, ort.Tensor>,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export async function forEachBatch(graphs: CalibrationGraph[], set: CalibrationSet, visit: BatchVisitor, ctx: JobContext = {}): Promise<void> {
  for (let i = 0; i < set.batches.length; i++) {
    throwIfAborted(ctx.signal);
    const b = set.batches[i];
    const shape = [b.batchSize, b.seqLen];
    const outs: Float32Array[][] = [];
    for (const g of graphs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of g.session.inputNames) {
        if (name === g.cut?.name) {
          const st = g.cut.states[i];
          feeds[name] = new ort.Tensor('float32', st, [...shape, st.length / (b.batchSize * b.seqLen)]);
          continue;
        }
        const data = name === 'attention_mask' ? b.attentionMask : name === 'token_type_ids' ? b.tokenTypeIds : b.inputIds;
        feeds[name] = new ort.Tensor('int64', data, shape);
      }
      let r: ort.InferenceSession.ReturnType;
      try {
        r = await g.session.run(feeds, g.outputs);
      } catch (e) {
        throw new CalibrationRunFailure(e, feeds);
      }
      outs.push(g.outputs.map((o) => r[o].data as Float32Array));
    }
    await visit(outs, set.tokens[i], set.held[i], b, i);
  }
}

export async function releaseAll(graphs: CalibrationGraph[]): Promise<void> {
  for (const g of graphs) await g.session.release();
}
