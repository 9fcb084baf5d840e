import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.ts';
import { failureFromResponse, parseRetryAfter } from './upstream-failure.ts';

const SECRET = 'sk-proj-RealProviderKey0123456789';
const openaiError = (message: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null, ...extra } });
const anthropicError = (message: string) => JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message } });

describe('failureFromResponse', () => {
  it.each([401, 403])('%i → upstream_auth_failed (502) without echoing anything the upstream said', (status) => {
    const text = openaiError(`Incorrect API key provided: ${SECRET.slice(0, 5)}****6789. Your org is org-abc.`);
    const err = failureFromResponse('openai', status, {}, text, [SECRET]);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'upstream_auth_failed', status: 502, provider: 'openai', upstreamStatus: status });
    expect(err.message).toBe(`provider openai rejected the gateway's credentials (HTTP ${status})`);
    expect(err.message).not.toMatch(/Incorrect|org-abc|6789/);
    expect(err.retryAfter).toBeUndefined();
  });

  it('429 → upstream_rate_limited with Retry-After in seconds', () => {
    const err = failureFromResponse('openai', 429, { 'retry-after': '7' }, openaiError('Rate limit reached for gpt-4o-mini'), [SECRET]);
    expect(err).toMatchObject({ code: 'upstream_rate_limited', status: 429, upstreamStatus: 429, retryAfter: 7, provider: 'openai' });
    expect(err.message).toBe('provider openai is rate limiting requests: Rate limit reached for gpt-4o-mini');
  });

  it('429 → retryAfter from an HTTP date', () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    const err = failureFromResponse('anthropic', 429, { 'retry-after': at }, anthropicError('Number of requests has exceeded your rate limit'), []);
    expect(err.code).toBe('upstream_rate_limited');
    // HTTP dates have whole seconds, so up to one second of the 30 is lost to truncation.
    expect(err.retryAfter).toBeGreaterThan(28);
    expect(err.retryAfter).toBeLessThanOrEqual(30);
    expect(err.message).toContain('Number of requests has exceeded your rate limit');
  });

  it('429 without (or with a garbled) Retry-After has no retryAfter', () => {
    expect(failureFromResponse('openai', 429, {}, '', []).retryAfter).toBeUndefined();
    expect(failureFromResponse('openai', 429, { 'retry-after': 'soon' }, '', []).retryAfter).toBeUndefined();
  });

  it('404 → model_not_found with the upstream message', () => {
    const err = failureFromResponse('openai', 404, {}, openaiError('The model `gpt-9` does not exist or you do not have access to it.'), []);
    expect(err).toMatchObject({ code: 'model_not_found', status: 404, upstreamStatus: 404 });
    expect(err.message).toBe('provider openai answered 404: The model `gpt-9` does not exist or you do not have access to it.');
  });

  it.each([400, 409, 413, 422])('%i keeps its status as upstream_bad_request with the scrubbed upstream message', (status) => {
    const text = openaiError(`Invalid 'messages[0].content': bad. (key ${SECRET}, masked sk-pr****6789)`, { param: 'messages[0].content' });
    const err = failureFromResponse('openai', status, {}, text, [SECRET]);
    expect(err).toMatchObject({ code: 'upstream_bad_request', status, upstreamStatus: status });
    expect(err.message).toContain("provider openai rejected the request: Invalid 'messages[0].content': bad.");
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain('sk-pr****6789');
    expect(err.message).toContain('[redacted]');
    expect(err.publicMessage).toBe(err.message);
  });

  it('reads the message from Anthropic-shaped, string-shaped and top-level error bodies', () => {
    expect(failureFromResponse('a', 400, {}, anthropicError('max_tokens: Field required'), []).message).toBe(
      'provider a rejected the request: max_tokens: Field required',
    );
    expect(failureFromResponse('a', 400, {}, JSON.stringify({ error: 'model is required' }), []).message).toBe(
      'provider a rejected the request: model is required',
    );
    expect(failureFromResponse('a', 400, {}, JSON.stringify({ message: 'bad input' }), []).message).toBe(
      'provider a rejected the request: bad input',
    );
  });

  it('does not echo a body that is not an error JSON (HTML pages, plain text)', () => {
    const html = failureFromResponse('a', 400, {}, `<html><body>Bad Request ${SECRET}</body></html>`, [SECRET]);
    expect(html.message).toBe('provider a rejected the request');
    const weird = failureFromResponse('a', 400, {}, JSON.stringify({ error: { message: 42 } }), []);
    expect(weird.message).toBe('provider a rejected the request');
  });

  it('caps a long upstream message', () => {
    const err = failureFromResponse('a', 400, {}, openaiError('x'.repeat(5_000)), []);
    expect(err.message.length).toBe('provider a rejected the request: '.length + 1_000);
  });

  it.each([500, 502, 503, 529])('%i → upstream_error (502) keeping the upstream status', (status) => {
    const err = failureFromResponse('anthropic', status, {}, anthropicError(`Overloaded; key ${SECRET}`), [SECRET]);
    expect(err).toMatchObject({ code: 'upstream_error', status: 502, upstreamStatus: status, provider: 'anthropic' });
    expect(err.message).toBe(`provider anthropic failed with HTTP ${status}: Overloaded; key [redacted]`);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delay-seconds, capped at 60', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('12', now)).toBe(12);
    expect(parseRetryAfter('1.5', now)).toBe(1.5);
    expect(parseRetryAfter(' 3 ', now)).toBe(3);
    expect(parseRetryAfter('3600', now)).toBe(60);
  });

  it('reads an HTTP date relative to now, never negative, capped at 60', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 01:00:00 GMT', now)).toBe(60);
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['4', '9'], now)).toBe(4);
    expect(parseRetryAfter([], now)).toBeUndefined();
  });

  it.each([undefined, '', ' ', 'soon', '-1', '-5', '0x10', 'Infinity', 'NaN', '1.5.2'])('is undefined for %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
