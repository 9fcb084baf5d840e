import { describe, expect, it } from 'vitest';
import { toCallRow } from './call-row.ts';
import { compilePayloadPolicy, type PayloadOptions } from './payloads.ts';
import { capText, cleanMetadata, cleanText, TEXT_LIMITS } from './record-text.ts';
import { rowObject } from './row-fields.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';

const policy = (over: Partial<PayloadOptions> = {}) =>
  compilePayloadPolicy({ enabled: true, maxBytes: 4096, redactFields: ['ssn'], redactPatterns: ['\\d{16}'], ...over });

describe('capText', () => {
  it('keeps short text and cuts long text to the limit, marker included', () => {
    expect(capText('hello', 10)).toBe('hello');
    const cut = capText('x'.repeat(10_000), 100);
    expect(cut.length).toBeLessThanOrEqual(100);
    expect(cut).toMatch(/^x+…\[truncated \d+ chars\]$/);
    expect(Number(/truncated (\d+) chars/.exec(cut)![1]) + cut.indexOf('…')).toBe(10_000);
  });

  it('never leaves half a surrogate pair', () => {
    const s = `${'a'.repeat(60)}${'😀'.repeat(100)}`;
    for (let max = 60; max < 90; max++) {
      const cut = capText(s, max);
      expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
  });
});

describe('cleanText', () => {
  it('redacts credentials, configured secrets and patterns before capping', () => {
    const p = policy({ secrets: ['custom-header-token-123'] });
    expect(cleanText('key sk-proj-ABCDEFGHIJ and card 4111111111111111', p, 512)).toBe('key [redacted] and card [redacted]');
    expect(cleanText('upstream said custom-header-token-123', p, 512)).toBe('upstream said [redacted]');
    // A secret right at the cut is removed whole, not cut into a stub that no rule recognises.
    // (Cut first, the kept prefix would end in "sk-pro": too short for any key shape.)
    const text = `${'y'.repeat(60)} sk-proj-ABCDEFGHIJKLMNOP ${'z'.repeat(100)}`;
    const cut = cleanText(text, p, 90)!;
    expect(cut).toMatch(/^y{60} \[redac/);
    expect(cut).not.toMatch(/sk-|ABCDEF/);
    expect(cut.length).toBeLessThanOrEqual(90);
  });

  it('scans at most a bounded prefix of a huge string', () => {
    const out = cleanText(`${'z'.repeat(3_000_000)}`, policy(), 2000)!;
    expect(out.length).toBeLessThanOrEqual(2000);
    expect(out).toContain('…[truncated');
  });
});

describe('cleanMetadata', () => {
  it('replaces the values of credential-named keys, at any spelling', () => {
    const m = cleanMetadata(
      { api_key: 'sk-live-secret-000111', OpenAI_API_Key: 'abc', password: 'hunter2', 'db-password': 'x', ssn: '123', team: 'support' },
      policy(),
    );
    expect(m).toEqual({
      api_key: '[redacted]',
      OpenAI_API_Key: '[redacted]',
      password: '[redacted]',
      'db-password': '[redacted]',
      ssn: '[redacted]',
      team: 'support',
    });
  });

  it('scrubs secrets and configured patterns inside values and keys', () => {
    const m = cleanMetadata({ note: 'use Bearer abcdefghijklmnop please', card: 'paid with 4111111111111111', 'sk-proj-KEYINKEY123': 'v' }, policy())!;
    expect(JSON.stringify(m)).not.toMatch(/abcdefghijklmnop|4111111111111111|KEYINKEY/);
    expect(m.note).toBe('use [redacted] please');
  });

  it('cuts a 3 MB value, marked, and keeps the total under its cap', () => {
    const m = cleanMetadata({ big: 'v'.repeat(3 * 1024 * 1024), small: 'ok' }, policy())!;
    expect(m.big!.length).toBeLessThanOrEqual(TEXT_LIMITS.metadataValue);
    expect(m.big).toMatch(/…\[truncated \d+ chars\]$/);
    expect(m.small).toBe('ok');

    const wide: Record<string, string> = {};
    for (let i = 0; i < 500; i++) wide[`k${i}`.padEnd(200, '_')] = 'w'.repeat(2000);
    const out = cleanMetadata(wide, policy())!;
    const chars = Object.entries(out).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(chars).toBeLessThanOrEqual(TEXT_LIMITS.metadataTotal + 64);
    for (const k of Object.keys(out)) expect(k.length).toBeLessThanOrEqual(TEXT_LIMITS.metadataKey + 8);
    expect(out['[truncated]']).toMatch(/^\d+ more entries$/);
    const kept = Object.keys(out).length - 1;
    expect(out['[truncated]']).toBe(`${500 - kept} more entries`);
  });

  it('caps the number of entries', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) many[`k${i}`] = 'v';
    const out = cleanMetadata(many, policy())!;
    expect(Object.keys(out)).toHaveLength(TEXT_LIMITS.metadataEntries + 1);
    expect(out['[truncated]']).toBe(`${1000 - TEXT_LIMITS.metadataEntries} more entries`);
  });

  it('keeps a __proto__ key as data, and keys that collide after the cut apart', () => {
    const m = cleanMetadata(JSON.parse('{"__proto__": "x", "a": "1"}'), policy())!;
    expect(JSON.parse(JSON.stringify(m))).toEqual(JSON.parse('{"__proto__": "x", "a": "1"}'));
    const long = 'k'.repeat(300);
    const two = cleanMetadata({ [`${long}1`]: 'one', [`${long}2`]: 'two' }, policy())!;
    expect(Object.values(two).sort()).toEqual(['one', 'two']);
  });

  it('turns non-string values (outside the contract) into short text, never structures', () => {
    expect(cleanMetadata({ n: 5, o: { deep: 'sk-live-secret-000111' }, a: [1] } as unknown, policy())).toEqual({ n: '5', o: '[object]', a: '[array]' });
    expect(cleanMetadata(['x'], policy())).toBeNull();
    expect(cleanMetadata(null, policy())).toBeNull();
  });
});

