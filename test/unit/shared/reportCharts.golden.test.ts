import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { readReport } from '../../../src/core/reportData';
import { tradeoffSeries, tradeoffSvg, type TradeoffAxis } from '../../../src/shared/reportCharts';
import { fixture } from '../../helpers';

// Pinned when tradeoffSvg was split into stages (eleventh session): the SVG must stay byte for byte.
const report = (f: string) => readReport(fixture(...f.split('/')));
const series = (f: string, task: string | null, axis: TradeoffAxis) => tradeoffSeries(report(f), { task, axis })!;
const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

test('the fixture optimize report draws the same trade-off SVG as the one saved', () => {
  const svg = tradeoffSvg([{ name: 'tiny-roberta', series: series('reports/tiny-roberta-optimize.json', null, 'accuracy') }]);
  assert.equal(svg, fs.readFileSync(fixture('charts', 'tiny-roberta-optimize.tradeoff.svg'), 'utf8'));
});

test('per-task axes, another theme and size, and compared reports draw the same SVGs as before', () => {
  const got: Record<string, string> = {};
  for (const f of ['reports/tiny-roberta-optimize.json', 'reports-before/optimize-tiny-roberta.json', 'reports-before/optimize-tiny-bert-vocab.json']) {
    for (const task of [null, 'sentlen', 'bshift']) {
      for (const axis of ['accuracy', 'vsFinal', 'vsBest'] as const) {
        const s = tradeoffSeries(report(f), { task, axis });
        if (s) got[`${f} ${task ?? 'mean'} ${axis}`] = sha(tradeoffSvg([{ name: 'r', series: s }]));
      }
    }
  }
  const dark = { background: '#1e1e1e', foreground: '#cccccc', grid: '#444444', series: ['#4fc1ff', '#ce9178'], font: 'Segoe "UI" <b>' };
  got.themed = sha(tradeoffSvg([{ name: 'r', series: series('reports/tiny-roberta-optimize.json', 'bshift', 'vsBest') }], dark, { width: 500, height: 300 }));
  const compared = ['reports/tiny-roberta-optimize.json', 'reports-before/optimize-tiny-roberta.json', 'reports-before/optimize-tiny-bert-vocab.json'].map((f, i) => ({ name: `run ${i} <&>`, series: series(f, null, 'vsFinal') }));
  got.compared = sha(tradeoffSvg(compared));
  got.empty = sha(tradeoffSvg([]));
  assert.deepEqual(got, {
    'reports/tiny-roberta-optimize.json mean accuracy': 'eb92a977d775685c',
    'reports/tiny-roberta-optimize.json mean vsFinal': '3f29270345f19028',
    'reports/tiny-roberta-optimize.json mean vsBest': '88547598a11affd1',
    'reports/tiny-roberta-optimize.json sentlen accuracy': '86b5b2fcb44d6111',
    'reports/tiny-roberta-optimize.json sentlen vsFinal': '3d33cfe382a5b274',
    'reports/tiny-roberta-optimize.json sentlen vsBest': '9287090596e9bb40',
    'reports/tiny-roberta-optimize.json bshift accuracy': 'a1b17a9eb894dd79',
    'reports/tiny-roberta-optimize.json bshift vsFinal': '75bd88b6f3b2fbf9',
    'reports/tiny-roberta-optimize.json bshift vsBest': '17d3d0f00901d63a',
    'reports-before/optimize-tiny-roberta.json mean accuracy': 'bf188c7ae84ded8a',
    'reports-before/optimize-tiny-roberta.json mean vsFinal': '7b3929a50f925a43',
    'reports-before/optimize-tiny-roberta.json mean vsBest': '7a53ab0421eff378',
    'reports-before/optimize-tiny-roberta.json sentlen accuracy': 'ce38a58b702c4717',
    'reports-before/optimize-tiny-roberta.json sentlen vsFinal': '7073c5c3682a3b38',
    'reports-before/optimize-tiny-roberta.json sentlen vsBest': '674ddf99e56b4173',
    'reports-before/optimize-tiny-roberta.json bshift accuracy': 'da9845f94bfbe277',
    'reports-before/optimize-tiny-roberta.json bshift vsFinal': '524e7d8af96f898b',
    'reports-before/optimize-tiny-roberta.json bshift vsBest': 'f7052eb883dece1a',
    'reports-before/optimize-tiny-bert-vocab.json mean accuracy': '503bbb900204d01a',
    'reports-before/optimize-tiny-bert-vocab.json mean vsFinal': '19943f118aae0bb8',
    'reports-before/optimize-tiny-bert-vocab.json mean vsBest': '0047e12e1da7dc4d',
    'reports-before/optimize-tiny-bert-vocab.json sentlen accuracy': 'b0c05393c1d79321',
    'reports-before/optimize-tiny-bert-vocab.json sentlen vsFinal': '7edc35de67a63f2b',
    'reports-before/optimize-tiny-bert-vocab.json sentlen vsBest': 'c2722a9d617e6d25',
    'reports-before/optimize-tiny-bert-vocab.json bshift accuracy': 'd1bc46fca5521752',
    'reports-before/optimize-tiny-bert-vocab.json bshift vsFinal': 'e80dae48bb21c1ba',
    'reports-before/optimize-tiny-bert-vocab.json bshift vsBest': 'eca5adfba3e22d45',
    themed: 'abd581dad95f3d67',
    compared: '511d60ad30c9dbd9',
    empty: '9a6d6ab655e4dae4',
  });
});
