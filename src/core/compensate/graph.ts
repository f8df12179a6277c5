/**
 * Graph surgery for compensated models: kept blocks rewired with a bridge (MatMul + Add) in
 * front of the blocks that follow a gap, and FFN layers narrowed to their kept neurons with a
 * refitted down projection. Inputs and outputs stay those of the source graph unless the caller
 * asks for inner tensors (calibration).
 */
import { BadInputError } from '../errors';
import { BLOCKS_METADATA, BlockStructure, recordBlocks } from '../onnx/blocks';
import { finishEdit, rewire, validateKept } from '../onnx/edit';
import { DataType, GraphEdit, NewInitializer, NewNode, NewValueInfo, OnnxModel, OnnxValueInfo, floatInitializer } from '../onnx/model';
import { FfnSite, findFfn, readFloat32 } from './structure';

/** y = x·w + b over the hidden size d: w is d×d row-major (input-major). */
export interface Bridge {
  w: Float32Array;
  b: Float32Array;
}

/** An FFN kept at `kept` neurons (sorted) with a refitted down projection (kept.length × d) and bias. */
export interface FfnWidth {
  kept: number[];
  down: Float32Array;
  downBias: Float32Array;
}

export interface CompensationPlan {
  kept: number[];
  /** Bridge read by kept block k (source numbering), fitted over the gap in front of it. */
  bridges: Map<number, Bridge>;
  /** Narrowed FFN of kept block k. */
  ffn: Map<number, FfnWidth>;
}

export function emptyPlan(kept: number[]): CompensationPlan {
  return { kept, bridges: new Map(), ffn: new Map() };
}

/** Parameters a plan adds (bridges) or removes (FFN neurons) relative to plain block dropping. */
export function planParamDelta(plan: CompensationPlan, hidden: number, ffWidth: (k: number) => number): number {
  let d = plan.bridges.size * (hidden * hidden + hidden);
  for (const [k, f] of plan.ffn) d -= (ffWidth(k) - f.kept.length) * (2 * hidden + 1);
  return d;
}

function bridgeNodes(k: number, prev: string, br: Bridge, hidden: number): { nodes: NewNode[]; inits: NewInitializer[]; out: string } {
  if (br.w.length !== hidden * hidden || br.b.length !== hidden) throw new BadInputError(`bridge into block ${k}: expected a ${hidden}×${hidden} map and ${hidden} biases.`);
  const P = `probescale/bridge.${k}`;
  const inits = [
    { name: `${P}/weight`, dataType: DataType.FLOAT, dims: [hidden, hidden], data: Buffer.from(br.w.buffer, br.w.byteOffset, br.w.byteLength) },
    { name: `${P}/bias`, dataType: DataType.FLOAT, dims: [hidden], data: Buffer.from(br.b.buffer, br.b.byteOffset, br.b.byteLength) },
  ];
  const nodes: NewNode[] = [
    { name: `${P}/MatMul`, opType: 'MatMul', inputs: [prev, `${P}/weight`], outputs: [`${P}/MatMul_output_0`] },
    { name: `${P}/Add`, opType: 'Add', inputs: [`${P}/MatMul_output_0`, `${P}/bias`], outputs: [`${P}/output`] },
  ];
  return { nodes, inits, out: `${P}/output` };
}

/** Columns `cols` of a rows×cols row-major matrix. */
function takeColumns(a: Float32Array, rows: number, cols: number, keep: number[]): Float32Array {
  const out = new Float32Array(rows * keep.length);
  for (let r = 0; r < rows; r++) keep.forEach((c, j) => (out[r * keep.length + j] = a[r * cols + c]));
  return out;
}

function f32Init(name: string, a: Float32Array, dims: number[]): NewInitializer {
  return { name, dataType: DataType.FLOAT, dims, data: Buffer.from(a.buffer, a.byteOffset, a.byteLength) };
}

/** New initializers replacing a narrowed FFN's weights (same names, new shapes). */
function ffnInits(model: OnnxModel, site: FfnSite, f: FfnWidth, hidden: number): NewInitializer[] {
  const up = readFloat32(model, site.upWeight);
  const upBias = readFloat32(model, site.upBias);
  const m = f.kept.length;
  if (f.down.length !== m * hidden || f.downBias.length !== hidden) throw new BadInputError(`FFN width plan: down projection must be ${m}×${hidden}.`);
  return [
    f32Init(site.upWeight.name, takeColumns(up, hidden, site.width, f.kept), [hidden, m]),
    floatInitializer(site.upBias.name, f.kept.map((j) => upBias[j]), [m]),
    f32Init(site.downWeight.name, f.down, [m, hidden]),
    f32Init(site.downBias.name, f.downBias, [hidden]),
  ];
}

/**
 * The edit that realises `plan`. `outputs` defaults to the source graph's outputs; calibration
 * passes inner tensors (e.g. the tensor entering a gap) to read them.
 */
export function compensatedEdit(model: OnnxModel, blocks: BlockStructure, plan: CompensationPlan, hidden: number, outputs?: string[]): GraphEdit {
  const kept = validateKept(plan.kept, blocks.numBlocks);
  const extra: NewNode[] = [];
  const inits: NewInitializer[] = [];
  const readsBridge = new Map<number, string>();
  const rw = rewire(model, blocks, kept, (k, prev) => {
    const br = plan.bridges.get(k);
    if (!br) return prev;
    const b = bridgeNodes(k, prev, br, hidden);
    extra.push(...b.nodes);
    inits.push(...b.inits);
    readsBridge.set(k, b.out);
    return b.out;
  });
  const replaced = new Set<string>();
  for (const [k, f] of plan.ffn) {
    if (!kept.includes(k)) throw new BadInputError(`FFN width plan for block ${k}, which is not kept (${kept.join(',')}).`);
    const site = findFfn(model, blocks, k, hidden);
    for (const t of ffnInits(model, site, f, hidden)) {
      inits.push(t);
      replaced.add(t.name);
    }
  }
  const outs: (OnnxValueInfo | NewValueInfo)[] = outputs ? outputs.map((name) => ({ name, elemType: DataType.FLOAT, shape: ['batch', 'sequence', 'width'] })) : model.outputs;
  const edit = finishEdit(model, rw, extra, outs, inits);
  const keepInit = edit.keepInitializer!;
  edit.keepInitializer = (name) => !replaced.has(name) && keepInit(name);
  const meta = JSON.parse(recordBlocks(blocks, kept)[BLOCKS_METADATA]) as { hiddenIn: string[] };
  kept.forEach((k, j) => readsBridge.has(k) && (meta.hiddenIn[j] = readsBridge.get(k)!));
  edit.metadata = { [BLOCKS_METADATA]: JSON.stringify(meta), 'probescale.compensation': JSON.stringify(describePlan(plan)) };
  return edit;
}

export function describePlan(plan: CompensationPlan): { bridges: number[]; ffnWidth: Record<string, number> } {
  return { bridges: [...plan.bridges.keys()], ffnWidth: Object.fromEntries([...plan.ffn].map(([k, f]) => [String(k), f.kept.length])) };
}
