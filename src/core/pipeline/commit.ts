/**
 * Stage 9, commit: write the chosen subset as a model folder (pruned encoder, one classifier per
 * task, report and model card), atomically: nothing half written is left at `out`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JobContext, stage } from '../jobs';
import { writeFileAtomic, writeFolderAtomically } from '../commit/atomicDir';
import { writeClassifiers } from '../commit/classifier';
import { committedGraphName } from '../commit/outputSize';
import { folderChecksums } from '../commit/checksums';
import { shareEncoderWeights } from '../commit/sharedWeights';
import { CommittedTask, Preprocessing } from '../commit/committed';
import { FolderFile, modelCard } from '../commit/modelCard';
import { writePrunedFolder } from '../commit/prunedFolder';
import { modernBertPytorchNote } from '../model/modernBert';
import { TrainedProbe } from '../probe/probe';
import { OptimizeReport, TOOL_VERSION } from '../report';
import { relativePath, reportFileText } from '../reportPaths';
import { writeCompensatedFolder } from '../compensate/commit';
import { CompensatedVariant } from '../compensate/variant';
import { Q8_DESCRIPTION, hasQuantizedVariant, q8File, writeQ8Variants } from '../compensate/quantize';
import { ProbeSettings } from '../settings';
import { TextTokenizer } from '../data/tokenize';
import { Measured, TaskSplit } from './measure';
import { PreparedRun } from './prepare';
import { trimCommittedGraphs, VocabPlan } from './vocabTrim';

export interface CommitInputs {
  out: string;
  overwrite: boolean;
  run: PreparedRun;
  splits: TaskSplit[];
  winner: Measured;
  /** The winner's probes, fitted on the whole training split. */
  probes: Record<string, TrainedProbe>;
  settings: ProbeSettings;
  vocab: VocabPlan | null;
  report: OptimizeReport;
  /** The winner's compensated graph, when it has bridges or narrowed widths. */
  variant?: CompensatedVariant;
}

/** What the committed classifiers do to a text before their graph: what the probes were trained on. */
export function preprocessingOf(settings: ProbeSettings, tokenizer: TextTokenizer): Preprocessing {
  return { pooling: settings.pooling, maxLength: tokenizer.maxLength, ...tokenizer.preparation };
}

/**
 * `verify` runs on the complete temporary folder before it is renamed into place, so a failed or
 * cancelled verification leaves no folder behind, and a folder at `out` is always verified.
 */
export async function commitSelection(x: CommitInputs, ctx: JobContext, verify: (tmp: string) => Promise<void>): Promise<void> {
  const { info, tokenizer } = x.run;
  const { winner, splits, vocab, report } = x;
  stage(ctx, 'commit', `writing ${x.out}`);
  await writeFolderAtomically(x.out, x.overwrite, async (tmp) => {
    const vocabExtra = vocab ? { params: { before: info.params.total, after: winner.params }, vocabTrim: { sourceVocab: vocab.sourceVocab, keptTokens: vocab.kept.length, unkId: vocab.unkId, unseen: vocab.unseen, note: `ONNX graphs map ids outside the kept set to ${vocab.unseen === 'nearest' ? 'their nearest kept token (cosine of the source word embeddings; special tokens to the unknown token)' : 'the unknown token'}; model.safetensors keeps the full vocabulary` } } : {};
    const tasks: (CommittedTask & { weight: number })[] = splits.map((s) => ({ name: s.task.name, weight: s.weight, labels: s.task.labels, classifier: `classifiers/${s.task.name}` }));
    const pre = preprocessingOf(x.settings, tokenizer);
    const extra = { ...vocabExtra, tasks, ...pre, selection: { budget: report.selection.budget.spec, objective: report.selection.objective } };
    const heads = splits.map((s) => ({ name: s.task.name, labels: s.task.labels, probe: x.probes[s.task.name] }));
    if (x.variant && winner.compensation) {
      const q8 = hasQuantizedVariant(info.onnxFile);
      const graph = committedGraphName('model.onnx', info.architecture);
      const written = await writeCompensatedFolder(info, x.variant, winner.compensation, tmp, { version: TOOL_VERSION, ...extra, ...(q8 ? { quantized: { file: `onnx/${q8File(graph)}`, method: Q8_DESCRIPTION } } : {}) }, ctx);
      // The card says what the folder holds for PyTorch (a checkpoint, or why none).
      if (report.selection.compensation) report.selection.compensation.safetensors = written.safetensors;
      const classifiers = writeClassifiers(x.variant.info, winner.kept.map((_, i) => i), tmp, heads, pre);
      if (q8) {
        stage(ctx, 'commit', `quantizing the compensated graphs to int8 (${q8File(graph)})`);
        writeQ8Variants(tmp, classifiers, ctx.signal, graph);
      }
    } else {
      const files = await writePrunedFolder(info, winner.kept, tmp, extra, ctx);
      const torch = modernBertPytorchNote(info.config, winner.kept);
      if (torch && files.includes('model.safetensors')) report.selection.pytorchNote = torch;
      writeClassifiers(info, winner.kept, tmp, heads, pre);
    }
    if (vocab) {
      stage(ctx, 'commit', `trimming the vocabulary to ${vocab.kept.length.toLocaleString('en-US')} of ${vocab.sourceVocab.toLocaleString('en-US')} tokens`);
      trimCommittedGraphs(tmp, vocab);
    }
    shareEncoderWeights(tmp);
    report.checksums = await hashCommitted(tmp, ctx);
    writeReportFiles(tmp, report);
    await verify(tmp);
  }, { sources: [info.dir], signal: ctx.signal });
}

