/**
 * The QuickPicks the commands share: which model (or committed) folder, which tasks and their
 * weights, which blocks.
 * Each returns undefined when the user dismisses it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BadInputError } from '../../core/errors';
import { TaskSpec } from '../../core/jobs';
import { CommittedTask } from '../../core/commit/committed';
import { parseWeights } from '../../core/data/weights';
import { cachedDatasetName } from '../../core/data/arrow';
import { committedTasks, displayPath, findCommittedFolders, findModelFolders, findTaskFolders, isModelFolder } from '../workspace/discovery';

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

/** Task names must be usable on the CLI too (`--task NAME=PATH`); a datasets cache folder (named by a hash) is named by its dataset. */
function taskName(dir: string): string {
  return (cachedDatasetName(dir) ?? path.basename(dir)).replace(/\.(jsonl|csv|tsv|parquet|arrow)$/, '').replace(/[^\w.-]+/g, '_') || 'task';
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
    label: cachedDatasetName(f) ?? path.basename(f),
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
      filters: { 'Labelled data': ['jsonl', 'csv', 'tsv', 'parquet', 'arrow'] },
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

interface WeightItem extends vscode.QuickPickItem {
  edit: boolean;
}

/**
 * Task weights for the optimize objective: equal unless the user chooses to edit them. Only
 * asked with two or more tasks; undefined when dismissed.
 */
export async function pickWeights(tasks: TaskSpec[], title: string): Promise<TaskSpec[] | undefined> {
  if (tasks.length < 2) return tasks;
  const equal: WeightItem = { label: '$(check) Equal weights', description: tasks.map((t) => `${t.name}:1`).join(', '), detail: 'Every task counts the same in the accuracy the selection maximises', edit: false };
  const edit: WeightItem = { label: '$(edit) Set weights…', description: 'NAME:WEIGHT, e.g. a task that matters twice as much gets 2', edit: true };
  const choice = await vscode.window.showQuickPick([equal, edit], { title, placeHolder: 'How much each task counts in the objective' });
  if (!choice) return undefined;
  if (!choice.edit) return tasks.map((t) => ({ ...t, weight: 1 }));
  const names = tasks.map((t) => t.name);
  const typed = await vscode.window.showInputBox({
    title,
    prompt: 'Task weights as NAME:WEIGHT, comma-separated; tasks left out keep weight 1',
    value: tasks.map((t) => `${t.name}:${t.weight}`).join(', '),
    validateInput: (v) => {
      const r = parseWeights(v, names);
      return typeof r === 'string' ? r : undefined;
    },
  });
  if (typed === undefined) return undefined;
  const weights = parseWeights(typed, names);
  if (typeof weights === 'string') return undefined;
  return tasks.map((t) => ({ ...t, weight: weights[t.name] }));
}

/** Picks a committed folder (config.json with `probescale.tasks`); `preferred` is listed first. */
export async function pickCommittedFolder(title: string, preferred?: string): Promise<string | undefined> {
  const found = await findCommittedFolders();
  const ordered = preferred && found.includes(preferred) ? [preferred, ...found.filter((f) => f !== preferred)] : found;
  const items: PathItem[] = ordered.map((f) => ({
    label: `$(package) ${path.basename(f)}`,
    description: displayPath(f),
    detail: `classifiers for ${(committedTasks(f) ?? []).map((t) => t.name).join(', ')}${f === preferred ? ' · written by the optimize report in the ProbeScale view' : ''}`,
    path: f,
  }));
  const choice = await vscode.window.showQuickPick([...items, BROWSE], {
    title,
    placeHolder: items.length ? 'Committed folder (written by "Optimize for a Parameter Budget" or probescale optimize)' : 'No committed folder in the workspace; browse for one',
    matchOnDescription: true,
  });
  if (!choice) return undefined;
  if (!choice.browse) return choice.path;
  const picked = await vscode.window.showOpenDialog({ title, canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Evaluate Folder' });
  const dir = picked?.[0]?.fsPath;
  if (dir && (!isModelFolder(dir) || !committedTasks(dir))) {
    throw new BadInputError(`${dir} is not a committed folder: its config.json has no "probescale.tasks" (write one with "ProbeScale: Optimize for a Parameter Budget").`);
  }
  return dir;
}

interface EvalTaskItem extends vscode.QuickPickItem {
  task: CommittedTask;
  path?: string;
}

/**
 * The tasks to evaluate a committed folder on: one entry per classifier it ships, ticked where a
 * workspace task folder has the same name; a ticked task without one asks for its data.
 */
export async function pickEvalTasks(committed: CommittedTask[], title: string): Promise<TaskSpec[] | undefined> {
  const folders = await findTaskFolders();
  const byName = new Map(tasksFromPaths(folders).map((t) => [t.name, t.path]));
  const items: EvalTaskItem[] = committed.map((task) => {
    const p = byName.get(task.name);
    return { label: task.name, description: p ? displayPath(p) : 'no task folder of this name in the workspace: browse after OK', picked: p !== undefined, task, path: p };
  });
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Tasks to measure the shipped classifiers on (their test split)', canPickMany: true, matchOnDescription: true });
  if (!picked) return undefined;
  if (picked.length === 0) throw new BadInputError('no task chosen; tick at least one of the folder’s classifiers.');
  const out: TaskSpec[] = [];
  for (const item of picked) {
    let p = item.path;
    if (!p) {
      const more = await vscode.window.showOpenDialog({
        title: `Data for ${item.task.name} (a task folder with train and test files, or one file)`,
        canSelectFolders: true,
        canSelectFiles: true,
        canSelectMany: false,
        filters: { 'Labelled data': ['jsonl', 'csv', 'tsv', 'parquet', 'arrow'] },
        openLabel: `Use for ${item.task.name}`,
      });
      p = more?.[0]?.fsPath;
      if (!p) return undefined;
    }
    out.push({ name: item.task.name, path: p, weight: 1 });
  }
  return out;
}
