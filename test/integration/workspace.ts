/**
 * The workspace the extension tests open: copies of the tiny-bert and tiny-roberta fixtures and
 * two real tasks, with settings that keep probes and optimize runs to seconds. Shared by both launchers (test-electron and the
 * code-server route in scripts/e2e.mjs), which call it from the compiled out/ tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestWorkspace {
  dir: string;
  modelDir: string;
  /** tiny-roberta: the model the optimize tests prune. */
  optimizeModelDir: string;
  tasks: Record<string, string>;
}

export const TEST_TASKS = ['spam', 'sentlen'] as const;

/** Creates (or re-creates) the test workspace in `dir` from the repository at `repoRoot`. */
export function prepareWorkspace(dir: string, repoRoot: string): TestWorkspace {
  fs.rmSync(dir, { recursive: true, force: true });
  const modelDir = path.join(dir, 'models', 'tiny-bert');
  const optimizeModelDir = path.join(dir, 'models', 'tiny-roberta');
  fs.mkdirSync(path.dirname(modelDir), { recursive: true });
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'tiny-bert'), modelDir, { recursive: true });
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'tiny-roberta'), optimizeModelDir, { recursive: true });
  // A folder as downloaded from the Hub: config, tokenizer and model.safetensors, no ONNX export.
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'tiny-distilbert'), path.join(dir, 'models', 'tiny-distilbert-safetensors'), { recursive: true, filter: (src) => path.basename(src) !== 'onnx' });
  const tasks: Record<string, string> = {};
  for (const t of TEST_TASKS) {
    tasks[t] = path.join(dir, 'data', 'tasks', t);
    fs.mkdirSync(tasks[t], { recursive: true });
    for (const split of ['train.jsonl', 'test.jsonl']) fs.copyFileSync(path.join(repoRoot, 'data', 'tasks', t, split), path.join(tasks[t], split));
  }
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, '.vscode', 'settings.json'),
    JSON.stringify({ 'probescale.limitTrain': 60, 'probescale.limitTest': 30, 'probescale.provider': 'cpu', 'probescale.candidates': 2, 'probescale.vocabTrim': true }, null, 2) + '\n',
  );
  fs.writeFileSync(path.join(dir, 'README.md'), '# ProbeScale test workspace\n\nCreated by test/integration/workspace.ts; safe to delete.\n');
  return { dir, modelDir, optimizeModelDir, tasks };
}
