import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import nodeFs from 'node:fs';
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import type * as sessionModule from '../../../../src/core/runtime/session';
import { OnnxModel } from '../../../../src/core/onnx/model';
import { referencingGraph } from '../../../../src/core/onnx/reference';
import { fixture, repoRoot } from '../../../helpers';

// openSession's provider choice pinned when it was split into stages (twelfth session). This
// machine has no GPU, so ORT's session creation is replaced by a fake that fails or succeeds per
// provider as each scenario says, and the checks for the CUDA libraries and the Vulkan loader see
// what the scenario says is installed. Each scenario loads the module afresh (its memory of what
// was said and what failed is per process) and records, call by call: the log lines, the session
// options each try was given, and the provider returned or the error thrown (class, code, message).
// One last test opens a real CPU session.

const sessionPath = require.resolve('../../../../src/core/runtime/session');
const realCreate = ort.InferenceSession.create;
const realExistsSync = nodeFs.existsSync;

interface Scenario {
  cudaLibs: boolean;
  vulkan: boolean;
  /** Per provider: the message its creation fails with, or absent when it starts. */
  fails: Partial<Record<'cuda' | 'webgpu' | 'cpu', string>>;
  calls: { provider?: 'auto' | 'cpu' | 'cuda' | 'webgpu'; strictProvider?: boolean; threads?: number; parkThreadsAfterRun?: boolean; source?: 'file' | 'bytes' | 'graph' | 'memory-graph'; noLog?: boolean }[];
}

const tinyBert = fixture('tiny-bert', 'onnx', 'model.onnx');
const shown = (v: unknown): unknown => (typeof v === 'string' ? v.split(repoRoot).join('<repo>') : v);

async function play(s: Scenario): Promise<string[]> {
  const lines: string[] = [];
  let asked: number | undefined;
  delete require.cache[sessionPath];
  nodeFs.existsSync = ((p: import('node:fs').PathLike) => {
    const f = String(p);
    if (f.endsWith('libvulkan.so.1')) return s.vulkan;
    if (f.endsWith('providers_cuda.so') || f.endsWith('providers_cuda.dll')) return s.cudaLibs;
    return realExistsSync(p);
  }) as typeof nodeFs.existsSync;
  (ort.InferenceSession as { create: unknown }).create = async (graph: Uint8Array, so: ort.InferenceSession.SessionOptions) => {
    const ep = String(so.executionProviders![0]) as 'cuda' | 'webgpu' | 'cpu';
    const threads = asked === undefined && so.intraOpNumThreads === Math.max(1, os.availableParallelism()) ? 'all cores' : so.intraOpNumThreads;
    lines.push(`  create ${graph.constructor.name}(${graph.length}) ${JSON.stringify({ ...so, intraOpNumThreads: threads }, (_k, v) => shown(v))}`);
    const fail = s.fails[ep];
    if (fail !== undefined) throw new Error(fail);
    return { fake: ep } as unknown as ort.InferenceSession;
  };
  try {
    const mod = (await import(sessionPath)) as typeof sessionModule;
    lines.push(`ort.env.logLevel ${ort.env.logLevel}`);
    for (const c of s.calls) {
      lines.push(`call ${JSON.stringify(c)}`);
      asked = c.threads;
      const log: sessionModule.LogFn = (level, message) => lines.push(`  log ${level} ${message}`);
      const m = OnnxModel.open(tinyBert);
      const source =
        c.source === 'bytes' ? new Uint8Array([8, 7, 18, 0]) : c.source === 'graph' ? referencingGraph(m) : c.source === 'memory-graph' ? { graph: Buffer.from([8, 7]), weightsDir: null } : tinyBert;
      m.close();
      const { source: _s, noLog, ...opts } = c;
      try {
        const o = await mod.openSession(source, { ...opts, log: noLog ? undefined : log });
        lines.push(`  -> ${o.provider} ${JSON.stringify(o.session)}`);
      } catch (e) {
        const err = e as Error & { code?: string; bad?: unknown };
        lines.push(`  throws ${err.constructor.name} ${err.code ?? '-'} ${JSON.stringify(err.bad ?? null)} ${shown(err.message)}`);
      }
    }
  } finally {
    (ort.InferenceSession as { create: unknown }).create = realCreate;
    nodeFs.existsSync = realExistsSync;
  }
  return lines;
}

const cudaFail = 'Failed to load shared library libonnxruntime_providers_cuda.so: cannot open\nsecond line';
const webgpuFail = 'Error: Failed to get a WebGPU adapter: none found. More text\nmore';
const longFail = `${'x'.repeat(200)}\nnext`;

