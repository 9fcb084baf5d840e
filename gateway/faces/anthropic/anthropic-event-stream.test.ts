import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { weatherMessage, weatherStreamText } from '../../../test/fixtures/anthropic/weather-turn.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { createAnthropicStreamTranslator } from '../../providers/anthropic/stream-translator.ts';
import { ChunkAssembler } from '../../streaming/chunk-assembler.ts';
import { SseParser } from '../../streaming/sse-parser.ts';
import { sseFetch } from '../sdk-fetch.ts';
import { createAnthropicEventWriter } from './anthropic-event-stream.ts';
import { toAnthropicMessage } from './to-anthropic-message.ts';

const ID = 'msg_0001';
const MODEL = 'support-bot';

function chunk(delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null, index = 0): ChatCompletionChunk {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index, delta, logprobs: null, finish_reason: finish }] };
}
function usageChunk(prompt: number, completion: number, cached = 0): ChatCompletionChunk {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } },
  };
}

/** Every frame of a chunk stream, as the face would write it. */
function write(chunks: ChatCompletionChunk[], inputTokens?: number): string[] {
  const writer = createAnthropicEventWriter({ id: ID, model: MODEL, ...(inputTokens === undefined ? {} : { inputTokens }) });
  return [...chunks.flatMap((c) => writer.push(c)), ...writer.end()];
}

function parse(frames: string[]): Array<{ event: string; data: Record<string, unknown> }> {
  return frames.map((f) => {
    const m = /^event: (\S+)\ndata: (.*)\n\n$/s.exec(f);
    if (!m) throw new Error(`bad frame ${JSON.stringify(f)}`);
    const data = JSON.parse(m[2]!) as Record<string, unknown>;
    expect(data['type']).toBe(m[1]); // the event name always matches the payload's type
    return { event: m[1]!, data };
  });
}

const client = (frames: string[]) => new Anthropic({ apiKey: 'k', baseURL: 'http://gateway.invalid', maxRetries: 0, fetch: sseFetch(frames) });
const sdkStream = (frames: string[]) => client(frames).messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] });

/** The SDK's accumulated message, without `parsed_output` (its structured-output helper adds it). */
async function sdkFinal(stream: ReturnType<typeof sdkStream>) {
  const { parsed_output: _parsed, ...message } = await stream.finalMessage();
  return message;
}

const textChunks = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Bonjour' }), chunk({ content: ' à tous' }), chunk({}, 'stop'), usageChunk(12, 4)];

