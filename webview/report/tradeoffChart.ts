/**
 * The trade-off chart drawn with chart.js: x = share of the source model's parameters, y = the
 * chosen axis. Each report in the list is one colour: its measured subsets as points, heuristics
 * as labelled squares, compensated subsets and heuristics as triangles (a key beside the plot),
 * ProbeScale's pick ringed, the fitted curve with its bootstrap band, the
 * budget and target-retention lines. Used by the report editor and by scripts/figures.mjs.
 */
import {
  Chart,
  Filler,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type Plugin,
  type PointStyle,
} from 'chart.js';
import { nameList } from '../../src/shared/bounded';
import { blocksText, MARKER_KEY, markerKinds, markerOf, percentTick, placeLabels, tradeoffRange, ticks, unlabelledLines, type MarkerKind, type TradeoffPoint, type TradeoffSeries } from '../../src/shared/reportCharts';

Chart.register(ScatterController, LineController, LineElement, PointElement, LinearScale, Filler, Title, Tooltip);

export interface ChartTheme {
  foreground: string;
  grid: string;
  series: string[];
  font: string;
  fontSize: number;
}

type XY = { x: number; y: number; point?: TradeoffPoint };
/** What each dataset is: the editor counts `subsets` datasets' points against the report. */
export type Role = 'subsets' | 'pick' | 'curve' | 'band-lo' | 'band-hi' | 'budget' | 'target';
type DS = ChartDataset<'scatter', XY[]> & { role: Role; seriesName: string };

/** chart.js drawing of each marker kind (src/shared/reportCharts.ts MARKER_KEY names them). */
const MARKER_STYLE: Record<MarkerKind, { pointStyle: PointStyle; filled: boolean; radius: number }> = {
  subset: { pointStyle: 'circle', filled: true, radius: 3.5 },
  heuristic: { pointStyle: 'rect', filled: false, radius: 5 },
  compensated: { pointStyle: 'triangle', filled: true, radius: 5 },
  compensatedHeuristic: { pointStyle: 'triangle', filled: false, radius: 7 },
};

