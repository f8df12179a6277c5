/**
 * The QuickPicks the commands share: which model folder, which tasks, which blocks.
 * Each returns undefined when the user dismisses it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BadInputError } from '../../core/errors';
import { TaskSpec } from '../../core/jobs';
import { displayPath, findModelFolders, findTaskFolders, isModelFolder } from '../workspace/discovery';

const LAST_TASKS_KEY = 'probescale.lastTasks';

interface PathItem extends vscode.QuickPickItem {
  path?: string;
  browse?: boolean;
}

const BROWSE: PathItem = { label: '$(folder-opened) Browse…', browse: true, alwaysShow: true };

/** Picks a model folder from the workspace (or the file system); `preferred` is listed first. */
export async function pickModelFolder(title: string, preferred?: string): Promise<string | undefined> {
  const found = await findModelFolders();
  const ordered = preferred && found.includes(preferred) ? [preferred, ...found.filter((f) => f !== preferred)] : found;
  const items: PathItem[] = ordered.map((f) => ({
    label: `$(file-directory) ${path.basename(f)}`,
    description: displayPath(f),
    detail: f === preferred ? 'model of the report in the ProbeScale view' : undefined,
    path: f,
  }));
  const choice = await vscode.window.showQuickPick([...items, BROWSE], {
    title,
    placeHolder: items.length ? 'Model folder (config.json + onnx/model.onnx)' : 'No model folder in the workspace; browse for one',
    matchOnDescription: true,
  });
  if (!choice) return undefined;
  if (!choice.browse) return choice.path;
  const picked = await vscode.window.showOpenDialog({ title, canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Use Model Folder' });
  const dir = picked?.[0]?.fsPath;
  if (dir && !isModelFolder(dir)) {
    throw new BadInputError(`${dir} is not a model folder: it needs config.json and an ONNX export (onnx/model.onnx).`);
  }
  return dir;
}

/** Task names must be usable on the CLI too (`--task NAME=PATH`). */
function taskName(dir: string): string {
  return path.basename(dir).replace(/\.(jsonl|csv|tsv)$/, '').replace(/[^\w.-]+/g, '_') || 'task';
}

/** Gives every task a distinct name: the folder name, then `parent_folder`, then a number. */
export function tasksFromPaths(paths: string[]): TaskSpec[] {
  const used = new Set<string>();
  return paths.map((p) => {
    let name = taskName(p);
    if (used.has(name)) name = `${taskName(path.dirname(p))}_${name}`;
    for (let i = 2; used.has(name); i++) name = `${taskName(p)}_${i}`;
    used.add(name);
    return { name, path: p, weight: 1 };
  });
}

/**
 * Multi-select of the task folders in the workspace (folders with train.* and test.*), with
 * last time's choice ticked, plus "Browse…" for folders or single files elsewhere.
 */
export async function pickTasks(state: vscode.Memento, title: string): Promise<TaskSpec[] | undefined> {
  const found = await findTaskFolders();
  const last = new Set(state.get<string[]>(LAST_TASKS_KEY, []));
  const items: PathItem[] = found.map((f) => ({
    label: path.basename(f),
    description: displayPath(f),
    picked: last.has(f),
    path: f,
  }));
  const picked = await vscode.window.showQuickPick([...items, { ...BROWSE, picked: items.length === 0 }], {
    title,
    placeHolder: 'Tasks to probe (folders with train and test files); Browse… adds others',
    canPickMany: true,
    matchOnDescription: true,
  });
  if (!picked) return undefined;
  const paths = picked.filter((i) => i.path).map((i) => i.path!);
  if (picked.some((i) => i.browse)) {
    const more = await vscode.window.showOpenDialog({
      title: 'Task folders (train + test files) or single files to split',
      canSelectFolders: true,
      canSelectFiles: true,
      canSelectMany: true,
      filters: { 'Labelled data': ['jsonl', 'csv', 'tsv'] },
      openLabel: 'Add Tasks',
    });
    if (!more) return undefined;
    paths.push(...more.map((u) => u.fsPath).filter((p) => !paths.includes(p)));
  }
  if (paths.length === 0) {
    throw new BadInputError('no task chosen; tick at least one task folder (train and test files) or browse for one.');
  }
  await state.update(LAST_TASKS_KEY, paths);
  return tasksFromPaths(paths);
}

/** Parses "0,2,5" / "0-3,7" into sorted block indices below `numLayers`; a message when invalid. */
export function parseBlockList(text: string, numLayers: number): number[] | string {
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) return `"${part}" is not a block number or range (use e.g. 0,2,5 or 0-3).`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return `"${part}": a range goes up, e.g. 0-3.`;
    for (let i = a; i <= b; i++) {
      if (i >= numLayers) return `block ${i} does not exist; the model has blocks 0–${numLayers - 1}.`;
      out.add(i);
    }
  }
  return [...out].sort((x, y) => x - y);
}
