import { describe, expect, it } from 'vitest';
import { compilePayloadPolicy, prepareBody, redactValue, storableText } from './payloads.ts';

const policy = (over: Partial<Parameters<typeof compilePayloadPolicy>[0]> = {}) =>
  compilePayloadPolicy({ enabled: true, maxBytes: 4096, redactFields: ['password'], redactPatterns: [], ...over });

describe('redactValue', () => {
  it('replaces configured fields at any depth, case-insensitively', () => {
    const out = redactValue(
      { user: { Password: 'hunter2', name: 'ann' }, list: [{ PASSWORD: 'x' }], password: null },
      policy(),
    );
    expect(out).toEqual({ user: { Password: '[redacted]', name: 'ann' }, list: [{ PASSWORD: '[redacted]' }], password: null });
  });

  it('always removes credential fields and key-shaped strings', () => {
    const body = {
      api_key: 'whatever',
      headers: { Authorization: 'Bearer abcdefghijklmnop', 'x-api-key': 'k' },
      messages: [
        { role: 'user', content: 'my key is sk-proj-AbCdEf1234567890 and sk-ant-api03-ZZZZZZZZZZ and sk-sluice-0123456789ab' },
        { role: 'user', content: 'auth: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig' },
      ],
    };
    const json = JSON.stringify(redactValue(body, policy({ redactFields: [] })));
    expect(json).not.toMatch(/sk-/);
    expect(json).not.toMatch(/Bearer\s+\w/);
    expect(json).not.toContain('whatever');
    expect(json).toContain('my key is [redacted]');
  });

  it('always replaces credential-shaped names (password, *_api_key, *_secret, *_token), never ordinary fields', () => {
    const body = {
      metadata: { password: 'p1', openai_api_key: 'k1', 'db-password': 'p2', client_secret: 'c1', refresh_token: 'r1', Cookie: 'sid=1' },
      max_tokens: 10,
      logprobs: { content: [{ token: 'hi', logprob: -0.1 }] },
      usage: { prompt_tokens: 3, completion_tokens_details: { reasoning_tokens: 0 } },
    };
    const out = redactValue(body, policy({ redactFields: [] })) as typeof body;
    expect(Object.values(out.metadata)).toEqual(Array(6).fill('[redacted]'));
    expect(out.max_tokens).toBe(10);
    expect(out.logprobs).toBe(body.logprobs);
    expect(out.usage).toBe(body.usage);
  });

  it('removes configured secrets (provider credentials) from every string', () => {
    const out = redactValue({ error: { message: 'got x-auth: tenant-token-abc123xyz' } }, policy({ secrets: ['tenant-token-abc123xyz'] }));
    expect(out).toEqual({ error: { message: 'got x-auth: [redacted]' } });
  });

  it('applies configured patterns inside strings', () => {
    const out = redactValue({ text: 'call 555-123-4567 or 555-987-6543' }, policy({ redactPatterns: ['\\d{3}-\\d{3}-\\d{4}'] }));
    expect(out).toEqual({ text: 'call [redacted] or [redacted]' });
  });

  it('shares untouched subtrees and never mutates the input', () => {
    const inner = { a: 1, b: ['x', 'y'] };
    const input = { inner, secret: { password: 'p' } };
    const out = redactValue(input, policy()) as typeof input;
    expect(out.inner).toBe(inner);
    expect(input.secret.password).toBe('p');
    expect(redactValue(inner, policy())).toBe(inner);
  });

  it('rejects an invalid pattern at compile time, naming it', () => {
    expect(() => policy({ redactPatterns: ['(unclosed'] })).toThrow(/\(unclosed/);
  });
});

describe('storableText', () => {
  it('removes NUL and replaces unpaired surrogates, keeping pairs', () => {
    expect(storableText('a\u0000b')).toBe('ab');
    expect(storableText('x\ud800y')).toBe('x\ufffdy');
    expect(storableText('ok 😀')).toBe('ok 😀');
  });
});

describe('prepareBody', () => {
  it('keeps small bodies as they are', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    expect(prepareBody(body, policy())).toEqual({ json: JSON.stringify(body), truncated: false });
    expect(prepareBody(null, policy())).toEqual({ json: null, truncated: false });
  });

  it('caps a large body at maxBytes and keeps it valid JSON with its structure', () => {
    const body = {
      model: 'm',
      messages: [
        { role: 'system', content: 'short' },
        { role: 'user', content: 'é'.repeat(50_000) },
      ],
    };
    const out = prepareBody(body, policy({ maxBytes: 2000 }));
    expect(out.truncated).toBe(true);
    expect(Buffer.byteLength(out.json!)).toBeLessThanOrEqual(2000);
    const parsed = JSON.parse(out.json!) as typeof body;
    expect(parsed.model).toBe('m');
    expect(parsed.messages[0]!.content).toBe('short');
    expect(parsed.messages[1]!.content).toMatch(/…\[truncated \d+ chars\]$/);
  });

  it('cuts long arrays (embeddings) too', () => {
    const body = { data: [{ embedding: Array.from({ length: 5000 }, (_, i) => i / 7) }] };
    const out = prepareBody(body, policy({ maxBytes: 1024 }));
    expect(out.truncated).toBe(true);
    expect(Buffer.byteLength(out.json!)).toBeLessThanOrEqual(1024);
    expect(() => JSON.parse(out.json!)).not.toThrow();
  });

  it('falls back to a preview for structures too wide to cut', () => {
    const wide = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]));
    const out = prepareBody(wide, policy({ maxBytes: 512 }));
    expect(out.truncated).toBe(true);
    expect(Buffer.byteLength(out.json!)).toBeLessThanOrEqual(512);
    expect(JSON.parse(out.json!)).toMatchObject({ original_bytes: expect.any(Number) });
  });

  it('redacts before measuring, so a secret never survives truncation', () => {
    const body = { content: `sk-live-${'a'.repeat(30)} ${'b'.repeat(10_000)}` };
    const out = prepareBody(body, policy({ maxBytes: 256 }));
    expect(out.json).not.toMatch(/sk-live/);
  });
});
