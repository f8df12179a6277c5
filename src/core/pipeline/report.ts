/**
 * Report shapes written by probe/eval/optimize (`--out report.json`, `probescale-report.json`).
 * The CLI contract in DESIGN.md fixes the minimum; fields are only ever added.
 */
import { ParamCounts } from '../model/modelInfo';
import { ProbeSettings } from '../jobs';

export const TOOL_VERSION = '0.1.0';

export interface ModelSummary {
  dir: string;
  onnxFile: string;
  /** onnx: the folder's ONNX export; safetensors: a graph built from config.json + safetensors (onnxFile is then the built graph). */
  graphFrom: 'onnx' | 'safetensors';
  architecture: string;
  numLayers: number;
  hiddenSize: number;
  quantized: boolean;
  params: ParamCounts;
}

export interface LayerScore {
  /** Hidden-state index: 0 = embedding output, L = final hidden state. */
  layer: number;
  accuracy: number;
  macroF1: number;
  /** Accuracy of the same probe trained on permuted labels (Hewitt & Liang control). */
  controlAccuracy: number | null;
  selectivity: number | null;
  c: number;
  cvAccuracy: number | null;
  converged: boolean;
}

export interface TaskReport {
  labels: string[];
  majority: number;
  pooling: 'mean' | 'first';
  weight: number;
  source: string;
  nTrain: number;
  nTest: number;
  layers: LayerScore[];
  bestLayer: number;
  final?: { accuracy: number; macroF1: number };
}

export interface ProbeReport {
  tool: { name: 'probescale'; version: string };
  kind: 'probe' | 'eval' | 'optimize';
  createdAt: string;
  model: ModelSummary;
  settings: Partial<ProbeSettings>;
  provider: string;
  tasks: Record<string, TaskReport>;
  signals?: { blockInfluence: number[]; angularDistance: number[][] };
  timings: { extractSeconds: number; probeSeconds: number };
}

export function reportHeader(kind: ProbeReport['kind']): Pick<ProbeReport, 'tool' | 'kind' | 'createdAt'> {
  return { tool: { name: 'probescale', version: TOOL_VERSION }, kind, createdAt: new Date().toISOString() };
}
