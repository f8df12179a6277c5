/**
 * Preloaded into bench child processes (`node --require out/bench/maxrss.js`): at exit, writes
 * the process's peak resident set size (bytes) to $PROBESCALE_MAXRSS_FILE.
 *
 * On Linux this is VmHWM from /proc/self/status, the high-water mark of this process image's
 * memory. getrusage's maxRSS is not used there: a child forked from the bench starts with the
 * parent's maxRSS at fork time, so a 2.4 GB bench process made every child read ≥ 2.4 GB.
 */
import * as fs from 'node:fs';

export function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: fall through to getrusage.
  }
  return process.resourceUsage().maxRSS * 1024;
}

const file = process.env.PROBESCALE_MAXRSS_FILE;
if (file) process.on('exit', () => fs.writeFileSync(file, String(peakRssBytes())));
