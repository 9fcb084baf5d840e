import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type BufferConfig, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Attempt, CallEndpoint, CallRecord } from '../calls/record.ts';
import { operationName } from './metrics.ts';
import { incomingContext, traceHeadersOf, type AttemptSpan, type CallTrace, type IncomingTrace, type OtlpSettings, type PhaseSpan, type TracePhase, type Tracing } from './tracing.ts';

/** Span names of the call's phases. */
const PHASE_NAMES: Record<TracePhase, string> = { prompt: 'sluice.prompt.render', retrieval: 'sluice.retrieval', cache: 'sluice.cache.lookup' };

/**
 * The OTel SDK behind Tracing: a tracer provider of this app's own (never registered
 * globally), a batch processor, and an OTLP/HTTP exporter. Spans are made by hand, no
 * auto-instrumentation. The GenAI attribute names are the semantic conventions' (still
 * "development" there, so written out rather than imported from the incubating entry point).
 */

export interface OtelTracingOptions {
  exporter: SpanExporter;
  serviceName?: string | undefined;
  /** Batch processor settings; OTEL_BSP_* apply to what is left out. */
  batch?: BufferConfig;
}

export function otlpTracing(settings: OtlpSettings, batch?: BufferConfig): Tracing {
  const exporter = settings.protocol === 'http/json' ? new OtlpJsonExporter({ url: settings.url }) : new OtlpProtoExporter({ url: settings.url });
  return otelTracing({ exporter, serviceName: settings.serviceName, ...(batch ? { batch } : {}) });
}

export function otelTracing(opts: OtelTracingOptions): Tracing {
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) win over the default name.
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName ?? 'sluice' }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(opts.exporter, opts.batch)] });
  const tracer = provider.getTracer('sluice');
  return {
    startCall(endpoint, incoming) {
      return startCallSpan(tracer, endpoint, incoming);
    },
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

function startCallSpan(tracer: Tracer, endpoint: CallEndpoint, incoming: IncomingTrace): CallTrace {
  const operation = operationName(endpoint);
  // Named for the operation alone until the model is known; end() renames it.
  const span = tracer.startSpan(operation, { kind: SpanKind.SERVER, attributes: { 'gen_ai.operation.name': operation } }, incomingContext(incoming));
  const parent = trace.setSpan(ROOT_CONTEXT, span);
  return {
    traceId: span.spanContext().traceId,
    startAttempt(provider, model) {
      return startAttemptSpan(tracer, parent, operation, provider, model);
    },
    startPhase(phase) {
      return startPhaseSpan(tracer, parent, phase);
    },
    end(record) {
      endCallSpan(span, operation, record);
    },
  };
}

function startAttemptSpan(tracer: Tracer, parent: ReturnType<typeof trace.setSpan>, operation: string, provider: string, model: string): AttemptSpan {
  const span = tracer.startSpan(
    `${operation} ${model}`,
    { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': operation, 'gen_ai.provider.name': provider, 'gen_ai.request.model': model } },
    parent,
  );
  return {
    // The upstream's parent is this attempt's span, so its own spans nest under the try.
    headers: traceHeadersOf(trace.setSpan(ROOT_CONTEXT, span)),
    end(attempt: Readonly<Attempt>) {
      if (attempt.status !== null) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, attempt.status);
      if (attempt.error !== null) {
        span.setAttribute(ATTR_ERROR_TYPE, attempt.error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: attempt.error });
      }
      span.end();
    },
  };
}

function startPhaseSpan(tracer: Tracer, parent: ReturnType<typeof trace.setSpan>, phase: TracePhase): PhaseSpan {
  const span = tracer.startSpan(PHASE_NAMES[phase], { kind: SpanKind.INTERNAL }, parent);
  return {
    end(attributes, errorType) {
      if (attributes) span.setAttributes(attributes);
      if (errorType !== undefined) {
        span.setAttribute(ATTR_ERROR_TYPE, errorType);
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
      }
      span.end();
    },
  };
}

function endCallSpan(span: Span, operation: string, r: Readonly<CallRecord>): void {
  const attrs: Attributes = { 'sluice.call_id': r.id, [ATTR_HTTP_RESPONSE_STATUS_CODE]: r.httpStatus };
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
  span.setAttributes(attrs);
  span.updateName(r.model === null ? operation : `${operation} ${r.model}`);
  if (r.status !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: r.errorCode ?? r.status });
  span.end();
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
