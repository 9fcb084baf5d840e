import type { Attempt } from '../calls/record.ts';
import { GatewayError, toGatewayError, type ErrorCode } from '../errors/gateway-error.ts';
import type { CallTrace, TraceHeaders } from '../observability/tracing.ts';

export interface RetryPolicy {
  max_attempts: number;
  base_delay_ms: number;
  max_delay_ms: number;
}

export const DEFAULT_RETRY: RetryPolicy = { max_attempts: 3, base_delay_ms: 200, max_delay_ms: 5_000 };

/** Upstream failures worth another try: overload, outages, timeouts, garbled answers. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'upstream_rate_limited',
  'upstream_error',
  'upstream_timeout',
  'upstream_unreachable',
  'upstream_bad_response',
]);

export function isRetryable(err: GatewayError): boolean {
  return RETRYABLE.has(err.code);
}

/** Longest Retry-After we wait for inside one call; beyond it the 429 goes to the client. */
const MAX_RETRY_AFTER_MS = 20_000;

export interface RetryOptions {
  policy: RetryPolicy;
  provider: string;
  model: string;
  attempts: Attempt[];
  signal: AbortSignal;
  now: () => number;
  random: () => number;
  /** Told how long the call waits before the next try (kept out of the gateway's overhead). */
  onWait?: (ms: number) => void;
  /** The call's server span: each try gets a client span under it (DESIGN §4.5). */
  trace?: CallTrace | undefined;
}

/** What one try sends besides the call's own context: the traceparent naming its span. */
export interface AttemptContext {
  trace?: TraceHeaders | undefined;
}

const UNTRACED: AttemptContext = {};

/**
 * Runs one upstream try at a time until one succeeds or the policy gives up: exponential
 * backoff with full jitter, and at least the upstream's Retry-After. Each try is recorded.
 * Only the start of a call is retried; once a stream is flowing to the client it is not.
 */
export async function withRetry<T>(run: (attempt: AttemptContext) => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    // A real span per try, started here so the traceparent sent upstream names it.
    const span = opts.trace?.startAttempt(opts.provider, opts.model);
    const started = opts.now();
    try {
      const result = await run(span ? { trace: span.headers } : UNTRACED);
      const ok: Attempt = { provider: opts.provider, model: opts.model, status: 200, error: null, latencyMs: opts.now() - started };
      opts.attempts.push(ok);
      span?.end(ok);
      return result;
    } catch (thrown) {
      const err = toGatewayError(thrown);
      const failed: Attempt = {
        provider: opts.provider,
        model: opts.model,
        status: err.upstreamStatus ?? null,
        error: err.code,
        latencyMs: opts.now() - started,
      };
      opts.attempts.push(failed);
      span?.end(failed);
      if (opts.signal.aborted) throw new GatewayError('client_aborted', 'the client closed the connection', { provider: opts.provider });
      if (attempt >= opts.policy.max_attempts || !RETRYABLE.has(err.code)) throw err;
      const backoff = Math.min(opts.policy.max_delay_ms, opts.policy.base_delay_ms * 2 ** (attempt - 1)) * opts.random();
      const asked = err.retryAfter === undefined ? 0 : err.retryAfter * 1000;
      if (asked > MAX_RETRY_AFTER_MS) throw err;
      const wait = Math.max(backoff, asked);
      opts.onWait?.(wait);
      await sleep(wait, opts.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new GatewayError('client_aborted', 'the client closed the connection'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
