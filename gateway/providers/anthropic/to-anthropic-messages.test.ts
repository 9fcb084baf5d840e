import { describe, expect, it } from 'vitest';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import { toAnthropicMessages } from './to-anthropic-messages.ts';

function invalidParam(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('invalid_request');
    return (err as GatewayError).param;
  }
  throw new Error('expected a GatewayError');
}

/** The OpenAI side of a tool round trip: two parallel calls, two results, then a follow-up. */
const toolRoundTrip: ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are a weather assistant.' },
  { role: 'user', content: 'Weather in San Francisco and Paris?' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      {
        id: 'call_9Ld2qS8fJ3aXrYb1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
      },
      {
        id: 'call_Q7wE4rT2yU8iO0pA',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location": "Paris, France", "unit": "celsius"}' },
      },
    ],
  },
  { role: 'tool', tool_call_id: 'call_9Ld2qS8fJ3aXrYb1', content: '{"temp":14,"sky":"fog"}' },
  { role: 'tool', tool_call_id: 'call_Q7wE4rT2yU8iO0pA', content: [{ type: 'text', text: '{"temp":19,"sky":"clear"}' }] },
  { role: 'user', content: 'Which one is warmer?' },
];

describe('toAnthropicMessages', () => {
  it('translates a tool round trip: tool_use blocks, then results and the follow-up in one user turn', () => {
    expect(toAnthropicMessages(toolRoundTrip)).toEqual({
      system: [{ type: 'text', text: 'You are a weather assistant.' }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in San Francisco and Paris?' }] },
        {
          role: 'assistant',
          content: [
            {
              type: 'tool_use',
              id: 'call_9Ld2qS8fJ3aXrYb1',
              name: 'get_weather',
              input: { location: 'San Francisco, CA', unit: 'celsius' },
            },
            {
              type: 'tool_use',
              id: 'call_Q7wE4rT2yU8iO0pA',
              name: 'get_weather',
              input: { location: 'Paris, France', unit: 'celsius' },
            },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_9Ld2qS8fJ3aXrYb1', content: '{"temp":14,"sky":"fog"}' },
            {
              type: 'tool_result',
              tool_use_id: 'call_Q7wE4rT2yU8iO0pA',
              content: [{ type: 'text', text: '{"temp":19,"sky":"clear"}' }],
            },
            { type: 'text', text: 'Which one is warmer?' },
          ],
        },
      ],
    });
  });

  it('keeps assistant text before its tool calls and accepts empty arguments as {}', () => {
    const { messages } = toAnthropicMessages([
      { role: 'user', content: 'What time is it?' },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'now', arguments: '' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '' },
    ]);
    expect(messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'call_1', name: 'now', input: {} },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1' }] },
    ]);
  });

  it('moves tool results before text in a user turn and makes foreign ids Anthropic-safe', () => {
    const { messages } = toAnthropicMessages([
      { role: 'user', content: 'Time?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'functions.now:0', type: 'function', function: { name: 'now', arguments: '{}' } }],
      },
      { role: 'user', content: 'Hurry please.' },
      { role: 'tool', tool_call_id: 'functions.now:0', content: '12:00' },
    ]);
    expect(messages.slice(1)).toEqual([
      { role: 'assistant', content: [{ type: 'tool_use', id: 'functions_now_0', name: 'now', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'functions_now_0', content: '12:00' },
          { type: 'text', text: 'Hurry please.' },
        ],
      },
    ]);
  });

  it('rejects tool arguments that are not a JSON object, naming the exact field', () => {
    const withArgs = (args: string): ChatCompletionMessageParam[] => {
      const messages = structuredClone(toolRoundTrip);
      const assistant = messages[2];
      if (assistant?.role !== 'assistant' || assistant.tool_calls?.[1]?.type !== 'function') throw new Error('fixture');
      assistant.tool_calls[1].function.arguments = args;
      return messages;
    };
    for (const bad of ['{"location": "Paris', '[1, 2]', '"Paris"']) {
      expect(invalidParam(() => toAnthropicMessages(withArgs(bad)))).toBe('messages[2].tool_calls[1].function.arguments');
    }
  });

  it('rejects custom tool calls and the legacy function role', () => {
    expect(
      invalidParam(() =>
        toAnthropicMessages([
          { role: 'user', content: 'x' },
          { role: 'assistant', tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'sql', input: 'SELECT 1' } }] },
        ]),
      ),
    ).toBe('messages[1].tool_calls[0].type');
    expect(
      invalidParam(() =>
        toAnthropicMessages([
          { role: 'user', content: 'x' },
          { role: 'function', name: 'now', content: '12:00' },
        ]),
      ),
    ).toBe('messages[1].role');
  });
});
