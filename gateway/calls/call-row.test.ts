import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { everyFieldRecord, sampleRecord } from '../../test/helpers/sample-record.ts';
import { startCallRow, toCallRow } from './call-row.ts';
import { compilePayloadPolicy, type PayloadOptions } from './payloads.ts';
import { ROW_FIELDS, rowId, rowObject } from './row-fields.ts';

const options = (over: Partial<PayloadOptions> = {}): PayloadOptions => ({
  enabled: true,
  maxBytes: 4096,
  redactFields: [],
  redactPatterns: [],
  ...over,
});
const parse = (row: string) => rowObject(row) as Record<string, unknown>;

describe('toCallRow', () => {
  const policy = compilePayloadPolicy(options());

  it('writes every column as JSON, the id first', () => {
    const r = sampleRecord({ traceId: 'a'.repeat(32), retrievedDocIds: ['d1', 'd"2'], assignment: 0.25 });
    const row = toCallRow(r, policy, Date.now());
    expect(rowId(row)).toBe(r.id);
    expect(parse(row)).toEqual({
      id: r.id,
      request_id: r.requestId,
      started_at: r.startedAt.toISOString(),
      endpoint: 'chat.completions',
      api_key_id: r.apiKeyId,
      route: 'support-bot',
      variant: 'control',
      assignment: 0.25,
      shadow: false,
      parent_call_id: null,
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt_name: 'support',
      prompt_version: 3,
      stream: false,
      status: 'ok',
      http_status: 200,
      error_code: null,
      error_message: null,
      attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latency_ms: 412.5 }],
      latency_ms: 415.25,
      ttft_ms: null,
      overhead_ms: 0.42,
      input_tokens: 120,
      output_tokens: 48,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      cost_micros: 46.8,
      cost_status: 'exact',
      cost_saved_micros: null,
      fallback_used: false,
      cache_status: 'miss',
      user: 'user-42',
      metadata: { team: 'support' },
      retrieved_doc_ids: ['d1', 'd"2'],
      retrieval_ms: null,
      trace_id: 'a'.repeat(32),
      has_payload: true,
      truncated: false,
      request: r.requestBody,
      response: r.responseBody,
      rag: null,
      face_request: null,
    });
  });

  it('puts each field at its position in ROW_FIELDS (every value distinct, none null)', () => {
    const r = everyFieldRecord();
    const values = JSON.parse(toCallRow(r, policy, Date.now())) as unknown[];
    expect(values).toHaveLength(ROW_FIELDS.length);
    const byName = Object.fromEntries(ROW_FIELDS.map(([name], i) => [name, values[i]]));
    expect(byName).toMatchObject({
      id: r.id,
      parent_call_id: r.parentCallId,
      trace_id: 'c'.repeat(32),
      assignment: 0.625,
      shadow: true,
      stream: true,
      status: 'upstream_error',
      http_status: 502,
      error_code: 'upstream_error',
      error_message: 'bad gateway',
      ttft_ms: 7.5,
      retrieval_ms: 3.25,
      cost_micros: 46.8,
      cost_saved_micros: 9.5,
      fallback_used: true,
      cache_status: 'hit',
      retrieved_doc_ids: ['d1', 'd"2'],
      input_tokens: 11,
      output_tokens: 12,
      cached_tokens: 13,
      cache_write_tokens: 14,
      reasoning_tokens: 15,
      has_payload: true,
      truncated: false,
      request: r.requestBody,
      response: r.responseBody,
      rag: { query: 'q' },
      face_request: { system: 's' },
      overhead_ms: 0.75,
    });
  });

  it('keeps hostile client strings valid, storable JSON', () => {
    const r = sampleRecord({
      user: 'a"b\\c\u0000d\ud800e\u2028f',
      model: 'm'.repeat(600),
      metadata: JSON.parse('{"__proto__":"p","k\\"\\n":"v\\\\"}') as Record<string, string>,
      latencyMs: Number.NaN,
      errorMessage: 'tab\there',
      attempts: [{ provider: 'p"', model: 'x', status: null, error: null, latencyMs: Number.POSITIVE_INFINITY }],
    });
    const row = parse(toCallRow(r, policy, Date.now()));
    expect(row.user).toBe('a"b\\cd\ufffde\u2028f');
    expect((row.model as string).length).toBeLessThanOrEqual(512);
    expect(Object.keys(row.metadata as object)).toEqual(['__proto__', 'k"\n']);
    expect(row.latency_ms).toBe(0);
    expect(row.error_message).toBe('tab\there');
    expect(row.attempts).toEqual([{ provider: 'p"', model: 'x', status: null, error: null, latency_ms: 0 }]);
  });
});

