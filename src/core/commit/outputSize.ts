/**
 * The most disk space a commit can take while it writes, from the sizes of the source's files:
 * said before the search, so a disk that cannot hold the output is known in the first seconds
 * rather than after a run of minutes. It is a bound, not a forecast: the search may keep far
 * fewer parameters than the budget allows.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { graphBase, ModelInfo } from '../model/modelInfo';
import { diskBytes, freeBytes } from '../util/diskErrors';
import { TOKENIZER_FILES, builtTokenizerBytes } from './files';
import { slowTokenizer } from '../data/slowTokenizer';
import { hasSafetensors } from '../model/weights';

const MARGIN = 1.1;
const FIXED_MARGIN = 1_000_000;
const VARIANT_SUFFIX = /(_quantized|_int8|_uint8|_fp16|_q4)?\.onnx$/;

/** The ONNX variants of the encoder graph (model.onnx, model_quantized.onnx, …) beside it, by file name. */
export function graphVariants(onnxFile: string): string[] {
  const base = path.basename(onnxFile).replace(VARIANT_SUFFIX, '');
  return fs.readdirSync(path.dirname(onnxFile)).filter((f) => f.startsWith(base) && new RegExp(`^${VARIANT_SUFFIX.source}`).test(f.slice(base.length)));
}

/**
 * The name a pruned variant of the source's graph gets in the output folder: transformers.js's name
 * for that variant (model.onnx, model_quantized.onnx, encoder_model.onnx for T5), whatever the source
 * called it. A graph chosen with --onnx (optimum's model_O1.onnx, sentence-transformers'
 * model_qint8_avx512.onnx) was written under its own name, which neither transformers.js nor
 * ProbeScale opens without being told it, and its classifiers held a copy of the weights each.
 */
export function committedGraphName(sourceVariant: string, architecture: string): string {
  return `${graphBase(architecture)}${VARIANT_SUFFIX.exec(sourceVariant)?.[1] ?? ''}.onnx`;
}

/**
 * The committed classifiers' graph of the same variant as the encoder graph `encoderGraph`: a
 * classifier is always model.onnx (model_quantized.onnx, …), a T5 encoder's too (encoder_model.onnx).
 */
export function classifierGraphName(encoderGraph: string): string {
  return `model${VARIANT_SUFFIX.exec(encoderGraph)?.[1] ?? ''}.onnx`;
}

export interface OutputBound {
  bytes: number;
  /** How the bound was made, in words. */
  text: string;
}

/**
 * `fraction` of the weights (every ONNX variant with its external data, and the safetensors)
 * once for the encoder and, for an optimize, once more per task classifier (each is written
 * whole before it is relinked to the encoder's weights), plus the tokenizer files per folder;
 * then 10 % and 1 MB more.
 */
export function outputBound(info: ModelInfo, fraction: number, classifiers: number): OutputBound {
  const onnxDir = path.dirname(info.onnxFile);
  const onnxFiles = fs.readdirSync(onnxDir).filter((f) => !f.endsWith('.onnx') || graphVariants(info.onnxFile).includes(f));
  // A PyTorch checkpoint the graph was built from is written as safetensors of about its size.
  const pytorch = info.graphFrom === 'safetensors' && !hasSafetensors(info.dir);
  const weights = sizes(onnxDir, onnxFiles) + sizes(info.dir, fs.readdirSync(info.dir).filter((f) => f.endsWith('.safetensors') || (pytorch && /^pytorch_model.*\.bin$/.test(f))));
  const built = slowTokenizer(info.dir, info.config.model_type);
  const tokenizer = sizes(info.dir, fs.readdirSync(info.dir).filter((f) => TOKENIZER_FILES.test(f))) + (built ? builtTokenizerBytes(built) : 0);
  // The margin covers what the source's sizes do not show: each classifier graph's own structure
  // and head, quantization scales, bridges, the report and the card (measured on roberta-mini
  // with two tasks at 35 %: a peak of 63.8 MB against 63.8 MB without it; RESULTS §6).
  const bytes = Math.ceil(MARGIN * (fraction * weights + tokenizer) * (1 + classifiers) + FIXED_MARGIN);
  const per = classifiers ? ` for the encoder and each of ${classifiers} classifier${classifiers === 1 ? '' : 's'}` : '';
  return { bytes, text: `${(100 * fraction).toFixed(1)} % of the source's ${diskBytes(weights)} of weights, and its tokenizer files,${per}, with a 10 % margin` };
}

/** A warning to log when the disk that will hold `out` has less free space than `bound`; undefined when it has enough or cannot say. */
export function outputSpaceWarning(out: string, bound: OutputBound, free = freeBytes(path.dirname(path.resolve(out)))): string | undefined {
  if (free === undefined || free >= bound.bytes) return undefined;
  return `the disk that will hold ${out} has ${diskBytes(free)} free, and writing the output may take up to ${diskBytes(bound.bytes)} (${bound.text}). The job goes on; if the output does not fit, nothing of it is left on disk. Free space there or choose another output path to be sure.`;
}

function sizes(dir: string, names: string[]): number {
  let total = 0;
  for (const n of names) {
    try {
      const st = fs.statSync(path.join(dir, n));
      if (st.isFile()) total += st.size;
    } catch {
      // Gone or unreadable: the job itself says so when it reads it.
    }
  }
  return total;
}