/** The checksums of every file written so far (all but the card and the report), timed in the log. */
export async function hashCommitted(dir: string, ctx: JobContext) {
  const files = folderFiles(dir).filter((f) => f.bytes !== null);
  stage(ctx, 'commit', `hashing ${files.length} files (SHA-256)`);
  const t0 = process.hrtime.bigint();
  const checksums = await folderChecksums(dir, files.map((f) => f.path), ctx.signal);
  const mb = files.reduce((a, f) => a + (f.linkOf ? 0 : f.bytes!), 0) / 1e6;
  ctx.log?.('info', `hashed ${files.length} files (${mb.toFixed(1)} MB read) in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3)} s`);
  return checksums;
}

/**
 * The report and the model card of a committed folder (replaced atomically when they exist),
 * with paths relative to the folder (see core/reportPaths.ts).
 */
export function writeReportFiles(dir: string, report: OptimizeReport): void {
  const file = path.join(dir, 'probescale-report.json');
  writeFileAtomic(file, reportFileText(report, file));
  writeFileAtomic(path.join(dir, 'README.md'), modelCard({ ...report, model: { ...report.model, dir: relativePath(dir, report.model.dir) } }, folderFiles(dir)));
}

/**
 * Every file under `dir` (posix paths, sorted) with its size; the card and the report, rewritten after
 * verification, without one. A hard link names the file it shares its bytes with (the shortest path
 * of its group: `onnx/model.onnx` for a classifier's `model.onnx_data`).
 */
export function folderFiles(dir: string): FolderFile[] {
  const out: (FolderFile & { ino?: number })[] = [];
  const walk = (sub: string) => {
    for (const e of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile() && !e.name.endsWith('.tmp')) out.push(folderFile(dir, rel));
    }
  };
  walk('');
  if (!out.some((f) => f.path === 'README.md')) out.push({ path: 'README.md', bytes: null });
  const byLength = [...out].sort((a, b) => a.path.length - b.path.length || a.path.localeCompare(b.path));
  for (const f of out) {
    const first = f.ino === undefined ? undefined : byLength.find((g) => g.ino === f.ino);
    if (first && first !== f) f.linkOf = first.path;
  }
  return out.map(({ ino: _ino, ...f }) => f).sort((a, b) => a.path.localeCompare(b.path));
}

function folderFile(dir: string, rel: string): FolderFile & { ino?: number } {
  if (rel === 'README.md' || rel === 'probescale-report.json') return { path: rel, bytes: null };
  const st = fs.statSync(path.join(dir, rel));
  return { path: rel, bytes: st.size, ...(st.nlink > 1 ? { ino: st.ino } : {}) };
}
