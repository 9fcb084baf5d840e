import type { CompletionUsage } from 'openai/resources/completions';
import type { NormalizedUsage } from '../../core/usage.ts';

/**
 * The fields shared by Anthropic's `Usage` (responses, `message_start`) and `MessageDeltaUsage`
 * (`message_delta`); everything optional and nullable because deltas only carry what changed.
 */
export interface AnthropicUsageLike {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

const count = (n: number | null | undefined): number => (typeof n === 'number' && Number.isFinite(n) ? n : 0);

/**
 * Anthropic reports `input_tokens` as the *uncached* remainder only: cache reads and cache
 * writes are separate counters. Summing them gives the prompt size OpenAI clients expect.
 */
export function usageFromAnthropic(u: AnthropicUsageLike): NormalizedUsage {
  const cacheRead = count(u.cache_read_input_tokens);
  const cacheWrite = count(u.cache_creation_input_tokens);
  return {
    inputTokens: count(u.input_tokens) + cacheRead + cacheWrite,
    outputTokens: count(u.output_tokens),
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    // Thinking is part of output_tokens, as reasoning is part of OpenAI's completion_tokens.
    reasoningTokens: count(u.output_tokens_details?.thinking_tokens),
  };
}

/** OpenAI (and OpenAI-compatible) usage; null when the upstream sent none. */
export function usageFromOpenAI(u: CompletionUsage | undefined | null): NormalizedUsage | null {
  if (u === undefined || u === null) return null;
  return {
    inputTokens: count(u.prompt_tokens),
    outputTokens: count(u.completion_tokens),
    cachedInputTokens: count(u.prompt_tokens_details?.cached_tokens),
    cacheWriteTokens: count(u.prompt_tokens_details?.cache_write_tokens),
    reasoningTokens: count(u.completion_tokens_details?.reasoning_tokens),
  };
}

/** The Responses API's usage (`input_tokens`, `output_tokens` and their details). */
export interface ResponsesUsage {
  input_tokens?: number;
  output_tokens?: number;
  input_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } | null;
  output_tokens_details?: { reasoning_tokens?: number } | null;
}

/** OpenAI Responses API usage; null when the upstream sent none. */
export function usageFromResponses(u: ResponsesUsage | null | undefined): NormalizedUsage | null {
  if (u === undefined || u === null) return null;
  return {
    inputTokens: count(u.input_tokens),
    outputTokens: count(u.output_tokens),
    cachedInputTokens: count(u.input_tokens_details?.cached_tokens),
    cacheWriteTokens: count(u.input_tokens_details?.cache_write_tokens),
    reasoningTokens: count(u.output_tokens_details?.reasoning_tokens),
  };
}

/**
 * The OpenAI `usage` object for a normalised count. `cache_write_tokens` is in the official
 * spec but only sent when non-zero, so responses from providers without cache writes look
 * exactly like OpenAI's own.
 */
export function openaiUsageFromNormalized(u: NormalizedUsage): CompletionUsage {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details:
      u.cacheWriteTokens > 0
        ? { cached_tokens: u.cachedInputTokens, cache_write_tokens: u.cacheWriteTokens }
        : { cached_tokens: u.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}
