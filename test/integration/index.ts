/**
 * Entry point VS Code loads through `extensionTestsPath`: runs the mocha suites in this folder
 * inside the extension host, and prints one machine-readable result line for the launchers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export const RESULT_MARKER = 'PROBESCALE_INTEGRATION_RESULT';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 120_000, reporter: 'spec' });
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const stats = runner.stats ?? { passes: 0, failures };
      console.log(`${RESULT_MARKER} ${JSON.stringify({ passed: stats.passes, failed: stats.failures })}`);
      if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
      else resolve();
    });
  });
}
