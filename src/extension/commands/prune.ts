/** "ProbeScale: Prune Model" and the commit path the view's "Commit pruned model" button uses. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { declaredLayerCount } from '../../core/model/layerCount';
import { bestPrefix } from '../../shared/params';
import { blocksSlug, parseBlockList } from '../../core/prune/blockList';
import { PruneOutcome } from '../../shared/protocol';
import { reportError } from '../log';
import { requireIdle } from '../jobs/jobManager';
import { Services } from '../services';
import { besideModel, displayPath } from '../workspace/discovery';
import { pickModelFolder } from './pickers';
import { readUtf8 } from '../../core/util/textFile';
import { readProbeSettings } from '../settingKeys';

/** Where `<model>-pruned-<blocks>` goes (see besideModel). */
export function prunedFolderPath(modelDir: string, kept: readonly number[]): string {
  return besideModel(modelDir, `-pruned-${blocksSlug(kept)}`);
}

/** Asks in a modal whether to replace the folder `out`; true when the user agrees. */
export async function confirmReplace(out: string, detail: string): Promise<boolean> {
  const replace = 'Replace';
  const choice = await vscode.window.showWarningMessage(`${path.basename(out)} already exists. Replace it?`, { modal: true, detail: `${out}\n\n${detail}` }, replace);
  return choice === replace;
}

const pctOf = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) : '100');

export interface CommitOptions {
  /** Where to write; default `<model>-pruned-<blocks>` (see prunedFolderPath). */
  out?: string;
  /**
   * Reveal the result in the Explorer at once. Off when the view asked: revealing switches the
   * side bar away from the view that shows the result (it offers "Reveal in Explorer" instead).
   */
  reveal?: boolean;
}

/** Commits under way, by model, blocks and output folder (see commitPrune). */
const committing = new Map<string, Promise<PruneOutcome>>();

/**
 * Writes the pruned model with progress. An existing folder is replaced only after the user
 * agrees in a modal. Errors propagate (callers report them). A second request for the same
 * commit while the first runs (a double click in the view) gets the first one's outcome: no
 * second replace question, no "a prune job is already running" error.
 */
export function commitPrune(s: Services, modelDir: string, layers: number[], opts: CommitOptions = {}): Promise<PruneOutcome> {
  const sorted = [...layers].sort((a, b) => a - b);
  const out = opts.out ?? prunedFolderPath(modelDir, sorted);
  const key = JSON.stringify([path.resolve(modelDir), sorted, path.resolve(out)]);
  const running = committing.get(key);
  if (running) return running;
  const commit = writePruned(s, modelDir, layers, out, opts).finally(() => committing.delete(key));
  committing.set(key, commit);
  return commit;
}

async function writePruned(s: Services, modelDir: string, layers: number[], out: string, opts: CommitOptions): Promise<PruneOutcome> {
  let overwrite = false;
  if (fs.existsSync(out)) {
    if (!(await confirmReplace(out, `Its contents will be replaced by the model with blocks ${layers.join(', ') || '(none)'} of ${path.basename(modelDir)}.`))) return { status: 'declined' };
    overwrite = true;
  }
  // The graph the folder's settings name (probescale.graphSource), as probe and optimize run it.
  const from = readProbeSettings(vscode.Uri.file(modelDir), null).settings.from;
  const outcome = await s.jobs.run({ type: 'prune', modelDir, layers, out, overwrite, settings: { from } }, `ProbeScale: writing ${path.basename(out)}`);
  if (outcome.status === 'cancelled') {
    void vscode.window.showInformationMessage('ProbeScale: pruning cancelled; nothing was written.');
    return outcome;
  }
  const r = outcome.result;
  s.log.info(`wrote ${r.out}: ${r.files.join(', ')}`);
  if (opts.reveal ?? true) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(r.out));
  const reveal = 'Reveal in Explorer';
  void vscode.window
    .showInformationMessage(`ProbeScale: wrote ${displayPath(r.out)}: ${r.kept.length} blocks, ${r.params.after.toLocaleString('en-US')} parameters (${pctOf(r.params.after, r.params.before)} %).`, reveal)
    .then((c) => {
      if (c === reveal) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(r.out));
    });
  return { status: 'written', ...r };
}

/** Number of blocks from config.json, for validating typed block lists before the job runs. */
function numLayersOf(modelDir: string): number | undefined {
  try {
    return declaredLayerCount(JSON.parse(readUtf8(path.join(modelDir, 'config.json'))));
  } catch {
    return undefined;
  }
}

interface LayerItem extends vscode.QuickPickItem {
  layers?: number[];
}

/** The command: model, then blocks (the view's selection, the report's best prefix, or typed). */
export async function pruneModel(s: Services): Promise<void> {
  try {
    requireIdle(s.jobs);
    const shown = s.reports.current?.report;
    const modelDir = await pickModelFolder('ProbeScale: Prune Model — model', shown?.model.dir);
    if (!modelDir) return;
    const report = shown && path.resolve(shown.model.dir) === path.resolve(modelDir) ? shown : undefined;
    const numLayers = report?.model.numLayers ?? numLayersOf(modelDir) ?? Number.MAX_SAFE_INTEGER;
    const items: LayerItem[] = [];
    const sel = s.selection && path.resolve(s.selection.modelDir) === path.resolve(modelDir) ? s.selection.kept : undefined;
    if (sel) items.push({ label: `$(check) Blocks ticked in the ProbeScale view`, description: blocksSlug(sel).replace(/_/g, ', '), layers: sel });
    if (report) {
      const prefix = bestPrefix(Object.values(report.tasks).map((t) => t.bestLayer), numLayers);
      items.push({ label: '$(graph-line) Best prefix from the last report', description: `blocks ${blocksSlug(prefix).replace(/_/g, ', ')}`, detail: 'the lowest layers that reach every task’s best probe score', layers: prefix });
    }
    items.push({ label: '$(edit) Type blocks…', description: 'e.g. 0-5, 7', alwaysShow: true });
    const choice = await vscode.window.showQuickPick(items, { title: `ProbeScale: Prune ${path.basename(modelDir)} — blocks to keep` });
    if (!choice) return;
    let layers = choice.layers;
    if (!layers) {
      const typed = await vscode.window.showInputBox({
        title: `ProbeScale: Prune ${path.basename(modelDir)} — blocks to keep`,
        prompt: `Blocks to keep, 0-based${numLayers < Number.MAX_SAFE_INTEGER ? ` (the model has 0–${numLayers - 1})` : ''}: numbers and ranges, e.g. 0-5, 7`,
        value: sel ? blocksSlug(sel).replace(/_/g, ', ') : '',
        validateInput: (v) => {
          const r = parseBlockList(v, numLayers);
          return typeof r === 'string' ? r : undefined;
        },
      });
      if (typed === undefined) return;
      const parsed = parseBlockList(typed, numLayers);
      if (typeof parsed === 'string') return;
      layers = parsed;
    }
    await commitPrune(s, modelDir, layers);
  } catch (e) {
    reportError(s.log, 'prune', e);
  }
}
