import { ConfigError } from '../../gateway/config/load.ts';
import { durationMs, type MonitorConfig, type NotificationConfig } from '../../gateway/config/monitors-schema.ts';
import type { CallSlice } from './filters.ts';
import type { MonitorMetric } from './metrics.ts';

/** A monitor from config, checked and ready to evaluate. */
export interface ResolvedMonitor {
  name: string;
  config: MonitorConfig;
  metric: MonitorMetric;
  scope: CallSlice;
  windowMs: number;
  /** How long the metric must be back within bounds before the incident resolves itself. */
  recoverMs: number;
  /** Whether `value` breaches the detector, and the bound it crossed. */
  breach(value: number): { breached: boolean; bound: number | null };
  channels: Array<{ name: string; config: NotificationConfig }>;
}

/**
 * Checks the monitors against what this version evaluates, with the path of anything it does
 * not: threshold detectors on error_rate, latency_p95_ms, cost_per_call_usd and score:<scorer>.
 * EWMA, CUSUM and PSI detectors and drift metrics are accepted by the config schema (DESIGN
 * §4.6) but refused here until they are evaluated, rather than watched by nothing. A monitor
 * without `notify` tells every channel.
 */
export function resolveMonitors(monitors: Readonly<Record<string, MonitorConfig>>, notifications: Readonly<Record<string, NotificationConfig>>): ResolvedMonitor[] {
  return Object.entries(monitors).map(([name, config]) => {
    const at = `monitors.${name}`;
    if (config.metric.startsWith('drift:')) throw new ConfigError(`invalid config: ${at}.metric: drift monitors are not evaluated yet (use error_rate, latency_p95_ms, cost_per_call_usd or score:<scorer>)`);
    if (config.detector.type !== 'threshold') throw new ConfigError(`invalid config: ${at}.detector.type: '${config.detector.type}' is not evaluated yet (use threshold)`);
    if (config.scope.prompt !== undefined && !/^[^@]+(@[1-9][0-9]*)?$/.test(config.scope.prompt)) {
      throw new ConfigError(`invalid config: ${at}.scope.prompt: give a prompt name or name@<version> (labels move; a monitor watches fixed traffic)`);
    }
    const names = config.notify.length > 0 ? config.notify : Object.keys(notifications);
    const channels = names.map((n, i) => {
      const channel = notifications[n];
      if (!channel) throw new ConfigError(`invalid config: ${at}.notify.${i}: no notification channel named '${n}'`);
      return { name: n, config: channel };
    });
    const { min, max } = config.detector;
    return {
      name,
      config,
      metric: config.metric as MonitorMetric,
      scope: config.scope,
      windowMs: durationMs(config.window),
      recoverMs: durationMs(config.recover_after ?? config.window),
      breach(value) {
        if (max !== undefined && value > max) return { breached: true, bound: max };
        if (min !== undefined && value < min) return { breached: true, bound: min };
        return { breached: false, bound: max ?? min ?? null };
      },
      channels,
    };
  });
}
