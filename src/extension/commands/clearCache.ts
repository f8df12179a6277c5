/** "ProbeScale: Clear Caches…": what the feature and graph caches hold, removed after a modal yes. */
import * as vscode from 'vscode';
import { CacheUsage, GraphCacheUsage, clearFeatureCache, clearGraphCache, describeCaches, describeCleared, featureCacheUsage, graphCacheUsage } from '../../core/caches';
import { defaultGraphCacheDir } from '../../core/model/graphSource';
import { diskBytes } from '../../core/util/diskErrors';
import { requireIdle } from '../jobs/jobManager';
import { Services } from '../services';
import { readProbeSettings } from '../settingKeys';

/**
 * Clears the feature cache the settings name (none with probescale.noCache) and the graph cache;
 * refused while a job runs (it may be reading them). Returns what was removed, or undefined when
 * nothing was.
 */
export async function clearCache(services: Pick<Services, 'jobs' | 'log' | 'cacheDir'>, graphDir = defaultGraphCacheDir()): Promise<{ features?: CacheUsage; graphs?: GraphCacheUsage } | undefined> {
  requireIdle(services.jobs);
  const featureDir = readProbeSettings(undefined, services.cacheDir).settings.cacheDir;
  const features = featureDir === null ? undefined : featureCacheUsage(featureDir);
  const graphs = graphDir === null ? undefined : graphCacheUsage(graphDir);
  const freed = (features?.bytes ?? 0) + (graphs?.heldOnly ?? 0);
  if ((features?.bytes ?? 0) + (graphs?.bytes ?? 0) === 0) {
    void vscode.window.showInformationMessage(`ProbeScale: the caches are empty${features ? '' : ' (the feature cache is off: setting probescale.noCache)'}.`);
    return undefined;
  }
  const clear = 'Clear';
  const detail = `${describeCaches(features, graphs).join('\n')}\n\nThe next probe or optimize of the same model and data extracts its features and builds its graph again. Nothing else in those folders is touched.`;
  const choice = await vscode.window.showWarningMessage(`Clear ProbeScale's caches? This frees ${diskBytes(freed)}.`, { modal: true, detail }, clear);
  if (choice !== clear) return undefined;
  requireIdle(services.jobs);
  const removed = { features: featureDir === null ? undefined : clearFeatureCache(featureDir), graphs: graphDir === null ? undefined : clearGraphCache(graphDir) };
  for (const line of describeCleared(removed.features, removed.graphs)) services.log.info(line);
  void vscode.window.showInformationMessage(`ProbeScale: freed ${diskBytes((removed.features?.bytes ?? 0) + (removed.graphs?.heldOnly ?? 0))} (details in the log).`);
  return removed;
}
