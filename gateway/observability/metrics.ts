import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { CallEvents } from '../calls/call-events.ts';
import type { CallLogStats } from '../calls/writer.ts';
import type { Attempt, CallEndpoint, CallRecord } from '../calls/record.ts';
import type { SluiceConfig } from '../config/schema.ts';
import { REJECTION_REASONS, type RejectionCounters } from '../http/rejections.ts';
import { FastCounter, FastHistogram } from './fast-metrics.ts';
import { LabelValues } from './label-values.ts';

/** OTel GenAI: `gen_ai.client.operation.duration` explicit bucket boundaries (seconds). */
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** OTel GenAI: `gen_ai.client.token.usage` boundaries, powers of 4 from 1 to 4^13. */
const TOKEN_BUCKETS = Array.from({ length: 14 }, (_, i) => 4 ** i);
/** The gateway's own time on a call: sub-millisecond to a second. */
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 20, 40];

const CALL_LOG_OUTCOMES = ['written', 'spooled', 'replayed', 'dropped'] as const;
const GEN_AI_LABELS = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'] as const;
const REQUEST_LABELS = ['endpoint', 'route', 'variant', 'provider', 'model', 'status'] as const;
const NO_LABELS: readonly string[] = [];

export interface MetricsOptions {
  config: SluiceConfig;
  /** Provider names beyond config's (a test's or an embedding's own providers). */
  providerNames?: Iterable<string>;
  events: CallEvents;
  rejections: RejectionCounters;
  /** The call log's counters, read at scrape time; absent or disabled: zeros. */
  callLogStats?: (() => CallLogStats | { enabled: false }) | undefined;
  /** Open incidents, read at scrape time (the eval extension owns them); absent: 0. */
  incidentsOpen?: (() => Promise<number>) | undefined;
  /** Node process metrics (heap, RSS, event-loop lag, GC); default true. */
  processMetrics?: boolean;
}

/** OTel GenAI `gen_ai.operation.name` of an endpoint: the chat-like faces are all `chat`. */
export function operationName(endpoint: CallEndpoint): 'chat' | 'embeddings' {
  switch (endpoint) {
    case 'chat.completions':
    case 'messages':
    case 'responses':
      return 'chat';
    case 'embeddings':
      return 'embeddings';
  }
}

/** `ok` when the try answered, `timeout` when it timed out, else `error`. */
export function attemptOutcome(attempt: Attempt): 'ok' | 'timeout' | 'error' {
  if (attempt.error === null) return 'ok';
  return attempt.error === 'upstream_timeout' ? 'timeout' : 'error';
}

