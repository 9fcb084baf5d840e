import type { ChatCompletion } from 'openai/resources/chat/completions';
import { entryFromCompletion, type CachedResponse } from '../../gateway/cache/entry.ts';

/**
 * Completions for the cache's tests, in the shape ChunkAssembler produces (message with
 * `content`, `refusal` and optional `tool_calls`; `logprobs` null or `{content, refusal}`),
 * so a replay round trip can be compared with toEqual.
 */
export function textCompletion(text: string, overrides: Partial<ChatCompletion> = {}): ChatCompletion {
  return {
    id: 'chatcmpl-cached1',
    object: 'chat.completion',
    created: 1_760_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_test',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    ...overrides,
  };
}

export function parallelToolCompletion(): ChatCompletion {
  return textCompletion('', {
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo","unit":"c"}' } },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
  });
}

export function twoChoiceCompletion(): ChatCompletion {
  return textCompletion('', {
    choices: [
      { index: 0, message: { role: 'assistant', content: 'First answer.', refusal: null }, logprobs: null, finish_reason: 'stop' },
      {
        index: 1,
        message: {
          role: 'assistant',
          content: 'Let me check.',
          refusal: null,
          tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
  });
}

export function logprobCompletion(): ChatCompletion {
  const tokens = ['Hel', 'lo', ' wör', 'ld'];
  return textCompletion(tokens.join(''), {
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: tokens.join(''), refusal: null },
        logprobs: {
          content: tokens.map((token, i) => ({
            token,
            logprob: -0.1 * (i + 1),
            bytes: [...Buffer.from(token)],
            top_logprobs: [{ token, logprob: -0.1 * (i + 1), bytes: [...Buffer.from(token)] }],
          })),
          refusal: null,
        },
        finish_reason: 'length',
      },
    ],
  });
}

/** Content is '' not null: ChunkAssembler gives '' to a message with neither content nor tool calls. */
export function refusalCompletion(): ChatCompletion {
  return textCompletion('', {
    choices: [{ index: 0, message: { role: 'assistant', content: '', refusal: 'I cannot help with that.' }, logprobs: null, finish_reason: 'stop' }],
  });
}

/** A cache entry for a completion; throws if the entry functions would refuse it. */
export function entryOf(completion: ChatCompletion, createdAt = 1_760_000_000_000): CachedResponse {
  const entry = entryFromCompletion(completion, {
    usage: { inputTokens: 12, outputTokens: 5, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    costMicros: 4.2,
    createdAt,
  });
  if (!entry) throw new Error('fixture is not cacheable');
  return entry;
}