describe('payload capture per route', () => {
  const policy = compilePayloadPolicy(
    options({ routes: { quiet: 'metadata', loud: 'full', some: { sample: 0.3 } } }),
  );
  const kept = (route: string | null, id = uuidv7()) => parse(toCallRow(sampleRecord({ id, route }), policy, Date.now())).has_payload === true;

  it('keeps bodies on full routes and routes not listed, none on metadata routes', () => {
    expect(kept('loud')).toBe(true);
    expect(kept('other')).toBe(true);
    expect(kept(null)).toBe(true);
    expect(kept('quiet')).toBe(false);
  });

  it('samples a share of calls, the same way for the same call id', () => {
    const ids = Array.from({ length: 4000 }, () => uuidv7());
    const share = ids.filter((id) => kept('some', id)).length / ids.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
    for (const id of ids.slice(0, 200)) expect(kept('some', id)).toBe(kept('some', id));
  });

  it('keeps no bodies anywhere when payloads are off', () => {
    const off = compilePayloadPolicy(options({ enabled: false, routes: { loud: 'full' } }));
    expect(parse(toCallRow(sampleRecord({ route: 'loud' }), off, Date.now())).has_payload).toBeUndefined();
  });
});

describe('a row begun while the upstream call is out (startCallRow)', () => {
  const policy = compilePayloadPolicy(options({ redactFields: ['ssn'] }));
  const record = () =>
    sampleRecord({
      requestBody: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ssn: '123' },
      faceRequest: { system: 'be brief', messages: [{ role: 'user', content: 'hi' }] },
      responseBody: { choices: [{ message: { role: 'assistant', content: 'hello' } }] },
    });

  it('finishes to exactly the row built whole', () => {
    const live = record();
    const start = startCallRow({ ...live, status: 'ok', responseBody: null }, policy, Date.now());
    // The outcome arrives after the start: status, usage, latency, the answer.
    const done = { ...live, latencyMs: 42, costMicros: 17 };
    expect(toCallRow(done, policy, 0, 'ok', start)).toBe(toCallRow(done, policy, 0));
    expect(parse(toCallRow(done, policy, 0, 'ok', start)).request).toMatchObject({ ssn: '[redacted]' });
    // The start's request body is the one used (serialised when the request went out).
    (done.requestBody as { ssn: string; extra?: string }).extra = 'added later';
    expect(parse(toCallRow(done, policy, 0, 'ok', start)).request).not.toHaveProperty('extra');
    expect(parse(toCallRow(done, policy, 0)).request).toHaveProperty('extra');
  });

  it('is not used for what changed after it: a fallback target, a new request body, another call', () => {
    const live = record();
    const start = startCallRow(live, policy, Date.now());
    const fallback = { ...live, provider: 'anthropic', model: 'claude-3-5-haiku' };
    expect(parse(toCallRow(fallback, policy, 0, 'ok', start))).toMatchObject({ provider: 'anthropic', model: 'claude-3-5-haiku' });
    const rendered = { ...live, requestBody: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'v2' }] } };
    expect(parse(toCallRow(rendered, policy, 0, 'ok', start)).request).toEqual(rendered.requestBody);
    const other = { ...record(), route: 'other' };
    expect(toCallRow(other, policy, 0, 'ok', start)).toBe(toCallRow(other, policy, 0));
  });
});
