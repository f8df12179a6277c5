/**
 * Settings a run could not read, said once per run: each in the log (Output ▸ ProbeScale) and
 * one warning toast for all of them. The run goes on with what it used instead.
 */
import * as vscode from 'vscode';
import { SHOW_LOG } from './log';
import { SECTION, UnreadableSetting, describeUnreadable } from './settingKeys';

/** `overrides`: values this run was given by setting key (the test API's config); an unreadable setting it overrides was not used and is not said. */
export function warnUnreadable(log: vscode.LogOutputChannel, all: UnreadableSetting[], overrides: Partial<Record<string, unknown>> = {}): void {
  const unreadable = all.filter((u) => overrides[u.key] === undefined);
  if (unreadable.length === 0) return;
  for (const u of unreadable) log.warn(describeUnreadable(u));
  const text =
    unreadable.length === 1
      ? describeUnreadable(unreadable[0])
      : `${unreadable.length} settings cannot be read: ${unreadable.map((u) => `${SECTION}.${u.key} (${JSON.stringify(u.value)}, used ${u.used})`).join(', ')}. The log says what each accepts.`;
  void vscode.window.showWarningMessage(`ProbeScale: ${text}`, SHOW_LOG).then((choice) => {
    if (choice === SHOW_LOG) log.show(true);
  });
}
