/**
 * Scale mode: a (large, generated) model folder measured as a user would run it. Peak RSS and
 * wall time of plain ORT inference, probe and optimize (child processes, 200 train / 100 test
 * spam rows), and extraction vs plain inference side by side in one process.
 */
import * as path from 'node:path';
import { loadTask } from '../src/core/data/dataset';
import { loadTokenizer } from '../src/core/data/tokenize';
import { openModel } from '../src/core/model/modelInfo';
import { root, runNode } from './children';
import { extractionOverPlain } from './measures';
import { pipelineRuns } from './pipelineRuns';

const spamDir = path.join(root, 'data', 'tasks', 'spam');
const rows = { train: 200, test: 100 };
const MB = 2 ** 20;

async function scaleOne(dir: string, quick: boolean) {
  const info = openModel(dir);
  const tok = await loadTokenizer(dir, { maxLength: 128 });
  const spam = await loadTask('spam', spamDir, { limitTrain: 10, limitTest: 64 });
  const extraction = await extractionOverPlain(info, tok, spam.test.map((e) => e.text), quick ? 1 : 2);
  const onnxFile = info.onnxFile;
  const external = [...info.model.initializers.values()].some((t) => t.external);
  info.model.close();
  const plain = runNode(path.join(__dirname, 'plainInfer.js'), [dir, onnxFile, spamDir, String(rows.train), String(rows.test)]);
  const runs = pipelineRuns(dir, onnxFile, rows, 2);
  return { dir, external, extraction, plain, ...runs };
}

export async function scaleBench(dirs: string[], quick: boolean) {
  const out = [];
  for (const d of dirs) out.push(await scaleOne(d, quick));
  const x = (b: number, size: number) => `${(b / MB).toFixed(0)} MB (${(b / size).toFixed(2)}×)`;
  const lines = [
    '| model | ONNX size | plain ORT: peak RSS | probe: s, peak RSS | optimize: s, peak RSS | optimize --baselines none: s, peak RSS | 1.5 × size + 300 MB | optimize / probe | without baselines / probe | extraction / plain |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...out.map((r) => `| ${path.basename(r.dir)} (${r.external ? 'external data' : 'inline'}) | ${(r.onnxBytes / MB).toFixed(0)} MB | ${x(r.plain.peakRssBytes, r.onnxBytes)} | ${r.probe.seconds.toFixed(0)} s, ${x(r.probe.peakRssBytes, r.onnxBytes)} | ${r.optimize.seconds.toFixed(0)} s, ${x(r.optimize.peakRssBytes, r.onnxBytes)} | ${r.optimizeWithoutBaselines.seconds.toFixed(0)} s, ${x(r.optimizeWithoutBaselines.peakRssBytes, r.onnxBytes)} | ${((1.5 * r.onnxBytes) / MB + 300).toFixed(0)} MB | ${r.optimizeOverProbe.toFixed(2)} | ${r.optimizeWithoutBaselinesOverProbe.toFixed(2)} | ×${r.extraction.ratio.toFixed(3)} (${r.extraction.texts} texts) |`),
  ];
  const stageLine = (name: string, o: ReturnType<typeof pipelineRuns>['optimizeStages']) =>
    `${name}: ${o.extractSeconds.toFixed(0)} s setup + full extraction, ${o.candidatesSeconds.toFixed(0)} s probes + ${o.measured} measured candidates (${o.dropped} dropped early) + selection, ${o.commitAndVerifySeconds.toFixed(0)} s commit + verify (timing ${o.verifyTiming?.design ?? '?'}, ${o.verifyTiming?.runs.join(' / ') ?? '?'} runs at batch 1 / 32)`;
  const stages = out.flatMap((r) => [stageLine(`${path.basename(r.dir)}: optimize`, r.optimizeStages), stageLine(`${path.basename(r.dir)}: optimize --baselines none`, r.optimizeWithoutBaselinesStages)]);
  console.log([...lines, ...stages].join('\n'));
  return { rows, table: lines, models: out };
}