function fade(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) return color;
  const n = Number.parseInt(hex[1], 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function datasets(list: { name: string; series: TradeoffSeries }[], theme: ChartTheme, yRange: [number, number]): DS[] {
  const out: DS[] = [];
  list.forEach(({ name, series }, i) => {
    const c = theme.series[i % theme.series.length];
    const base = { seriesName: name, showLine: false };
    if (series.band) {
      out.push({ ...base, role: 'band-lo', label: `${name} band`, data: series.band.map((b) => ({ x: b.fraction, y: b.lo })), showLine: true, borderWidth: 0, pointRadius: 0, pointHitRadius: 0 });
      out.push({ ...base, role: 'band-hi', label: `${name} band`, data: series.band.map((b) => ({ x: b.fraction, y: b.hi })), showLine: true, borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: '-1', backgroundColor: fade(c, 0.15) });
    }
    if (series.curve) out.push({ ...base, role: 'curve', label: `${name} fitted curve`, data: series.curve.map((p) => ({ x: p.fraction, y: p.y })), showLine: true, borderColor: c, borderWidth: 1.5, pointRadius: 0, pointHitRadius: 0 });
    out.push({ ...base, role: 'budget', label: `${name} budget`, data: [{ x: series.budget, y: yRange[0] }, { x: series.budget, y: yRange[1] }], showLine: true, borderColor: c, borderDash: [6, 4], borderWidth: 1, pointRadius: 0, pointHitRadius: 0 });
    if (series.target !== null) out.push({ ...base, role: 'target', label: `${name} target`, data: [{ x: 0, y: series.target }, { x: 1, y: series.target }], showLine: true, borderColor: c, borderDash: [2, 3], borderWidth: 1, pointRadius: 0, pointHitRadius: 0 });
    const pts = series.points.map((p) => ({ x: p.fraction, y: p.y, point: p }));
    const style = pts.map((p) => MARKER_STYLE[markerOf(p.point)]);
    out.push({
      ...base,
      role: 'subsets',
      label: name,
      data: pts,
      backgroundColor: style.map((s) => (s.filled ? fade(c, 0.75) : 'transparent')),
      borderColor: c,
      borderWidth: style.map((s) => (s.filled ? 0 : 1.5)),
      pointStyle: style.map((s) => s.pointStyle),
      pointRadius: style.map((s) => s.radius),
      pointHoverRadius: 7,
    });
    if (series.pick) out.push({ ...base, role: 'pick', label: `${name} ProbeScale pick`, data: [{ x: series.pick.fraction, y: series.pick.y, point: series.pick }], backgroundColor: 'transparent', borderColor: c, borderWidth: 3, pointRadius: 9, pointHoverRadius: 10 });
  });
  return out;
}

/** The key of the marker kinds on the chart, in the room right of the plot (so exported pictures carry it), then the labels that did not fit beside their markers. */
function drawKey(chart: Chart<'scatter'>, theme: ChartTheme, kinds: MarkerKind[], unlabelled: string[]): void {
  const g = chart.ctx;
  const x = chart.chartArea.right + 14;
  g.font = `${theme.fontSize - 2}px ${theme.font}`;
  g.strokeStyle = theme.foreground;
  g.fillStyle = theme.foreground;
  kinds.forEach((k, i) => {
    const y = chart.chartArea.top + 40 + 15 * i;
    const s = MARKER_STYLE[k];
    g.lineWidth = 1.2;
    g.beginPath();
    if (s.pointStyle === 'circle') g.arc(x, y, 3.5, 0, 2 * Math.PI);
    else if (s.pointStyle === 'rect') g.rect(x - 4, y - 4, 8, 8);
    else {
      g.moveTo(x, y - 5);
      g.lineTo(x + 5, y + 4);
      g.lineTo(x - 5, y + 4);
      g.closePath();
    }
    if (s.filled) g.fill();
    else g.stroke();
    g.fillText(MARKER_KEY[k].text, x + 9, y + 4);
  });
  unlabelledLines(unlabelled).forEach((line, i) => g.fillText(line, x - 8, chart.chartArea.top + 52 + 15 * kinds.length + 14 * i));
}

/**
 * Writes "ProbeScale" beside each pick and each heuristic's name beside its square (chart.js has
 * no labels of its own), placed so that no two overlap (src/shared/reportCharts.ts placeLabels):
 * a name with no free spot goes under the key instead (and is in its point's tooltip).
 */
function labels(theme: ChartTheme, kinds: MarkerKind[], onUnlabelled: (texts: string[]) => void): Plugin<'scatter'> {
  return {
    id: 'probescaleLabels',
    afterDatasetsDraw(chart) {
      const g = chart.ctx;
      g.save();
      g.fillStyle = theme.foreground;
      const size = theme.fontSize - 2;
      const font = (bold: boolean) => `${bold ? 'bold ' : ''}${size}px ${theme.font}`;
      const wanted: { x: number; y: number; text: string; bold: boolean }[] = [];
      for (const role of ['pick', 'subsets'] as const) {
        chart.data.datasets.forEach((d, i) => {
          const ds = d as DS;
          if (ds.role !== role) return;
          chart.getDatasetMeta(i).data.forEach((el, j) => {
            const text = role === 'pick' ? 'ProbeScale' : (ds.data[j] as XY).point!.label;
            if (text) wanted.push({ x: el.x, y: el.y, text, bold: role === 'pick' });
          });
        });
      }
      const picks = wanted.filter((w) => w.bold).length;
      const requests = wanted.map((w) => {
        g.font = font(w.bold);
        return { x: w.x, y: w.y, text: w.text, width: g.measureText(w.text).width, height: size, gap: w.bold ? 11 : 7 };
      });
      const area = chart.chartArea;
      const { placed, dropped } = placeLabels(requests, { left: area.left, top: area.top, right: chart.width, bottom: area.bottom }, [{ left: area.right + 4, top: area.top + 28, right: chart.width, bottom: chart.height }], (i) => i < picks);
      for (const l of placed) {
        g.font = font(wanted[l.index].bold);
        g.fillText(wanted[l.index].text, l.x, l.baseline);
      }
      const unlabelled = dropped.map((i) => wanted[i].text);
      drawKey(chart, theme, kinds, unlabelled);
      g.restore();
      onUnlabelled(unlabelled);
    },
  };
}

/** A linear axis from `lo` to `hi` titled `title`, ticked at about `count` round values, labelled in percent. */
function axisScale(lo: number, hi: number, title: string, count: number, theme: ChartTheme) {
  return {
    type: 'linear' as const,
    min: lo,
    max: hi,
    title: { display: true, text: title, color: theme.foreground, font: { family: theme.font, size: theme.fontSize - 1 } },
    ticks: { color: theme.foreground, font: { family: theme.font, size: theme.fontSize - 1 }, callback: (v: number | string) => percentTick(Number(v)) },
    afterBuildTicks: (axis: { ticks: { value: number }[] }) => {
      axis.ticks = ticks(lo, hi, count).map((value) => ({ value }));
    },
    grid: { color: theme.grid },
    border: { color: theme.grid },
  };
}

/** A point's tooltip: heuristics that chose it, blocks, parameters (share of `total`), score and test score. */
function describePoint(p: TradeoffPoint, name: string, total: number): string {
  const heuristics = p.heuristics.length ? `${nameList(p.heuristics)} · ` : '';
  const test = p.test === null ? '' : ` · test ${(100 * p.test).toFixed(1)} %`;
  return `${name}: ${heuristics}blocks ${blocksText(p.kept)} · ${p.params.toLocaleString('en-US')} parameters (${(100 * p.params / total).toFixed(1)} % of the source) · ${(100 * p.y).toFixed(1)} %${test}`;
}

/** The first of the chart elements under the pointer that is a measured point, with its report's name. */
function pointUnder(data: DS[], els: { datasetIndex: number; index: number }[]): { point: TradeoffPoint; series: string } | undefined {
  const el = els.find((x) => (data[x.datasetIndex].data[x.index] as XY).point);
  return el && { point: (data[el.datasetIndex].data[el.index] as XY).point!, series: data[el.datasetIndex].seriesName };
}

/** What the chart's options need beyond the data: the reports' axis names and totals, the title, and where clicks and hovers go. */
interface OptionInputs {
  list: { name: string; series: TradeoffSeries }[];
  theme: ChartTheme;
  total: (series: string) => number;
  title?: string;
  onPick: (p: TradeoffPoint, series: string) => void;
  onHover: (p: TradeoffPoint | null, series: string) => void;
}

/** The chart's options: both axes over `range`, click and hover on measured points, the title and the tooltip. */
function tradeoffOptions(data: DS[], range: { x: [number, number]; y: [number, number] }, o: OptionInputs): ChartOptions<'scatter'> {
  const { theme, title } = o;
  const first = o.list[0]?.series;
  return {
    animation: false,
    maintainAspectRatio: false,
    // Room on the right for the labels of points near the budget line.
    layout: { padding: { right: 170 } },
    scales: { x: axisScale(range.x[0], range.x[1], first?.xLabel ?? '', 8, theme), y: axisScale(range.y[0], range.y[1], first?.yLabel ?? '', 6, theme) },
    interaction: { mode: 'nearest', intersect: true },
    onClick: (_e, els) => {
      const hit = pointUnder(data, els);
      if (hit) o.onPick(hit.point, hit.series);
    },
    onHover: (_e, els) => {
      const hit = pointUnder(data, els);
      o.onHover(hit?.point ?? null, hit?.series ?? '');
    },
    plugins: {
      legend: { display: false },
      title: { display: !!title, text: title ?? '', color: theme.foreground, font: { family: theme.font, size: theme.fontSize + 1, weight: 'bold' } },
      tooltip: {
        filter: (item) => (item.raw as XY).point !== undefined,
        callbacks: { label: (item) => describePoint((item.raw as XY).point!, (item.dataset as DS).seriesName, o.total((item.dataset as DS).seriesName)) },
      },
    },
  };
}

export class TradeoffChart {
  private chart: Chart<'scatter', XY[]> | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onPick: (p: TradeoffPoint, series: string) => void,
    private readonly onHover: (p: TradeoffPoint | null, series: string) => void,
  ) {}

  /** Draws `list` (one colour per report); `title` is drawn above the plot (figures), none in the editor. */
  update(list: { name: string; series: TradeoffSeries }[], theme: ChartTheme, total: (series: string) => number, title?: string): void {
    this.chart?.destroy();
    const range = tradeoffRange(list.map((l) => l.series));
    const data = datasets(list, theme, range.y);
    this.chart = new Chart<'scatter', XY[]>(this.canvas, {
      type: 'scatter',
      data: { datasets: data },
      // Labels that did not fit beside their markers, for the e2e test: "name|name".
      plugins: [labels(theme, markerKinds(list.map((l) => l.series)), (texts) => (this.canvas.dataset.unlabelled = texts.join('|')))],
      options: tradeoffOptions(data, range, { list, theme, total, title, onPick: this.onPick, onHover: this.onHover }),
    });
    this.publish();
  }

  /** Canvas data attributes the e2e test reads: points drawn per role, and where the pick is on screen. */
  private publish(): void {
    const chart = this.chart!;
    let subsets = 0;
    let series = 0;
    let compensated = 0;
    chart.data.datasets.forEach((d, i) => {
      const ds = d as DS;
      if (ds.role === 'subsets') {
        subsets += chart.getDatasetMeta(i).data.length;
        compensated += ds.data.filter((p) => p.point?.compensation).length;
        series++;
        // Where each compensated marker is on screen (the e2e test clicks one): "x,y|x,y|…".
        if (series === 1) this.canvas.dataset.compensatedAt = ds.data.flatMap((p, j) => (p.point?.compensation ? [`${chart.getDatasetMeta(i).data[j].x.toFixed(1)},${chart.getDatasetMeta(i).data[j].y.toFixed(1)}`] : [])).join('|');
      }
      if (ds.role === 'pick') {
        const el = chart.getDatasetMeta(i).data[0];
        if (el && series === 1) this.canvas.dataset.pick = `${el.x.toFixed(1)},${el.y.toFixed(1)}`;
      }
    });
    this.canvas.dataset.points = String(subsets);
    this.canvas.dataset.series = String(series);
    this.canvas.dataset.compensated = String(compensated);
  }

  /** A PNG of the chart on an opaque background (a transparent canvas reads badly outside the editor). */
  toPng(background: string): string {
    const c = document.createElement('canvas');
    c.width = this.canvas.width;
    c.height = this.canvas.height;
    const g = c.getContext('2d')!;
    g.fillStyle = background;
    g.fillRect(0, 0, c.width, c.height);
    g.drawImage(this.canvas, 0, 0);
    return c.toDataURL('image/png');
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}
