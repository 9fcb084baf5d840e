import type { CallFinishedListener } from '../calls/call-events.ts';
import type { CallRecord } from '../calls/record.ts';
import type { Logger } from '../logger.ts';

export type CallLogLevel = 'info' | 'warn' | 'error';

/**
 * The level a finished call is logged at: error for the gateway's own failures; warn when an
 * upstream failed it, or it needed retries or a fallback; info otherwise (client errors and
 * aborts included: they are the client's to fix).
 */
export function callLogLevel(record: Readonly<CallRecord>): CallLogLevel {
  switch (record.status) {
    case 'gateway_error':
      return 'error';
    case 'upstream_error':
      return 'warn';
    case 'ok':
    case 'client_error':
    case 'client_aborted':
      return record.attempts.length > 1 || record.fallbackUsed ? 'warn' : 'info';
  }
}

/**
 * The call's log fields (DESIGN §4.5): ids, where it went, how it ended, timings, tokens and
 * cost. Never the bodies, headers or key (only its id). Attempt errors are gateway error codes
 * (pipeline/retry.ts), and the error message was scrubbed by the provider that raised it.
 */
export function callLogFields(record: Readonly<CallRecord>): Record<string, unknown> {
  const level = callLogLevel(record);
  return {
    call_id: record.id,
    // Set by tracing when it is wired; read defensively until then.
    trace_id: (record as { traceId?: string | null }).traceId ?? null,
    request_id: record.requestId,
    endpoint: record.endpoint,
    route: record.route,
    variant: record.variant,
    provider: record.provider,
    model: record.model,
    stream: record.stream,
    ...(record.shadow ? { shadow: true, parent_call_id: record.parentCallId } : {}),
    api_key_id: record.apiKeyId,
    status: record.status,
    http_status: record.httpStatus,
    error_code: record.errorCode,
    ...(level === 'info' ? {} : { error_message: record.errorMessage }),
    latency_ms: round(record.latencyMs),
    ttft_ms: round(record.ttftMs),
    overhead_ms: round(record.overheadMs),
    input_tokens: record.usage?.inputTokens ?? null,
    output_tokens: record.usage?.outputTokens ?? null,
    // toPrecision: micro-USD / 1e6 in binary floating point leaves tails (0.000008400000000000001).
    cost_usd: record.costMicros === null ? null : Number((record.costMicros / 1e6).toPrecision(12)),
    cache: record.cacheStatus,
    attempts: record.attempts.length,
    fallback_used: record.fallbackUsed,
    ...(level === 'info'
      ? {}
      : {
          attempt_log: record.attempts.map((a) => ({
            provider: a.provider,
            model: a.model,
            status: a.status,
            error: a.error,
            latency_ms: round(a.latencyMs),
          })),
        }),
  };
}

const round = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 10) / 10);

/** Subscribes to CallFinished: one JSON line per call, at the level its outcome calls for. */
export function callLogLine(logger: Logger): CallFinishedListener {
  return ({ record }) => logger[callLogLevel(record)]('call', callLogFields(record));
}
