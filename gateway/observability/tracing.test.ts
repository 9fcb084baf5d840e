import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToNanoseconds } from '@opentelemetry/core';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/load.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { withRetry, type AttemptContext } from '../pipeline/retry.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { otelTracing } from './tracing-otel.ts';
import { samplerOf } from './tracing-spans.ts';
import { NO_INCOMING_TRACE, otlpSettings, propagateOnly } from './tracing.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('otlpSettings', () => {
  it('exports only when an endpoint is set, appending /v1/traces to the base one', () => {
    expect(otlpSettings({})).toBeUndefined();
    expect(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: undefined,
      sampler: { name: 'parentbased_always_on', ratio: 1 },
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
    expect(s).toEqual({ url: 'http://b:4318/custom', protocol: 'http/json', serviceName: 'edge', sampler: { name: 'parentbased_always_on', ratio: 1 } });
  });

  it('reads the sampler and its ratio, and fails at boot on one it does not know', () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' };
    expect(otlpSettings({ ...base, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })?.sampler).toEqual({ name: 'parentbased_traceidratio', ratio: 0.25 });
    expect(() => otlpSettings({ ...base, OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => otlpSettings({ ...base, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
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
    // Recorded times: each try lies within the call.
    for (const c of clients) expect(hrTimeToNanoseconds(c.startTime) >= hrTimeToNanoseconds(server.startTime) && hrTimeToNanoseconds(c.endTime) <= hrTimeToNanoseconds(server.endTime)).toBe(true);
    await tracing.shutdown();
  });

  it('makes a phase span under the server span, with its attributes or its error', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = otelTracing({ exporter });
    const call = tracing.startCall('chat.completions', NO_INCOMING_TRACE)!;
    call.startPhase('cache').end({ 'sluice.cache': 'miss' });
    call.startPhase('retrieval').end(undefined, 'retrieval_failed');
    call.end(sampleRecord({ status: 'upstream_error', errorCode: 'upstream_error', httpStatus: 502 }));
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.spanContext().traceId).toBe(call.traceId);
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.status).toEqual({ code: SpanStatusCode.ERROR, message: 'upstream_error' });
    const cache = spans.find((s) => s.name === 'sluice.cache.lookup')!;
    const retrieval = spans.find((s) => s.name === 'sluice.retrieval')!;
    expect(cache.attributes).toEqual({ 'sluice.cache': 'miss' });
    expect(cache.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(retrieval.status.code).toBe(SpanStatusCode.ERROR);
    expect(retrieval.attributes['error.type']).toBe('retrieval_failed');
    await tracing.shutdown();
  });

  it('exports nothing for a caller that did not sample, and passes its trace on unsampled with its tracestate', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = otelTracing({ exporter });
    const call = tracing.startCall('chat.completions', { traceparent: TRACEPARENT.replace(/-01$/, '-00'), tracestate: 'vendor=abc' })!;
    expect(call.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const headers = call.startAttempt('openai', 'gpt-4o').headers!;
    expect(headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
    expect(headers.traceparent).not.toContain('00f067aa0ba902b7');
    expect(headers.tracestate).toBe('vendor=abc');
    call.end(sampleRecord());
    await tracing.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    await tracing.shutdown();
  });

  it('samples by trace id with traceidratio: a ratio of 0 records nothing and sends flag 00', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = otelTracing({ exporter, sampler: samplerOf({ name: 'traceidratio', ratio: 0 }) });
    const call = tracing.startCall('chat.completions', NO_INCOMING_TRACE)!;
    expect(call.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(call.startAttempt('openai', 'gpt-4o').headers?.traceparent).toMatch(/-00$/);
    call.end(sampleRecord());
    await tracing.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    await tracing.shutdown();
  });
});
