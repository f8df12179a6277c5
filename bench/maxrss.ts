/**
 * Preloaded into bench child processes (`node --require out/bench/maxrss.js`): at exit, writes
 * the process's peak resident set size (getrusage maxRSS, bytes) to $PROBESCALE_MAXRSS_FILE.
 */
import * as fs from 'node:fs';

const file = process.env.PROBESCALE_MAXRSS_FILE;
if (file) process.on('exit', () => fs.writeFileSync(file, String(process.resourceUsage().maxRSS * 1024)));
