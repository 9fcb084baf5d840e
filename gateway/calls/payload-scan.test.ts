import { describe, expect, it } from 'vitest';
import { nothingToRedact } from './payload-scan.ts';
import { compilePayloadPolicy, prepareBody, type PayloadOptions, type PayloadPolicy } from './payloads.ts';

const options = (over: Partial<PayloadOptions> = {}): PayloadOptions => ({
  enabled: true,
  maxBytes: 4096,
  redactFields: ['ssn', 'x"odd\\name'],
  redactPatterns: [],
  secrets: ['tenant-secret-value-123'],
  ...over,
});

/** The same policy with the fast path off: every body walked (the reference). */
const walkOnly = (p: PayloadPolicy): PayloadPolicy => ({ ...p, quick: null });

function deep(levels: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

/** Bodies the walk changes, each in a way the scan has to notice. */
const HOSTILE: Array<[string, unknown]> = [
  ['a configured field', { user: { SSN: '123-45-6789' } }],
  ['a configured field with quote and backslash in its name', { 'x"odd\\name': 'v' }],
  ['an always-redacted field', { headers: { Authorization: 'token' } }],
  ['a credential-shaped name', { openai_api_key: 'k', client_secret: 's', refresh_token: 'r' }],
  ['a Kelvin sign lowercasing to a field name', { 'api_\u212aey': 'k' }],
  ['a configured secret', { error: { message: 'upstream said tenant-secret-value-123' } }],
  ['a key-shaped string after an escape', { content: 'line\nsk-proj-AbCdEf1234567890' }],
  ['a bearer token after a tab', { content: 'auth:\tBearer\teyJhbGciOiJIUzI1NiJ9.payload.sig' }],
  ['NUL in a value', { content: 'a\u0000b' }],
  ['NUL in a key', { 'k\u0000': 1 }],
  ['a lone surrogate', { content: 'x\ud800y' }],
  ['nesting past the depth limit', deep(70)],
  ['a body over the cap', { content: 'p'.repeat(10_000) }],
  ['a bigint', { n: 10n }],
];

/** Bodies the walk leaves as they are. */
const CLEAN: unknown[] = [
  { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How do I reset my password?' }], max_tokens: 10 },
  { choices: [{ message: { role: 'assistant', content: 'Open Settings → Security and choose "Reset password".' } }], usage: { prompt_tokens: 3 } },
  { logprobs: { content: [{ token: 'hi', logprob: -0.1 }] }, emoji: '😀 ok', quote: 'say "hi" \\ there' },
  [1, 2.5, true, null, 'text'],
  'just a string',
  deep(20),
];

describe('payload fast path (payload-scan.ts)', () => {
  const policy = compilePayloadPolicy(options());

  it.each(HOSTILE)('stores what the walk stores: %s', (_, body) => {
    const fast = prepareBody(body, policy);
    expect(fast).toEqual(prepareBody(body, walkOnly(policy)));
  });

  it('stores a body with nothing to redact as JSON.stringify wrote it', () => {
    for (const body of CLEAN) expect(prepareBody(body, policy)).toEqual({ json: JSON.stringify(body), truncated: false });
  });

  it('has no fast path with configured patterns, non-ASCII field names or secrets', () => {
    expect(compilePayloadPolicy(options({ redactPatterns: ['\\d{3}'] })).quick).toBeNull();
    expect(compilePayloadPolicy(options({ redactFields: ['naïve'] })).quick).toBeNull();
    expect(compilePayloadPolicy(options({ secrets: ['clé-secrète-1234'] })).quick).toBeNull();
    expect(policy.quick).not.toBeNull();
  });

  it('agrees with the walk on random bodies built from tricky pieces', () => {
    const pieces = ['ssn', 'SSN', 'password', 'api-key', 'max_tokens', 'sk-', 'abcdef12', 'bearer ', '\n', '\t', '"', '\\', '\u0000', '\ud83d', '\ude00', 'tenant-secret-value-123', 'é', '\u212a', ' ', 'x'];
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const text = (): string => Array.from({ length: 1 + rand(5) }, () => pieces[rand(pieces.length)]).join('');
    const value = (depth: number): unknown => {
      const kind = rand(depth > 3 ? 3 : 5);
      if (kind === 0) return text();
      if (kind === 1) return rand(1000) / 7;
      if (kind === 2) return null;
      if (kind === 3) return Array.from({ length: rand(4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rand(4) }, () => [text(), value(depth + 1)]));
    };
    const reference = walkOnly(policy);
    let fast = 0;
    for (let i = 0; i < 3000; i++) {
      const body = { [text()]: value(0), content: text() };
      expect(prepareBody(body, policy)).toEqual(prepareBody(body, reference));
      if (nothingToRedact(JSON.stringify(body), policy.quick!)) fast++;
    }
    // Both paths are exercised.
    expect(fast).toBeGreaterThan(100);
    expect(fast).toBeLessThan(2900);
  });
});
