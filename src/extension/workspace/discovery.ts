/**
 * Finds model folders, committed folders and task folders in the workspace, and keeps the
 * context keys that show the ProbeScale entries on model folders in the Explorer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CommittedTask, committedTasksOf } from '../../core/commit/committed';
import { hasTaskSplits, hubDataFolder } from '../../core/data/splits';
import { hasWeights } from '../../core/model/weights';
import { fitName, NAME_MAX } from '../../core/util/names';
import { readUtf8 } from '../../core/util/textFile';

/** Folders never searched: dependencies, build output, test installs. */
export const SEARCH_EXCLUDE = '**/{node_modules,.git,out,dist,.e2e,.vscode-test,.probescale}/**';
const MAX_RESULTS = 2000;

/**
 * Holds every model folder for `resourcePath in probescale.modelFolders` in menus. The
 * workbench sets `resourcePath` to the fsPath of file URIs and to the URI path of remote ones
 * (code-server, SSH), so both spellings are listed.
 */
export const MODEL_FOLDERS_CONTEXT_KEY = 'probescale.modelFolders';
/** The committed folders among them (config.json with `probescale.tasks`), for "Evaluate Committed Model". */
export const COMMITTED_FOLDERS_CONTEXT_KEY = 'probescale.committedFolders';

function hasOnnx(dir: string): boolean {
  const inDir = (d: string) => {
    try {
      return fs.readdirSync(d).some((f) => f.endsWith('.onnx'));
    } catch {
      return false;
    }
  };
  return inDir(path.join(dir, 'onnx')) || inDir(dir);
}

/** A model folder: config.json beside an ONNX export (in onnx/ or the folder itself), safetensors weights or PyTorch's pytorch_model.bin. */
export function isModelFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) && (hasOnnx(dir) || hasWeights(dir));
}

/**
 * The task classifiers of a committed folder (what "optimize" writes: config.json with a
 * `probescale.tasks` list); undefined for any other folder.
 */
export function committedTasks(dir: string): CommittedTask[] | undefined {
  try {
    return committedTasksOf(JSON.parse(readUtf8(path.join(dir, 'config.json'))));
  } catch {
    return undefined;
  }
}

export function isCommittedFolder(dir: string): boolean {
  return isModelFolder(dir) && committedTasks(dir) !== undefined;
}


function uniqueDirs(files: vscode.Uri[]): string[] {
  return [...new Set(files.map((f) => path.dirname(f.fsPath)))].sort();
}

export async function findModelFolders(): Promise<string[]> {
  const configs = await vscode.workspace.findFiles('**/config.json', SEARCH_EXCLUDE, MAX_RESULTS);
  return uniqueDirs(configs).filter(isModelFolder);
}

export async function findCommittedFolders(): Promise<string[]> {
  return (await findModelFolders()).filter((d) => committedTasks(d) !== undefined);
}

export async function findTaskFolders(): Promise<string[]> {
  // A train file of its own (train.jsonl, train.parquet), the Hub's shards (train-00000-of-00002.parquet) or a folder of them (train/0000.parquet),
  // datasets' cache files (glue-train.arrow, glue-train-00000-of-00002.arrow) or a save_to_disk split (train/data-00000-of-00001.arrow).
  const globs = ['**/train.{jsonl,csv,tsv,parquet,arrow}', '**/train-*.parquet', '**/train/*.{parquet,arrow}', '**/*-train.arrow', '**/*-train-*.arrow'];
  const found = await Promise.all(globs.map((g) => vscode.workspace.findFiles(g, SEARCH_EXCLUDE, MAX_RESULTS)));
  const dirs = found.flat().map((f) => (path.basename(path.dirname(f.fsPath)) === 'train' && /\.(parquet|arrow)$/.test(f.fsPath) ? path.dirname(f.fsPath) : f.fsPath));
  // A dataset repository's data/ is listed as the repository, which names the task.
  const folders = dirs.map((f) => path.dirname(f)).map((d) => (path.basename(d) === 'data' && hubDataFolder(path.dirname(d)) === d ? path.dirname(d) : d));
  return [...new Set(folders)].sort().filter(hasTaskSplits);
}

/** The workspace folder holding `p`, or the first one; undefined without a workspace. */
export function workspaceFolderFor(p: string): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p)) ?? vscode.workspace.workspaceFolders?.[0];
}

function inside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Where the folder `<model><suffix>` made from `modelDir` goes: beside the model when that is
 * inside the workspace, else at the root of the first workspace folder (else beside the model).
 * A long model name is shortened so that the folder's name stays within 255 bytes.
 */
export function besideModel(modelDir: string, suffix: string): string {
  const name = `${fitName(path.basename(modelDir), NAME_MAX - Buffer.byteLength(suffix))}${suffix}`;
  const parent = path.dirname(modelDir);
  const folder = workspaceFolderFor(modelDir);
  if (!folder || inside(folder.uri.fsPath, parent)) return path.join(parent, name);
  return path.join(folder.uri.fsPath, name);
}

/** A path relative to its workspace folder when it lies inside one, else as given. */
export function displayPath(p: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p));
  return folder ? path.relative(folder.uri.fsPath, p) || path.basename(p) : p;
}

/**
 * Keeps the `probescale.modelFolders` context key current as model files come and go.
 * Explorer menus are evaluated against it, so the entry shows on model folders only.
 */
export class ModelFolderContext implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private folders: string[] = [];
  private readonly refreshed = new vscode.EventEmitter<string[]>();
  readonly onDidRefresh = this.refreshed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    // Weights count too: a download that writes config.json before its weights makes a model folder only when they arrive.
    for (const glob of ['**/config.json', '**/*.onnx', '**/*.safetensors', '**/pytorch_model*.bin', '**/*.index.json']) {
      const w = vscode.workspace.createFileSystemWatcher(glob);
      this.disposables.push(w, w.onDidCreate(() => this.schedule()), w.onDidDelete(() => this.schedule()));
    }
    this.disposables.push(vscode.workspace.onDidChangeWorkspaceFolders(() => this.schedule()), this.refreshed);
  }

  get current(): readonly string[] {
    return this.folders;
  }

  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), 500);
  }

  async refresh(): Promise<string[]> {
    try {
      this.folders = await findModelFolders();
      const spellings = (dirs: string[]) => [...new Set(dirs.flatMap((f) => [f, vscode.Uri.file(f).path]))];
      await vscode.commands.executeCommand('setContext', MODEL_FOLDERS_CONTEXT_KEY, spellings(this.folders));
      await vscode.commands.executeCommand('setContext', COMMITTED_FOLDERS_CONTEXT_KEY, spellings(this.folders.filter((f) => committedTasks(f) !== undefined)));
      this.log.debug(`model folders: ${this.folders.join(', ') || '(none)'}`);
      this.refreshed.fire(this.folders);
    } catch (e) {
      this.log.warn(`could not list model folders: ${(e as Error).message}`);
    }
    return this.folders;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