const scenarios: Record<string, Scenario> = {
  'auto, nothing installed, twice': { cudaLibs: false, vulkan: false, fails: {}, calls: [{}, { provider: 'auto' }, { strictProvider: true, threads: 2 }] },
  'auto, both installed, both fail, twice': { cudaLibs: true, vulkan: true, fails: { cuda: cudaFail, webgpu: webgpuFail }, calls: [{ threads: 3 }, { threads: 3 }, { provider: 'cuda', strictProvider: true }, { provider: 'webgpu' }] },
  'auto, CUDA starts': { cudaLibs: true, vulkan: false, fails: {}, calls: [{ source: 'bytes' }, { source: 'graph', parkThreadsAfterRun: true }, { source: 'memory-graph', parkThreadsAfterRun: false }] },
  'auto, WebGPU starts, a long error from CUDA': { cudaLibs: true, vulkan: true, fails: { cuda: longFail }, calls: [{ provider: 'auto', strictProvider: true }, {}] },
  'cuda asked, fails, then again': { cudaLibs: false, vulkan: false, fails: { cuda: cudaFail }, calls: [{ provider: 'cuda' }, { provider: 'cuda' }, { provider: 'cuda', strictProvider: true }, { provider: 'auto' }] },
  'cuda strict fails': { cudaLibs: true, vulkan: true, fails: { cuda: cudaFail }, calls: [{ provider: 'cuda', strictProvider: true }, { provider: 'cuda', strictProvider: true }, { provider: 'cuda' }] },
  'webgpu asked, fails, then strict': { cudaLibs: true, vulkan: true, fails: { webgpu: webgpuFail }, calls: [{ provider: 'webgpu', noLog: true }, { provider: 'webgpu', strictProvider: true }, {}] },
  'webgpu strict starts, cuda starts': { cudaLibs: false, vulkan: false, fails: {}, calls: [{ provider: 'webgpu', strictProvider: true }, { provider: 'cuda', threads: 1 }, { provider: 'cuda' }] },
  'cpu asked, starts then fails': { cudaLibs: true, vulkan: true, fails: {}, calls: [{ provider: 'cpu' }, { provider: 'cpu', strictProvider: true, threads: 7 }] },
  'cpu fails': { cudaLibs: true, vulkan: true, fails: { cpu: 'cpu broke\nbadly', cuda: cudaFail, webgpu: webgpuFail }, calls: [{ provider: 'cpu' }, { provider: 'cuda' }, {}, { provider: 'webgpu', strictProvider: true }] },
};

