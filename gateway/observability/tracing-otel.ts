import { diag, SpanKind, trace } from '@opentelemetry/api';
import { AlwaysOnSampler, ParentBasedSampler, SamplingDecision, type BufferConfig, type Sampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { CallEndpoint } from '../calls/record.ts';
import { operationName } from './metrics.ts';
import { recordedCall, settle, unsampledCall, type EndedSpan } from './tracing-calls.ts';
import { newTraceId } from './tracing-ids.ts';
import { clockOrigin, samplerOf, startSdk, type Sdk } from './tracing-spans.ts';
import { startExportThread } from './tracing-thread-host.ts';
import { incomingContext, type CallTrace, type IncomingTrace, type OtlpSettings, type Tracing } from './tracing.ts';

/**
 * Tracing with the OTel SDK. A call decides sampling and chooses its ids when it starts, and
 * hands each span over as plain data when it ends (tracing-calls.ts); the SDK spans are made
 * from those, with their recorded times and ids, in batches: every FLUSH_MS, or at the next
 * turn of the event loop once FLUSH_SPANS wait (DESIGN §5: the trace is off the response
 * path). With OTLP, the SDK, its batch processor and the exporter's serialisation run in a
 * thread of their own (tracing-thread.ts); only the ended spans are posted to it.
 */

/** Most ms an ended span waits to be handed to the SDK. */
const FLUSH_MS = 20;
/** This many waiting spans are handed over at the next turn of the event loop. */
const FLUSH_SPANS = 128;
/** Beyond this many waiting spans (the loop is stalled), new ones are dropped, as the batch processor drops past its queue. */
const MAX_WAITING = 8192;

export interface OtelTracingOptions {
  exporter: SpanExporter;
  serviceName?: string | undefined;
  /** Batch processor settings; OTEL_BSP_* apply to what is left out. */
  batch?: BufferConfig;
  /** Default: parent-based, always on (the SDK's default). */
  sampler?: Sampler;
}

/** OTLP export per the settings, from a thread of its own. */
export async function otlpTracing(settings: OtlpSettings, batch?: BufferConfig): Promise<Tracing> {
  return tracingOver(await startExportThread(settings, batch), samplerOf(settings.sampler));
}

/** The SDK in this thread, with any exporter (tests, the in-process benchmark). */
export function otelTracing(opts: OtelTracingOptions): Tracing {
  const sampler = opts.sampler ?? new ParentBasedSampler({ root: new AlwaysOnSampler() });
  return tracingOver(startSdk({ ...opts, sampler }), sampler);
}

function tracingOver(sdk: Sdk, sampler: Sampler): Tracing {
  const queue = new EndedSpans(sdk);
  return {
    startCall(endpoint, incoming) {
      return startCall(sampler, queue, endpoint, incoming);
    },
    async forceFlush() {
      queue.flush();
      await sdk.forceFlush();
    },
    async shutdown() {
      queue.flush();
      await sdk.shutdown();
    },
  };
}

/** The sampling decision for the call's server span, made as the SDK would make it. */
function startCall(sampler: Sampler, queue: EndedSpans, endpoint: CallEndpoint, incoming: IncomingTrace): CallTrace {
  const operation = operationName(endpoint);
  const parentCtx = incomingContext(incoming);
  const parent = trace.getSpanContext(parentCtx);
  const traceId = parent?.traceId ?? newTraceId();
  const sampling = sampler.shouldSample(parentCtx, traceId, operation, SpanKind.SERVER, { 'gen_ai.operation.name': operation }, []);
  const tracestate = (sampling.traceState ?? parent?.traceState)?.serialize() || undefined;
  if (sampling.decision !== SamplingDecision.RECORD_AND_SAMPLED) return unsampledCall(traceId, tracestate);
  const remoteParent = parent ? { spanId: parent.spanId, traceFlags: parent.traceFlags } : undefined;
  return recordedCall({ operation, traceId, tracestate, remoteParent, ended: (span) => queue.push(span) });
}

/** Ended spans waiting to be handed to the SDK, in batches. */
class EndedSpans {
  #waiting: EndedSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #dropped = 0;
  /** Epoch ms at performance.now() 0: moved only when the wall clock really drifts (see flush). */
  #origin = clockOrigin();

  constructor(private readonly sdk: Sdk) {}

  push(span: EndedSpan): void {
    if (this.#waiting.length >= MAX_WAITING) {
      if (this.#dropped++ === 0) diag.warn(`tracing: ${MAX_WAITING} ended spans waiting; dropping spans`);
      return;
    }
    this.#waiting.push(span);
    if (this.#waiting.length >= FLUSH_SPANS) this.#immediate ??= setImmediate(() => this.flush());
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = this.#immediate = undefined;
    this.#dropped = 0;
    if (this.#waiting.length === 0) return;
    const spans = this.#waiting;
    this.#waiting = [];
    // One origin for every span: the SDK would read Date.now(), a ms clock, per span and skew a
    // call's sub-ms spans against each other. Re-read only when the clocks drifted apart.
    const origin = clockOrigin();
    if (Math.abs(origin - this.#origin) > 2) this.#origin = origin;
    settle(spans);
    this.sdk.make(spans, this.#origin);
  }
}
