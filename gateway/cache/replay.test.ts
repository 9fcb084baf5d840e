import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { expectValidAgainstSpec } from '../../test/helpers/openapi.ts';
import { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import { completionOf, entryFromJson, entryFromStream } from './entry.ts';
import { completionToChunks, replayJson, replaySse } from './replay.ts';
import { entryOf, logprobCompletion, parallelToolCompletion, refusalCompletion, textCompletion, twoChoiceCompletion } from '../../test/helpers/completions.ts';

const meta = { usage: null, costMicros: 12.5, createdAt: 1_760_000_000_000 };

function assemble(chunks: ChatCompletionChunk[]): ChatCompletion {
  const assembler = new ChunkAssembler();
  for (const chunk of chunks) assembler.add(chunk);
  return assembler.toCompletion();
}

/** Parses an SSE body into its chunks, checking the framing and the closing [DONE]. */
function parseSse(text: string): ChatCompletionChunk[] {
  const events = text.split('\n\n');
  expect(events.pop()).toBe('');
  expect(events.pop()).toBe('data: [DONE]');
  return events.map((e) => {
    expect(e.startsWith('data: ')).toBe(true);
    return JSON.parse(e.slice(6)) as ChatCompletionChunk;
  });
}

const fixtures: Array<[string, () => ChatCompletion]> = [
  ['plain text', () => textCompletion('Paris is the capital of France.')],
  ['parallel tool calls', parallelToolCompletion],
  ['n=2 with text and a tool call', twoChoiceCompletion],
  ['logprobs, per token', logprobCompletion],
  ['a refusal', refusalCompletion],
];

describe('completionToChunks', () => {
  it.each(fixtures)('%s: every chunk is valid and the chunks assemble back to the completion', (_name, make) => {
    const completion = make();
    for (const includeUsage of [false, true]) {
      const chunks = completionToChunks(completion, { includeUsage });
      for (const chunk of chunks) expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
      const back = assemble(chunks);
      if (includeUsage) {
        expect(back).toEqual(completion);
        expect(chunks.at(-1)).toMatchObject({ choices: [], usage: completion.usage });
        expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
      } else {
        const { usage: _usage, ...rest } = completion;
        expect(back).toEqual(rest);
        expect(chunks.every((c) => !('usage' in c))).toBe(true);
      }
    }
  });

  it('sends one chunk per token when logprobs spell the content, each with its own logprob', () => {
    const chunks = completionToChunks(logprobCompletion(), { includeUsage: false });
    const content = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(content.map((c) => c.choices[0]!.delta.content)).toEqual(['Hel', 'lo', ' wör', 'ld']);
    expect(content.map((c) => c.choices[0]!.logprobs?.content?.length)).toEqual([1, 1, 1, 1]);
  });

  it('keeps tool call ids, names and arguments as fragments after the header chunk', () => {
    const chunks = completionToChunks(parallelToolCompletion(), { includeUsage: false });
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toEqual([
      { index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '' } },
      { index: 0, function: { arguments: '{"city":"Paris"}' } },
      { index: 1, id: 'call_b', type: 'function', function: { name: 'weather', arguments: '' } },
      { index: 1, function: { arguments: '{"city":"Oslo","unit":"c"}' } },
    ]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('falls back to the given usage for the final chunk when the completion has none', () => {
    const { usage: _u, ...bare } = textCompletion('x');
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    expect(completionToChunks(bare, { includeUsage: true, usage }).at(-1)?.usage).toEqual(usage);
    expect(completionToChunks(bare, { includeUsage: true }).at(-1)?.choices).toHaveLength(1);
  });
});

describe('stream ⇄ cache ⇄ non-stream', () => {
  /** What an upstream stream of a tool-calling answer looks like: arguments in odd fragments. */
  function upstreamChunks(): ChatCompletionChunk[] {
    const base = { id: 'chatcmpl-up', object: 'chat.completion.chunk' as const, created: 1_760_000_001, model: 'gpt-4o-mini' };
    const c = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk => ({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    return [
      c({ role: 'assistant', content: '' }),
      c({ content: 'Checking ' }),
      c({ content: 'the weather.' }),
      c({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Rome"}' } }] }),
      c({}, 'tool_calls'),
      { ...base, choices: [], usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 } },
    ];
  }

  it('a complete stream, cached, is served to a non-stream request as the same completion', () => {
    const assembler = new ChunkAssembler();
    for (const chunk of upstreamChunks()) assembler.add(chunk);
    const entry = entryFromStream(assembler, meta);
    expect(entry).toBeDefined();
    const served = JSON.parse(replayJson(entry!)) as ChatCompletion;
    expectValidAgainstSpec('CreateChatCompletionResponse', served);
    expect(served).toEqual(assembler.toCompletion());
    expect(served.choices[0]!.message).toMatchObject({
      content: 'Checking the weather.',
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }],
    });
    // …and to a streaming request as chunks carrying the same content.
    expect(assemble(parseSse(replaySse(entry!, { includeUsage: true })))).toEqual(served);
  });

  it('a non-stream answer, cached, is replayed to a streaming request with equal content', () => {
    // An upstream body with fields the chunk format has no place for (annotations) and pretty JSON.
    const upstream = { ...textCompletion('Bonjour.'), service_tier: 'default' as const };
    (upstream.choices[0]!.message as unknown as Record<string, unknown>).annotations = [];
    const text = JSON.stringify(upstream, null, 2);
    const entry = entryFromJson(text, upstream as unknown as Record<string, unknown>, meta);
    expect(replayJson(entry!)).toBe(text);
    const chunks = parseSse(replaySse(entry!, { includeUsage: false }));
    for (const chunk of chunks) expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
    const back = assemble(chunks);
    expect(back.id).toBe(upstream.id);
    expect(back.choices[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: 'Bonjour.', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    });
    expect(chunks.every((c) => c.service_tier === 'default' && c.system_fingerprint === 'fp_test')).toBe(true);
  });

  it('include_usage on a hit whose completion has no usage reports the stored usage', () => {
    const { usage: _u, ...bare } = textCompletion('x');
    const entry = { ...entryOf(bare as ChatCompletion) };
    const chunks = parseSse(replaySse(entry, { includeUsage: true }));
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } });
    expect(completionOf(entry).usage).toBeUndefined();
  });
});
