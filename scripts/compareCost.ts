/**
 * What "Compare with…" costs the extension host when the user ticks many huge reports (RESULTS
 * §6, tenth session): `--count` hard links to one report of `--blocks` blocks (test/hugeReports.ts)
 * are picked, then read as the host read them before the tenth session (every pick) and as
 * readComparePicks reads them now (at most COMPARE_REPORTS). Prints time, heap growth and the size
 * of the reply the editor would be posted. Run from the repository root:
 *   node --expose-gc out/scripts/compareCost.js [--count 50] [--blocks 10000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readReport } from '../src/core/reportData';
import { readComparePicks } from '../src/extension/reportEditor/comparePicks';
import { COMPARE_REPORTS } from '../src/shared/protocol';
import { manyBlocks } from '../test/hugeReports';

const { values } = parseArgs({ options: { count: { type: 'string', default: '50' }, blocks: { type: 'string', default: '10000' } } });
const count = Number(values.count);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probescale-compare-cost-'));
try {
  const source = path.join(dir, 'report.json');
  fs.writeFileSync(source, JSON.stringify(manyBlocks(Number(values.blocks))));
  const picks = Array.from({ length: count }, (_, i) => {
    const f = path.join(dir, `pick-${i}.json`);
    fs.linkSync(source, f);
    return f;
  });
  console.log(`${count} picks of one ${values.blocks}-block report (${(fs.statSync(source).size / 2 ** 20).toFixed(1)} MiB)`);
  const ways: [string, () => unknown[]][] = [
    ['every pick read (before)', () => picks.map((f) => ({ report: readReport(f), source: f }))],
    [`readComparePicks, room ${COMPARE_REPORTS} (now)`, () => readComparePicks(picks, [path.join(dir, 'open.json')], COMPARE_REPORTS).reports],
  ];
  for (const [what, read] of ways) {
    (globalThis as { gc?: () => void }).gc?.();
    const heap = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const reports = read();
    const ms = performance.now() - t0;
    const grown = process.memoryUsage().heapUsed - heap;
    console.log(`${what}: ${reports.length} reports in ${(ms / 1000).toFixed(2)} s, heap +${(grown / 2 ** 20).toFixed(0)} MiB, reply ${(JSON.stringify({ reports }).length / 2 ** 20).toFixed(0)} MiB`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
