/**
 * Candidates known at once (the baselines and predicted subsets, a local-search round) are
 * extracted together: one graph per group (onnx/subsetsEdit.ts) in which subsets that start with
 * the same blocks run them once, one session and one tokenisation per split for the group. The
 * features equal those of each subset's own pruned graph (the same nodes on the same batches);
 * test/unit/core/pipeline/together.test.ts checks it.
 */
import { JobContext, stage } from '../jobs';
import { TextTokenizer } from '../data/tokenize';
import { Extractor, IdRemap } from '../extract/extractor';
import { ModelInfo } from '../model/modelInfo';
import { subsetKey } from '../optimize/subsets';
import { ProbeSettings } from '../settings';
import { extractorOptions } from './prepare';
import { TaskData } from '../data/dataset';
import { OnnxModel, SUBGRAPH_OPS } from '../onnx/model';

export interface Wanted {
  kept: number[];
  /** Also extract the test rows. */
  test: boolean;
}

/** Pooled features of a candidate extracted with others, per split and task. */
export interface TogetherFeatures {
  train: Map<string, Float32Array>;
  test?: Map<string, Float32Array>;
}

/** Block passes of the subsets' trie: one per distinct prefix (what their shared graph runs per row). */
export function trieSize(subsets: number[][]): number {
  const prefixes = new Set<string>();
  for (const s of subsets) s.forEach((_, i) => prefixes.add(subsetKey(s.slice(0, i + 1))));
  return prefixes.size;
}

function lexicographic(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Splits `subsets` into groups whose tries have at most `maxPasses` block passes. Every copy of
 * a block holds its own share of ORT's weight memory (measured on roberta-mini: about 0.75 × the
 * block's weights per copy), so at most the model's block count keeps a group's session within
 * the memory the full model's extraction needed. Sorted, so subsets sharing a prefix are adjacent.
 */
export function groupsForSharing(subsets: number[][], maxPasses: number): number[][][] {
  const groups: number[][][] = [];
  let current: number[][] = [];
  for (const s of [...subsets].sort(lexicographic)) {
    if (current.length && trieSize([...current, s]) > maxPasses) {
      groups.push(current);
      current = [];
    }
    current.push(s);
  }
  if (current.length) groups.push(current);
  return groups;
}

/** Training rows per task, one entry per extraction, in the order they are extracted. */
export type RowChunks = Record<string, Int32Array>[];

/**
 * The extractions successive halving makes of a screened candidate's training rows: each
 * stage's rows not extracted by an earlier stage, then the rest, each in ascending order (as
 * measure.ts's RowSource asks for them). A group extracted in the same chunks gives every row
 * the batch it had when each candidate ran alone, and so the same padding and float rounding.
 */
export function halvingChunks(stages: { rows: Record<string, Int32Array> }[], splits: { task: TaskData }[]): RowChunks {
  const have = new Map(splits.map((sp) => [sp.task.name, new Uint8Array(sp.task.trainY.length)]));
  return [...stages.map((s) => s.rows), null].map((stage) => {
    const chunk: Record<string, Int32Array> = {};
    for (const sp of splits) {
      const h = have.get(sp.task.name)!;
      const want = stage ? [...stage[sp.task.name]] : h.keys();
      chunk[sp.task.name] = Int32Array.from([...want].filter((r) => !h[r]));
      chunk[sp.task.name].forEach((r) => (h[r] = 1));
    }
    return chunk;
  });
}

export interface TogetherSource {
  info: ModelInfo;
  tokenizer: TextTokenizer;
  settings: ProbeSettings;
  splits: { task: TaskData }[];
  idRemap?: IdRemap;
}

/**
 * Features of every wanted subset that shares a group with another (by subset key); subsets left
 * alone in their group are not extracted here (their own pruned graph is the same pass).
 * `screened`: the training-row chunks of subsets without test rows (halvingChunks; default: all
 * rows at once).
 */
export async function extractTogether(src: TogetherSource, wanted: Wanted[], ctx: JobContext, screened?: RowChunks): Promise<Map<string, TogetherFeatures>> {
  const out = new Map<string, TogetherFeatures>();
  // A block copied per subset renames its tensors, which a subgraph (If, Loop) reading them by name
  // would not follow (torch.onnx's DeBERTa export): such graphs extract each subset alone.
  if (readsIntoSubgraphs(src.info.model)) return out;
  for (const test of [true, false]) {
    const part = wanted.filter((w) => w.test === test).map((w) => w.kept);
    for (const group of groupsForSharing(part, src.info.numLayers)) {
      if (group.length < 2) continue;
      const alone = group.reduce((a, s) => a + s.length, 0);
      stage(ctx, 'candidates', `extracting ${group.length} subsets in one graph: ${trieSize(group)} block passes per row instead of ${alone}`);
      for (const [key, f] of await extractGroup(src, group, test, ctx, test ? undefined : screened)) out.set(key, f);
    }
  }
  return out;
}

async function extractGroup(src: TogetherSource, group: number[][], test: boolean, ctx: JobContext, chunks?: RowChunks): Promise<Map<string, TogetherFeatures>> {
  const { info, tokenizer, settings, splits } = src;
  const out = new Map(group.map((s) => [subsetKey(s), { train: new Map(), ...(test ? { test: new Map() } : {}) } as TogetherFeatures]));
  const ex = await Extractor.create(info, tokenizer, { ...extractorOptions(settings), subsets: group, idRemap: src.idRemap }, ctx);
  const quiet: JobContext = { signal: ctx.signal, log: ctx.log };
  const dim = info.hiddenSize;
  try {
    for (const split of test ? (['train', 'test'] as const) : (['train'] as const)) {
      for (const sp of splits) {
        const n = sp.task[split].length;
        const X = group.map(() => new Float32Array(n * dim));
        const parts = split === 'train' && chunks ? chunks.map((c) => c[sp.task.name]) : [Int32Array.from({ length: n }, (_, i) => i)];
        for (const rows of parts.filter((r) => r.length)) {
          const f = await ex.extract(Array.from(rows, (i) => sp.task[split][i]), `[${group.length} subsets] ${sp.task.name}/${split}`, quiet);
          X.forEach((x, j) => rows.forEach((r, i) => x.set(f.pooled[settings.pooling]![j].subarray(i * dim, (i + 1) * dim), r * dim)));
        }
        group.forEach((s, j) => out.get(subsetKey(s))![split]!.set(sp.task.name, X[j]));
      }
    }
  } finally {
    await ex.release();
  }
  return out;
}

/** Whether a node of `model` has a subgraph that reads tensors of the graph around it. */
function readsIntoSubgraphs(model: OnnxModel): boolean {
  return model.nodes.some((n) => SUBGRAPH_OPS.has(n.opType) && model.outerReads(n).length > 0);
}