/**
 * The Prometheus metrics of DESIGN §4.5, in a registry of this app's own (not prom-client's
 * global one, so several apps in one process do not collide). Call metrics are observed from
 * each finished call's frozen record off the request path; the call log's, rejections' and
 * incidents' are read when scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #labels: LabelValues;
  readonly #unsubscribe: () => void;
  readonly #duration: FastHistogram;
  readonly #tokens: FastHistogram;
  readonly #requests: FastCounter;
  readonly #overhead: FastHistogram;
  readonly #ttft: FastHistogram;
  readonly #cost: FastCounter;
  readonly #cache: FastCounter;
  readonly #attempts: FastCounter;
  readonly #routeDuration: FastHistogram;
  readonly #routeCache: FastCounter;

  constructor(opts: MetricsOptions) {
    const r = this.registry;
    this.#labels = new LabelValues(opts.config, opts.providerNames);
    // Per-call metrics: observed on every finished call, so kept in fast-metrics.ts's cheaper form.
    this.#duration = new FastHistogram(
      'gen_ai_client_operation_duration_seconds',
      'GenAI operation duration (OTel gen_ai.client.operation.duration), from request to the last byte.',
      GEN_AI_LABELS,
      DURATION_BUCKETS,
      r,
    );
    this.#tokens = new FastHistogram(
      'gen_ai_client_token_usage',
      'Tokens used per upstream call (OTel gen_ai.client.token.usage); cache hits are not counted.',
      [...GEN_AI_LABELS, 'gen_ai_token_type'],
      TOKEN_BUCKETS,
      r,
    );
    this.#requests = new FastCounter('sluice_requests_total', 'Calls finished, by endpoint, route, variant, provider, model and call status.', REQUEST_LABELS, r);
    this.#overhead = new FastHistogram('sluice_overhead_seconds', "The gateway's own time on a call (latency minus upstream time).", [], OVERHEAD_BUCKETS, r);
    this.#ttft = new FastHistogram('sluice_time_to_first_token_seconds', 'Time to the first token of streamed calls.', [], TTFT_BUCKETS, r);
    this.#cost = new FastCounter('sluice_cost_usd_total', 'Cost of priced calls in USD.', ['route', 'provider', 'model'], r);
    this.#cache = new FastCounter('sluice_cache_requests_total', 'Cache look-ups by result (hit or miss; bypassed calls are not counted).', ['result'], r);
    this.#attempts = new FastCounter('sluice_upstream_attempts_total', 'Upstream tries by provider and outcome (ok, error, timeout).', ['provider', 'outcome'], r);
    // Beyond DESIGN §4.5 (whose label sets stay as named): latency and cache per route, which
    // the GenAI histogram (by provider and model) and the cache counter (by result) cannot show.
    this.#routeDuration = new FastHistogram(
      'sluice_route_duration_seconds',
      'Call duration from request to the last byte, by route and variant (calls without a route: empty labels).',
      ['route', 'variant'],
      DURATION_BUCKETS,
      r,
    );
    this.#routeCache = new FastCounter('sluice_route_cache_requests_total', 'Cache look-ups by route and result (hit or miss).', ['route', 'result'], r);
    this.#scrapeTimeMetrics(opts);
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.#unsubscribe = opts.events.onFinished((e) => this.observe(e.record));
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops observing calls. */
  stop(): void {
    this.#unsubscribe();
  }

  /** Observes one finished call (public for unit tests; the app feeds it through CallEvents). */
  observe(record: Readonly<CallRecord>): void {
    const provider = this.#labels.provider(record.provider);
    const model = this.#labels.model(record.model);
    const route = this.#labels.route(record.route);
    const variant = this.#labels.variant(record.variant);
    const seconds = record.latencyMs / 1000;
    this.#requests.inc([record.endpoint, route, variant, provider, model, record.status]);
    this.#routeDuration.observe([route, variant], seconds);
    if (record.provider !== null) {
      const operation = operationName(record.endpoint);
      this.#duration.observe([operation, provider, model], seconds);
      // A hit replays tokens an earlier call used: counting them again would overstate usage.
      if (record.usage && record.cacheStatus !== 'hit') {
        this.#tokens.observe([operation, provider, model, 'input'], record.usage.inputTokens);
        this.#tokens.observe([operation, provider, model, 'output'], record.usage.outputTokens);
      }
    }
    if (record.overheadMs !== null) this.#overhead.observe(NO_LABELS, record.overheadMs / 1000);
    if (record.stream && record.ttftMs !== null) this.#ttft.observe(NO_LABELS, record.ttftMs / 1000);
    if (record.costMicros !== null && record.costMicros > 0) this.#cost.inc([route, provider, model], record.costMicros / 1_000_000);
    if (record.cacheStatus === 'hit' || record.cacheStatus === 'miss') {
      this.#cache.inc([record.cacheStatus]);
      this.#routeCache.inc([route, record.cacheStatus]);
    }
    for (const attempt of record.attempts) this.#attempts.inc([this.#labels.provider(attempt.provider), attemptOutcome(attempt)]);
  }

  #scrapeTimeMetrics(opts: MetricsOptions): void {
    const registers = [this.registry];
    const callLog = () => {
      const stats = opts.callLogStats?.();
      return stats && !('enabled' in stats) ? stats : undefined;
    };
    new Gauge({
      name: 'sluice_call_log_queue_depth',
      help: 'Call records held in memory, not yet in the database.',
      registers,
      collect() {
        this.set(callLog()?.queued ?? 0);
      },
    });
    // Counters mirrored from counts kept elsewhere: reset, then set to the current totals.
    new Counter({
      name: 'sluice_call_log_records_total',
      help: 'Call records by outcome: written, spooled (to the file spool), replayed (from it), dropped.',
      labelNames: ['outcome'],
      registers,
      collect() {
        const stats = callLog();
        this.reset();
        for (const outcome of CALL_LOG_OUTCOMES) this.inc({ outcome }, stats?.[outcome] ?? 0);
      },
    });
    new Counter({
      name: 'sluice_rejections_total',
      help: 'Requests turned away without a call record (unauthenticated, auth_unavailable).',
      labelNames: ['reason'],
      registers,
      collect() {
        const counts = opts.rejections.snapshot();
        this.reset();
        for (const reason of REJECTION_REASONS) this.inc({ reason }, counts[reason]);
      },
    });
    const incidentsOpen = opts.incidentsOpen;
    new Gauge({
      name: 'sluice_incidents_open',
      help: 'Incidents open now (monitors, DESIGN §4.6).',
      registers,
      async collect() {
        if (!incidentsOpen) return this.set(0);
        // A failed read keeps the last value: a scrape must not fail because the database blinked.
        await incidentsOpen().then(
          (n) => this.set(n),
          () => {},
        );
      },
    });
  }
}
