/**
 * Factorised word embeddings (ALBERT's E = A·B, found in closed form instead of trained): the
 * V×H table is replaced by A (V×r) and B (r×H) from the top r eigenvectors of Eᵀ·diag(w)·E, where
 * w counts each token in the run's calibration texts (training texts only) plus one. A token the
 * task uses often is reproduced closely; the rest share what is left. In the graph the word
 * Gather reads A and a MatMul by B follows it; everything downstream is unchanged.
 */
import { BadInputError, badValue, throwIfAborted } from '../errors';
import { DataType, NewInitializer, NewNode, OnnxModel, OnnxNode } from '../onnx/model';
import { FUSED_EMBEDDING, findWordEmbedding, isFusedEmbedding, readRows, VOCAB_METADATA_KEY, WordEmbedding, wordEmbeddingWidth } from '../onnx/vocab';
import { CalibrationSet } from './calibrate';
import type { ParamCounts } from '../../shared/params';
import type { BudgetFloor } from '../optimize/subsets';

export interface EmbeddingFactor {
  rank: number;
  /** V×r row-major: the new table the word Gather reads. */
  a: Float32Array;
  /** r×H row-major. */
  b: Float32Array;
  /** Share of Σ w·‖e‖² the rank keeps (1 at full rank). */
  energy: number;
}

/** Parameters the word table loses at rank r: rows·H before, rows·r + r·H after. */
export function factorSaving(rows: number, hidden: number, rank: number): number {
  return rows * hidden - (rows * rank + rank * hidden);
}

/**
 * The smallest model {{embeddingRank}} (`asked`, as written) can give, the floor of the budget: the
 * rows × hidden word table at the smallest of `ranks`, the other embeddings and the final norm/head,
 * no blocks (`acc` counts the whole table, after any --vocab-trim; `trimmed` says so in the text).
 */
export function factorisedFloor(acc: ParamCounts, table: { rows: number; hidden: number; trimmed?: boolean }, ranks: number[], asked: string): BudgetFloor {
  const rank = Math.min(...ranks);
  const embeddings = acc.embeddings - factorSaving(table.rows, table.hidden, rank);
  const word = table.trimmed ? `word table trimmed to ${table.rows} tokens and factorised` : 'word table factorised';
  return {
    params: embeddings + acc.other,
    what: `embeddings ${embeddings} with the ${word} to rank ${rank} + final norm/head ${acc.other}, no blocks`,
    advice: `{{embeddingRank}} ${asked} cannot make a smaller model; give {{budget}} ${embeddings + acc.other} or more, or a smaller rank.`,
  };
}

/**
 * The ranks at which a rows×hidden table gets smaller: `auto` drops the others, a rank asked for by
 * number is refused (it would add parameters, e.g. a high rank of a --vocab-trim table).
 */
export function savingRanks(ranks: number[], table: { rows: number; hidden: number; trimmed: boolean }, auto: boolean): number[] {
  const { rows, hidden, trimmed } = table;
  // The largest r with rows·r + r·hidden < rows·hidden.
  const max = Math.floor((rows * hidden - 1) / (rows + hidden));
  const fix = max >= 1 ? `Give a rank of at most ${max}.` : 'No rank makes it smaller: leave {{embeddingRank}} out.';
  const shape = `the word table is ${rows} × ${hidden}${trimmed ? ' (after {{vocabTrim}})' : ''}`;
  const bad = ranks.find((r) => factorSaving(rows, hidden, r) <= 0);
  if (bad !== undefined && !auto) throw badValue('embeddingRank', bad, `${shape}; at rank ${bad} it would have ${rows * bad + bad * hidden} parameters, not fewer than ${rows * hidden}. ${fix}`);
  const kept = ranks.filter((r) => factorSaving(rows, hidden, r) > 0);
  if (!kept.length) throw badValue('embeddingRank', 'auto', `${shape}, and none of the ranks it tries (${ranks.join(', ')}) makes it smaller. ${fix}`);
  return kept;
}

