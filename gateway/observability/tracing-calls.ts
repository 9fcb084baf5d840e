import { SpanKind, type Attributes } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import type { Attempt, CallRecord } from '../calls/record.ts';
import { newSpanId } from './tracing-ids.ts';
import { NO_PHASE, type AttemptSpan, type CallTrace, type PhaseSpan, type TracePhase } from './tracing.ts';

/**
 * What a sampled call records while it runs: for each span, its ids, times and attributes,
 * plain data handed on when the span ends. The SDK spans are made from it later, in a batch
 * off the response path (tracing-otel.ts): made one by one in the middle of a request, with
 * the SDK's code and data out of the CPU caches, five spans cost a call ~0.3 ms; made together
 * in a loop, a few µs each. The GenAI attribute names are the semantic conventions' (still
 * "development" there, so written out rather than imported from the incubating entry point).
 */

/** The caller's span, a sampled call's server span continues (plain data: it may cross to a thread). */
export interface RemoteParent {
  spanId: string;
  traceFlags: number;
}

/**
 * One ended span, ready for the SDK: plain data, so it can be posted to the export thread.
 * Times are performance.now() milliseconds of the thread that recorded it.
 */
export interface EndedSpan {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  /** The call's server span for its children; undefined for the server span itself. */
  parentSpanId: string | undefined;
  /** The caller's span, for a server span that continues one. */
  remoteParent: RemoteParent | undefined;
  /** The call's W3C tracestate, serialised. */
  traceState: string | undefined;
  start: number;
  end: number;
  attributes: Attributes;
  /** Set when the span ends in error: its status message. */
  error: string | undefined;
  /**
   * A server span's finished record, until settle() turns it into the span's name, attributes
   * and status: off the response path (the record is frozen, so it can wait). Never posted.
   */
  record?: Readonly<CallRecord> | undefined;
}

/** Span names of the call's phases. */
const PHASE_NAMES: Record<TracePhase, string> = { prompt: 'sluice.prompt.render', retrieval: 'sluice.retrieval', cache: 'sluice.cache.lookup' };

export interface SampledCall {
  operation: 'chat' | 'embeddings';
  traceId: string;
  /** `tracestate` to send upstream beside traceparent (the caller's, or the sampler's). */
  tracestate: string | undefined;
  remoteParent: RemoteParent | undefined;
  ended: (span: EndedSpan) => void;
}

/** A sampled call's server span and its children, recorded as plain data. */
export function recordedCall(c: SampledCall): CallTrace {
  const spanId = newSpanId();
  const start = performance.now();
  let ended = false;
  const child = (name: string, kind: SpanKind, attributes: Attributes): EndedSpan => ({
    name,
    kind,
    traceId: c.traceId,
    spanId: newSpanId(),
    parentSpanId: spanId,
    remoteParent: undefined,
    traceState: c.tracestate,
    start: performance.now(),
    end: 0,
    attributes,
    error: undefined,
  });
  return {
    traceId: c.traceId,
    startAttempt(provider, model): AttemptSpan {
      const span = child(`${c.operation} ${model}`, SpanKind.CLIENT, { 'gen_ai.operation.name': c.operation, 'gen_ai.provider.name': provider, 'gen_ai.request.model': model });
      // The upstream's parent is this attempt's span, so its own spans nest under the try.
      const traceparent = `00-${c.traceId}-${span.spanId}-01`;
      return {
        headers: c.tracestate === undefined ? { traceparent } : { traceparent, tracestate: c.tracestate },
        end(attempt: Readonly<Attempt>) {
          if (span.end !== 0) return;
          if (attempt.status !== null) span.attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = attempt.status;
          if (attempt.error !== null) span.attributes[ATTR_ERROR_TYPE] = span.error = attempt.error;
          span.end = performance.now();
          c.ended(span);
        },
      };
    },
    startPhase(phase): PhaseSpan {
      const span = child(PHASE_NAMES[phase], SpanKind.INTERNAL, {});
      return {
        end(attributes, errorType) {
          if (span.end !== 0) return;
          if (attributes) Object.assign(span.attributes, attributes);
          if (errorType !== undefined) span.attributes[ATTR_ERROR_TYPE] = span.error = errorType;
          span.end = performance.now();
          c.ended(span);
        },
      };
    },
    end(record) {
      if (ended) return;
      ended = true;
      const end = performance.now();
      c.ended({ name: c.operation, kind: SpanKind.SERVER, traceId: c.traceId, spanId, parentSpanId: undefined, remoteParent: c.remoteParent, traceState: c.tracestate, start, end, attributes: {}, error: undefined, record });
    },
  };
}

