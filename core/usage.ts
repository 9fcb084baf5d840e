/**
 * Token usage in one provider-neutral shape, so pricing and the call log never branch on the
 * provider. `inputTokens` is the whole prompt (cached and cache-written tokens included), the
 * way OpenAI counts `prompt_tokens`; the cached and cache-write parts are subsets of it, priced
 * at their own rates.
 */
export interface NormalizedUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

/** The sum of two usages; null only when both are. */
export function addUsage(a: NormalizedUsage | null, b: NormalizedUsage | null): NormalizedUsage | null {
  if (!a) return b;
  if (!b) return a;
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
  };
}
