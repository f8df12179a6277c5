/** "ProbeScale: Clear Feature Cache": how much the feature cache holds, and removing it after a modal yes. */
import * as vscode from 'vscode';
import { clearFeatureCache, featureCacheUsage } from '../../core/extract/cacheFiles';
import { diskBytes } from '../../core/util/diskErrors';
import { requireIdle } from '../jobs/jobManager';
import { Services } from '../services';
import { readProbeSettings } from '../settingKeys';

const entries = (n: number) => `${n} entr${n === 1 ? 'y' : 'ies'}`;

/** Clears the cache the settings name; refused while a job runs (it may be reading an entry). Returns what was removed, or undefined when nothing was. */
export async function clearCache(services: Pick<Services, 'jobs' | 'log' | 'cacheDir'>): Promise<{ entries: number; bytes: number } | undefined> {
  requireIdle(services.jobs);
  const dir = readProbeSettings(undefined, services.cacheDir).settings.cacheDir;
  if (dir === null) {
    void vscode.window.showInformationMessage('ProbeScale: the feature cache is off (setting probescale.noCache), so there is nothing to clear.');
    return undefined;
  }
  const usage = featureCacheUsage(dir);
  if (usage.bytes === 0) {
    void vscode.window.showInformationMessage(`ProbeScale: the feature cache ${dir} is empty.`);
    return undefined;
  }
  const clear = 'Clear';
  const detail = `${dir}\n\nThe next probe or optimize of the same model and data extracts its features again. Nothing else in that folder is touched.`;
  const choice = await vscode.window.showWarningMessage(`Remove ${entries(usage.entries)} (${diskBytes(usage.bytes)}) from the feature cache?`, { modal: true, detail }, clear);
  if (choice !== clear) return undefined;
  requireIdle(services.jobs);
  const removed = clearFeatureCache(dir);
  services.log.info(`cleared the feature cache ${dir}: ${entries(removed.entries)}, ${diskBytes(removed.bytes)}`);
  void vscode.window.showInformationMessage(`ProbeScale: removed ${entries(removed.entries)} (${diskBytes(removed.bytes)}) from the feature cache.`);
  return removed;
}
