/**
 * The two charts of the view, drawn with chart.js (bundled into dist/webview.js) in the
 * editor's theme colours. Only the chart.js parts used here are registered, to keep the bundle small.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type PointStyle,
} from 'chart.js';
import type { ReportData } from '../src/shared/protocol';
import { shortName } from '../src/shared/bounded';
import { pct } from './format';
import { accuracySeries, relevanceBars, type AccuracySeries } from './selection';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, CategoryScale, Legend, Tooltip);

interface Theme {
  foreground: string;
  grid: string;
  series: string[];
  font: string;
  fontSize: number;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** Reads the VS Code theme's chart colours; call again after a theme change. */
export function readTheme(): Theme {
  return {
    foreground: cssVar('--vscode-charts-foreground', cssVar('--vscode-foreground', '#888')),
    grid: cssVar('--vscode-charts-lines', 'rgba(128,128,128,0.35)'),
    series: ['blue', 'orange', 'green', 'purple', 'red', 'yellow'].map((c) => cssVar(`--vscode-charts-${c}`, '#3794ff')),
    font: cssVar('--vscode-font-family', 'sans-serif'),
    fontSize: Number.parseFloat(cssVar('--vscode-font-size', '12')) || 12,
  };
}

/** `#rrggbb` or `rgb()` with alpha, for faded bars. */
function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (hex) {
    const n = Number.parseInt(hex[1], 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  return color;
}

function scaleStyle(theme: Theme) {
  return { ticks: { color: theme.foreground, font: { family: theme.font, size: theme.fontSize - 1 } }, grid: { color: theme.grid }, border: { color: theme.grid } };
}

type AccuracyTask = AccuracySeries['tasks'][number];
type LineData = ChartDataset<'line', (number | null)[]>;

/** One task's line in `color`: the best layer drawn as a larger diamond. */
function taskLine(t: AccuracyTask, labels: string[], color: string): LineData {
  const isBest = labels.map((_, j) => j === t.best);
  return {
    label: shortName(t.name),
    data: t.values.map((v) => (v === null ? null : 100 * v)),
    borderColor: color,
    backgroundColor: color,
    borderWidth: 2,
    pointRadius: isBest.map((b) => (b ? 6 : 2)),
    pointHoverRadius: isBest.map((b) => (b ? 7 : 4)),
    pointStyle: isBest.map((b): PointStyle => (b ? 'rectRot' : 'circle')),
    tension: 0,
  };
}

/** One task's majority baseline, dashed in `color` (left out of the legend by its " majority" suffix). */
function majorityLine(t: AccuracyTask, labels: string[], color: string): LineData {
  return {
    label: `${shortName(t.name)} majority`,
    data: labels.map(() => 100 * t.majority),
    borderColor: color,
    borderWidth: 1,
    borderDash: [5, 4],
    pointRadius: 0,
    pointHoverRadius: 0,
  };
}

/** Each task's line, followed by its majority baseline where the report has one. */
function accuracyDatasets(series: AccuracySeries, theme: Theme): LineData[] {
  return series.tasks.flatMap((t, i) => {
    const color = theme.series[i % theme.series.length];
    const line = taskLine(t, series.labels, color);
    return Number.isFinite(t.majority) ? [line, majorityLine(t, series.labels, color)] : [line];
  });
}

/** The accuracy chart's options: layer axis (saying how many layers a point averages), percent axis, legend and tooltip. */
function accuracyOptions(series: AccuracySeries, theme: Theme): ChartOptions<'line'> {
  const s = scaleStyle(theme);
  return {
    animation: false,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    scales: {
      x: { ...s, title: { display: true, text: series.width > 1 ? `layer (0 = embeddings; mean of ${series.width} layers a point)` : 'layer (0 = embeddings)', color: theme.foreground } },
      y: { ...s, grace: '5%', ticks: { ...s.ticks, callback: (v) => `${v} %` } },
    },
    plugins: {
      legend: {
        labels: {
          color: theme.foreground,
          boxWidth: 12,
          boxHeight: 2,
          font: { family: theme.font, size: theme.fontSize - 1 },
          filter: (item) => !item.text.endsWith(' majority'),
        },
      },
      tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${(ctx.parsed.y ?? 0).toFixed(1)} %` } },
    },
  };
}

export class AccuracyChart {
  private chart: Chart<'line', (number | null)[], string> | undefined;

  constructor(private readonly canvas: HTMLCanvasElement) {}

  /** Draws accuracySeries(report): a bounded number of tasks and points, whatever the report holds. */
  update(report: ReportData, theme: Theme): void {
    const series = accuracySeries(report);
    if (this.chart) this.chart.destroy();
    this.chart = new Chart<'line', (number | null)[], string>(this.canvas, {
      type: 'line',
      data: { labels: series.labels, datasets: accuracyDatasets(series, theme) },
      options: accuracyOptions(series, theme),
    });
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}

export class InfluenceChart {
  private chart: Chart<'bar', number[], string> | undefined;
  private kept: ('all' | 'some' | 'none')[] = [];
  private label = '';

  constructor(private readonly canvas: HTMLCanvasElement) {}

  /** Draws relevanceBars(scores, kept): at most CHART_POINTS bars, neighbours averaged on a deep model. */
  update(scores: number[], kept: ReadonlySet<number>, label: string, theme: Theme): void {
    const bars = relevanceBars(scores, kept);
    this.kept = bars.kept;
    this.label = label;
    const keptColor = theme.series[0];
    const droppedColor = withAlpha(theme.foreground.startsWith('#') ? theme.foreground : '#888888', 0.3);
    const someColor = withAlpha(keptColor, 0.6);
    const colors = bars.kept.map((k) => (k === 'all' ? keptColor : k === 'some' ? someColor : droppedColor));
    if (this.chart) {
      const ds = this.chart.data.datasets[0];
      ds.data = bars.values;
      ds.backgroundColor = colors;
      ds.label = label;
      this.chart.data.labels = bars.labels;
      this.chart.update('none');
      return;
    }
    const s = scaleStyle(theme);
    this.chart = new Chart<'bar', number[], string>(this.canvas, {
      type: 'bar',
      data: { labels: bars.labels, datasets: [{ label, data: bars.values, backgroundColor: colors, borderWidth: 0 }] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { ...s, title: { display: true, text: bars.width > 1 ? `block (mean of ${bars.width} blocks a bar; kept in colour, partly kept paler)` : 'block (kept in colour)', color: theme.foreground } }, y: { ...s, beginAtZero: true } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (ctx) => `${this.label}: ${this.label === 'probe gain' ? `${pct(ctx.parsed.y)} pts` : (ctx.parsed.y ?? 0).toFixed(3)}${{ all: ' (kept)', some: ' (partly kept)', none: ' (dropped)' }[this.kept[ctx.dataIndex] ?? 'none']}`,
            },
          },
        },
      },
    });
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}
