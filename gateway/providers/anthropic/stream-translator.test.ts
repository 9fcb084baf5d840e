import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { expectValidAgainstSpec } from '../../../test/helpers/openapi.ts';
import { weatherMessage, weatherStreamText } from '../../../test/fixtures/anthropic/weather-turn.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { SseParser } from '../../streaming/sse-parser.ts';
import { fromAnthropicResponse } from './from-anthropic-response.ts';
import { JSON_TOOL } from './response-format.ts';
import { createAnthropicStreamTranslator, usageChunk } from './stream-translator.ts';
import type { AnthropicSseEvent } from './stream-translator.ts';

const opts = { id: 'chatcmpl-9f2c', created: 1_767_225_600, model: 'anthropic/claude-sonnet-4-5' };

/** Feeds raw SSE text, cut into `pieceSize`-character pieces, through parser and translator. */
function replay(text: string, pieceSize = text.length) {
  const parser = new SseParser();
  const translator = createAnthropicStreamTranslator(opts);
  const chunks: ChatCompletionChunk[] = [];
  for (let i = 0; i < text.length; i += pieceSize) {
    for (const ev of parser.push(text.slice(i, i + pieceSize))) chunks.push(...translator.push(ev));
  }
  return { chunks, translator };
}

const ev = (type: string, body: Record<string, unknown> = {}): AnthropicSseEvent => ({
  event: type,
  data: JSON.stringify({ type, ...body }),
});
const messageStart = ev('message_start', {
  message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 8, output_tokens: 1 } },
});

