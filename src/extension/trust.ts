/**
 * Workspace trust. ProbeScale declares `untrustedWorkspaces: limited`: in a workspace the user
 * has not trusted it shows saved reports, but runs no model. Probing, pruning, optimizing and
 * evaluating load ONNX graphs and tokenizer files from the workspace into ONNX Runtime's native
 * code, which a crafted file could exploit. No `vscode` import, so the rule is unit-tested.
 */
import { ProbeScaleError } from '../core/errors';

/** Commands that run or open models from the workspace; each is refused while it is untrusted. */
export const COMMANDS_NEEDING_TRUST = ['probescale.probeFolder', 'probescale.pruneModel', 'probescale.optimize', 'probescale.evalFolder'] as const;

/**
 * Commands that only show what is already there, or clear the user's own feature cache (its folder
 * is a machine setting, which a workspace cannot set); they work in restricted mode.
 */
export const COMMANDS_WITHOUT_TRUST = ['probescale.showPanel', 'probescale.openReport', 'probescale.openReportEditor', 'probescale.cancelJob', 'probescale.jobMenu', 'probescale.clearCaches'] as const;

export class UntrustedWorkspaceError extends ProbeScaleError {
  constructor(what: string) {
    super('untrusted-workspace', `${what} runs model files from this workspace, which is not trusted; trust the workspace (Workspaces: Manage Workspace Trust) to run ProbeScale jobs. Saved reports can still be opened.`);
  }
}

/** Throws UntrustedWorkspaceError unless the workspace is trusted. */
export function requireTrust(isTrusted: boolean, what: string): void {
  if (!isTrusted) throw new UntrustedWorkspaceError(what);
}