/** Occurrences + 1 of every token id in the calibration texts (padding excluded). */
export function tokenWeights(set: CalibrationSet, vocab: number): Float64Array {
  const w = new Float64Array(vocab).fill(1);
  set.batches.forEach((b, i) => {
    for (const r of set.tokens[i]) {
      const id = Number(b.inputIds[r]);
      if (id >= 0 && id < vocab) w[id] += 1;
    }
  });
  return w;
}

/**
 * Eigenvalues and eigenvectors (columns of a row-major n×n) of a symmetric matrix `a`
 * (overwritten), by cyclic Jacobi rotations. Hand-written: no maintained linear-algebra package is
 * a dependency, n is the hidden size (≤ ~1024), and Jacobi is short and accurate to rounding.
 */
export function symmetricEigen(a: Float64Array, n: number, signal?: AbortSignal): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= 1e-26 * scale) break;
    for (let p = 0; p < n; p++) {
      throwIfAborted(signal);
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const x = a[k * n + p];
          const y = a[k * n + q];
          a[k * n + p] = c * x - s * y;
          a[k * n + q] = s * x + c * y;
        }
        for (let k = 0; k < n; k++) {
          const x = a[p * n + k];
          const y = a[q * n + k];
          a[p * n + k] = c * x - s * y;
          a[q * n + k] = s * x + c * y;
        }
        for (let k = 0; k < n; k++) {
          const x = v[k * n + p];
          const y = v[k * n + q];
          v[k * n + p] = c * x - s * y;
          v[k * n + q] = s * x + c * y;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** The rank-r factorisation of a V×H table `e` under token weights `w` (see the file comment). */
export function factorTable(e: Float32Array, vocab: number, hidden: number, w: Float64Array, rank: number, signal?: AbortSignal): EmbeddingFactor {
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= hidden)) throw new BadInputError(`{{embeddingRank}} is ${rank}; it must be a whole number from 1 to the hidden size (${hidden}).`, { param: 'embeddingRank', value: String(rank) });
  const g = new Float64Array(hidden * hidden);
  for (let v = 0; v < vocab; v++) {
    // A cancel is seen within 64 rows here and one row of rotations in the eigensolver (tens of ms at hidden 768).
    if (v % 64 === 0) throwIfAborted(signal);
    const o = v * hidden;
    for (let i = 0; i < hidden; i++) {
      const wi = w[v] * e[o + i];
      if (wi === 0) continue;
      for (let j = i; j < hidden; j++) g[i * hidden + j] += wi * e[o + j];
    }
  }
  for (let i = 0; i < hidden; i++) for (let j = 0; j < i; j++) g[i * hidden + j] = g[j * hidden + i];
  const { values, vectors } = symmetricEigen(g, hidden, signal);
  const top = Array.from({ length: hidden }, (_, i) => i)
    .sort((x, y) => values[y] - values[x])
    .slice(0, rank);
  const total = values.reduce((s, x) => s + Math.max(0, x), 0);
  const kept = top.reduce((s, i) => s + Math.max(0, values[i]), 0);
  const b = new Float32Array(rank * hidden);
  top.forEach((col, k) => {
    for (let i = 0; i < hidden; i++) b[k * hidden + i] = vectors[i * hidden + col];
  });
  const a = new Float32Array(vocab * rank);
  for (let v = 0; v < vocab; v++) {
    if (v % 1024 === 0) throwIfAborted(signal);
    for (let k = 0; k < rank; k++) {
      let s = 0;
      for (let i = 0; i < hidden; i++) s += e[v * hidden + i] * b[k * hidden + i];
      a[v * rank + k] = s;
    }
  }
  return { rank, a, b, energy: total > 0 ? kept / total : 1 };
}

/**
 * The word table `--embedding-rank` factorises, checked before any pass: read by input_ids
 * directly (not through a --vocab-trim id map), float32, and not factorised already.
 */
