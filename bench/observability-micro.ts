/**
 * The same costs as observability.ts, measured in this process without a network or a second
 * process in the way, so they are not lost in the noise of a 0.02 ms goal: µs of one core per
 * call for Metrics.observe on a finished record, and for one call's spans (server span, one
 * client span, three phase spans) including their export to the local OTLP receiver (the batch
 * processor's serialisation runs on the gateway's event loop too, so it is counted).
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { sampleRecord } from '../test/helpers/sample-record.ts';
import { CallEvents } from '../gateway/calls/call-events.ts';
import { parseConfig } from '../gateway/config/load.ts';
import { RejectionCounters } from '../gateway/http/rejections.ts';
import { Metrics } from '../gateway/observability/metrics.ts';
import { otelTracing } from '../gateway/observability/tracing-otel.ts';
import { NO_INCOMING_TRACE } from '../gateway/observability/tracing.ts';
import { median } from './summary.ts';

export interface ObservabilityMicro {
  /** µs per call: Metrics.observe of one finished record. */
  metricsUs: number;
  /** µs per call: creating and ending the call's spans, and exporting them (amortised). */
  tracingUs: number;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export async function observabilityMicro(otlpUrl: string, quick: boolean): Promise<ObservabilityMicro> {
  const config = parseConfig({ providers: { openai: { type: 'openai', api_key: 'sk-bench' } }, routes: { 'support-bot': { variants: [{ name: 'control', target: 'openai/gpt-4o-mini' }] } } }, {});
  const metrics = new Metrics({ config, events: new CallEvents(() => {}), rejections: new RejectionCounters(), processMetrics: false });
  const record = sampleRecord();
  const batches = 5;
  const perBatch = quick ? 20_000 : 100_000;
  const metricsRuns: number[] = [];
  for (let b = -1; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) metrics.observe(record);
    if (b >= 0) metricsRuns.push(((performance.now() - t0) * 1000) / perBatch);
  }
  metrics.stop();

  const tracing = otelTracing({ exporter: new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces` }), serviceName: 'sluice-bench-micro' });
  const calls = quick ? 2_000 : 10_000;
  const tracingRuns: number[] = [];
  for (let b = -1; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const call = tracing.startCall('chat.completions', NO_INCOMING_TRACE)!;
      for (const phase of ['prompt', 'retrieval', 'cache'] as const) call.startPhase(phase).end({ 'sluice.cache': 'miss' });
      call.startAttempt('openai', 'gpt-4o-mini').end(record.attempts[0]!);
      call.end(record);
    }
    await tracing.forceFlush();
    if (b >= 0) tracingRuns.push(((performance.now() - t0) * 1000) / calls);
  }
  await tracing.shutdown();
  return { metricsUs: round2(median(metricsRuns)), tracingUs: round2(median(tracingRuns)) };
}
