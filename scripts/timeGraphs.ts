/**
 * Times ONNX encoders alternately in one process at batch × length, threads parked after each run
 * as verify does (RESULTS §5f): each line is a graph's median over `runs` runs.
 *   node out/scripts/timeGraphs.js BATCH LENGTH RUNS MODEL.onnx [MODEL.onnx …]
 * `--q8 OUT_DIR` first writes each graph's q8 variant (compensate/quantize.ts, what commit writes)
 * into OUT_DIR and times those as well, so float and int8 speedups come from one run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeQuantized } from '../src/core/compensate/quantize';
import { checkedSessions, encoderInputs, Timed, timeAlternately } from './graphTiming';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const q8At = args.indexOf('--q8');
  const q8Dir = q8At >= 0 ? args.splice(q8At, 2)[1] : undefined;
  const [batch, length, runs] = args.slice(0, 3).map(Number);
  const files = args.slice(3);
  const inputs = encoderInputs(batch, length);
  const sessions: Timed[] = [];
  for (const [i, file] of files.entries()) {
    const variants = [{ label: file, file }];
    if (q8Dir) {
      fs.mkdirSync(q8Dir, { recursive: true });
      const q8 = path.join(q8Dir, `${i}.q8.onnx`);
      variants.push({ label: `  q8 (${writeQuantized(file, q8)} MatMuls and Gathers int8)`, file: q8 });
    }
    sessions.push(...(await checkedSessions(variants, inputs)));
  }
  await timeAlternately(`batch ${batch} × ${length}`, sessions, inputs, runs);
}

void main();
