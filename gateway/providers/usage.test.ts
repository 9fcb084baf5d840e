import { describe, expect, it } from 'vitest';
import { openaiUsageFromNormalized, usageFromAnthropic, usageFromOpenAI } from './usage.ts';

describe('usageFromAnthropic', () => {
  it('counts cache reads and writes as part of the prompt', () => {
    expect(
      usageFromAnthropic({
        input_tokens: 21,
        cache_read_input_tokens: 1800,
        cache_creation_input_tokens: 300,
        output_tokens: 120,
      }),
    ).toEqual({ inputTokens: 2121, outputTokens: 120, cachedInputTokens: 1800, cacheWriteTokens: 300, reasoningTokens: 0 });
  });

  it('treats missing and null counters as zero and reads thinking tokens', () => {
    expect(
      usageFromAnthropic({
        input_tokens: 12,
        cache_read_input_tokens: null,
        output_tokens: 400,
        output_tokens_details: { thinking_tokens: 350 },
      }),
    ).toEqual({ inputTokens: 12, outputTokens: 400, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 350 });
    expect(usageFromAnthropic({})).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
  });
});

describe('usageFromOpenAI', () => {
  it('reads the detail counters', () => {
    expect(
      usageFromOpenAI({
        prompt_tokens: 2006,
        completion_tokens: 300,
        total_tokens: 2306,
        prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 192, audio_tokens: 0 },
      }),
    ).toEqual({ inputTokens: 2006, outputTokens: 300, cachedInputTokens: 1920, cacheWriteTokens: 0, reasoningTokens: 192 });
  });

  it('works without details and returns null without usage', () => {
    expect(usageFromOpenAI({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 })).toEqual({
      inputTokens: 9,
      outputTokens: 12,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
    expect(usageFromOpenAI(undefined)).toBeNull();
    expect(usageFromOpenAI(null)).toBeNull();
  });
});

describe('openaiUsageFromNormalized', () => {
  it('is the inverse of usageFromOpenAI', () => {
    const normalized = { inputTokens: 2121, outputTokens: 120, cachedInputTokens: 1800, cacheWriteTokens: 300, reasoningTokens: 7 };
    const openai = openaiUsageFromNormalized(normalized);
    expect(openai).toEqual({
      prompt_tokens: 2121,
      completion_tokens: 120,
      total_tokens: 2241,
      prompt_tokens_details: { cached_tokens: 1800, cache_write_tokens: 300 },
      completion_tokens_details: { reasoning_tokens: 7 },
    });
    expect(usageFromOpenAI(openai)).toEqual(normalized);
  });

  it('leaves cache_write_tokens out when there were none', () => {
    const openai = openaiUsageFromNormalized({
      inputTokens: 5,
      outputTokens: 1,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
    expect(openai.prompt_tokens_details).toEqual({ cached_tokens: 0 });
  });
});
