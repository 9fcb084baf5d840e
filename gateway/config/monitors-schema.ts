import { z } from 'zod';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must match [A-Za-z0-9][A-Za-z0-9._-]*');

/** `30s`, `15m`, `1h`, `7d`. */
export const durationSchema = z.string().regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration like 30s, 15m, 1h or 7d');

/** Milliseconds of a duration string (already validated by durationSchema). */
export function durationMs(value: string): number {
  const n = Number(value.slice(0, -1));
  return n * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[value.slice(-1) as 's' | 'm' | 'h' | 'd'];
}

/**
 * A monitor (DESIGN §4.6): a metric over a sliding window of one slice of traffic, a detector,
 * and who to tell. Evaluated by the eval extension (evals/monitor), which refuses at start what
 * it cannot evaluate yet rather than accepting it silently.
 */
export const monitorSchema = z
  .object({
    scope: z
      .object({ route: name.optional(), variant: name.optional(), prompt: z.string().min(1).max(200).optional() })
      .strict()
      .default({}),
    metric: z
      .string()
      .regex(
        /^(score:[A-Za-z0-9_.-]+|error_rate|latency_p95_ms|cost_per_call_usd|drift:(input_tokens|output_tokens|latency_ms))$/,
        'score:<scorer> | error_rate | latency_p95_ms | cost_per_call_usd | drift:input_tokens|output_tokens|latency_ms',
      ),
    detector: z.discriminatedUnion('type', [
      z
        .object({ type: z.literal('threshold'), min: z.number().optional(), max: z.number().optional() })
        .strict()
        .refine((d) => d.min !== undefined || d.max !== undefined, 'a threshold needs min, max or both'),
      z
        .object({
          type: z.literal('ewma'),
          lambda: z.number().gt(0).max(1).default(0.2),
          /** Limit width; 3.5 keeps healthy days almost free of incidents (evals/monitor/ewma.test.ts). */
          L: z.number().positive().default(3.5),
          /** Buckets (each one `window` long) that define normal, just before the watched ones. */
          reference_buckets: z.number().int().min(8).max(1000).default(96),
          /** The latest complete buckets the EWMA runs over. */
          watched_buckets: z.number().int().min(1).max(200).default(16),
        })
        .strict(),
      z
        .object({
          type: z.literal('cusum'),
          k: z.number().nonnegative().default(0.5),
          /** Decision interval; 7 keeps healthy days almost free of incidents (evals/monitor/ewma.test.ts). */
          h: z.number().positive().default(7),
          reference_buckets: z.number().int().min(8).max(1000).default(96),
          watched_buckets: z.number().int().min(1).max(200).default(16),
        })
        .strict(),
      z
        .object({
          type: z.literal('psi'),
          max: z.number().positive().default(0.25),
          /** The period before the window that defines the normal distribution. */
          reference: durationSchema.default('7d'),
        })
        .strict(),
    ]),
    window: durationSchema.default('15m'),
    min_samples: z.number().int().positive().default(50),
    notify: z.array(name).default([]),
    /** How long the metric must be back within bounds before the incident resolves itself (default: the window). */
    recover_after: durationSchema.optional(),
  })
  .strict();

export const notificationSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('webhook'),
      url: z.string().url(),
      /** HMAC-SHA256 key for `x-sluice-signature`; deliveries are unsigned without one. */
      secret: z.string().min(1).optional(),
    })
    .strict(),
]);

export const monitoringSchema = z
  .object({
    /** How often the leader evaluates every monitor. */
    interval_seconds: z.number().positive().max(3600).default(30),
  })
  .strict();

export type MonitorConfig = z.output<typeof monitorSchema>;
export type NotificationConfig = z.output<typeof notificationSchema>;
