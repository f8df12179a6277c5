/**
 * Runs the extension tests in a downloaded VS Code (Electron) with @vscode/test-electron, for
 * machines that can reach update.code.visualstudio.com. Offline, use `npm run test:e2e`
 * (code-server + Chromium), which runs the same tests. Run after `npm run build`:
 *   node out/test/integration/runElectron.js
 */
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { prepareWorkspace } from './workspace';

async function main(): Promise<number> {
  const repoRoot = path.resolve(__dirname, '..', '..', '..');
  const ws = prepareWorkspace(path.join(repoRoot, '.vscode-test', 'workspace'), repoRoot);
  try {
    await runTests({
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(__dirname, 'index'),
      launchArgs: [ws.dir, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    });
    return 0;
  } catch (e) {
    console.error(`extension tests failed: ${(e as Error).message}`);
    return 1;
  }
}

void main().then((code) => process.exit(code));