describe('toCallRow client text', () => {
  it('stores user, metadata, model, request id and error message redacted and capped, payloads on or off', () => {
    for (const enabled of [true, false]) {
      const rec = sampleRecord({
        user: `alice sk-live-abcdef123456 ${'u'.repeat(5000)}`,
        metadata: { api_key: 'sk-live-abcdef123456', blob: 'b'.repeat(3 * 1024 * 1024), card: '4111111111111111' },
        model: `gpt-4o-mini${'m'.repeat(3000)}`,
        requestId: 'sk-live-abcdef123456',
        errorMessage: `model 'x' not found; card 4111111111111111 ${'e'.repeat(10_000)}`,
        attempts: [{ provider: 'openai', model: 'm'.repeat(5000), status: 400, error: 'upstream_bad_request', latencyMs: 1 }],
      });
      const row = rowObject(toCallRow(rec, policy({ enabled }), Date.now())) as Record<string, unknown>;
      const text = JSON.stringify(row);
      expect(text).not.toMatch(/abcdef123456|4111111111111111/);
      expect((row.user as string).length).toBeLessThanOrEqual(TEXT_LIMITS.indexed);
      expect((row.model as string).length).toBeLessThanOrEqual(TEXT_LIMITS.indexed);
      expect((row.error_message as string).length).toBeLessThanOrEqual(TEXT_LIMITS.message);
      expect(row.request_id).toBe('[redacted]');
      expect(row.metadata).toMatchObject({ api_key: '[redacted]', card: '[redacted]' });
      expect(((row.metadata as Record<string, string>).blob ?? '').length).toBeLessThanOrEqual(TEXT_LIMITS.metadataValue);
      expect(((row.attempts as Array<{ model: string }>)[0]!.model).length).toBeLessThanOrEqual(TEXT_LIMITS.indexed);
      // The whole row stays small although the record carried megabytes of client text.
      expect(text.length).toBeLessThan(32 * 1024);
      expect('has_payload' in row).toBe(enabled);
    }
  });

  it('scrubs configured provider secrets from the bodies too', () => {
    const rec = sampleRecord({ responseBody: { error: { message: 'header x-auth: custom-header-token-123 rejected' } } });
    const row = toCallRow(rec, policy({ secrets: ['custom-header-token-123'] }), Date.now());
    expect(row).not.toContain('custom-header-token-123');
    expect(row).toContain('header x-auth: [redacted] rejected');
  });
});
