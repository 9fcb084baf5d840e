import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/load.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { withRetry, type AttemptContext } from '../pipeline/retry.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { otelTracing } from './tracing-otel.ts';
import { NO_INCOMING_TRACE, otlpSettings, propagateOnly } from './tracing.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('otlpSettings', () => {
  it('exports only when an endpoint is set, appending /v1/traces to the base one', () => {
    expect(otlpSettings({})).toBeUndefined();
    expect(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: undefined,
    });
  });

  it('takes the traces endpoint and protocol as they are, ahead of the general ones', () => {
    const s = otlpSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'edge',
    });
    expect(s).toEqual({ url: 'http://b:4318/custom', protocol: 'http/json', serviceName: 'edge' });
  });

  it('is off when the SDK or the traces exporter is disabled', () => {
    expect(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  it('fails at boot on grpc or a malformed endpoint, naming the variable', () => {
    expect(() => otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(ConfigError);
    expect(() => otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(() => otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

describe('propagateOnly', () => {
  it('keeps a valid caller trace and passes its traceparent on; nothing else is traced', () => {
    const call = propagateOnly.startCall('chat.completions', { traceparent: TRACEPARENT, tracestate: undefined })!;
    expect(call.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(call.startAttempt('openai', 'gpt-4o').headers).toEqual({ traceparent: TRACEPARENT });
    expect(propagateOnly.startCall('chat.completions', NO_INCOMING_TRACE)).toBeUndefined();
    expect(propagateOnly.startCall('chat.completions', { traceparent: 'garbage', tracestate: undefined })).toBeUndefined();
  });
});

describe('otelTracing with withRetry', () => {
  const opts = { policy: { max_attempts: 3, base_delay_ms: 0, max_delay_ms: 0 }, provider: 'openai', model: 'gpt-4o', signal: new AbortController().signal, now: () => 0, random: () => 0 };

  it('makes a client span per try under the server span, each try sending its own traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = otelTracing({ exporter });
    const call = tracing.startCall('chat.completions', { traceparent: TRACEPARENT, tracestate: undefined })!;
    const sent: AttemptContext[] = [];
    let tries = 0;
    await withRetry(
      async (a) => {
        sent.push(a);
        if (++tries === 1) throw new GatewayError('upstream_error', 'boom', { provider: 'openai', upstreamStatus: 502 });
        return 'ok';
      },
      { ...opts, attempts: [], trace: call },
    );
    call.end(sampleRecord({ provider: 'openai', model: 'gpt-4o', status: 'ok', responseBody: { model: 'gpt-4o-2024', choices: [{ finish_reason: 'stop' }] } }));
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(server.name).toBe('chat gpt-4o');
    expect(server.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(server.attributes['gen_ai.response.model']).toBe('gpt-4o-2024');
    expect(server.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(clients).toHaveLength(2);
    expect(clients.map((c) => c.parentSpanContext?.spanId)).toEqual([server.spanContext().spanId, server.spanContext().spanId]);
    expect(clients[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(clients[0]!.attributes['http.response.status_code']).toBe(502);
    expect(sent.map((a) => a.trace?.traceparent)).toEqual(clients.map((c) => `00-4bf92f3577b34da6a3ce929d0e0e4736-${c.spanContext().spanId}-01`));
    await tracing.shutdown();
  });
});
