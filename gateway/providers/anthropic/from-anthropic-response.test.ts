import { describe, expect, it } from 'vitest';
import type { ContentBlock, StopReason } from '@anthropic-ai/sdk/resources/messages';
import { expectValidAgainstSpec } from '../../../test/helpers/openapi.ts';
import { anthropicMessage, anthropicUsage, weatherMessage } from '../../../test/fixtures/anthropic/weather-turn.ts';
import { fromAnthropicResponse } from './from-anthropic-response.ts';
import { JSON_TOOL } from './response-format.ts';

const opts = { id: 'chatcmpl-7Qy1', created: 1_767_225_600, model: 'anthropic/claude-sonnet-4-5' };

describe('fromAnthropicResponse', () => {
  it('translates a text answer', () => {
    const msg = anthropicMessage({
      content: [
        { type: 'text', text: 'Paris is the capital', citations: null },
        { type: 'text', text: ' of France.', citations: null },
      ],
      stop_reason: 'end_turn',
      usage: anthropicUsage({ input_tokens: 14, output_tokens: 9 }),
    });
    const completion = fromAnthropicResponse(msg, opts);
    expect(completion).toEqual({
      id: 'chatcmpl-7Qy1',
      object: 'chat.completion',
      created: 1_767_225_600,
      model: 'anthropic/claude-sonnet-4-5',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Paris is the capital of France.', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 14,
        completion_tokens: 9,
        total_tokens: 23,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('translates tool calls with null content, skipping thinking blocks', () => {
    const msg = anthropicMessage({
      content: [
        { type: 'thinking', thinking: 'Need the tool.', signature: 'sig' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
        { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { location: 'Paris' }, caller: { type: 'direct' } },
      ],
      stop_reason: 'tool_use',
    });
    const completion = fromAnthropicResponse(msg, opts);
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [{ id: 'toolu_01A', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('translates mixed text and parallel tool calls, with cache read and write usage', () => {
    const completion = fromAnthropicResponse(
      { ...weatherMessage, usage: anthropicUsage({ input_tokens: 472, cache_read_input_tokens: 1024, cache_creation_input_tokens: 256, output_tokens: 89 }) },
      { created: 1_767_225_600, model: 'claude-sonnet-4-5' },
    );
    expect(completion.id).toBe('msg_014p7gG3wDgGV9EUtLvnow3U');
    expect(completion.choices[0]?.message).toEqual({
      role: 'assistant',
      content: "I'll check the weather in both cities.",
      refusal: null,
      tool_calls: [
        {
          id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
        },
        {
          id: 'toolu_01A09q90qw90lq917835lq9',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"location":"Paris, France","unit":"celsius"}' },
        },
      ],
    });
    expect(completion.usage).toEqual({
      prompt_tokens: 1752,
      completion_tokens: 89,
      total_tokens: 1841,
      prompt_tokens_details: { cached_tokens: 1024, cache_write_tokens: 256 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it.each<[StopReason | null, string]>([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    [null, 'stop'],
  ])('stop_reason %s → finish_reason %s', (stopReason, finishReason) => {
    const msg = anthropicMessage({ content: [{ type: 'text', text: 'x', citations: null }], stop_reason: stopReason });
    const completion = fromAnthropicResponse(msg, opts);
    expect(completion.choices[0]?.finish_reason).toBe(finishReason);
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('an empty answer is an empty string, not null', () => {
    const completion = fromAnthropicResponse(anthropicMessage({ content: [], stop_reason: 'max_tokens' }), opts);
    expect(completion.choices[0]?.message.content).toBe('');
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  describe('an answer through the reserved JSON tool', () => {
    const json = { tool: JSON_TOOL, unwrap: false };
    const toolUse = (name: string, input: unknown, id = 'toolu_1') =>
      ({ type: 'tool_use', id, name, input, caller: { type: 'direct' } }) as ContentBlock;

    it('is the message content, finish_reason stop, no tool_calls', () => {
      const msg = anthropicMessage({ content: [toolUse(JSON_TOOL, { name: 'Ann', tags: ['a'] })], stop_reason: 'tool_use' });
      const completion = fromAnthropicResponse(msg, { ...opts, json });
      const choice = completion.choices[0]!;
      expect(choice.finish_reason).toBe('stop');
      expect(choice.message.tool_calls).toBeUndefined();
      expect(JSON.parse(choice.message.content!)).toEqual({ name: 'Ann', tags: ['a'] });
      expectValidAgainstSpec('CreateChatCompletionResponse', completion);
    });

    it('drops text around it (the content must stay JSON) and unwraps a wrapped schema', () => {
      const msg = anthropicMessage({
        content: [{ type: 'text', text: 'Here you go:', citations: null }, toolUse(JSON_TOOL, { value: [1, 2] })],
        stop_reason: 'tool_use',
      });
      const completion = fromAnthropicResponse(msg, { ...opts, json: { tool: JSON_TOOL, unwrap: true } });
      expect(completion.choices[0]!.message.content).toBe('[1,2]');
    });

    it("keeps the client's own tool calls beside it, finishing with tool_calls", () => {
      const msg = anthropicMessage({ content: [toolUse('get_weather', { city: 'Oslo' }, 'toolu_2'), toolUse(JSON_TOOL, {})], stop_reason: 'tool_use' });
      const choice = fromAnthropicResponse(msg, { ...opts, json }).choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBe('{}');
      expect(choice.message.tool_calls?.map((c) => (c.type === 'function' ? c.function.name : ''))).toEqual(['get_weather']);
    });

    it('without the option, the same block is an ordinary tool call', () => {
      const msg = anthropicMessage({ content: [toolUse(JSON_TOOL, { a: 1 })], stop_reason: 'tool_use' });
      const choice = fromAnthropicResponse(msg, opts).choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
    });
  });
});
