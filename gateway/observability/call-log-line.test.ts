import { describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { CallEvents } from '../calls/call-events.ts';
import type { CallRecord } from '../calls/record.ts';
import type { Logger } from '../logger.ts';
import { callLogFields, callLogLevel, callLogLine } from './call-log-line.ts';

const retried = (over: Partial<CallRecord> = {}) =>
  sampleRecord({
    attempts: [
      { provider: 'openai', model: 'gpt-4o-mini', status: 503, error: 'upstream_unavailable', latencyMs: 20.04 },
      { provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latencyMs: 400 },
    ],
    ...over,
  });

describe('callLogLevel', () => {
  it('is info for a plain call, client errors and aborts; warn for retries, fallbacks and upstream failures; error for the gateway', () => {
    expect(callLogLevel(sampleRecord())).toBe('info');
    expect(callLogLevel(sampleRecord({ status: 'client_error', httpStatus: 400, errorCode: 'invalid_request' }))).toBe('info');
    expect(callLogLevel(sampleRecord({ status: 'client_aborted', httpStatus: 499 }))).toBe('info');
    expect(callLogLevel(retried())).toBe('warn');
    expect(callLogLevel(sampleRecord({ fallbackUsed: true }))).toBe('warn');
    expect(callLogLevel(sampleRecord({ status: 'upstream_error', httpStatus: 502 }))).toBe('warn');
    expect(callLogLevel(sampleRecord({ status: 'gateway_error', httpStatus: 500 }))).toBe('error');
  });
});

describe('callLogFields', () => {
  it('names the call, where it went and how it ended — and nothing of its bodies', () => {
    const record = Object.assign(sampleRecord({ ttftMs: 88.123 }), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    const fields = callLogFields(record);
    expect(fields).toEqual({
      call_id: record.id,
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      request_id: record.requestId,
      endpoint: 'chat.completions',
      route: 'support-bot',
      variant: 'control',
      provider: 'openai',
      model: 'gpt-4o-mini',
      stream: false,
      api_key_id: record.apiKeyId,
      status: 'ok',
      http_status: 200,
      error_code: null,
      latency_ms: 415.3,
      ttft_ms: 88.1,
      overhead_ms: 0.4,
      input_tokens: 120,
      output_tokens: 48,
      cost_usd: 0.0000468,
      cache: 'miss',
      attempts: 1,
      fallback_used: false,
    });
    const text = JSON.stringify(fields);
    expect(text).not.toContain('reset my password');
    expect(text).not.toContain('user-42');
  });

  it('has a null trace id until tracing sets one, and NULL cost and tokens when unknown', () => {
    const fields = callLogFields(sampleRecord({ usage: null, costMicros: null, costStatus: 'unpriced' }));
    expect(fields).toMatchObject({ trace_id: null, input_tokens: null, output_tokens: null, cost_usd: null });
  });

  it('lists the attempts and the cause when the call is logged above info', () => {
    expect(callLogFields(retried())).toMatchObject({
      attempts: 2,
      error_message: null,
      attempt_log: [
        { provider: 'openai', model: 'gpt-4o-mini', status: 503, error: 'upstream_unavailable', latency_ms: 20 },
        { provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latency_ms: 400 },
      ],
    });
    const failed = callLogFields(sampleRecord({ status: 'gateway_error', httpStatus: 500, errorCode: 'internal_error', errorMessage: 'boom' }));
    expect(failed).toMatchObject({ status: 'gateway_error', error_code: 'internal_error', error_message: 'boom' });
    expect(callLogFields(sampleRecord())).not.toHaveProperty('attempt_log');
  });

  it('marks a shadow call with its parent', () => {
    expect(callLogFields(sampleRecord({ shadow: true, parentCallId: 'p1' }))).toMatchObject({ shadow: true, parent_call_id: 'p1' });
  });
});

describe('callLogLine', () => {
  it('logs one line per finished call, at its level', () => {
    const lines: Array<[string, string, Record<string, unknown> | undefined]> = [];
    const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push([level, msg, fields]);
    const logger: Logger = { info: at('info'), warn: at('warn'), error: at('error') };
    const events = new CallEvents();
    events.onFinished(callLogLine(logger));
    events.emit({ record: sampleRecord(), shadow: null });
    events.emit({ record: retried({ fallbackUsed: true }), shadow: null });
    events.emit({ record: sampleRecord({ status: 'gateway_error', httpStatus: 500 }), shadow: null });
    expect(lines.map(([level, msg]) => `${level} ${msg}`)).toEqual(['info call', 'warn call', 'error call']);
  });
});
