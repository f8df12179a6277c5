/**
 * The extension's one log (Output ▸ ProbeScale) and its one way of telling the user that
 * something failed: a short toast with "Show Log", the details and stack in the log.
 */
import * as vscode from 'vscode';
import { isCancelled, isUserError, messageIn } from '../core/errors';
import { extensionWords } from './paramWords';

export const SHOW_LOG = 'Show Log';

export function createLog(): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel('ProbeScale', { log: true });
}

/** The first line of an error's message in the extension's words (settings, form fields), for toasts and the webview. */
export function errorMessage(e: unknown): string {
  return messageIn(e, extensionWords).split('\n')[0];
}

/**
 * Shows `what` failed. User errors (bad input) show their own message, which names the bad
 * value; internal errors say so and point to the log. Cancellation is not an error and is
 * only logged.
 */
export function reportError(log: vscode.LogOutputChannel, what: string, e: unknown): void {
  if (isCancelled(e)) {
    log.info(`${what}: cancelled`);
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  log.error(`${what} failed: ${err.stack ?? err.message}`);
  const text = isUserError(err) ? `ProbeScale: ${errorMessage(err)}` : `ProbeScale: ${what} failed: ${errorMessage(err)}`;
  void vscode.window.showErrorMessage(text, SHOW_LOG).then((choice) => {
    if (choice === SHOW_LOG) log.show(true);
  });
}
