// Peak resident memory of a CLI run, per stage: runs the command, samples the process's VmRSS
// (with its children's) from /proc every --every seconds, and charges each sample to the last
// progress line the command printed. Linux only.
//   node scripts/stagePeaks.mjs [--every 0.5] -- node bin/probescale.js optimize … > peaks.md
// Prints a markdown table (stage, seconds from the start when first seen, peak RSS in MB) and the
// run's overall sampled peak; the command's own output goes to stagePeaks-<pid>.log in the
// current folder. A sampled peak can miss a spike shorter than the interval (/usr/bin/time -v
// gives the true maximum of the largest process, not per stage).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
if (dash < 0 || dash === argv.length - 1) throw new Error('usage: node scripts/stagePeaks.mjs [--every SECONDS] -- COMMAND [ARGS…]');
const everyAt = argv.indexOf('--every');
const every = everyAt >= 0 && everyAt < dash ? Number(argv[everyAt + 1]) : 0.5;
if (!(every > 0)) throw new Error(`--every ${argv[everyAt + 1]}: give a positive number of seconds.`);

const child = spawn(argv[dash + 1], argv.slice(dash + 2), { stdio: ['ignore', 'pipe', 'pipe'] });
const log = fs.createWriteStream(`stagePeaks-${child.pid}.log`);
let stage = '(start)';
const onText = (buf) => {
  log.write(buf);
  // Progress lines end in \n or are redrawn with \r; the stage is the line's first three words.
  const lines = buf.toString().split(/[\r\n]+/).map((l) => l.trim()).filter(Boolean);
  if (lines.length) stage = lines[lines.length - 1].split(/\s+/).slice(0, 3).join(' ').replace(/[:|]/g, '');
};
child.stdout.on('data', onText);
child.stderr.on('data', onText);

/** VmRSS in kB of `pid` and of every process below it. */
function treeRss(pid) {
  let kb = 0;
  try {
    kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const k of kids ? kids.split(/\s+/) : []) kb += treeRss(Number(k));
  } catch {
    // the process ended between two reads
  }
  return kb;
}

const t0 = Date.now();
const stages = new Map();
let peak = 0;
const timer = setInterval(() => {
  const kb = treeRss(child.pid);
  if (!kb) return;
  const s = stages.get(stage) ?? { first: (Date.now() - t0) / 1000, peak: 0 };
  s.peak = Math.max(s.peak, kb);
  stages.set(stage, s);
  peak = Math.max(peak, kb);
}, every * 1000);

child.on('exit', (code, signal) => {
  clearInterval(timer);
  log.end();
  console.log(`command: ${argv.slice(dash + 1).join(' ')}`);
  console.log(`exit: ${signal ?? code}, ${((Date.now() - t0) / 1000).toFixed(1)} s, sampled every ${every} s, overall peak ${(peak / 1024).toFixed(0)} MB\n`);
  console.log('| stage (first words of the progress line) | first seen (s) | peak RSS (MB) |\n|---|---|---|');
  for (const [name, s] of stages) console.log(`| ${name} | ${s.first.toFixed(1)} | ${(s.peak / 1024).toFixed(0)} |`);
  process.exitCode = code ?? 1;
});
