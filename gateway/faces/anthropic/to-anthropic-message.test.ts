import { describe, expect, it } from 'vitest';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { anthropicUsage as fixtureUsage, weatherMessage } from '../../../test/fixtures/anthropic/weather-turn.ts';
import { fromAnthropicResponse } from '../../providers/anthropic/from-anthropic-response.ts';
import { toAnthropicMessage } from './to-anthropic-message.ts';

function completion(message: Partial<ChatCompletion.Choice['message']>, extra: Partial<ChatCompletion.Choice> = {}): ChatCompletion {
  return {
    id: 'chatcmpl-AbC123',
    object: 'chat.completion',
    created: 1_767_225_600,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      { index: 0, message: { role: 'assistant', content: null, refusal: null, ...message }, logprobs: null, finish_reason: 'stop', ...extra },
    ],
    usage: {
      prompt_tokens: 1300,
      completion_tokens: 42,
      total_tokens: 1342,
      prompt_tokens_details: { cached_tokens: 1024, cache_write_tokens: 200 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  };
}

describe('toAnthropicMessage', () => {
  it('translates text + tool calls with cache usage (golden)', () => {
    const msg = toAnthropicMessage(
      completion(
        {
          content: 'Checking.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }],
        },
        { finish_reason: 'tool_calls' },
      ),
      { model: 'my-route' },
    );
    expect(msg).toEqual({
      id: 'msg_AbC123',
      type: 'message',
      role: 'assistant',
      model: 'my-route',
      content: [
        { type: 'text', text: 'Checking.', citations: null },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' }, caller: { type: 'direct' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: {
        // Anthropic's input_tokens is the uncached remainder: 1300 − 1024 read − 200 written.
        input_tokens: 76,
        output_tokens: 42,
        cache_read_input_tokens: 1024,
        cache_creation_input_tokens: 200,
        cache_creation: null,
        inference_geo: null,
        output_tokens_details: null,
        server_tool_use: null,
        service_tier: 'standard',
        speed: null,
      },
    });
  });

  it('inverts the Anthropic provider translation (both directions agree)', () => {
    const original = { ...weatherMessage, usage: fixtureUsage({ input_tokens: 472, cache_read_input_tokens: 1024, cache_creation_input_tokens: 256, output_tokens: 89 }) };
    const back = toAnthropicMessage(fromAnthropicResponse(original, { created: 0, model: 'x' }), { model: original.model });
    // Thinking blocks have no chat-completions form; everything else comes back as it was.
    expect(back).toEqual({ ...original, content: original.content.filter((b) => b.type !== 'thinking') });
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
    ['function_call', 'tool_use'],
  ] as const)('finish_reason %s → stop_reason %s', (finish, stop) => {
    expect(toAnthropicMessage(completion({ content: 'x' }, { finish_reason: finish }), { model: 'm' }).stop_reason).toBe(stop);
  });

  it('an empty answer has no content blocks; unknown usage is zeros', () => {
    const c = completion({ content: '' });
    delete c.usage;
    const msg = toAnthropicMessage(c, { model: 'm', id: 'msg_fixed' });
    expect(msg.id).toBe('msg_fixed');
    expect(msg.content).toEqual([]);
    expect(msg.usage).toMatchObject({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
  });

  it('a refusal is text; arguments that are not a JSON object become {}', () => {
    const msg = toAnthropicMessage(
      completion(
        {
          refusal: "I can't help with that.",
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"cut off' } },
            { id: 'call_b', type: 'function', function: { name: 'g', arguments: '[1,2]' } },
          ],
        },
        { finish_reason: 'content_filter' },
      ),
      { model: 'm' },
    );
    expect(msg.content).toEqual([
      { type: 'text', text: "I can't help with that.", citations: null },
      { type: 'tool_use', id: 'call_a', name: 'f', input: {}, caller: { type: 'direct' } },
      { type: 'tool_use', id: 'call_b', name: 'g', input: {}, caller: { type: 'direct' } },
    ]);
    expect(msg.stop_reason).toBe('refusal');
  });

  it('translates only choice 0', () => {
    const c = completion({ content: 'first' });
    c.choices.push({ index: 1, message: { role: 'assistant', content: 'second', refusal: null }, logprobs: null, finish_reason: 'length' });
    c.choices.reverse();
    const msg = toAnthropicMessage(c, { model: 'm' });
    expect(msg.content).toEqual([{ type: 'text', text: 'first', citations: null }]);
    expect(msg.stop_reason).toBe('end_turn');
  });
});
