import { createTraceState, ROOT_CONTEXT, SpanStatusCode, TraceFlags, trace, type Context, type HrTime, type Tracer } from '@opentelemetry/api';
import { addHrTimes, millisToHrTime } from '@opentelemetry/core';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type BufferConfig,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { EndedSpan } from './tracing-calls.ts';
import { PresetIds } from './tracing-ids.ts';
import type { OtlpSettings } from './tracing.ts';

/**
 * The SDK end of tracing, wherever it runs (in the app's thread for tests and custom
 * exporters, tracing-otel.ts; in the export thread for OTLP, tracing-thread.ts): a tracer
 * provider of its own (never registered globally), a batch processor and an exporter, and
 * the SDK spans made from the ended ones a call recorded (tracing-calls.ts).
 */

export interface SdkOptions {
  exporter: SpanExporter;
  serviceName?: string | undefined;
  /** Batch processor settings; OTEL_BSP_* apply to what is left out. */
  batch?: BufferConfig | undefined;
  sampler: Sampler;
}

export interface Sdk {
  /** Makes and ends an SDK span for each ended one; `origin` is the epoch ms of their clock's 0. */
  make(spans: readonly EndedSpan[], origin: number): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The SDK's sampler for the OTEL_TRACES_SAMPLER setting. */
export function samplerOf({ name, ratio }: OtlpSettings['sampler']): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

export function startSdk(opts: SdkOptions): Sdk {
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) win over the default name.
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName ?? 'sluice' }).merge(detectResources({ detectors: [envDetector] }));
  const ids = new PresetIds();
  const provider = new BasicTracerProvider({ resource, sampler: opts.sampler, idGenerator: ids, spanProcessors: [new BatchSpanProcessor(opts.exporter, opts.batch)] });
  const tracer = provider.getTracer('sluice');
  return {
    make: (spans, origin) => makeSpans(tracer, ids, spans, origin),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

function makeSpans(tracer: Tracer, ids: PresetIds, spans: readonly EndedSpan[], origin: number): void {
  // Whole ms and the rest apart: epoch ms in one double would keep only ~0.2 µs.
  const base = millisToHrTime(origin);
  const at = (ms: number): HrTime => addHrTimes(base, millisToHrTime(ms));
  for (const s of spans) {
    // The tracer asks the id generator for the span id (and, for a root span, the trace id).
    ids.traceId = s.traceId;
    ids.spanId = s.spanId;
    const span = tracer.startSpan(s.name, { kind: s.kind, attributes: s.attributes, startTime: at(s.start) }, parentOf(s));
    if (s.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: s.error });
    span.end(at(s.end));
  }
}

function parentOf(s: EndedSpan): Context {
  const traceState = s.traceState === undefined ? undefined : createTraceState(s.traceState);
  if (s.remoteParent) return trace.setSpanContext(ROOT_CONTEXT, { traceId: s.traceId, ...s.remoteParent, isRemote: true, ...(traceState ? { traceState } : {}) });
  if (s.parentSpanId === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TraceFlags.SAMPLED, ...(traceState ? { traceState } : {}) });
}

/** Epoch ms at this thread's performance.now() 0, as the wall clock reads it now. */
export const clockOrigin = (): number => Date.now() - performance.now();
