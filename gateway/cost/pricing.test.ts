import { describe, expect, it } from 'vitest';
import { usageFromAnthropic, usageFromOpenAI } from '../providers/usage.ts';
import type { NormalizedUsage } from '../../core/usage.ts';
import type { PriceEntry } from './price-table.ts';
import { createPricer, formatUsd, type PriceArgs } from './pricing.ts';

// Golden values are worked by hand from the list prices in price-table.ts (USD per 1M tokens =
// micro-USD per token), so a changed price or formula shows up as a failing number.

const usage = (u: Partial<NormalizedUsage>): NormalizedUsage => ({
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  ...u,
});

const NOW = new Date('2025-11-26T12:00:00Z');
const pricer = createPricer({ now: () => NOW });
const openai = (model: string, u: NormalizedUsage | null, extra: Partial<PriceArgs> = {}) =>
  pricer.price({ provider: 'openai', providerType: 'openai', model, usage: u, ...extra });
const anthropic = (model: string, u: NormalizedUsage | null) =>
  pricer.price({ provider: 'anthropic', providerType: 'anthropic', model, usage: u });

describe('OpenAI chat', () => {
  it('prices cached prompt tokens at the cached rate', () => {
    // gpt-4o-mini: 600 uncached × 0.15 + 400 cached × 0.075 + 200 out × 0.60 = 90 + 30 + 120
    const u = usageFromOpenAI({
      prompt_tokens: 1000,
      completion_tokens: 200,
      total_tokens: 1200,
      prompt_tokens_details: { cached_tokens: 400 },
    });
    expect(openai('gpt-4o-mini-2024-07-18', u)).toEqual({ costMicros: 240, status: 'exact' });
  });

  it('bills reasoning tokens as output when the model has no separate reasoning price', () => {
    // o4-mini: 500 × 1.10 + 1,500 out (1,200 of them reasoning) × 4.40 = 550 + 6,600
    const u = usage({ inputTokens: 500, outputTokens: 1500, reasoningTokens: 1200 });
    expect(openai('o4-mini', u).costMicros).toBe(7150);
  });

  it('keeps sub-micro precision without float noise', () => {
    // gpt-5-nano: 7 × 0.05 + 3 × 0.40 = 0.35 + 1.2 (0.1 + 0.2-style errors would show here)
    expect(openai('gpt-5-nano', usage({ inputTokens: 7, outputTokens: 3 })).costMicros).toBe(1.55);
  });
});

describe('Anthropic', () => {
  it('prices cache reads and 5-minute cache writes apart from uncached input', () => {
    // claude-sonnet-4-5: 100 × 3 + 2,000 read × 0.30 + 500 written × 3.75 + 300 out × 15
    //                  = 300 + 600 + 1,875 + 4,500
    const u = usageFromAnthropic({
      input_tokens: 100,
      cache_read_input_tokens: 2000,
      cache_creation_input_tokens: 500,
      output_tokens: 300,
    });
    expect(u.inputTokens).toBe(2600);
    expect(anthropic('claude-sonnet-4-5-20250929', u)).toEqual({ costMicros: 7275, status: 'exact' });
  });

  it('prices haiku 4.5 by its dated id', () => {
    // 50 × 1 + 10,000 read × 0.10 + 20 out × 5 = 50 + 1,000 + 100
    const u = usageFromAnthropic({ input_tokens: 50, cache_read_input_tokens: 10_000, output_tokens: 20 });
    expect(anthropic('claude-haiku-4-5-20251001', u).costMicros).toBe(1150);
  });

  it('never prices Opus 4.5 at the old Opus rate', () => {
    const u = usage({ inputTokens: 1000, outputTokens: 1000 });
    expect(anthropic('claude-opus-4-5-20251101', u).costMicros).toBe(30_000); // 5,000 + 25,000
    expect(anthropic('claude-opus-4-1', u).costMicros).toBe(90_000); // 15,000 + 75,000
  });
});

describe('reasoning priced apart', () => {
  const table: PriceEntry[] = [
    { provider: 'openai', model: 'think-1', kind: 'chat', effectiveFrom: '2025-01-01', input: 1, output: 4, reasoning: 2 },
  ];
  const p = createPricer({ table, now: () => NOW });
  const price = (u: NormalizedUsage) => p.price({ provider: 'openai', providerType: 'openai', model: 'think-1', usage: u });

  it('moves reasoning tokens out of output', () => {
    // 500 × 1 + (1,500 − 1,200) × 4 + 1,200 × 2 = 500 + 1,200 + 2,400
    expect(price(usage({ inputTokens: 500, outputTokens: 1500, reasoningTokens: 1200 })).costMicros).toBe(4100);
  });

  it('never counts more reasoning than output', () => {
    expect(price(usage({ outputTokens: 10, reasoningTokens: 50 })).costMicros).toBe(20);
  });
});

describe('embeddings', () => {
  const embed = (model: string, n: number) => openai(model, usage({ inputTokens: n }), { kind: 'embedding' });

  it('keeps fractions of a micro-USD', () => {
    expect(embed('text-embedding-3-small', 7).costMicros).toBe(0.14);
    expect(embed('text-embedding-3-large', 1234).costMicros).toBe(160.42);
    expect(embed('text-embedding-ada-002', 3).costMicros).toBe(0.3); // not 0.30000000000000004
    expect(formatUsd(embed('text-embedding-3-small', 7).costMicros ?? Number.NaN)).toBe('0.00000014');
  });

  it('does not price a chat model as an embedding model or the reverse', () => {
    expect(openai('gpt-4o', usage({ inputTokens: 10 }), { kind: 'embedding' }).status).toBe('unpriced');
    expect(openai('text-embedding-3-small', usage({ inputTokens: 10 }), { kind: 'chat' }).status).toBe('unpriced');
  });
});

