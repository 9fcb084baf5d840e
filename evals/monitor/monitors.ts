import { ConfigError } from '../../gateway/config/load.ts';
import { durationMs, type MonitorConfig, type NotificationConfig } from '../../gateway/config/monitors-schema.ts';
import type { Database } from '../../gateway/db/client.ts';
import { driftReport } from './drift-query.ts';
import { cusumVerdict, ewmaVerdict } from './ewma.ts';
import type { CallSlice } from './filters.ts';
import { computeMetric, computeMetricBuckets, type MonitorMetric } from './metrics.ts';

/** One evaluation of a monitor: the value watched, whether it breached (null: too little data). */
export interface MonitorReading {
  value: number | null;
  samples: number;
  breached: boolean | null;
  /** What the value was compared with: the threshold's bound, or the reference mean. */
  baseline: number | null;
  examples: string[];
  /** Detector state for the evidence (EWMA statistic and limit, reference). */
  detail: Record<string, unknown>;
}

/** A monitor from config, checked and ready to evaluate. */
export interface ResolvedMonitor {
  name: string;
  config: MonitorConfig;
  metric: MonitorMetric;
  scope: CallSlice;
  windowMs: number;
  /** How long the metric must be back within bounds before the incident resolves itself. */
  recoverMs: number;
  read(database: Pick<Database, 'db'>, now: Date): Promise<MonitorReading>;
  channels: Array<{ name: string; config: NotificationConfig }>;
}

/**
 * Checks the monitors against what this version evaluates, with the path of anything it does
 * not: error_rate, latency_p95_ms, cost_per_call_usd and
 * score:<scorer> (threshold, EWMA or CUSUM); PSI on drift:input_tokens|output_tokens|latency_ms.
 * A monitor without `notify` tells every channel.
 */
export function resolveMonitors(monitors: Readonly<Record<string, MonitorConfig>>, notifications: Readonly<Record<string, NotificationConfig>>): ResolvedMonitor[] {
  return Object.entries(monitors).map(([name, config]) => {
    const at = `monitors.${name}`;
    const drift = config.metric.startsWith('drift:');
    if (drift !== (config.detector.type === 'psi')) {
      throw new ConfigError(`invalid config: ${at}.detector: drift:* metrics take the psi detector, and psi only drift:* metrics`);
    }
    if (drift && config.min_samples < PSI_MIN_SAMPLES) {
      // Seeded simulation (psi.test.ts): with 50 calls in the window, PSI over 10 bins exceeds 0.25
      // on about 30% of evaluations of an unchanged distribution; with 200, on none of 1,000.
      throw new ConfigError(`invalid config: ${at}.min_samples: a psi monitor needs at least ${PSI_MIN_SAMPLES} calls per window (below that PSI alarms on noise: about 30% of healthy evaluations at 50 calls, none at 200; see psi.test.ts)`);
    }
    if (config.scope.prompt !== undefined && !/^[a-z0-9][a-z0-9._-]*(@[a-z0-9][a-z0-9._-]*)?$/.test(config.scope.prompt)) {
      throw new ConfigError(`invalid config: ${at}.scope.prompt: give a prompt name, name@<version> or name@<label>`);
    }
    const names = config.notify.length > 0 ? config.notify : Object.keys(notifications);
    const channels = names.map((n, i) => {
      const channel = notifications[n];
      if (!channel) throw new ConfigError(`invalid config: ${at}.notify.${i}: no notification channel named '${n}'`);
      return { name: n, config: channel };
    });
    const metric = config.metric as MonitorMetric;
    const windowMs = durationMs(config.window);
    const detector = config.detector;
    const read =
      detector.type === 'threshold'
        ? thresholdReader(metric, config, windowMs, detector)
        : detector.type === 'psi'
          ? psiReader(config, windowMs, detector)
          : bucketReader(metric, config, windowMs, detector as Extract<MonitorConfig['detector'], { type: 'ewma' | 'cusum' }>);
    return { name, config, metric, scope: config.scope, windowMs, recoverMs: durationMs(config.recover_after ?? config.window), read, channels };
  });
}

type Reader = ResolvedMonitor['read'];

/** Fewest calls in a window (and in its reference) for a psi monitor. */
export const PSI_MIN_SAMPLES = 200;