describe('createAnthropicStreamTranslator', () => {
  it('replays a text + parallel tool_use stream as OpenAI chunks', () => {
    const { chunks, translator } = replay(weatherStreamText);
    expect(chunks[0]).toEqual({
      id: 'chatcmpl-9f2c',
      object: 'chat.completion.chunk',
      created: 1_767_225_600,
      model: 'anthropic/claude-sonnet-4-5',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    });
    expect(chunks.map((c) => [c.choices[0]?.delta, c.choices[0]?.finish_reason])).toEqual([
      [{ role: 'assistant', content: '' }, null],
      [{ content: "I'll check" }, null],
      [{ content: ' the weather in both cities.' }, null],
      [
        { tool_calls: [{ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
        null,
      ],
      [{ tool_calls: [{ index: 0, function: { arguments: '{"location": "San Fra' } }] }, null],
      [{ tool_calls: [{ index: 0, function: { arguments: 'ncisco, CA", "unit": "celsius"}' } }] }, null],
      [
        { tool_calls: [{ index: 1, id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
        null,
      ],
      [{ tool_calls: [{ index: 1, function: { arguments: '{"location": "Paris, France"' } }] }, null],
      [{ tool_calls: [{ index: 1, function: { arguments: ', "unit": "celsius"}' } }] }, null],
      [{}, 'tool_calls'],
    ]);
    for (const chunk of chunks) expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
    expect(translator.finished()).toBe(true);
    expect(translator.usage()).toEqual({
      inputTokens: 1496,
      outputTokens: 89,
      cachedInputTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
  });

  it('reassembles to the same message as the non-stream translation', () => {
    const { chunks } = replay(weatherStreamText, 7); // split mid-line and mid-JSON
    let content = '';
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    for (const delta of chunks.map((c) => c.choices[0]?.delta ?? {})) {
      content += delta.content ?? '';
      for (const call of delta.tool_calls ?? []) {
        const slot = (calls[call.index] ??= { arguments: '' });
        if (call.id !== undefined) slot.id = call.id;
        if (call.function?.name !== undefined) slot.name = call.function.name;
        slot.arguments += call.function?.arguments ?? '';
      }
    }
    const expected = fromAnthropicResponse(weatherMessage, opts).choices[0]?.message;
    expect(content).toBe(expected?.content);
    const expectedCalls = (expected?.tool_calls ?? []).map((c) => (c.type === 'function' ? c : null));
    expect(calls.map((c) => ({ id: c.id, name: c.name, input: JSON.parse(c.arguments) as unknown }))).toEqual(
      expectedCalls.map((c) => ({ id: c?.id, name: c?.function.name, input: JSON.parse(c?.function.arguments ?? '') as unknown })),
    );
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe(fromAnthropicResponse(weatherMessage, opts).choices[0]?.finish_reason);
  });

  it('gives a tool call without streamed input the arguments "{}"', () => {
    const t = createAnthropicStreamTranslator(opts);
    t.push(messageStart);
    t.push(ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'now', input: {} } }));
    expect(t.push(ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '' } }))).toEqual([]);
    expect(t.push(ev('content_block_stop', { index: 0 })).map((c) => c.choices[0]?.delta)).toEqual([
      { tool_calls: [{ index: 0, function: { arguments: '{}' } }] },
    ]);
  });

  it('ignores ping, unknown events and anything after message_stop; finishes even without message_delta', () => {
    const t = createAnthropicStreamTranslator(opts);
    expect(t.usage()).toBeNull();
    t.push(messageStart);
    expect(t.push({ event: 'ping', data: '' })).toEqual([]);
    expect(t.push(ev('content_block_annotation', { index: 0 }))).toEqual([]);
    expect(t.push(ev('message_stop')).map((c) => c.choices[0]?.finish_reason)).toEqual(['stop']);
    expect(t.finished()).toBe(true);
    expect(t.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'late' } }))).toEqual([]);
    expect(t.usage()).toEqual({ inputTokens: 8, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it('lets cumulative message_delta usage replace earlier counts, ignoring nulls', () => {
    const t = createAnthropicStreamTranslator(opts);
    t.push(messageStart);
    t.push(
      ev('message_delta', {
        delta: { stop_reason: 'max_tokens', stop_sequence: null },
        usage: { input_tokens: 8, cache_read_input_tokens: 2048, cache_creation_input_tokens: null, output_tokens: 512 },
      }),
    );
    expect(t.usage()).toEqual({ inputTokens: 2056, outputTokens: 512, cachedInputTokens: 2048, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it('takes the event type from the data when the event line is missing', () => {
    const t = createAnthropicStreamTranslator(opts);
    expect(t.push({ data: messageStart.data })).toHaveLength(1);
  });

  it('turns an error event into upstream_error with the upstream message', () => {
    const t = createAnthropicStreamTranslator(opts);
    t.push(messageStart);
    const error = ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(() => t.push(error)).toThrow(GatewayError);
    try {
      t.push(error);
    } catch (err) {
      expect((err as GatewayError).code).toBe('upstream_error');
      expect((err as GatewayError).message).toBe('Overloaded');
    }
  });

  it.each([
    ['unparseable data', { event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,' }],
    ['data that is not an object', { event: 'message_start', data: '[]' }],
    ['a tool delta for a block that never started', ev('content_block_delta', { index: 5, delta: { type: 'input_json_delta', partial_json: '{' } })],
    ['a text delta without text', ev('content_block_delta', { index: 0, delta: { type: 'text_delta' } })],
  ])('rejects %s as upstream_bad_response', (_what, event) => {
    const t = createAnthropicStreamTranslator(opts);
    t.push(messageStart);
    expect(() => t.push(event)).toThrow(expect.objectContaining({ code: 'upstream_bad_response' }));
  });

  it('rejects content before message_start', () => {
    const t = createAnthropicStreamTranslator(opts);
    expect(() => t.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'hi' } }))).toThrow(
      expect.objectContaining({ code: 'upstream_bad_response' }),
    );
  });
});

describe('createAnthropicStreamTranslator: JSON through the reserved tool', () => {
  const jsonOpts = { ...opts, json: { tool: JSON_TOOL, unwrap: false } };
  const start = (index: number, name: string) =>
    ev('content_block_start', { index, content_block: { type: 'tool_use', id: `toolu_${index}`, name, input: {} } });
  const part = (index: number, partial_json: string) => ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });

  function run(events: AnthropicSseEvent[], o: Parameters<typeof createAnthropicStreamTranslator>[0] = jsonOpts): ChatCompletionChunk[] {
    const t = createAnthropicStreamTranslator(o);
    return events.flatMap((e) => t.push(e));
  }

  it('streams the input_json_delta fragments as content deltas and finishes with stop', () => {
    const chunks = run([
      messageStart,
      start(0, JSON_TOOL),
      part(0, '{"name": "An'),
      part(0, 'n", "age": 3'),
      part(0, '}'),
      ev('content_block_stop', { index: 0 }),
      ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 12 } }),
      ev('message_stop'),
    ]);
    for (const chunk of chunks) expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? null)).toEqual(['', '{"name": "An', 'n", "age": 3', '}', null]);
    expect(chunks.some((c) => c.choices[0]!.delta.tool_calls)).toBe(false);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('reassembles to the non-stream content', () => {
    const input = { name: 'Ann', age: 3 };
    const text = JSON.stringify(input);
    const chunks = run([messageStart, start(0, JSON_TOOL), part(0, text.slice(0, 5)), part(0, text.slice(5)), ev('content_block_stop', { index: 0 })]);
    const streamed = chunks.map((c) => c.choices[0]!.delta.content ?? '').join('');
    const block = { type: 'tool_use' as const, id: 't', name: JSON_TOOL, input, caller: { type: 'direct' as const } };
    const msg = { ...weatherMessage, content: [block], stop_reason: 'tool_use' as const };
    expect(JSON.parse(streamed)).toEqual(JSON.parse(fromAnthropicResponse(msg, jsonOpts).choices[0]!.message.content!));
  });

  it('drops text blocks, gives "{}" for an empty input, and unwraps a wrapped schema at the block end', () => {
    const empty = run([
      messageStart,
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Sure:' } }),
      ev('content_block_stop', { index: 0 }),
      start(1, JSON_TOOL),
      ev('content_block_stop', { index: 1 }),
    ]);
    expect(empty.map((c) => c.choices[0]!.delta.content)).toEqual(['', '{}']);
    const wrapped = run(
      [messageStart, start(0, JSON_TOOL), part(0, '{"value": [1,'), part(0, ' 2]}'), ev('content_block_stop', { index: 0 })],
      { ...opts, json: { tool: JSON_TOOL, unwrap: true } },
    );
    expect(wrapped.map((c) => c.choices[0]!.delta.content)).toEqual(['', '[1,2]']);
  });

  it("keeps the client's tool calls, counted from 0, and then finishes with tool_calls", () => {
    const chunks = run([
      messageStart,
      start(0, 'get_weather'),
      part(0, '{"city":"Oslo"}'),
      ev('content_block_stop', { index: 0 }),
      start(1, JSON_TOOL),
      part(1, '{}'),
      ev('content_block_stop', { index: 1 }),
      ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 12 } }),
    ]);
    expect(chunks.flatMap((c) => c.choices[0]!.delta.tool_calls ?? []).map((t) => t.index)).toEqual([0, 0]);
    expect(chunks.map((c) => c.choices[0]!.delta.content).filter((x) => x)).toEqual(['{}']);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('without the option, the reserved name is an ordinary tool call', () => {
    const chunks = run([messageStart, start(0, JSON_TOOL), part(0, '{}')], opts);
    expect(chunks[1]!.choices[0]!.delta.tool_calls?.[0]?.function?.name).toBe(JSON_TOOL);
  });
});

describe('usageChunk', () => {
  it('is a spec-valid chunk with no choices and OpenAI usage', () => {
    const chunk = usageChunk(opts, { inputTokens: 1496, outputTokens: 89, cachedInputTokens: 1024, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(chunk).toEqual({
      id: 'chatcmpl-9f2c',
      object: 'chat.completion.chunk',
      created: 1_767_225_600,
      model: 'anthropic/claude-sonnet-4-5',
      choices: [],
      usage: {
        prompt_tokens: 1496,
        completion_tokens: 89,
        total_tokens: 1585,
        prompt_tokens_details: { cached_tokens: 1024 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
  });
});
