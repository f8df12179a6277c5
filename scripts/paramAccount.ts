/**
 * The parameters ProbeScale's account gives each kept subset, beside the parameters the pruned
 * graph holds (counted on the written graph, as a committed folder is), for the export and the
 * graph built from safetensors. The two must be equal for every subset (test/unit/core/prune/surgery.test.ts).
 *   node out/scripts/paramAccount.js MODEL_DIR 4 5 1,2,3 0,2,4 ""
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { countParams, openModel } from '../src/core/model/modelInfo';
import { findBlocks } from '../src/core/onnx/blocks';
import { pruneEdit } from '../src/core/onnx/edit';
import { OnnxModel } from '../src/core/onnx/model';
import { chunksToBuffer } from '../src/core/onnx/wire';
import { keptParams } from '../src/shared/params';

function main(): void {
  const [dir, ...subsets] = process.argv.slice(2);
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-param-account-'));
  try {
    for (const from of ['onnx', 'safetensors'] as const) {
      let info;
      try {
        info = openModel(dir, { from, graphCacheDir: cache });
      } catch (e) {
        console.log(`${from}: not opened (${(e as Error).message})`);
        continue;
      }
      console.log(`${from}: ${JSON.stringify(countParams(info.model, info.blocks))}`);
      for (const s of subsets) {
        const kept = s === '' ? [] : s.split(',').map(Number);
        const pruned = OnnxModel.fromBuffer(chunksToBuffer(info.model.serialize(pruneEdit(info.model, info.blocks, kept))));
        const held = countParams(pruned, findBlocks(pruned)).total;
        const account = keptParams(info.params, kept);
        console.log(`  {${kept.join(',')}}: account ${account}, graph ${held}, graph − account ${held - account}`);
        pruned.close();
      }
      info.model.close();
    }
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

main();
