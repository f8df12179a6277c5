/**
 * chart.js as the webview page harness (test/webviewPage.ts) bundles it: no canvas, each chart
 * records what it was given (datasets, points, labels) in `globalThis.probescaleCharts`.
 */
type Config = { type: string; data: { labels?: unknown[]; datasets: { data: unknown[] }[] } };

export interface DrawnChart {
  type: string;
  datasets: number;
  points: number;
  labels: number;
  destroyed: boolean;
  /** What the page passed to `new Chart` (canvas, config): not enumerable, so that JSON.stringify of a record stays the counts. */
  readonly given?: { canvas: unknown; config: unknown };
}

function drawn(): DrawnChart[] {
  const g = globalThis as { probescaleCharts?: DrawnChart[] };
  return (g.probescaleCharts ??= []);
}

export class Chart {
  static register(): void {}
  data: Config['data'];
  private record: DrawnChart;
  constructor(canvas: unknown, config: Config) {
    this.data = config.data;
    this.record = { type: config.type, datasets: 0, points: 0, labels: 0, destroyed: false };
    Object.defineProperty(this.record, 'given', { value: { canvas, config }, enumerable: false });
    this.count();
    drawn().push(this.record);
  }
  private count(): void {
    this.record.datasets = this.data.datasets.length;
    this.record.points = this.data.datasets.reduce((n, d) => n + d.data.length, 0);
    this.record.labels = this.data.labels?.length ?? 0;
  }
  update(): void {
    this.count();
  }
  destroy(): void {
    this.record.destroyed = true;
  }
  getDatasetMeta(i: number): { data: { x: number; y: number }[] } {
    return { data: this.data.datasets[i].data.map(() => ({ x: 0, y: 0 })) };
  }
}

const part = {};
export const BarController = part;
export const BarElement = part;
export const CategoryScale = part;
export const Legend = part;
export const LineController = part;
export const LineElement = part;
export const LinearScale = part;
export const PointElement = part;
export const ScatterController = part;
export const Tooltip = part;
export const Title = part;
export const Filler = part;
