import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Attempt, CallEndpoint, CallRecord } from '../calls/record.ts';
import { ConfigError } from '../config/load.ts';

/**
 * Traces (DESIGN §4.5): one server span per call, a client span per upstream attempt, the
 * caller's W3C traceparent continued and a traceparent sent upstream. Nothing is registered
 * globally: each app holds its own Tracing, so several apps in one process (tests) never see
 * each other's spans. Without an OTLP endpoint no SDK is loaded (see propagateOnly).
 */

/** Headers that carry the trace upstream: traceparent, and tracestate when the caller sent one. */
export type TraceHeaders = Readonly<Record<string, string>>;

/** The trace headers of an incoming request, as the client sent them. */
export interface IncomingTrace {
  traceparent: string | undefined;
  tracestate: string | undefined;
}

export const NO_INCOMING_TRACE: IncomingTrace = { traceparent: undefined, tracestate: undefined };

/** One upstream try: `headers` go with its request, `end` closes its span with the attempt's outcome. */
export interface AttemptSpan {
  readonly headers: TraceHeaders | undefined;
  end(attempt: Readonly<Attempt>): void;
}

/** A step of the call with a span of its own, under the call's server span. */
export type TracePhase = 'prompt' | 'retrieval' | 'cache';

/** Attributes a phase adds when it ends (bounded values: names, counts, statuses). */
export type PhaseAttributes = Readonly<Record<string, string | number | boolean>>;

/** One phase's span: `end` closes it, with an error type when the phase failed. */
export interface PhaseSpan {
  end(attributes?: PhaseAttributes, errorType?: string): void;
}

/** One call's server span. */
export interface CallTrace {
  /** W3C trace id, 32 lowercase hex digits: what the call record keeps. */
  readonly traceId: string;
  startAttempt(provider: string, model: string): AttemptSpan;
  /** An internal span for prompt rendering, retrieval or the cache lookup. */
  startPhase(phase: TracePhase): PhaseSpan;
  /** Ends the server span with the finished record's attributes. */
  end(record: Readonly<CallRecord>): void;
}

export interface Tracing {
  /** Opens a call's server span, parented on the caller's traceparent; undefined when the call is untraced. */
  startCall(endpoint: CallEndpoint, incoming: IncomingTrace): CallTrace | undefined;
  /** Exports every ended span now (tests; shutdown). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export const propagator = new W3CTraceContextPropagator();

/** The caller's span as a parent context (ROOT_CONTEXT when it sent no valid traceparent). */
export function incomingContext(incoming: IncomingTrace): Context {
  if (incoming.traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, incoming, defaultTextMapGetter);
}

/** The headers that name `ctx`'s span as the parent of an upstream request. */
export function traceHeadersOf(ctx: Context): TraceHeaders {
  const headers: Record<string, string> = {};
  propagator.inject(ctx, headers, defaultTextMapSetter);
  return headers;
}

const ENDED: AttemptSpan = { headers: undefined, end() {} };
export const NO_PHASE: PhaseSpan = { end() {} };

/**
 * No exporter: no spans, no SDK, next to no cost. A caller's valid traceparent is still
 * recorded (the call's trace_id links it to the caller's trace) and passed upstream as it came,
 * so the upstream joins the same trace; a call without one is untraced (trace_id null).
 */
export const propagateOnly: Tracing = {
  startCall(_endpoint, incoming) {
    if (incoming.traceparent === undefined) return undefined;
    const ctx = incomingContext(incoming);
    const parent = trace.getSpanContext(ctx);
    if (parent === undefined) return undefined;
    const attempt: AttemptSpan = { headers: traceHeadersOf(ctx), end() {} };
    return { traceId: parent.traceId, startAttempt: () => attempt, startPhase: () => NO_PHASE, end() {} };
  },
  forceFlush: async () => {},
  shutdown: async () => {},
};

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
const SAMPLERS: readonly SamplerName[] = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

export interface OtlpSettings {
  /** Full URL of the traces endpoint (…/v1/traces). */
  url: string;
  protocol: OtlpProtocol;
  serviceName: string | undefined;
  /** OTEL_TRACES_SAMPLER (default parentbased_always_on) and its ratio, OTEL_TRACES_SAMPLER_ARG (default 1). */
  sampler: { name: SamplerName; ratio: number };
}

/**
 * The standard OTEL_* variables that decide whether and where spans go: exported only when
 * an OTLP endpoint is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or OTEL_EXPORTER_OTLP_ENDPOINT
 * plus /v1/traces), unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Headers,
 * timeout, compression and OTEL_BSP_* are read by the exporter and batch processor themselves.
 */
export function otlpSettings(vars: Readonly<Record<string, string | undefined>>): OtlpSettings | undefined {
  if (vars.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (vars.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const own = vars.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = vars.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const url = own ? own : base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
  if (url === undefined) return undefined;
  const protocol = (vars.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? vars.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    const name = vars.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
    throw new ConfigError(`${name}: '${protocol}' is not supported; use http/protobuf or http/json`);
  }
  try {
    new URL(url);
  } catch {
    throw new ConfigError(`${own ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'}: '${url}' is not a URL`);
  }
  return { url, protocol, serviceName: vars.OTEL_SERVICE_NAME?.trim() || undefined, sampler: samplerSettings(vars) };
}

/**
 * The sampler the spec's variables name. Read here rather than by the SDK from process.env:
 * the decision is needed while the call runs (its traceparent's sampled flag goes upstream),
 * before the SDK makes the call's spans (tracing-otel.ts).
 */
function samplerSettings(vars: Readonly<Record<string, string | undefined>>): OtlpSettings['sampler'] {
  const name = (vars.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on') as SamplerName;
  if (!SAMPLERS.includes(name)) throw new ConfigError(`OTEL_TRACES_SAMPLER: '${name}' is not supported; use one of ${SAMPLERS.join(', ')}`);
  const arg = vars.OTEL_TRACES_SAMPLER_ARG?.trim();
  const ratio = arg ? Number(arg) : 1;
  if (name.endsWith('traceidratio') && !(ratio >= 0 && ratio <= 1)) throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG: '${arg ?? ''}' is not a ratio between 0 and 1`);
  return { name, ratio };
}