export function factorisableTable(model: OnnxModel, ranks: string): WordEmbedding {
  const refuse = (what: string) => badValue('embeddingRank', ranks, `${model.src.label} ${what}; start from the model it was made from, or leave {{embeddingRank}} out.`);
  if (model.metadata.has(VOCAB_METADATA_KEY)) throw refuse('reads its word table through an id map (a {{vocabTrim}} output)');
  let we: WordEmbedding;
  try {
    we = findWordEmbedding(model);
  } catch {
    throw refuse('has no word-embedding table that input_ids read directly');
  }
  if (isFusedEmbedding(we.node)) throw fusedTable(model, we, ranks);
  const width = wordEmbeddingWidth(model, we);
  if (width !== we.hidden) throw refuse(`has its word table factorised already (rank ${we.hidden} of ${width})`);
  if (we.weight.dataType !== DataType.FLOAT) throw refuse(`has a word table of element type ${we.weight.dataType}, and only float32 tables are factorised`);
  return we;
}

/**
 * The fused node sums the looked-up rows with the position and token-type rows and normalises them
 * inside one kernel: there is no tensor between lookup and sum where the factor's up-projection could go.
 */
function fusedTable(model: OnnxModel, we: WordEmbedding, ranks: string): Error {
  return badValue(
    'embeddingRank',
    ranks,
    `${model.src.label} reads its word table inside the com.microsoft ${FUSED_EMBEDDING} node ${we.node.name || '(unnamed)'} (fused by ONNX Runtime's transformer optimizer, as optimum-cli export onnx --optimize O2–O4 does), which cannot read a factorised table; export the model without --optimize (or point --onnx at the unoptimized graph), or leave {{embeddingRank}} out.`,
  );
}

/** Factorises the word-embedding table of `model` (float32) with weights from the calibration texts. */
export function factorEmbedding(model: OnnxModel, set: CalibrationSet, rank: number, signal?: AbortSignal): EmbeddingFactor {
  const we = findWordEmbedding(model);
  if (isFusedEmbedding(we.node)) throw fusedTable(model, we, String(rank));
  if (we.weight.dataType !== DataType.FLOAT) throw new BadInputError(`${model.src.label}: the word embedding ${we.weight.name} is not float32; {{embeddingRank}} factorises float32 tables only.`);
  const bytes = readRows(
    model,
    we.weight,
    Array.from({ length: we.vocab }, (_, i) => i),
  );
  const e = new Float32Array(bytes.buffer, bytes.byteOffset, we.vocab * we.hidden);
  return factorTable(e, we.vocab, we.hidden, tokenWeights(set, we.vocab), rank, signal);
}

/** The tensor holding the up-projected lookup of a factorised table (what the lookup's readers read instead). */
export const EMBEDDING_OUTPUT = 'probescale/embedding/output';

/** The parts of a graph edit that put `f` in place of the word table: new initializers, the MatMul, input renames. */
export function embeddingEdit(model: OnnxModel, f: EmbeddingFactor): { inits: NewInitializer[]; nodes: NewNode[]; renames: [OnnxNode, string, string][] } {
  const we = findWordEmbedding(model);
  if (isFusedEmbedding(we.node)) throw fusedTable(model, we, String(f.rank));
  if (f.a.length !== we.vocab * f.rank || f.b.length !== f.rank * we.hidden) throw new BadInputError(`embedding factor of rank ${f.rank}: expected ${we.vocab}×${f.rank} and ${f.rank}×${we.hidden} matrices.`);
  const P = 'probescale/embedding';
  const low = we.node.outputs[0];
  const out = EMBEDDING_OUTPUT;
  const inits: NewInitializer[] = [
    { name: we.weight.name, dataType: DataType.FLOAT, dims: [we.vocab, f.rank], data: Buffer.from(f.a.buffer, f.a.byteOffset, f.a.byteLength) },
    { name: `${P}/up`, dataType: DataType.FLOAT, dims: [f.rank, we.hidden], data: Buffer.from(f.b.buffer, f.b.byteOffset, f.b.byteLength) },
  ];
  const nodes: NewNode[] = [{ name: `${P}/MatMul`, opType: 'MatMul', inputs: [low, `${P}/up`], outputs: [out] }];
  const renames = model.nodes.filter((n) => n.inputs.includes(low)).map((n) => [n, low, out] as [OnnxNode, string, string]);
  return { inits, nodes, renames };
}