describe('unpriced', () => {
  const u = usage({ inputTokens: 10, outputTokens: 10 });

  it('is null, never zero, for an unknown model', () => {
    expect(openai('gpt-9-ultra', u)).toEqual({ costMicros: null, status: 'unpriced' });
    expect(openai('gpt-4o-audio-preview', u)).toEqual({ costMicros: null, status: 'unpriced' });
  });

  it('is null when there is no usage', () => {
    expect(openai('gpt-4o', null)).toEqual({ costMicros: null, status: 'unpriced' });
  });

  it('does not price one first-party provider from the other one’s list', () => {
    expect(anthropic('gpt-4o', u).status).toBe('unpriced');
    expect(openai('claude-haiku-4-5', u).status).toBe('unpriced');
  });
});

describe('OpenAI-compatible upstreams', () => {
  const compat = (model: string, p = pricer) =>
    p.price({ provider: 'proxy', providerType: 'openai-compatible', model, usage: usage({ inputTokens: 1000, outputTokens: 1000 }) });

  it('are priced like the original when serving a table model', () => {
    expect(compat('gpt-4o').costMicros).toBe(12_500);
    expect(compat('openai/gpt-4o-2024-08-06').costMicros).toBe(12_500);
    expect(compat('anthropic/claude-haiku-4-5').costMicros).toBe(6_000);
  });

  it('are unpriced for anything else, including near misses', () => {
    expect(compat('llama3.1:8b').status).toBe('unpriced');
    expect(compat('gpt-4o-instruct-finetune').status).toBe('unpriced');
  });
});

describe('overrides', () => {
  const u = usage({ inputTokens: 1000, outputTokens: 1000 });

  it('win over the table, provider/model before the bare model', () => {
    const p = createPricer({
      now: () => NOW,
      overrides: { 'gpt-4o': { input: 1, output: 2 }, 'azure/gpt-4o': { input: 3, output: 4 } },
    });
    expect(p.price({ provider: 'openai', providerType: 'openai', model: 'gpt-4o', usage: u }).costMicros).toBe(3000);
    expect(p.price({ provider: 'azure', providerType: 'openai', model: 'gpt-4o', usage: u }).costMicros).toBe(7000);
    // The canonical id is tried too, so one key covers every dated snapshot.
    expect(p.price({ provider: 'openai', providerType: 'openai', model: 'gpt-4o-2024-11-20', usage: u }).costMicros).toBe(3000);
  });

  it('price models the table does not know, input price standing in for missing ones', () => {
    const p = createPricer({ overrides: { 'local/llama3': { input: 0.1 } } });
    const r = p.price({ provider: 'local', providerType: 'openai-compatible', model: 'llama3', usage: u, estimated: true });
    expect(r).toEqual({ costMicros: 200, status: 'estimated' });
  });

  it('are validated when the pricer is built', () => {
    expect(() => createPricer({ overrides: { x: { input: -1 } } })).toThrow(/pricing.overrides\["x"\].input/);
  });
});

describe('effective dates', () => {
  const u = usage({ inputTokens: 1000, outputTokens: 1000 });
  const at = (iso: string) => new Date(iso);

  it('uses the entry in force on the day of the call', () => {
    // gpt-4o: 5/15 until the alias moved on 2024-10-02, then 2.50/10.
    expect(openai('gpt-4o', u, { at: at('2024-10-01T23:59:59Z') }).costMicros).toBe(20_000);
    expect(openai('gpt-4o', u, { at: at('2024-10-02T00:00:00Z') }).costMicros).toBe(12_500);
    // o3: cut from 10/40 to 2/8 on 2025-06-10.
    expect(openai('o3-2025-04-16', u, { at: at('2025-06-09T12:00:00Z') }).costMicros).toBe(50_000);
    expect(openai('o3-2025-04-16', u, { at: at('2025-06-10T12:00:00Z') }).costMicros).toBe(10_000);
  });

  it('defaults to the injected clock', () => {
    const before = createPricer({ now: () => at('2024-09-01T00:00:00Z') });
    const r = before.price({ provider: 'openai', providerType: 'openai', model: 'gpt-4o', usage: u });
    expect(r.costMicros).toBe(20_000);
  });

  it('keeps an old snapshot at its own price', () => {
    expect(openai('gpt-4o-2024-05-13', u).costMicros).toBe(20_000);
  });

  it('is unpriced before a model had any price', () => {
    expect(openai('o3', u, { at: at('2025-01-01T00:00:00Z') }).status).toBe('unpriced');
  });
});

describe('formatUsd', () => {
  it.each([
    [0, '0'],
    [12.5, '0.0000125'],
    [240, '0.00024'],
    [7275, '0.007275'],
    [1_000_000, '1'],
    [1_234_567.891, '1.234567891'],
    [123_456_789_012, '123456.789012'],
    [0.000001, '0.000000000001'],
    [0.0000001, '0'],
    [-5, '-0.000005'],
  ])('%d micro-USD → %s', (micros, text) => {
    expect(formatUsd(micros)).toBe(text);
  });

  it('rejects a non-finite cost', () => {
    expect(() => formatUsd(Number.NaN)).toThrow(RangeError);
  });
});
