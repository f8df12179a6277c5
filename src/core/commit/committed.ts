/**
 * What a committed folder's config.json says about the classifiers it ships
 * (`probescale.tasks`, written by optimize, read by eval and by the extension).
 */

/** A task classifier a committed folder ships. */
export interface CommittedTask {
  name: string;
  /** Folder of the classifier, relative to the committed folder (`classifiers/<name>`). */
  classifier: string;
  labels: string[];
}

/** The task classifiers a config.json lists; undefined when it lists none (not a committed folder) or lists them malformed. */
export function committedTasksOf(config: Record<string, unknown>): CommittedTask[] | undefined {
  const section = config.probescale;
  const tasks: unknown = typeof section === 'object' && section !== null && 'tasks' in section ? section.tasks : undefined;
  if (!Array.isArray(tasks) || tasks.length === 0) return undefined;
  const out: CommittedTask[] = [];
  for (const t of tasks) {
    if (typeof t !== 'object' || t === null || !('name' in t) || !('classifier' in t) || typeof t.name !== 'string' || typeof t.classifier !== 'string') return undefined;
    out.push({ name: t.name, classifier: t.classifier, labels: 'labels' in t && Array.isArray(t.labels) ? t.labels.map(String) : [] });
  }
  return out;
}
