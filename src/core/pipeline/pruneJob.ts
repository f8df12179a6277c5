/**
 * `probescale prune`: write a model folder with only the listed blocks, as a drop-in
 * replacement for the source (same inputs, outputs and tokenizer).
 */
import { writeFolderAtomically } from '../commit/atomicDir';
import { CHECKSUMS_FILE, writeChecksumsFile } from '../commit/checksums';
import { writePrunedFolder } from '../commit/prunedFolder';
import { keptParams } from '../../shared/params';
import { JobContext, PruneJob } from '../jobs';
import { validateKept } from '../onnx/edit';
import { openModel } from '../model/modelInfo';
import { PruneResult, TOOL_VERSION } from '../report';
import { hashCommitted } from './commit';

export async function runPruneJob(job: PruneJob, ctx: JobContext): Promise<PruneResult> {
  const info = openModel(job.modelDir, { ...job.settings, log: ctx.log });
  try {
    const kept = validateKept(job.layers, info.numLayers);
    let files: string[] = [];
    const out = await writeFolderAtomically(job.out, job.overwrite ?? false, async (tmp) => {
      files = await writePrunedFolder(info, kept, tmp, {}, ctx);
      writeChecksumsFile(tmp, await hashCommitted(tmp, ctx), { name: 'probescale', version: TOOL_VERSION });
      files.push(CHECKSUMS_FILE);
    }, { sources: [info.dir], signal: ctx.signal });
    return { out, kept, params: { before: info.params.total, after: keptParams(info.params, kept) }, files };
  } finally {
    info.model.close();
  }
}