describe('createAnthropicEventWriter', () => {
  it('writes the exact Anthropic event sequence for a text answer (golden)', () => {
    const events = parse(write(textChunks, 10));
    expect(events.map((e) => e.data)).toEqual([
      {
        type: 'message_start',
        message: {
          id: ID,
          type: 'message',
          role: 'assistant',
          model: MODEL,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          container: null,
          diagnostics: null,
          usage: {
            input_tokens: 10,
            output_tokens: 0,
            cache_read_input_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_creation: null,
            inference_geo: null,
            output_tokens_details: null,
            server_tool_use: null,
            service_tier: 'standard',
            speed: null,
          },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Bonjour' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' à tous' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null },
        usage: { input_tokens: 12, output_tokens: 4, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens_details: null, server_tool_use: null },
      },
      { type: 'message_stop' },
    ]);
  });

  it("the SDK's finalMessage() equals the non-stream translation", async () => {
    const frames = write(textChunks);
    const assembler = new ChunkAssembler();
    textChunks.forEach((c) => assembler.add(c));
    const expected = toAnthropicMessage(assembler.toCompletion(), { model: MODEL, id: ID });
    expect(await sdkFinal(sdkStream(frames))).toEqual(expected);
    expect(expected.content).toEqual([{ type: 'text', text: 'Bonjour à tous', citations: null }]);
  });

  it('replays an Anthropic upstream stream end to end: Anthropic → chat chunks → Anthropic (both directions agree)', async () => {
    // The provider's translator turns the recorded upstream stream into chat chunks …
    const translator = createAnthropicStreamTranslator({ id: 'chatcmpl-x', created: 0, model: 'claude' });
    const parser = new SseParser();
    const chunks = parser.push(weatherStreamText).flatMap((ev) => translator.push(ev));
    // … and this writer turns them back into Anthropic events for the client.
    const writer = createAnthropicEventWriter({ id: weatherMessage.id, model: weatherMessage.model });
    const frames = [...chunks.flatMap((c) => writer.push(c)), ...writer.end(translator.usage())];

    expect(parse(frames).map((e) => `${e.event}${'index' in e.data ? `:${String(e.data['index'])}` : ''}`)).toEqual([
      'message_start',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2',
      'content_block_delta:2',
      'content_block_stop:2',
      'message_delta',
      'message_stop',
    ]);

    const final = await sdkFinal(sdkStream(frames));
    // What the upstream said, minus the thinking block (no chat-completions form).
    expect(final).toEqual({
      ...weatherMessage,
      content: weatherMessage.content.filter((b) => b.type !== 'thinking'),
      usage: { ...weatherMessage.usage, output_tokens: 89 },
    });
  });

  it('streams tool calls as tool_use blocks with input_json_delta, in the SDK event order', async () => {
    const chunks = [
      chunk({ role: 'assistant', content: null }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'now', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      usageChunk(50, 20, 32),
    ];
    const frames = write(chunks);
    expect(parse(frames).slice(1, -2).map((e) => e.data)).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'call_a', name: 'get_weather', input: {}, caller: { type: 'direct' } } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"location":' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_b', name: 'now', input: {}, caller: { type: 'direct' } } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_stop', index: 1 },
    ]);

    const stream = sdkStream(frames);
    const seen: string[] = [];
    stream.on('streamEvent', (e) => seen.push(e.type));
    const final = await sdkFinal(stream);
    expect(seen[0]).toBe('message_start');
    expect(seen.at(-1)).toBe('message_stop');
    const assembler = new ChunkAssembler();
    chunks.forEach((c) => assembler.add(c));
    expect(final).toEqual(toAnthropicMessage(assembler.toCompletion(), { model: MODEL, id: ID }));
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage).toMatchObject({ input_tokens: 18, cache_read_input_tokens: 32, output_tokens: 20 });
  });

  it('opens a new text block when text follows a tool call', () => {
    const events = parse(
      write([
        chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' } }] }),
        chunk({ content: 'done' }),
        chunk({}, 'stop'),
      ]),
    );
    expect(events.slice(1, -2).map((e) => `${e.event}:${String(e.data['index'])}`)).toEqual([
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_stop:1',
    ]);
  });

  it('an empty stream is still a complete message; only choice 0 is translated', async () => {
    const frames = write([chunk({ content: 'other choice' }, 'length', 1)]);
    expect(parse(frames).map((e) => e.event)).toEqual(['message_start', 'message_delta', 'message_stop']);
    const final = await sdkFinal(sdkStream(frames));
    expect(final.content).toEqual([]);
    expect(final.stop_reason).toBe('end_turn');
    expect(parse(write([])).map((e) => e.event)).toEqual(['message_start', 'message_delta', 'message_stop']);
  });

  it('maps finish_reason length to max_tokens, and the pipeline usage wins over chunk usage', () => {
    const writer = createAnthropicEventWriter({ id: ID, model: MODEL });
    const frames = [...writer.push(chunk({ content: 'a' }, 'length')), ...writer.push(usageChunk(1, 1))];
    frames.push(...writer.end({ inputTokens: 100, outputTokens: 7, cachedInputTokens: 60, cacheWriteTokens: 10, reasoningTokens: 0 }));
    const delta = parse(frames).find((e) => e.event === 'message_delta')!.data;
    expect(delta).toMatchObject({
      delta: { stop_reason: 'max_tokens' },
      usage: { input_tokens: 30, output_tokens: 7, cache_read_input_tokens: 60, cache_creation_input_tokens: 10 },
    });
    expect(writer.end()).toEqual([]);
    expect(writer.push(chunk({ content: 'late' }))).toEqual([]);
  });

  it('a mid-stream failure becomes an Anthropic error event the SDK raises', async () => {
    const writer = createAnthropicEventWriter({ id: ID, model: MODEL });
    const frames = [...writer.push(chunk({ content: 'partial' }))];
    const failure = writer.error(new GatewayError('upstream_timeout', 'provider openai timed out'));
    expect(failure).toBe('event: error\ndata: {"type":"error","error":{"type":"timeout_error","message":"provider openai timed out"}}\n\n');
    const err = await sdkStream([...frames, failure]).finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(String((err as Error).message)).toMatch(/timed out/);
    // Internal errors keep their message to the log.
    expect(writer.error(new GatewayError('internal_error', 'db password is hunter2'))).not.toMatch(/hunter2/);
  });

  it('fails clearly when an upstream interleaves tool calls', () => {
    const writer = createAnthropicEventWriter({ id: ID, model: MODEL });
    writer.push(chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{' } }] }));
    writer.push(chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '{' } }] }));
    expect(() => writer.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '}' } }] }))).toThrow(GatewayError);
    expect(() =>
      createAnthropicEventWriter({ id: ID, model: MODEL }).push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] })),
    ).toThrow(/without an id and name/);
  });
});