const golden: Record<string, string[]> = {
  "auto, nothing installed, twice": [
    "ort.env.logLevel fatal",
    "call {}",
    "  log info execution provider webgpu skipped: no Vulkan loader (libvulkan.so.1).",
    "  log info execution provider cuda skipped: its provider libraries are not installed. CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver.",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}",
    "call {\"provider\":\"auto\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}",
    "call {\"strictProvider\":true,\"threads\":2}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":2,\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}"
  ],
  "auto, both installed, both fail, twice": [
    "ort.env.logLevel fatal",
    "call {\"threads\":3}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":3,\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider cuda is not available (Failed to load shared library); CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver. Falling back.",
    "  create Buffer(82024) {\"executionProviders\":[\"webgpu\"],\"intraOpNumThreads\":3,\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider webgpu is not available (Error: Failed to get a WebGPU adapter: none found. More text); WebGPU needs a GPU adapter (Vulkan on Linux). Falling back.",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":3,\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}",
    "call {\"threads\":3}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":3,\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}",
    "call {\"provider\":\"cuda\",\"strictProvider\":true}",
    "  throws BadInputError bad-input {\"param\":\"provider\",\"value\":\"cuda\"} execution provider cuda: it cannot start on this machine (Failed to load shared library). CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver.",
    "call {\"provider\":\"webgpu\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}"
  ],
  "auto, CUDA starts": [
    "ort.env.logLevel fatal",
    "call {\"source\":\"bytes\"}",
    "  log info execution provider webgpu skipped: no Vulkan loader (libvulkan.so.1).",
    "  create Uint8Array(4) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{}}}",
    "  log info execution provider: cuda",
    "  -> cuda {\"fake\":\"cuda\"}",
    "call {\"source\":\"graph\",\"parkThreadsAfterRun\":true}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\",\"force_spinning_stop\":\"1\"}}}",
    "  -> cuda {\"fake\":\"cuda\"}",
    "call {\"source\":\"memory-graph\",\"parkThreadsAfterRun\":false}",
    "  create Buffer(2) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{}}}",
    "  -> cuda {\"fake\":\"cuda\"}"
  ],
  "auto, WebGPU starts, a long error from CUDA": [
    "ort.env.logLevel fatal",
    "call {\"provider\":\"auto\",\"strictProvider\":true}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider cuda is not available (xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx); CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver. Falling back.",
    "  create Buffer(82024) {\"executionProviders\":[\"webgpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider: webgpu",
    "  -> webgpu {\"fake\":\"webgpu\"}",
    "call {}",
    "  create Buffer(82024) {\"executionProviders\":[\"webgpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> webgpu {\"fake\":\"webgpu\"}"
  ],
  "cuda asked, fails, then again": [
    "ort.env.logLevel fatal",
    "call {\"provider\":\"cuda\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log warn execution provider cuda is not available (Failed to load shared library); CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver. Falling back.",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}",
    "call {\"provider\":\"cuda\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}",
    "call {\"provider\":\"cuda\",\"strictProvider\":true}",
    "  throws BadInputError bad-input {\"param\":\"provider\",\"value\":\"cuda\"} execution provider cuda: it cannot start on this machine (Failed to load shared library). CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver.",
    "call {\"provider\":\"auto\"}",
    "  log info execution provider webgpu skipped: no Vulkan loader (libvulkan.so.1).",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}"
  ],
  "cuda strict fails": [
    "ort.env.logLevel fatal",
    "call {\"provider\":\"cuda\",\"strictProvider\":true}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  throws BadInputError bad-input {\"param\":\"provider\",\"value\":\"cuda\"} execution provider cuda: it cannot start on this machine (Failed to load shared library). CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver.",
    "call {\"provider\":\"cuda\",\"strictProvider\":true}",
    "  throws BadInputError bad-input {\"param\":\"provider\",\"value\":\"cuda\"} execution provider cuda: it cannot start on this machine (Failed to load shared library). CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver.",
    "call {\"provider\":\"cuda\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}"
  ],
  "webgpu asked, fails, then strict": [
    "ort.env.logLevel fatal",
    "call {\"provider\":\"webgpu\",\"noLog\":true}",
    "  create Buffer(82024) {\"executionProviders\":[\"webgpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}",
    "call {\"provider\":\"webgpu\",\"strictProvider\":true}",
    "  throws BadInputError bad-input {\"param\":\"provider\",\"value\":\"webgpu\"} execution provider webgpu: it cannot start on this machine (Error: Failed to get a WebGPU adapter: none found. More text). WebGPU needs a GPU adapter (Vulkan on Linux).",
    "call {}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider: cuda",
    "  -> cuda {\"fake\":\"cuda\"}"
  ],
  "webgpu strict starts, cuda starts": [
    "ort.env.logLevel fatal",
    "call {\"provider\":\"webgpu\",\"strictProvider\":true}",
    "  create Buffer(82024) {\"executionProviders\":[\"webgpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider: webgpu",
    "  -> webgpu {\"fake\":\"webgpu\"}",
    "call {\"provider\":\"cuda\",\"threads\":1}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":1,\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider: cuda",
    "  -> cuda {\"fake\":\"cuda\"}",
    "call {\"provider\":\"cuda\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cuda {\"fake\":\"cuda\"}"
  ],
  "cpu asked, starts then fails": [
    "ort.env.logLevel fatal",
    "call {\"provider\":\"cpu\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider: cpu",
    "  -> cpu {\"fake\":\"cpu\"}",
    "call {\"provider\":\"cpu\",\"strictProvider\":true,\"threads\":7}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":7,\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  -> cpu {\"fake\":\"cpu\"}"
  ],
  "cpu fails": [
    "ort.env.logLevel fatal",
    "call {\"provider\":\"cpu\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  throws Error - null cpu broke\nbadly",
    "call {\"provider\":\"cuda\"}",
    "  create Buffer(82024) {\"executionProviders\":[\"cuda\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log warn execution provider cuda is not available (Failed to load shared library); CUDA needs the onnxruntime-node CUDA provider libraries (run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, see README) and an NVIDIA driver. Falling back.",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  throws Error - null cpu broke\nbadly",
    "call {}",
    "  create Buffer(82024) {\"executionProviders\":[\"webgpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  log info execution provider webgpu is not available (Error: Failed to get a WebGPU adapter: none found. More text); WebGPU needs a GPU adapter (Vulkan on Linux). Falling back.",
    "  create Buffer(82024) {\"executionProviders\":[\"cpu\"],\"intraOpNumThreads\":\"all cores\",\"interOpNumThreads\":1,\"graphOptimizationLevel\":\"all\",\"logSeverityLevel\":4,\"enableMemPattern\":false,\"extra\":{\"session\":{\"model_external_initializers_file_folder_path\":\"<repo>/test/fixtures/tiny-bert/onnx\"}}}",
    "  throws Error - null cpu broke\nbadly",
    "call {\"provider\":\"webgpu\",\"strictProvider\":true}",
    "  throws BadInputError bad-input {\"param\":\"provider\",\"value\":\"webgpu\"} execution provider webgpu: it cannot start on this machine (Error: Failed to get a WebGPU adapter: none found. More text). WebGPU needs a GPU adapter (Vulkan on Linux)."
  ]
};

test('openSession chooses, falls back, says and fails exactly as before', async () => {
  const got: Record<string, string[]> = {};
  for (const [name, s] of Object.entries(scenarios)) got[name] = await play(s);
  if (process.env.GOLDEN_PRINT) nodeFs.writeFileSync(process.env.GOLDEN_PRINT, JSON.stringify(got, null, 2));
  assert.deepEqual(got, golden);
});

test('a real CPU session: the provider and the one line said', async () => {
  delete require.cache[sessionPath];
  const mod = (await import(sessionPath)) as typeof sessionModule;
  const said: string[] = [];
  const o = await mod.openSession(tinyBert, { provider: 'cpu', threads: 1, log: (level, message) => said.push(`${level} ${message}`) });
  try {
    assert.equal(o.provider, 'cpu');
    assert.deepEqual(said, ['info execution provider: cpu']);
    assert.deepEqual([...o.session.inputNames].sort(), ['attention_mask', 'input_ids']);
  } finally {
    await o.session.release();
  }
});
