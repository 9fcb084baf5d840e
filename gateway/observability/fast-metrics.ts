import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the per-call metrics, served by prom-client's Registry (its text
 * format, content type and default metrics) but kept here: prom-client validates and hashes
 * the label object on every observe (~1–2 µs each, ~20 µs a call for the ten observations a
 * call makes, bench/observability-micro.ts). Here a call's label values, already bounded by
 * LabelValues, are joined into one key and the series found in a Map; bucket counts are kept
 * per bucket and summed only when scraped.
 */

type Value = { value: number; labels: Record<string, string | number>; metricName?: string };

interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Value[];
  aggregator: 'sum';
}

const SEP = '\u0001';

abstract class FastMetric<S> {
  readonly aggregator = 'sum';
  protected readonly series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // The registry only reads name, help, type and get() (and reset() on resetMetrics).
    registry.registerMetric(this as never);
  }

  abstract readonly type: 'counter' | 'histogram';

  protected key(values: readonly string[]): string {
    return values.length === 1 ? values[0]! : values.join(SEP);
  }

  protected labelsOf(values: readonly string[]): Record<string, string> {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((n, i) => {
      labels[n] = values[i]!;
    });
    return labels;
  }

  reset(): void {
    this.series.clear();
  }
}

interface CounterSeries {
  labels: Record<string, string>;
  value: number;
}

export class FastCounter extends FastMetric<CounterSeries> {
  readonly type = 'counter';

  /** Adds `by` (≥ 0) to the series of these label values, in labelNames order. */
  inc(values: readonly string[], by = 1): void {
    const key = this.key(values);
    const s = this.series.get(key);
    if (s) s.value += by;
    else this.series.set(key, { labels: this.labelsOf(values), value: by });
  }

  get(): Promise<MetricSnapshot> {
    const values: Value[] = [];
    for (const s of this.series.values()) values.push({ value: s.value, labels: s.labels });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}

interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram extends FastMetric<HistogramSeries> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], bounds: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
    this.#bounds = [...bounds].sort((a, b) => a - b);
    // Without labels the one series is shown from the start, zeros included.
    if (labelNames.length === 0) this.#seriesOf([]);
  }

  observe(values: readonly string[], v: number): void {
    const s = this.#seriesOf(values);
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    s.counts[i]! += 1;
    s.sum += v;
    s.count += 1;
  }

  #seriesOf(values: readonly string[]): HistogramSeries {
    const key = this.key(values);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: this.labelsOf(values), counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  get(): Promise<MetricSnapshot> {
    const values: Value[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ metricName: bucket, labels: { ...s.labels, le }, value: cumulative });
      });
      values.push({ metricName: bucket, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  override reset(): void {
    super.reset();
    if (this.labelNames.length === 0) this.#seriesOf([]);
  }
}