/** Gives each server span its name, attributes and status from its record, and lets the record go. */
export function settle(spans: readonly EndedSpan[]): void {
  for (const s of spans) {
    const r = s.record;
    if (r === undefined) continue;
    // Until now a server span is named for its operation alone.
    s.attributes = callAttributes(s.name, r);
    if (r.model !== null) s.name = `${s.name} ${r.model}`;
    if (r.status !== 'ok') s.error = r.errorCode ?? r.status;
    s.record = undefined;
  }
}

/** An unsampled call: its trace id is kept and passed on (flag 00), and nothing is recorded. */
export function unsampledCall(traceId: string, tracestate: string | undefined): CallTrace {
  return {
    traceId,
    startAttempt(): AttemptSpan {
      const traceparent = `00-${traceId}-${newSpanId()}-00`;
      return { headers: tracestate === undefined ? { traceparent } : { traceparent, tracestate }, end() {} };
    },
    startPhase: () => NO_PHASE,
    end() {},
  };
}

/** The server span's attributes: the GenAI ones and sluice's, from the finished record. */
function callAttributes(operation: string, r: Readonly<CallRecord>): Attributes {
  const attrs: Attributes = { 'gen_ai.operation.name': operation, 'sluice.call_id': r.id, [ATTR_HTTP_RESPONSE_STATUS_CODE]: r.httpStatus };
  const set = (key: string, value: string | number | string[] | null | undefined): void => {
    if (value !== null && value !== undefined) attrs[key] = value;
  };
  set('gen_ai.provider.name', r.provider);
  set('gen_ai.request.model', r.model);
  set('gen_ai.response.model', responseModel(r.responseBody));
  set('gen_ai.usage.input_tokens', r.usage?.inputTokens);
  set('gen_ai.usage.output_tokens', r.usage?.outputTokens);
  set('gen_ai.response.finish_reasons', finishReasons(r.responseBody));
  set('sluice.route', r.route);
  set('sluice.variant', r.variant);
  set('sluice.prompt', r.promptName === null ? null : `${r.promptName}@${r.promptVersion ?? ''}`);
  set('sluice.cache', r.cacheStatus);
  set('sluice.cost_usd', r.costMicros === null ? null : r.costMicros / 1e6);
  set(ATTR_ERROR_TYPE, r.errorCode);
  return attrs;
}

/** The model the answer names (OpenAI and Anthropic bodies both carry `model`). */
function responseModel(body: unknown): string | undefined {
  const model = body !== null && typeof body === 'object' ? (body as { model?: unknown }).model : undefined;
  return typeof model === 'string' ? model : undefined;
}

/** Each choice's finish_reason (chat.completion), or an Anthropic message's stop_reason. */
function finishReasons(body: unknown): string[] | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { choices, stop_reason: stop } = body as { choices?: unknown; stop_reason?: unknown };
  if (Array.isArray(choices)) {
    const reasons = choices.map((c: { finish_reason?: unknown } | null) => c?.finish_reason).filter((r): r is string => typeof r === 'string');
    return reasons.length > 0 ? reasons : undefined;
  }
  return typeof stop === 'string' ? [stop] : undefined;
}
