import type { ChatCompletion, ChatCompletionChunk, ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { openaiUsageFromNormalized } from '../providers/usage.ts';
import { completionOf, type CachedResponse } from './entry.ts';

export interface ReplayOptions {
  /** `stream_options.include_usage`: every chunk carries `usage: null` and a final chunk the usage. */
  includeUsage: boolean;
  /** Usage for the final chunk when the completion carries none. */
  usage?: CompletionUsage | undefined;
}

type ChunkChoice = ChatCompletionChunk.Choice;

/**
 * A stored `chat.completion` as the `chat.completion.chunk`s a stream of it would have sent:
 * per choice (in index order) a role chunk, the content (one chunk per token when logprobs
 * are stored and spell the content, so each chunk keeps its own logprobs; else one chunk),
 * the refusal, each tool call (a chunk with its id and name, then its arguments), and a
 * finish chunk; then the usage chunk when asked for. Folding them with ChunkAssembler gives
 * the completion back.
 *
 * The stored `id` and `created` are kept: the answer is the one that was generated then, and
 * the gateway's own `x-sluice-call-id` header identifies this call.
 */
export function completionToChunks(completion: ChatCompletion, opts: ReplayOptions): ChatCompletionChunk[] {
  const chunks: ChatCompletionChunk[] = [];
  const push = (choice: ChunkChoice): void => {
    const chunk: ChatCompletionChunk = {
      id: completion.id,
      object: 'chat.completion.chunk',
      created: completion.created,
      model: completion.model,
      choices: [choice],
    };
    if (typeof completion.system_fingerprint === 'string') chunk.system_fingerprint = completion.system_fingerprint;
    if (completion.service_tier != null) chunk.service_tier = completion.service_tier;
    if (opts.includeUsage) chunk.usage = null;
    chunks.push(chunk);
  };

  for (const choice of completion.choices) {
    const { index, message } = choice;
    const logprobs = choice.logprobs;
    push({ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });

    const content = message.content;
    const contentLogprobs = logprobs?.content ?? null;
    if (contentLogprobs && contentLogprobs.length > 0 && spells(contentLogprobs, content ?? '')) {
      for (const lp of contentLogprobs) push({ index, delta: { content: lp.token }, logprobs: { content: [lp], refusal: null }, finish_reason: null });
    } else if (content || contentLogprobs) {
      push({ index, delta: { content: content ?? '' }, logprobs: contentLogprobs ? { content: contentLogprobs, refusal: null } : null, finish_reason: null });
    }

    if (message.refusal) {
      const refusalLogprobs = logprobs?.refusal ?? null;
      push({ index, delta: { refusal: message.refusal }, logprobs: refusalLogprobs ? { content: null, refusal: refusalLogprobs } : null, finish_reason: null });
    }

    (message.tool_calls ?? []).forEach((call, i) => {
      if (call.type !== 'function') return;
      push({
        index,
        delta: { tool_calls: [{ index: i, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] },
        logprobs: null,
        finish_reason: null,
      });
      if (call.function.arguments) {
        push({ index, delta: { tool_calls: [{ index: i, function: { arguments: call.function.arguments } }] }, logprobs: null, finish_reason: null });
      }
    });

    push({ index, delta: {}, logprobs: null, finish_reason: choice.finish_reason });
  }

  const usage = completion.usage ?? opts.usage;
  if (opts.includeUsage && usage) {
    const chunk: ChatCompletionChunk = { id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model, choices: [], usage };
    if (typeof completion.system_fingerprint === 'string') chunk.system_fingerprint = completion.system_fingerprint;
    chunks.push(chunk);
  }
  return chunks;
}

/** True when the logprob tokens, joined, are exactly the content (so per-token chunks rebuild it). */
function spells(tokens: readonly ChatCompletionTokenLogprob[], content: string): boolean {
  let at = 0;
  for (const { token } of tokens) {
    if (!content.startsWith(token, at)) return false;
    at += token.length;
  }
  return at === content.length;
}

/**
 * A cache hit as the complete SSE body a streaming request expects: every chunk as a `data:`
 * event, then `data: [DONE]`. Built in one string because nothing is left to wait for.
 */
export function replaySse(entry: CachedResponse, opts: Pick<ReplayOptions, 'includeUsage'>): string {
  const completion = completionOf(entry);
  const usage = entry.usage ? openaiUsageFromNormalized(entry.usage) : undefined;
  let out = '';
  for (const chunk of completionToChunks(completion, { includeUsage: opts.includeUsage, usage })) out += `data: ${JSON.stringify(chunk)}\n\n`;
  return out + 'data: [DONE]\n\n';
}

/** A cache hit as the JSON body a non-stream request expects: the stored completion, as stored. */
export function replayJson(entry: CachedResponse): string {
  return entry.body;
}
