/**
 * Under an address-space limit (`ulimit -v`, common on shared clusters), Node reserves about
 * 10 GiB of it for every WebAssembly memory (guard regions for its trap handler), and the probe
 * kernels make them (src/core/probe/gemm.ts; before the tokenizer stopped loading Node's fetch,
 * its HTTP parser made one too): a probe failed below 12 GiB while using under 300 MB. Node's --disable-wasm-trap-handler uses bounds checks instead and reserves nothing. It is
 * a process flag, so the CLI starts itself again with it; the child does the work, and this process
 * only waits and passes on its exit status.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { softLimit } from '../core/util/processLimits';

const FLAG = '--disable-wasm-trap-handler';

/**
 * Runs the CLI again with FLAG when an address-space limit is set and this process lacks it;
 * resolves with the child's exit status (128 + signal number when a signal ended it). Undefined
 * when no relaunch is needed, or when the child cannot be started (this process then goes on).
 */
export function relaunchUnderAddressLimit(argv: string[], limit = softLimit('Max address space')): Promise<number | undefined> | undefined {
  if (typeof limit !== 'number' || process.execArgv.includes(FLAG) || !process.argv[1]) return undefined;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FLAG, ...process.execArgv, process.argv[1], ...argv], { stdio: 'inherit' });
    // Ctrl-C and a closed terminal reach the whole process group, the child included: this process
    // only must not die of them. SIGTERM is sent to one process (a process manager, `kill`): pass it on.
    const ignore = () => {};
    const forward = () => child.kill('SIGTERM');
    process.on('SIGINT', ignore).on('SIGHUP', ignore).on('SIGTERM', forward);
    const done = (status: number | undefined) => {
      process.off('SIGINT', ignore).off('SIGHUP', ignore).off('SIGTERM', forward);
      resolve(status);
    };
    child.on('error', () => done(undefined));
    child.on('exit', (code, signal) => done(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}
