import { describe, expect, it } from 'vitest';
import { canonicalModelId, createModelIdResolver, MODEL_ID_MEMO_BYTES, stripProviderPrefix } from './model-id.ts';
import { PRICE_TABLE } from './price-table.ts';

const known = new Set(PRICE_TABLE.map((e) => e.model));
const canon = (model: string) => canonicalModelId(model, known);

describe('canonicalModelId', () => {
  it.each([
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o-2024-11-20', 'gpt-4o'],
    ['gpt-4o-mini', 'gpt-4o-mini'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['openai/gpt-4o-mini', 'gpt-4o-mini'],
    ['GPT-4o ', 'gpt-4o'],
    ['gpt-4.1-2025-04-14', 'gpt-4.1'],
    ['gpt-4.1-mini-2025-04-14', 'gpt-4.1-mini'],
    ['gpt-5-mini-2025-08-07', 'gpt-5-mini'],
    ['gpt-5-chat-latest', 'gpt-5-chat'],
    ['o3-2025-04-16', 'o3'],
    ['o3-mini-2025-01-31', 'o3-mini'],
    ['o3-pro', 'o3-pro'],
    ['gpt-4-0613', 'gpt-4'],
    ['gpt-4-turbo-2024-04-09', 'gpt-4-turbo'],
    ['gpt-3.5-turbo-0125', 'gpt-3.5-turbo'],
    ['claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
    ['claude-3-5-haiku-latest', 'claude-3-5-haiku'],
    ['claude-3-5-haiku-20241022', 'claude-3-5-haiku'],
    ['anthropic/claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-sonnet-4-0', 'claude-sonnet-4'],
    ['claude-opus-4-20250514', 'claude-opus-4'],
    ['claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['claude-3-7-sonnet-latest', 'claude-3-7-sonnet'],
  ])('%s → %s', (input, expected) => {
    expect(canon(input)).toBe(expected);
  });

  it('keeps a snapshot that has its own price', () => {
    expect(canon('gpt-4o-2024-05-13')).toBe('gpt-4o-2024-05-13');
    expect(canon('gpt-3.5-turbo-1106')).toBe('gpt-3.5-turbo-1106');
    expect(canonicalModelId('gpt-4o-2024-05-13')).toBe('gpt-4o');
  });

  it('never folds a model into a shorter family', () => {
    expect(canon('gpt-4o-audio-preview-2024-12-17')).toBe('gpt-4o-audio-preview');
    expect(canon('gpt-4o-mini-tts')).toBe('gpt-4o-mini-tts');
    expect(canon('gpt-4o-search-preview')).toBe('gpt-4o-search-preview');
    expect(canon('o3-deep-research')).toBe('o3-deep-research');
    expect(canon('gpt-5-nano-2025-08-07')).toBe('gpt-5-nano');
    expect(canon('claude-sonnet-4-5-20250929')).not.toBe('claude-sonnet-4');
  });

  it('maps every table id to itself and every snapshot form of it back to it', () => {
    for (const id of known) {
      expect(canon(id)).toBe(id);
      expect(canon(`openai/${id}`)).toBe(id);
      expect(canon(`${id}-latest`)).toBe(id);
      expect(canon(`${id}-2030-01-31`)).toBe(id);
      expect(canon(`${id}-20300131`)).toBe(id);
    }
  });

  it('strips every marker when no form is known', () => {
    expect(canonicalModelId('acme/foo-bar-20250101-latest')).toBe('foo-bar');
    expect(canon('llama3.1:8b')).toBe('llama3.1:8b');
    expect(canon('latest')).toBe('latest');
  });
});

describe('stripProviderPrefix', () => {
  it('removes nested routing prefixes', () => {
    expect(stripProviderPrefix('openrouter/openai/gpt-4o')).toBe('gpt-4o');
    expect(stripProviderPrefix('gpt-4o')).toBe('gpt-4o');
  });
});

describe('createModelIdResolver', () => {
  it('answers the same as canonicalModelId after its cache evicts entries', () => {
    // 1 KB holds about four of these names: the repeat below reads evicted ones again.
    const resolve = createModelIdResolver(known, 1024);
    const inputs = ['gpt-4o-2024-08-06', 'claude-3-5-haiku-latest', 'gpt-4o-mini', 'gpt-4o-2024-08-06', 'x/y'];
    for (const m of [...inputs, ...inputs]) expect(resolve(m)).toBe(canon(m));
  });

  it('holds at most its byte bound, whatever names clients send (issue 14)', () => {
    const resolve = createModelIdResolver(known);
    // 60 two-megabyte names: each is above a sixteenth of the bound, so none is kept.
    for (let i = 0; i < 60; i++) expect(resolve(`gpt-4o-${String(i)}${'x'.repeat(2 * 1024 * 1024)}`)).toMatch(/^gpt-4o-/);
    expect(resolve.memoBytes).toBe(0);
    // 20,000 distinct 400-character names cycle through the memo without outgrowing it.
    for (let i = 0; i < 20_000; i++) resolve(`acme/${String(i).padStart(395, 'm')}`);
    expect(resolve.memoBytes).toBeGreaterThan(MODEL_ID_MEMO_BYTES / 2);
    expect(resolve.memoBytes).toBeLessThanOrEqual(MODEL_ID_MEMO_BYTES);
    expect(resolve('openai/gpt-4o-2024-08-06')).toBe(canon('openai/gpt-4o-2024-08-06'));
  });
});

describe('canonicalModelId on hostile names', () => {
  it('returns an overlong id as it is instead of stripping markers one at a time', () => {
    const id = `x${'-2024'.repeat(200_000)}`;
    expect(canonicalModelId(id, known)).toBe(id);
    // Under the limit, every marker is still stripped.
    expect(canonicalModelId(`gpt-4o${'-2024'.repeat(40)}`, known)).toBe('gpt-4o');
  });
});
