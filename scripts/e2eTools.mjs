// Installs what scripts/e2e.mjs needs, outside the extension's own dependencies (so none of it
// ships): Debian's chromium, libkrb5-dev and ripgrep, then code-server and playwright-core into
// .e2e/tools (ignored by git), as test/e2e/README.md describes; seeds @vscode/ripgrep's cache so
// that its postinstall does not download. Idempotent: a second run checks and returns.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';
export const PLAYWRIGHT_CORE_VERSION = '1.65.1';
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_ARCHIVE = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

function installedVersion(toolsDir, pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(toolsDir, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function ensureDebianPackages(log) {
  const missing = [
    ['/usr/bin/chromium', 'chromium'],
    ['/usr/include/gssapi/gssapi.h', 'libkrb5-dev'],
    ['/usr/bin/rg', 'ripgrep'],
  ].filter(([f]) => !fs.existsSync(f));
  if (missing.length === 0) return;
  const pkgs = missing.map(([, p]) => p);
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages ${pkgs.join(' ')}; install them: sudo apt-get install -y ${pkgs.join(' ')}`);
  log(`installing Debian packages: ${pkgs.join(' ')}`);
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', ...pkgs], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** @vscode/ripgrep's postinstall looks in this cache before downloading rg from GitHub. */
function seedRipgrepCache() {
  const cache = path.join(os.tmpdir(), RIPGREP_CACHE);
  const archive = path.join(cache, RIPGREP_ARCHIVE);
  if (fs.existsSync(archive)) return;
  const pack = fs.mkdtempSync(path.join(os.tmpdir(), 'rgpack-'));
  fs.copyFileSync('/usr/bin/rg', path.join(pack, 'rg'));
  fs.mkdirSync(cache, { recursive: true });
  run('tar', ['czf', archive, '-C', pack, 'rg']);
  fs.rmSync(pack, { recursive: true, force: true });
}

/** Returns the paths of the code-server launcher and the playwright-core module. */
export function ensureTools(toolsDir, log = console.log) {
  ensureDebianPackages(log);
  const ready = installedVersion(toolsDir, 'code-server') === CODE_SERVER_VERSION && installedVersion(toolsDir, 'playwright-core') === PLAYWRIGHT_CORE_VERSION;
  if (!ready) {
    log(`installing code-server@${CODE_SERVER_VERSION} and playwright-core@${PLAYWRIGHT_CORE_VERSION} into ${toolsDir} (a few minutes, once)`);
    fs.mkdirSync(toolsDir, { recursive: true });
    fs.writeFileSync(
      path.join(toolsDir, 'package.json'),
      JSON.stringify({ name: 'probescale-e2e-tools', private: true, version: '0.0.0', dependencies: { 'code-server': CODE_SERVER_VERSION, 'playwright-core': PLAYWRIGHT_CORE_VERSION } }, null, 2) + '\n',
    );
    seedRipgrepCache();
    run('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts'], {
      cwd: toolsDir,
      env: { ...process.env, npm_config_unsafe_perm: 'true', npm_config_yes: 'true' },
    });
  }
  return {
    codeServer: path.join(toolsDir, 'node_modules', '.bin', 'code-server'),
    playwright: path.join(toolsDir, 'node_modules', 'playwright-core', 'index.js'),
  };
}