/**
 * PSI (and KS, for the evidence) of the window's distribution of input tokens, output tokens or
 * latency against the `reference` period just before it (stats/drift.ts, 10 quantile bins of
 * the reference).
 */
function psiReader(config: MonitorConfig, windowMs: number, d: Extract<MonitorConfig['detector'], { type: 'psi' }>): Reader {
  const which = config.metric.slice('drift:'.length) as 'input_tokens' | 'output_tokens' | 'latency_ms';
  const referenceMs = durationMs(d.reference);
  return async (database, now) => {
    const from = new Date(now.getTime() - windowMs);
    const report = await driftReport(database, { ...config.scope, current: { since: from, until: now }, reference: { since: new Date(from.getTime() - referenceMs), until: from } });
    const m = report.metrics[which];
    const enough = m.psi !== null && m.n_current >= config.min_samples && m.n_reference >= config.min_samples;
    return {
      value: m.psi,
      samples: m.n_current,
      breached: enough ? m.psi! > d.max : null,
      baseline: d.max,
      examples: [],
      detail: { n_reference: m.n_reference, mean_reference: m.mean_reference, mean_current: m.mean_current, ks: m.ks, reference: d.reference },
    };
  };
}

function thresholdReader(metric: MonitorMetric, config: MonitorConfig, windowMs: number, d: { min?: number | undefined; max?: number | undefined }): Reader {
  return async (database, now) => {
    const m = await computeMetric(database, metric, config.scope, new Date(now.getTime() - windowMs), now);
    const enough = m.value !== null && m.samples >= config.min_samples;
    let breached: boolean | null = null;
    let baseline = d.max ?? d.min ?? null;
    if (enough) {
      breached = false;
      if (d.max !== undefined && m.value! > d.max) [breached, baseline] = [true, d.max];
      else if (d.min !== undefined && m.value! < d.min) [breached, baseline] = [true, d.min];
    }
    return { value: m.value, samples: m.samples, breached, baseline, examples: m.examples, detail: {} };
  };
}

/**
 * EWMA or CUSUM over complete, non-overlapping buckets of `window` (ewma.ts): the reference
 * buckets define normal, the watched ones are tested; a bucket with fewer than min_samples calls
 * is left out. Scores alarm on a drop, every other metric on a rise.
 */
function bucketReader(metric: MonitorMetric, config: MonitorConfig, windowMs: number, d: Extract<MonitorConfig['detector'], { type: 'ewma' | 'cusum' }>): Reader {
  const bad = metric.startsWith('score:') ? 'low' : 'high';
  return async (database, now) => {
    const end = Math.floor(now.getTime() / windowMs) * windowMs;
    const watchedFrom = end - d.watched_buckets * windowMs;
    const since = new Date(watchedFrom - d.reference_buckets * windowMs);
    const buckets = (await computeMetricBuckets(database, metric, config.scope, since, new Date(end), windowMs)).filter((b) => b.samples >= config.min_samples);
    const reference = buckets.filter((b) => b.start.getTime() < watchedFrom).map((b) => b.value);
    const watched = buckets.filter((b) => b.start.getTime() >= watchedFrom);
    const values = watched.map((b) => b.value);
    let breached: boolean | null;
    let ref: { mean: number } | null;
    let detail: Record<string, unknown>;
    if (d.type === 'ewma') {
      const v = ewmaVerdict(reference, values, { lambda: d.lambda, L: d.L }, bad);
      [breached, ref, detail] = [v.breached, v.reference, { ewma: v.ewma, limit: v.limit, reference: v.reference }];
    } else {
      const v = cusumVerdict(reference, values, { k: d.k, h: d.h }, bad);
      [breached, ref, detail] = [v.breached, v.reference, { cusum: v.cusum, h: v.h, reference: v.reference }];
    }
    const last = watched.at(-1);
    const examples = last ? (await computeMetric(database, metric, config.scope, last.start, new Date(last.start.getTime() + windowMs))).examples : [];
    return {
      value: last?.value ?? null,
      samples: watched.reduce((s, b) => s + b.samples, 0),
      breached,
      baseline: ref?.mean ?? null,
      examples,
      detail: { ...detail, watched_buckets: watched.length, bad_direction: bad },
    };
  };
}
