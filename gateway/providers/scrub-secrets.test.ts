import { describe, expect, it } from 'vitest';
import { providerSecrets, scrubSecrets } from './scrub-secrets.ts';

describe('scrubSecrets', () => {
  it('removes the configured secret wherever it appears, even when it has no key shape', () => {
    const secret = 'hunter2-local-token';
    expect(scrubSecrets(`bad token ${secret}; again: ${secret}.`, [secret])).toBe('bad token [redacted]; again: [redacted].');
    expect(scrubSecrets('no secret here', [secret])).toBe('no secret here');
  });

  it('ignores configured secrets too short to be told from ordinary text', () => {
    expect(scrubSecrets('abc is fine', ['abc', ''])).toBe('abc is fine');
  });

  it.each([
    ['an OpenAI key', 'Incorrect API key provided: sk-proj-AbCdEf0123456789xyz. You can find your API key', 'sk-proj-AbCdEf0123456789xyz'],
    ['a legacy OpenAI key', 'key sk-AbCdEf0123456789AbCdEf0123456789 is invalid', 'sk-AbCdEf0123456789AbCdEf0123456789'],
    ['an Anthropic key', 'invalid x-api-key sk-ant-api03-AbC_dEf-0123456789', 'sk-ant-api03-AbC_dEf-0123456789'],
    ['a masked key', 'Incorrect API key provided: sk-ab***********wxyz.', 'sk-ab***********wxyz'],
    ['a short masked key', 'Incorrect API key provided: sk-ab***wxyz.', 'sk-ab***wxyz'],
    ['a gateway key', 'key sk-sluice-Zm9vYmFyYmF6cXV4 was revoked', 'sk-sluice-Zm9vYmFyYmF6cXV4'],
    ['a bearer token', 'sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc123 upstream', 'eyJhbGciOiJIUzI1NiJ9.e30.abc123'],
    ['a project key with underscores', 'sk_live_51HxYzAbCdEf', 'sk_live_51HxYzAbCdEf'],
  ])('removes %s', (_what, text, key) => {
    const out = scrubSecrets(text, []);
    expect(out).not.toContain(key);
    expect(out).toContain('[redacted]');
  });

  it('keeps the text around a removed key', () => {
    // "." may be part of a key (JWT-style tokens), so a sentence's full stop right after one goes with it.
    expect(scrubSecrets('Incorrect API key provided: sk-ab***wxyz. You can find your API key at https://x', [])).toMatch(
      /^Incorrect API key provided: \[redacted\]\.? You can find your API key at https:\/\/x$/,
    );
    expect(scrubSecrets('header "Bearer abcdefghijkl" rejected', [])).toBe('header "[redacted]" rejected');
  });

  it('removes a configured secret that contains characters the key pattern does not cover', () => {
    const secret = 'sk-abc$def!ghi';
    expect(scrubSecrets(`got ${secret}`, [secret])).toBe('got [redacted]');
  });

  it.each([
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
    "Invalid value for 'temperature': expected a number <= 2, got 3.",
    'The task-manager asked about risk-assessment and a desk-lamp.',
    'Use the scikit-learn (sk-learn) package; see https://example.com/path?a=1&b=2',
    "messages[1].content: 'Bearer' is a word, and so is bearer.",
    'Claude 3.5 Sonnet (claude-3-5-sonnet-20241022) is overloaded.',
    '',
  ])('leaves ordinary text untouched: %j', (text) => {
    expect(scrubSecrets(text, ['sk-real-provider-key-0000'])).toBe(text);
  });
});

describe('providerSecrets', () => {
  it('takes the api_key, every header value and its token, and URL credentials; longest first', () => {
    const secrets = providerSecrets({
      api_key: 'sk-provider-key-123',
      headers: { 'x-tenant-auth': 'Token tnt_9f8e7d6c5b4a', 'x-team': 'ops', 'anthropic-beta': 'tools-2024-04-04' },
      base_url: 'https://svc-user:p%40ss-w0rd-long@llm.example.com/v1',
    });
    expect(secrets).toEqual(expect.arrayContaining(['sk-provider-key-123', 'Token tnt_9f8e7d6c5b4a', 'tnt_9f8e7d6c5b4a', 'p@ss-w0rd-long', 'svc-user']));
    expect(secrets).not.toContain('ops'); // too short to be a credential; would cut ordinary words
    expect(secrets).not.toContain('Token');
    for (let i = 1; i < secrets.length; i++) expect(secrets[i - 1]!.length).toBeGreaterThanOrEqual(secrets[i]!.length);
    const echoed = 'got headers {"x-tenant-auth":"Token tnt_9f8e7d6c5b4a"} and token tnt_9f8e7d6c5b4a alone';
    expect(scrubSecrets(echoed, secrets)).toBe('got headers {"x-tenant-auth":"[redacted]"} and token [redacted] alone');
  });

  it('is empty for a provider with no credentials', () => {
    expect(providerSecrets({ base_url: 'http://127.0.0.1:11434/v1' })).toEqual([]);
  });
});
