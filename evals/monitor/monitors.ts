import { ConfigError } from '../../gateway/config/load.ts';
import { durationMs, type MonitorConfig, type NotificationConfig } from '../../gateway/config/monitors-schema.ts';
import type { Database } from '../../gateway/db/client.ts';
import { ewmaVerdict } from './ewma.ts';
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
 * not: threshold and EWMA detectors on error_rate, latency_p95_ms, cost_per_call_usd and
 * score:<scorer>. CUSUM and PSI detectors and drift metrics are accepted by the config schema
 * (DESIGN §4.6) but refused here until they are evaluated, rather than watched by nothing. A
 * monitor without `notify` tells every channel.
 */
export function resolveMonitors(monitors: Readonly<Record<string, MonitorConfig>>, notifications: Readonly<Record<string, NotificationConfig>>): ResolvedMonitor[] {
  return Object.entries(monitors).map(([name, config]) => {
    const at = `monitors.${name}`;
    if (config.metric.startsWith('drift:')) throw new ConfigError(`invalid config: ${at}.metric: drift monitors are not evaluated yet (use error_rate, latency_p95_ms, cost_per_call_usd or score:<scorer>)`);
    if (config.detector.type !== 'threshold' && config.detector.type !== 'ewma') {
      throw new ConfigError(`invalid config: ${at}.detector.type: '${config.detector.type}' is not evaluated yet (use threshold or ewma)`);
    }
    if (config.scope.prompt !== undefined && !/^[^@]+(@[1-9][0-9]*)?$/.test(config.scope.prompt)) {
      throw new ConfigError(`invalid config: ${at}.scope.prompt: give a prompt name or name@<version> (labels move; a monitor watches fixed traffic)`);
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
        : ewmaReader(metric, config, windowMs, detector as Extract<MonitorConfig['detector'], { type: 'ewma' }>);
    return { name, config, metric, scope: config.scope, windowMs, recoverMs: durationMs(config.recover_after ?? config.window), read, channels };
  });
}

type Reader = ResolvedMonitor['read'];

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
 * EWMA over complete, non-overlapping buckets of `window` (ewma.ts): the reference buckets define
 * normal, the watched ones are tested; a bucket with fewer than min_samples calls is left out.
 * Scores alarm on a drop, every other metric on a rise.
 */
function ewmaReader(metric: MonitorMetric, config: MonitorConfig, windowMs: number, d: Extract<MonitorConfig['detector'], { type: 'ewma' }>): Reader {
  const bad = metric.startsWith('score:') ? 'low' : 'high';
  return async (database, now) => {
    const end = Math.floor(now.getTime() / windowMs) * windowMs;
    const watchedFrom = end - d.watched_buckets * windowMs;
    const since = new Date(watchedFrom - d.reference_buckets * windowMs);
    const buckets = (await computeMetricBuckets(database, metric, config.scope, since, new Date(end), windowMs)).filter((b) => b.samples >= config.min_samples);
    const reference = buckets.filter((b) => b.start.getTime() < watchedFrom);
    const watched = buckets.filter((b) => b.start.getTime() >= watchedFrom);
    const v = ewmaVerdict(
      reference.map((b) => b.value),
      watched.map((b) => b.value),
      { lambda: d.lambda, L: d.L },
      bad,
    );
    const last = watched.at(-1);
    const examples = last ? (await computeMetric(database, metric, config.scope, last.start, new Date(last.start.getTime() + windowMs))).examples : [];
    return {
      value: last?.value ?? null,
      samples: watched.reduce((s, b) => s + b.samples, 0),
      breached: v.breached,
      baseline: v.reference?.mean ?? null,
      examples,
      detail: { ewma: v.ewma, limit: v.limit, reference: v.reference, watched_buckets: v.watched, bad_direction: bad },
    };
  };
}
